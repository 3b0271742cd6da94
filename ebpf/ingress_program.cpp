#include "ebpf/ingress_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <cerrno>

#include "dataplane/link_of_address.h"
#include "ebpf/lb_maps.h"
#include "shoal_ingress.skel.h"

namespace shoal::ebpf {
namespace {

// One filter of ours per hook: a fixed handle and priority, so a new agent replaces it.
constexpr uint32_t kFilterHandle = 0x5a0;
constexpr uint32_t kFilterPriority = 0x5a0;

Result<int> ifindex_of(const std::string& name) {
  unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) {
    return sys_error("find link", name + " in the node namespace", errno);
  }
  return static_cast<int>(index);
}

Status attach_tc(int ifindex, int prog_fd, const std::string& link) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  if (int err = bpf_tc_hook_create(&hook); err != 0 && err != -EEXIST) {
    return sys_error("create clsact qdisc", link, -err);
  }
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kFilterHandle;
  opts.priority = kFilterPriority;
  opts.prog_fd = prog_fd;
  opts.flags = BPF_TC_F_REPLACE;
  if (int err = bpf_tc_attach(&hook, &opts); err != 0) {
    return sys_error("attach tc ingress program", link, -err);
  }
  return {};
}

Status detach_tc(const std::string& link) {
  unsigned index = ::if_nametoindex(link.c_str());
  if (index == 0) {
    return {};  // the link is gone, and its filters with it
  }
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = static_cast<int>(index);
  hook.attach_point = BPF_TC_INGRESS;
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kFilterHandle;
  opts.priority = kFilterPriority;
  // ENOENT: no such filter; EINVAL: no clsact qdisc at all. Either way nothing of ours is there.
  if (int err = bpf_tc_detach(&hook, &opts); err != 0 && err != -ENOENT && err != -EINVAL) {
    return sys_error("detach tc ingress program", link, -err);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<IngressProgram>> IngressProgram::load(IngressConfig config) {
  std::unique_ptr<IngressProgram> program(new IngressProgram(std::move(config)));
  program->skeleton_ = shoal_ingress__open();
  shoal_ingress* skel = program->skeleton_;
  if (skel == nullptr) {
    return sys_error("open BPF object", "shoal_ingress", errno);
  }
  const IngressConfig& c = program->config_;
  bpf_map__set_max_entries(skel->maps.shoal_lb_slots, c.max_slots);
  bpf_map__set_max_entries(skel->maps.shoal_ingress_ports, c.max_ports);
  bpf_map__set_max_entries(skel->maps.shoal_ct_out, c.max_flows);
  bpf_map__set_max_entries(skel->maps.shoal_ct_back, c.max_flows);
  for (bpf_map* map :
       {skel->maps.shoal_lb_slots, skel->maps.shoal_ingress_ports, skel->maps.shoal_ingress_cfg,
        skel->maps.shoal_ct_out, skel->maps.shoal_ct_back}) {
    const std::string pin = c.pin_dir + "/" + bpf_map__name(map);
    if (int err = bpf_map__set_pin_path(map, pin.c_str()); err != 0) {
      return sys_error("set pin path", pin, -err);
    }
  }
  if (int err = shoal_ingress__load(skel); err != 0) {
    return sys_error("load BPF programs", "shoal_ingress (pins in " + c.pin_dir + ")", -err);
  }
  return program;
}

IngressProgram::~IngressProgram() {
  if (skeleton_ != nullptr) {
    shoal_ingress__destroy(skeleton_);
  }
}

int IngressProgram::ports_fd() const {
  return bpf_map__fd(skeleton_->maps.shoal_ingress_ports);
}
int IngressProgram::config_fd() const {
  return bpf_map__fd(skeleton_->maps.shoal_ingress_cfg);
}
int IngressProgram::from_uplink_fd() const {
  return bpf_program__fd(skeleton_->progs.shoal_ingress_from_uplink);
}
int IngressProgram::from_overlay_fd() const {
  return bpf_program__fd(skeleton_->progs.shoal_ingress_from_overlay);
}

Result<std::string> IngressProgram::uplink_in_this_netns() const {
  if (!config_.uplink.empty())
    return config_.uplink;
  return dataplane::link_holding(config_.node_ip);
}

Status IngressProgram::attach(const dataplane::Netns& node) {
  // tc and interface names are per namespace: all of it happens inside the node's.
  return dataplane::run_in_netns(node, [&]() -> Status {
    SHOAL_ASSIGN_OR_RETURN(std::string uplink_name, uplink_in_this_netns());
    SHOAL_ASSIGN_OR_RETURN(int uplink, ifindex_of(uplink_name));
    SHOAL_ASSIGN_OR_RETURN(int ingress, ifindex_of(config_.ingress_link));
    shoal_ingress_config value{};
    value.node_ip = config_.node_ip.network_order();
    value.ingress_ip = config_.ingress_ip.network_order();
    value.uplink_ifindex = static_cast<uint32_t>(uplink);
    value.ingress_ifindex = static_cast<uint32_t>(ingress);
    const uint32_t zero = 0;
    if (bpf_map_update_elem(config_fd(), &zero, &value, BPF_ANY) != 0) {
      return sys_error("update", "BPF map shoal_ingress_cfg", errno);
    }
    SHOAL_TRY(attach_tc(uplink, from_uplink_fd(), uplink_name));
    return attach_tc(ingress, from_overlay_fd(), config_.ingress_link);
  });
}

Status IngressProgram::detach(const dataplane::Netns& node) {
  return dataplane::run_in_netns(node, [&]() -> Status {
    SHOAL_ASSIGN_OR_RETURN(std::string uplink_name, uplink_in_this_netns());
    SHOAL_TRY(detach_tc(uplink_name));
    return detach_tc(config_.ingress_link);
  });
}

Status IngressProgram::unpin() {
  for (bpf_map* map : {skeleton_->maps.shoal_ingress_ports, skeleton_->maps.shoal_ingress_cfg,
                       skeleton_->maps.shoal_ct_out, skeleton_->maps.shoal_ct_back}) {
    if (int err = bpf_map__unpin(map, nullptr); err != 0 && err != -ENOENT) {
      return sys_error("unpin map", bpf_map__name(map), -err);
    }
  }
  return {};
}

}  // namespace shoal::ebpf
