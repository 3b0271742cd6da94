#include "ebpf/lb_program.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/mounts.h"
#include "shoal_lb.skel.h"

namespace shoal::ebpf {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<std::unique_ptr<LbProgram>> LbProgram::load(LbProgramConfig config) {
  if (config.node.empty()) {
    return invalid_argument("eBPF load balancer", "node tag is empty");
  }
  if (config.pin_dir.empty()) {
    SHOAL_ASSIGN_OR_RETURN(std::string bpffs, ensure_bpffs());
    config.pin_dir = bpffs + "/shoal/" + config.node;
  }
  if (config.cgroup.empty()) {
    SHOAL_ASSIGN_OR_RETURN(std::string cgroup2, ensure_cgroup2());
    config.cgroup = cgroup2 + "/shoal/" + config.node;
  }
  SHOAL_TRY(make_dirs(config.pin_dir));
  SHOAL_TRY(make_dirs(config.cgroup));
  std::unique_ptr<LbProgram> program(new LbProgram(std::move(config)));
  SHOAL_TRY(program->open_and_load());
  SHOAL_TRY(program->attach_all());
  return program;
}

LbProgram::~LbProgram() {
  for (bpf_link* link : links_) {
    bpf_link__destroy(link);  // closes our descriptor; the pin keeps the attachment
  }
  if (skeleton_ != nullptr) {
    shoal_lb__destroy(skeleton_);
  }
}

int LbProgram::services_fd() const {
  return bpf_map__fd(skeleton_->maps.shoal_lb_services);
}

int LbProgram::slots_fd() const {
  return bpf_map__fd(skeleton_->maps.shoal_lb_slots);
}

Status LbProgram::open_and_load() {
  skeleton_ = shoal_lb__open();
  if (skeleton_ == nullptr) {
    return sys_error("open BPF object", "shoal_lb", errno);
  }
  bpf_map__set_max_entries(skeleton_->maps.shoal_lb_services, config_.max_frontends);
  bpf_map__set_max_entries(skeleton_->maps.shoal_lb_slots, config_.max_slots);
  for (bpf_map* map : {skeleton_->maps.shoal_lb_services, skeleton_->maps.shoal_lb_slots,
                       skeleton_->maps.shoal_lb_udp}) {
    const std::string pin = config_.pin_dir + "/" + bpf_map__name(map);
    if (int err = bpf_map__set_pin_path(map, pin.c_str()); err != 0) {
      return sys_error("set pin path", pin, -err);
    }
  }
  // libbpf re-uses a map already pinned at its path, and pins a new one otherwise.
  if (int err = shoal_lb__load(skeleton_); err != 0) {
    return sys_error("load BPF programs", "shoal_lb (pins in " + config_.pin_dir + ")", -err,
                     "a pinned map with other sizes is refused: remove the pins to resize");
  }
  return {};
}

Status LbProgram::attach_all() {
  UniqueFd cgroup(::open(config_.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.valid()) {
    return sys_error("open cgroup", config_.cgroup, errno);
  }
  for (bpf_program* prog : {skeleton_->progs.shoal_connect4, skeleton_->progs.shoal_sendmsg4,
                            skeleton_->progs.shoal_recvmsg4}) {
    const std::string pin = config_.pin_dir + "/link_" + bpf_program__name(prog);
    bpf_link* link = nullptr;
    if (exists(pin)) {
      // An earlier agent's attachment: swap the program in place, never leaving a gap.
      link = bpf_link__open(pin.c_str());
      if (link == nullptr) {
        return sys_error("open pinned link", pin, errno);
      }
      links_.push_back(link);
      if (int err = bpf_link__update_program(link, prog); err != 0) {
        return sys_error("update pinned link", pin, -err);
      }
      continue;
    }
    link = bpf_program__attach_cgroup(prog, cgroup.get());
    if (link == nullptr) {
      return sys_error("attach " + std::string(bpf_program__name(prog)), config_.cgroup, errno);
    }
    links_.push_back(link);
    if (int err = bpf_link__pin(link, pin.c_str()); err != 0) {
      return sys_error("pin link", pin, -err);
    }
  }
  return {};
}

Status LbProgram::uninstall() {
  for (bpf_link* link : links_) {
    if (int err = bpf_link__unpin(link); err != 0 && err != -ENOENT) {
      return sys_error("unpin link", config_.pin_dir, -err);
    }
    if (int err = bpf_link__detach(link); err != 0) {
      return sys_error("detach link", config_.cgroup, -err);
    }
  }
  for (bpf_map* map : {skeleton_->maps.shoal_lb_services, skeleton_->maps.shoal_lb_slots,
                       skeleton_->maps.shoal_lb_udp}) {
    if (int err = bpf_map__unpin(map, nullptr); err != 0 && err != -ENOENT) {
      return sys_error("unpin map", bpf_map__name(map), -err);
    }
  }
  if (::rmdir(config_.pin_dir.c_str()) != 0 && errno != ENOENT) {
    return sys_error("remove pin directory", config_.pin_dir, errno);
  }
  if (::rmdir(config_.cgroup.c_str()) != 0 && errno != ENOENT && errno != EBUSY) {
    return sys_error("remove cgroup", config_.cgroup, errno);
  }
  // The shared "shoal" parents go with the last node that used them; others may still be there.
  for (const std::string& dir : {config_.pin_dir, config_.cgroup}) {
    (void)::rmdir(dir.substr(0, dir.rfind('/')).c_str());
  }
  return {};
}

}  // namespace shoal::ebpf
