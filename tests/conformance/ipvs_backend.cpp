// The IPVS backend in the node's namespace (run inside the VM: this host's kernel has no IPVS).
#include "ipvs/ipvs_lb.h"
#include "tests/conformance/backend_under_test.h"

namespace shoal::conformance {
namespace {

class IpvsBackend final : public BackendUnderTest {
 public:
  IpvsBackend(std::string ns, std::unique_ptr<ipvs::LinuxIpvsKernel> kernel,
              std::unique_ptr<ipvs::IpvsLoadBalancer> balancer)
      : ns_(std::move(ns)), kernel_(std::move(kernel)), balancer_(std::move(balancer)) {}
  lb::LoadBalancer& balancer() override { return *balancer_; }
  std::vector<std::string> as_task(const std::vector<std::string>& argv) const override {
    std::vector<std::string> full{"/usr/sbin/ip", "netns", "exec", ns_};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
  }
  Status teardown() override { return balancer_->teardown(); }

 private:
  std::string ns_;
  std::unique_ptr<ipvs::LinuxIpvsKernel> kernel_;
  std::unique_ptr<ipvs::IpvsLoadBalancer> balancer_;
};

}  // namespace

const char* backend_kind() {
  return "ipvs";
}

Result<std::unique_ptr<BackendUnderTest>> make_backend(const Node& node) {
  SHOAL_ASSIGN_OR_RETURN(auto ns, dataplane::Netns::open_named(node.ns));
  SHOAL_ASSIGN_OR_RETURN(auto kernel, ipvs::LinuxIpvsKernel::open(std::move(ns)));
  SHOAL_ASSIGN_OR_RETURN(auto balancer, ipvs::IpvsLoadBalancer::create(*kernel));
  return std::unique_ptr<BackendUnderTest>(
      new IpvsBackend(node.ns, std::move(kernel), std::move(balancer)));
}

}  // namespace shoal::conformance
