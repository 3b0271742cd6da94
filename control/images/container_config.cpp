#include "control/images/container_config.h"

#include <algorithm>
#include <array>
#include <csignal>
#include <map>
#include <optional>

#include "common/printable.h"

namespace shoal::images {

namespace {

// Docker's bound for ids (moby/sys/user): ids above 2^31 - 1 are refused.
constexpr uint64_t kMaxId = (1ull << 31) - 1;
// Linux's real-time signals as userspace numbers them (glibc keeps 32 and 33 for itself), as
// Docker's RTMIN/RTMAX names do.
constexpr int kRtMin = 34;
constexpr int kRtMax = 64;
constexpr size_t kMaxSignalNameLength = 32;

struct NamedSignal {
  std::string_view name;
  int number;
};

constexpr std::array kSignals = {
    NamedSignal{"ABRT", SIGABRT},     NamedSignal{"ALRM", SIGALRM},
    NamedSignal{"BUS", SIGBUS},       NamedSignal{"CHLD", SIGCHLD},
    NamedSignal{"CLD", SIGCHLD},      NamedSignal{"CONT", SIGCONT},
    NamedSignal{"FPE", SIGFPE},       NamedSignal{"HUP", SIGHUP},
    NamedSignal{"ILL", SIGILL},       NamedSignal{"INT", SIGINT},
    NamedSignal{"IO", SIGIO},         NamedSignal{"IOT", SIGABRT},
    NamedSignal{"KILL", SIGKILL},     NamedSignal{"PIPE", SIGPIPE},
    NamedSignal{"POLL", SIGIO},       NamedSignal{"PROF", SIGPROF},
    NamedSignal{"PWR", SIGPWR},       NamedSignal{"QUIT", SIGQUIT},
    NamedSignal{"SEGV", SIGSEGV},     NamedSignal{"STKFLT", SIGSTKFLT},
    NamedSignal{"STOP", SIGSTOP},     NamedSignal{"SYS", SIGSYS},
    NamedSignal{"TERM", SIGTERM},     NamedSignal{"TRAP", SIGTRAP},
    NamedSignal{"TSTP", SIGTSTP},     NamedSignal{"TTIN", SIGTTIN},
    NamedSignal{"TTOU", SIGTTOU},     NamedSignal{"URG", SIGURG},
    NamedSignal{"USR1", SIGUSR1},     NamedSignal{"USR2", SIGUSR2},
    NamedSignal{"VTALRM", SIGVTALRM}, NamedSignal{"WINCH", SIGWINCH},
    NamedSignal{"XCPU", SIGXCPU},     NamedSignal{"XFSZ", SIGXFSZ},
};

std::string in_quotes(std::string_view text) {
  return "\"" + printable(text, {.keep_newlines = false, .max_bytes = 200}) + "\"";
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal number of at most `max`, or nullopt (not a number, or too large).
std::optional<uint64_t> parse_number(std::string_view text, uint64_t max) {
  if (!all_digits(text) || text.size() > 19) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) {
    return std::nullopt;
  }
  return value;
}

std::string_view env_name(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// "/a/./b//c/../d" -> "/a/b/d", as Docker cleans a working directory.
std::string clean_absolute_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string clean;
  for (std::string_view part : parts) {
    clean += "/";
    clean += part;
  }
  return clean.empty() ? "/" : clean;
}

Result<std::vector<std::string>> argv_of(const ImageConfig& image,
                                         const ServiceContainer& service) {
  std::vector<std::string> argv;
  if (!service.command.empty()) {
    // Docker: an entrypoint given at create time drops the image's Cmd with its Entrypoint
    // (the image's Cmd was written as arguments to the image's Entrypoint).
    argv = service.command;
    argv.insert(argv.end(), service.args.begin(), service.args.end());
  } else {
    argv = image.entrypoint;
    const auto& cmd = service.args.empty() ? image.cmd : service.args;
    argv.insert(argv.end(), cmd.begin(), cmd.end());
  }
  if (argv.empty()) {
    return Error{.op = "create container",
                 .object = "",
                 .detail =
                     "no command specified (the image has no Entrypoint or Cmd and the "
                     "service gives no command or arguments)"};
  }
  return argv;
}

Result<std::string> workdir_of(const ImageConfig& image, const ServiceContainer& service) {
  const std::string& workdir = !service.workdir.empty() ? service.workdir : image.working_dir;
  if (workdir.empty()) {
    return std::string("/");
  }
  if (workdir.front() != '/') {
    return Error{.op = "invalid",
                 .object = "working directory " + in_quotes(workdir),
                 .detail = "it needs to be an absolute path"};
  }
  return clean_absolute_path(workdir);
}

// One line of /etc/passwd or /etc/group, split at ':'; nullopt for blank and comment lines.
std::optional<std::vector<std::string_view>> account_fields(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    line.remove_prefix(1);
  }
  if (line.empty() || line.front() == '#') {
    return std::nullopt;
  }
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t colon = line.find(':', start);
    fields.push_back(
        line.substr(start, colon == std::string_view::npos ? line.npos : colon - start));
    if (colon == std::string_view::npos) {
      return fields;
    }
    start = colon + 1;
  }
}

