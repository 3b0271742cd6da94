// The eBPF service balancer: today's node-wide programs (VIP hooks on the node's cgroup, the
// routing mesh on its links). Tasks' namespaces need nothing: every task runs in the cgroup.
#include "control/agent/plane/service_balancer.h"
#include "ebpf/ebpf_lb.h"
#include "ebpf/ingress_program.h"
#include "ebpf/lb_program.h"

namespace shoal::agent {
namespace {

class EbpfServiceBalancer final : public ServiceBalancer {
 public:
  EbpfServiceBalancer(BalancerConfig config, dataplane::Netns node_ns)
      : config_(std::move(config)), node_ns_(std::move(node_ns)) {}

  Status load() {
    ebpf::LbProgramConfig lb_config;
    lb_config.node = config_.node_tag;
    SHOAL_ASSIGN_OR_RETURN(program_, ebpf::LbProgram::load(lb_config));
    // Loaded now so that the published-ports map is there (and adopted) from the first moment;
    // the attached one comes with enable_mesh. Both use the same pinned maps.
    SHOAL_ASSIGN_OR_RETURN(ports_, ebpf::IngressProgram::load(ingress_config(std::nullopt)));
    maps_ = std::make_unique<ebpf::BpfLbMapIo>(program_->services_fd(), program_->slots_fd(),
                                               ports_->ports_fd());
    SHOAL_ASSIGN_OR_RETURN(lb_, ebpf::EbpfLoadBalancer::create(*maps_));
    return {};
  }

  const char* name() const override { return "ebpf"; }
  lb::LoadBalancer& balancer() override { return *lb_; }

  Status enable_mesh(Ipv4 node_ingress_ip) override {
    SHOAL_TRY(check());
    if (mesh_ && mesh_ip_ == node_ingress_ip)
      return {};
    SHOAL_ASSIGN_OR_RETURN(auto mesh, ebpf::IngressProgram::load(ingress_config(node_ingress_ip)));
    SHOAL_TRY(mesh->attach(node_ns_));  // replaces the filters of an earlier load in place
    mesh_ = std::move(mesh);
    mesh_ip_ = node_ingress_ip;
    return {};
  }

  Status attach_task(const std::string&, const std::string&,
                     const std::set<std::string>&) override {
    return check();
  }
  void detach_task(const std::string&) override {}
  Status prune() override {
    SHOAL_TRY(check());
    return lb_->prune();
  }

  Status uninstall() override {
    SHOAL_TRY(check());
    lb_.reset();
    maps_.reset();
    ebpf::IngressProgram* ingress = mesh_ ? mesh_.get() : ports_.get();
    Status detached = ingress->detach(node_ns_);
    Status unpinned = ingress->unpin();
    Status uninstalled = program_->uninstall();
    mesh_.reset();
    ports_.reset();
    program_.reset();
    SHOAL_TRY(detached);
    SHOAL_TRY(unpinned);
    return uninstalled;
  }

 private:
  Status check() const {
    if (!program_)
      return invalid_argument("eBPF balancer " + config_.node_tag, "is uninstalled");
    return {};
  }
  ebpf::IngressConfig ingress_config(std::optional<Ipv4> ingress_ip) const {
    ebpf::IngressConfig c;
    c.pin_dir = program_->pin_dir();
    c.max_slots = ebpf::LbProgramConfig{}.max_slots;
    c.node_ip = config_.node_ip;
    if (ingress_ip)
      c.ingress_ip = *ingress_ip;
    c.uplink = config_.uplink;
    c.ingress_link = config_.ingress_link;
    return c;
  }

  BalancerConfig config_;
  dataplane::Netns node_ns_;
  std::unique_ptr<ebpf::LbProgram> program_;
  std::unique_ptr<ebpf::IngressProgram> ports_;
  std::unique_ptr<ebpf::IngressProgram> mesh_;
  Ipv4 mesh_ip_;
  std::unique_ptr<ebpf::BpfLbMapIo> maps_;
  std::unique_ptr<ebpf::EbpfLoadBalancer> lb_;
};

}  // namespace

Result<std::unique_ptr<ServiceBalancer>> make_ebpf_balancer(const BalancerConfig& config) {
  SHOAL_ASSIGN_OR_RETURN(dataplane::Netns node_ns, open_netns(config.node_netns));
  auto balancer = std::make_unique<EbpfServiceBalancer>(config, std::move(node_ns));
  SHOAL_TRY(balancer->load());
  return std::unique_ptr<ServiceBalancer>(std::move(balancer));
}

}  // namespace shoal::agent
