#include "control/runtime/seccomp_filter.h"

#include <seccomp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>

namespace shoal::runtime {
namespace {

// The native number of `name`, or nothing: unknown to libseccomp (__NR_SCMP_ERROR), or one of
// its negative "pseudo" numbers, which stand for calls other architectures have.
std::optional<int> native_number(const std::string& name) {
  const int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr < 0)
    return std::nullopt;
  return nr;
}

Result<uint32_t> action_of(SeccompAction action, unsigned errno_ret) {
  switch (action) {
    case SeccompAction::kAllow:
      return uint32_t{SCMP_ACT_ALLOW};
    case SeccompAction::kErrno:
      if (errno_ret > 0xffff)
        return invalid_argument("seccomp errno", std::to_string(errno_ret) + " is out of range");
      return uint32_t{SCMP_ACT_ERRNO(errno_ret)};
    case SeccompAction::kKillProcess:
      return uint32_t{SCMP_ACT_KILL_PROCESS};
  }
  return invalid_argument("seccomp action", "unknown");
}

scmp_compare op_of(SeccompOp op) {
  switch (op) {
    case SeccompOp::kNotEqual:
      return SCMP_CMP_NE;
    case SeccompOp::kLessThan:
      return SCMP_CMP_LT;
    case SeccompOp::kLessOrEqual:
      return SCMP_CMP_LE;
    case SeccompOp::kEqualTo:
      return SCMP_CMP_EQ;
    case SeccompOp::kGreaterOrEqual:
      return SCMP_CMP_GE;
    case SeccompOp::kGreaterThan:
      return SCMP_CMP_GT;
    case SeccompOp::kMaskedEqual:
      return SCMP_CMP_MASKED_EQ;
  }
  return _SCMP_CMP_MIN;  // refused by libseccomp, with the rule named
}

// "SCMP_ARCH_X86_64" (OCI) to "x86_64" (libseccomp's own name).
std::string libseccomp_arch_name(const std::string& oci) {
  std::string name = oci.rfind("SCMP_ARCH_", 0) == 0 ? oci.substr(10) : oci;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

Status add_architectures(scmp_filter_ctx ctx, const std::vector<std::string>& architectures) {
  for (const std::string& arch : architectures) {
    const uint32_t token = seccomp_arch_resolve_name(libseccomp_arch_name(arch).c_str());
    if (token == 0)
      return invalid_argument("seccomp architecture " + arch, "unknown to libseccomp");
    if (token == seccomp_arch_native())
      continue;  // seccomp_init added it
    if (int rc = seccomp_arch_add(ctx, token); rc != 0 && rc != -EEXIST)
      return sys_error("add", "seccomp architecture " + arch, -rc);
  }
  return {};
}

Status add_rule(scmp_filter_ctx ctx, const SeccompRule& rule) {
  SHOAL_ASSIGN_OR_RETURN(const uint32_t action, action_of(rule.action, rule.errno_ret));
  std::vector<scmp_arg_cmp> args;
  for (const SeccompArg& arg : rule.args)
    args.push_back({arg.index, op_of(arg.op), arg.value, arg.value_two});
  for (const std::string& name : rule.names) {
    const std::optional<int> nr = native_number(name);
    if (!nr)
      continue;
    const int rc =
        seccomp_rule_add_array(ctx, action, *nr, static_cast<unsigned>(args.size()), args.data());
    if (rc == -EACCES)  // libseccomp's word for a conflict, not a permission
      return sys_error("add seccomp rule for", name, -rc,
                       "conflicts with the default action or another rule for the call");
    if (rc != 0)
      return sys_error("add seccomp rule for", name, -rc);
  }
  return {};
}

}  // namespace

void SeccompFilter::Release::operator()(void* ctx) const {
  seccomp_release(ctx);
}

Result<SeccompFilter> SeccompFilter::build(const SeccompProfile& profile) {
  SHOAL_ASSIGN_OR_RETURN(const uint32_t default_action,
                         action_of(profile.default_action, profile.default_errno_ret));
  SeccompFilter filter(seccomp_init(default_action));
  if (!filter.ctx_)
    return invalid_argument("seccomp filter", "libseccomp refused the default action");
  if (int rc = seccomp_attr_set(filter.ctx_.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      rc != 0)
    return sys_error("set", "seccomp action for other architectures", -rc);
  SHOAL_TRY(add_architectures(filter.ctx_.get(), profile.architectures));
  for (const SeccompRule& rule : profile.syscalls)
    SHOAL_TRY(add_rule(filter.ctx_.get(), rule));
  return filter;
}

Status SeccompFilter::load() const {
  if (int rc = seccomp_load(ctx_.get()); rc != 0)
    return sys_error("install", "seccomp filter", -rc);
  return {};
}

std::vector<std::string> unresolved_syscalls(const SeccompProfile& profile) {
  std::vector<std::string> names;
  for (const SeccompRule& rule : profile.syscalls) {
    for (const std::string& name : rule.names) {
      if (!native_number(name))
        names.push_back(name);
    }
  }
  return names;
}

}  // namespace shoal::runtime