// An account file's entry: its name, id (uid or gid) and, for passwd, primary gid.
struct AccountEntry {
  std::string_view name;
  uint32_t id = 0;
  uint32_t gid = 0;
};

// The first entry `matches` accepts. Lines too short or with ids that are not numbers are
// skipped, as the C library skips them.
template <typename Match>
std::optional<AccountEntry> find_account(std::string_view file, bool is_passwd, Match matches) {
  size_t start = 0;
  while (start < file.size()) {
    size_t end = std::min(file.find('\n', start), file.size());
    auto fields = account_fields(file.substr(start, end - start));
    start = end + 1;
    if (!fields.has_value() || fields->size() < (is_passwd ? 4u : 3u)) {
      continue;
    }
    auto id = parse_number((*fields)[2], kMaxId);
    auto gid = is_passwd ? parse_number((*fields)[3], kMaxId) : id;
    if (!id.has_value() || !gid.has_value()) {
      continue;
    }
    AccountEntry entry{(*fields)[0], static_cast<uint32_t>(*id), static_cast<uint32_t>(*gid)};
    if (matches(entry)) {
      return entry;
    }
  }
  return std::nullopt;
}

Error bad_user(std::string_view user, std::string why) {
  return Error{.op = "resolve user", .object = in_quotes(user), .detail = std::move(why)};
}

// Numbers go by id (a number needs no entry); names must have an entry.
Status resolve_user_part(std::string_view spec, std::string_view name, std::string_view passwd,
                         uint32_t& uid, uint32_t& gid) {
  if (all_digits(name)) {
    auto number = parse_number(name, kMaxId);
    if (!number.has_value()) {
      return bad_user(spec, "uid " + std::string(name) + " is out of range (at most " +
                                std::to_string(kMaxId) + ")");
    }
    uid = static_cast<uint32_t>(*number);
    auto entry = find_account(passwd, true, [&](const AccountEntry& e) { return e.id == uid; });
    gid = entry.has_value() ? entry->gid : 0;
    return {};
  }
  auto entry = find_account(passwd, true, [&](const AccountEntry& e) { return e.name == name; });
  if (!entry.has_value()) {
    return bad_user(
        spec, "unable to find user " + in_quotes(name) + ": no matching entries in passwd file");
  }
  uid = entry->id;
  gid = entry->gid;
  return {};
}

Status resolve_group_part(std::string_view spec, std::string_view name, std::string_view group,
                          uint32_t& gid) {
  if (all_digits(name)) {
    auto number = parse_number(name, kMaxId);
    if (!number.has_value()) {
      return bad_user(spec, "gid " + std::string(name) + " is out of range (at most " +
                                std::to_string(kMaxId) + ")");
    }
    gid = static_cast<uint32_t>(*number);
    return {};
  }
  auto entry = find_account(group, false, [&](const AccountEntry& e) { return e.name == name; });
  if (!entry.has_value()) {
    return bad_user(
        spec, "unable to find group " + in_quotes(name) + ": no matching entries in group file");
  }
  gid = entry->id;
  return {};
}

std::optional<int> real_time_signal(std::string_view name) {
  std::string_view base = name.substr(0, 5);
  if (base != "RTMIN" && base != "RTMAX") {
    return std::nullopt;
  }
  int anchor = base == "RTMIN" ? kRtMin : kRtMax;
  std::string_view rest = name.substr(5);
  if (rest.empty()) {
    return anchor;
  }
  char sign = base == "RTMIN" ? '+' : '-';
  auto offset = rest.front() == sign ? parse_number(rest.substr(1), kRtMax - kRtMin) : std::nullopt;
  if (!offset.has_value() || *offset == 0) {
    return std::nullopt;
  }
  return sign == '+' ? anchor + static_cast<int>(*offset) : anchor - static_cast<int>(*offset);
}

}  // namespace

