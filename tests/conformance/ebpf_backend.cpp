// The eBPF backend: the VIP program on the node's cgroup and the routing mesh on its links.
#include "dataplane/netns.h"
#include "ebpf/ebpf_lb.h"
#include "ebpf/ingress_program.h"
#include "ebpf/lb_program.h"
#include "tests/conformance/backend_under_test.h"
#include "tests/support/private_mounts.h"

namespace shoal::conformance {
namespace {

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

class EbpfBackend final : public BackendUnderTest {
 public:
  lb::LoadBalancer& balancer() override { return *balancer_; }
  std::vector<std::string> as_task(const std::vector<std::string>& argv) const override {
    std::string command =
        "echo $$ > " + program_->cgroup() + "/cgroup.procs && exec /usr/sbin/ip netns exec " + ns_;
    for (const std::string& a : argv) {
      command += " '" + a + "'";
    }
    return {"sh", "-c", command};
  }
  Status teardown() override {
    balancer_.reset();
    maps_.reset();
    SHOAL_ASSIGN_OR_RETURN(auto node, dataplane::Netns::open_named(ns_));
    Status detached = ingress_->detach(node);
    Status unpinned = ingress_->unpin();
    Status uninstalled = program_->uninstall();
    SHOAL_TRY(detached);
    SHOAL_TRY(unpinned);
    return uninstalled;
  }

  std::string ns_;
  std::unique_ptr<ebpf::LbProgram> program_;
  std::unique_ptr<ebpf::IngressProgram> ingress_;
  std::unique_ptr<ebpf::BpfLbMapIo> maps_;
  std::unique_ptr<ebpf::EbpfLoadBalancer> balancer_;
};

}  // namespace

const char* backend_kind() {
  return "ebpf";
}

Result<std::unique_ptr<BackendUnderTest>> make_backend(const Node& node) {
  auto backend = std::make_unique<EbpfBackend>();
  backend->ns_ = node.ns;
  ebpf::LbProgramConfig config;
  config.node = node.tag;
  SHOAL_ASSIGN_OR_RETURN(backend->program_, ebpf::LbProgram::load(config));
  ebpf::IngressConfig mesh;
  mesh.pin_dir = backend->program_->pin_dir();
  mesh.max_slots = config.max_slots;
  mesh.node_ip = node.node_ip;
  mesh.ingress_ip = node.ingress_ip;
  mesh.uplink = node.uplink;
  mesh.ingress_link = node.ingress_link;
  SHOAL_ASSIGN_OR_RETURN(backend->ingress_, ebpf::IngressProgram::load(mesh));
  SHOAL_ASSIGN_OR_RETURN(auto ns, dataplane::Netns::open_named(node.ns));
  SHOAL_TRY(backend->ingress_->attach(ns));
  backend->maps_ = std::make_unique<ebpf::BpfLbMapIo>(backend->program_->services_fd(),
                                                      backend->program_->slots_fd(),
                                                      backend->ingress_->ports_fd());
  SHOAL_ASSIGN_OR_RETURN(backend->balancer_, ebpf::EbpfLoadBalancer::create(*backend->maps_));
  return std::unique_ptr<BackendUnderTest>(std::move(backend));
}

}  // namespace shoal::conformance