Result<std::vector<std::string>> merge_env(std::vector<std::string> defaults,
                                           const std::vector<std::string>& overrides) {
  std::vector<std::optional<std::string>> entries;
  std::map<std::string, size_t, std::less<>> position;
  auto apply = [&](const std::string& entry) -> Status {
    std::string_view name = env_name(entry);
    if (name.empty()) {
      return Error{.op = "invalid",
                   .object = "environment entry " + in_quotes(entry),
                   .detail = "it has no variable name (NAME=value)"};
    }
    bool unset = entry.find('=') == std::string::npos;
    auto it = position.find(name);
    if (it != position.end()) {
      entries[it->second] = unset ? std::nullopt : std::optional<std::string>(entry);
    } else if (!unset) {
      position.emplace(std::string(name), entries.size());
      entries.emplace_back(entry);
    }
    return {};
  };
  for (const auto& entry : defaults) {
    SHOAL_TRY(apply(entry));
  }
  for (const auto& entry : overrides) {
    SHOAL_TRY(apply(entry));
  }
  std::vector<std::string> merged;
  for (auto& entry : entries) {
    if (entry.has_value()) {
      merged.push_back(std::move(*entry));
    }
  }
  return merged;
}

Result<int> parse_signal(std::string_view text) {
  auto bad = [&](std::string why) {
    return Error{
        .op = "invalid", .object = "stop signal " + in_quotes(text), .detail = std::move(why)};
  };
  if (all_digits(text)) {
    auto number = parse_number(text, kRtMax);
    if (!number.has_value() || *number == 0) {
      return bad("signal numbers run from 1 to " + std::to_string(kRtMax));
    }
    return static_cast<int>(*number);
  }
  if (text.empty() || text.size() > kMaxSignalNameLength) {
    return bad("not a signal name or number");
  }
  std::string name(text);
  std::transform(name.begin(), name.end(), name.begin(), [](char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  });
  std::string_view bare = name;
  if (bare.starts_with("SIG")) {
    bare.remove_prefix(3);
  }
  for (const auto& signal : kSignals) {
    if (signal.name == bare) {
      return signal.number;
    }
  }
  if (auto real_time = real_time_signal(bare); real_time.has_value()) {
    return *real_time;
  }
  return bad("not a signal name or number (SIGTERM, QUIT, 3, RTMIN+1, ...)");
}

Result<ContainerProcess> merge_container_config(const ImageConfig& image,
                                                const ServiceContainer& service) {
  ContainerProcess process;
  SHOAL_ASSIGN_OR_RETURN(process.argv, argv_of(image, service));
  std::vector<std::string> defaults{std::string(kDefaultPath)};
  if (!service.hostname.empty()) {
    defaults.push_back("HOSTNAME=" + service.hostname);
  }
  std::vector<std::string> overrides = image.env;
  overrides.insert(overrides.end(), service.env.begin(), service.env.end());
  SHOAL_ASSIGN_OR_RETURN(process.env, merge_env(std::move(defaults), overrides));
  process.user = !service.user.empty() ? service.user : image.user;
  SHOAL_ASSIGN_OR_RETURN(process.workdir, workdir_of(image, service));
  const std::string& signal =
      !service.stop_signal.empty() ? service.stop_signal : image.stop_signal;
  if (!signal.empty()) {
    SHOAL_ASSIGN_OR_RETURN(process.stop_signal, parse_signal(signal));
  } else {
    process.stop_signal = SIGTERM;
  }
  return process;
}

Result<std::pair<uint32_t, uint32_t>> resolve_user(std::string user, std::string_view passwd,
                                                   std::string_view group) {
  if (user.size() > kMaxUserSpecLength) {
    return bad_user(user, "longer than " + std::to_string(kMaxUserSpecLength) + " characters");
  }
  if (passwd.size() > kMaxAccountFileBytes || group.size() > kMaxAccountFileBytes) {
    return bad_user(user, "the container's /etc/passwd or /etc/group is larger than " +
                              std::to_string(kMaxAccountFileBytes >> 20) + " MiB");
  }
  size_t colon = user.find(':');
  if (colon != std::string::npos && user.find(':', colon + 1) != std::string::npos) {
    return bad_user(user, "a user is NAME|UID[:GROUP|GID], with one ':' at most");
  }
  std::string_view spec = user;
  std::string_view user_part = spec.substr(0, colon);
  std::string_view group_part =
      colon == std::string::npos ? std::string_view() : spec.substr(colon + 1);
  uint32_t uid = 0;
  uint32_t gid = 0;
  // An empty user part (":group", or no user at all) is root, whose gid passwd may still set.
  SHOAL_TRY(resolve_user_part(spec, user_part.empty() ? "0" : user_part, passwd, uid, gid));
  if (!group_part.empty()) {
    SHOAL_TRY(resolve_group_part(spec, group_part, group, gid));
  }
  return std::make_pair(uid, gid);
}

}  // namespace shoal::images
