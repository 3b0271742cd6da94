// The service plane's IPVS balancer without a kernel: which namespace gets which part of each
// service (VIPs to the tasks on their network, published ports to the node), over recording
// kernels, one per namespace.
#include <gtest/gtest.h>

#include <map>

#include "control/agent/plane/ipvs_service_balancer.h"
#include "tests/support/assertions.h"
#include "tests/unit/ipvs/fake_ipvs_kernel.h"

namespace shoal::agent {
namespace {

using ipvs::Command;
using testing::ip;

// Forwards to a recording kernel the test keeps: what happened in a namespace stays readable
// after the balancer dropped its instance there.
class ProxyKernel final : public ipvs::IpvsKernel {
 public:
  explicit ProxyKernel(ipvs::FakeIpvsKernel& to) : to_(&to) {}
  Status send(const ipvs::Request& r) override { return to_->send(r); }
  Result<std::vector<ipvs::DestStats>> dests(uint32_t mark) override { return to_->dests(mark); }
  Status nft(const std::string& script) override { return to_->nft(script); }
  Result<std::string> nft_json(const std::string& command) override {
    return to_->nft_json(command);
  }
  Status add_vip(Ipv4 vip) override { return to_->add_vip(vip); }
  Status remove_vip(Ipv4 vip) override { return to_->remove_vip(vip); }
  Status remove_vip_link() override { return to_->remove_vip_link(); }

 private:
  ipvs::FakeIpvsKernel* to_;
};

lb::Service web_vip(std::vector<lb::Backend> backends) {
  lb::Service s;
  s.id = "web/app";
  s.network = "app";
  s.frontends = {lb::Frontend{ip("10.0.1.2"), 0, lb::Protocol::kTcp, 0}};
  s.backends = std::move(backends);
  return s;
}

lb::Service web_ports() {
  lb::Service s;
  s.id = "web/ingress";
  s.network = "ingress";
  s.published = {lb::PublishedPort{8080, lb::Protocol::kTcp, 80}};
  s.ingress_backends = {{ip("10.0.0.11")}};
  return s;
}

size_t count(const ipvs::FakeIpvsKernel& k, Command command) {
  size_t n = 0;
  for (const auto& r : k.requests)
    n += r.command == command ? 1 : 0;
  return n;
}

class IpvsServiceBalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = IpvsServiceBalancer::create([this](const std::string& netns) {
      opened.push_back(netns);
      return Result<std::unique_ptr<ipvs::IpvsKernel>>(
          std::make_unique<ProxyKernel>(kernels[netns]));
    });
    ASSERT_TRUE(made.ok()) << made.error().message();
    balancer = std::move(*made);
  }
  ipvs::FakeIpvsKernel& node() { return kernels[""]; }

  std::map<std::string, ipvs::FakeIpvsKernel> kernels;  // by namespace; "" the node's
  std::vector<std::string> opened;
  std::unique_ptr<IpvsServiceBalancer> balancer;
};

TEST_F(IpvsServiceBalancerTest, AVipGoesToTheTasksOnItsNetworkOnly) {
  ASSERT_OK(balancer->attach_task("t1", "ns1", {"app", "ingress"}));
  ASSERT_OK(balancer->attach_task("t2", "ns2", {"other"}));
  ASSERT_OK(balancer->upsert(web_vip({{ip("10.0.1.11")}})));
  EXPECT_EQ(kernels["ns1"].vips, std::set<Ipv4>{ip("10.0.1.2")});
  EXPECT_EQ(count(kernels["ns1"], Command::kNewService), 1u);
  EXPECT_EQ(count(kernels["ns1"], Command::kNewDest), 1u);
  EXPECT_TRUE(kernels["ns2"].vips.empty());
  EXPECT_EQ(count(kernels["ns2"], Command::kNewService), 0u);
  EXPECT_TRUE(node().vips.empty());
  EXPECT_EQ(count(node(), Command::kNewService), 0u);
}

TEST_F(IpvsServiceBalancerTest, PublishedPortsGoToTheNodeOnly) {
  ASSERT_OK(balancer->attach_task("t1", "ns1", {"app", "ingress"}));
  ASSERT_OK(balancer->upsert(web_ports()));
  EXPECT_EQ(count(node(), Command::kNewService), 1u);
  EXPECT_EQ(count(node(), Command::kNewDest), 1u);
  EXPECT_EQ(count(kernels["ns1"], Command::kNewService), 0u);
}

TEST_F(IpvsServiceBalancerTest, ATaskAttachedLaterGetsTheVipsKnownAndLosesThemWithItsNetwork) {
  ASSERT_OK(balancer->upsert(web_vip({{ip("10.0.1.11")}})));
  ASSERT_OK(balancer->attach_task("t1", "ns1", {"app"}));
  EXPECT_EQ(kernels["ns1"].vips, std::set<Ipv4>{ip("10.0.1.2")});
  ASSERT_OK(balancer->attach_task("t1", "ns1", {}));  // left the network
  EXPECT_TRUE(kernels["ns1"].vips.empty());
  EXPECT_EQ(count(kernels["ns1"], Command::kDelService), 1u);
  EXPECT_EQ(opened, (std::vector<std::string>{"", "ns1"}));  // one instance per namespace
}

TEST_F(IpvsServiceBalancerTest, BackendsAndRemovalReachEveryNamespace) {
  ASSERT_OK(balancer->attach_task("t1", "ns1", {"app"}));
  ASSERT_OK(balancer->attach_task("t2", "ns2", {"app"}));
  ASSERT_OK(balancer->upsert(web_vip({{ip("10.0.1.11")}})));
  ASSERT_OK(balancer->set_backends("web/app", {{ip("10.0.1.11")}, {ip("10.0.1.12")}}, {}));
  EXPECT_EQ(count(kernels["ns1"], Command::kNewDest), 2u);
  EXPECT_EQ(count(kernels["ns2"], Command::kNewDest), 2u);
  ASSERT_OK(balancer->remove("web/app"));
  EXPECT_TRUE(kernels["ns1"].vips.empty());
  EXPECT_TRUE(kernels["ns2"].vips.empty());
  EXPECT_TRUE(balancer->list().empty());
}

TEST_F(IpvsServiceBalancerTest, AStoppedTasksNamespaceIsLeftAsItIs) {
  ASSERT_OK(balancer->attach_task("t1", "ns1", {"app"}));
  ASSERT_OK(balancer->upsert(web_vip({{ip("10.0.1.11")}})));
  const size_t before = kernels["ns1"].events.size();
  balancer->detach_task("t1");
  EXPECT_EQ(balancer->task("t1"), nullptr);
  EXPECT_EQ(kernels["ns1"].events.size(), before);  // its state goes with the namespace
  ASSERT_OK(balancer->set_backends("web/app", {}, {}));
  EXPECT_EQ(kernels["ns1"].events.size(), before);
}

TEST_F(IpvsServiceBalancerTest, UninstallTearsDownTheNodeAndRefusesLaterCalls) {
  ASSERT_OK(balancer->attach_task("t1", "ns1", {"app"}));
  ASSERT_OK(balancer->upsert(web_ports()));
  ASSERT_OK(balancer->uninstall());
  EXPECT_EQ(node().events.back(), "remove vip link");
  EXPECT_EQ(count(node(), Command::kDelService), 1u);
  EXPECT_FALSE(balancer->upsert(web_ports()).ok());
  EXPECT_FALSE(balancer->attach_task("t2", "ns2", {"app"}).ok());
}

TEST_F(IpvsServiceBalancerTest, ARestartedBalancerAdoptsEachNamespaceAndPrunesTheRest) {
  kernels["ns1"].listing = R"({"nftables": [{"map": {"name": "vip_any", "elem": [
      [{"concat": ["10.0.1.2", "tcp"]}, 1578106881],
      [{"concat": ["10.0.1.9", "tcp"]}, 1578106882]]}}]})";
  ipvs::DestStats d;
  d.ip = ip("10.0.1.11");
  d.weight = 1;
  kernels["ns1"].dests_of[0x5e100001] = {d};
  kernels["ns1"].dests_of[0x5e100002] = {};
  ASSERT_OK(balancer->upsert(web_vip({{ip("10.0.1.11")}})));
  ASSERT_OK(balancer->attach_task("t1", "ns1", {"app"}));
  EXPECT_EQ(count(kernels["ns1"], Command::kNewService), 0u);  // claimed, not made again
  EXPECT_EQ(balancer->task("t1")->unclaimed(), 1u);            // 10.0.1.9: nobody's now
  ASSERT_OK(balancer->prune());
  EXPECT_EQ(count(kernels["ns1"], Command::kDelService), 1u);
  EXPECT_EQ(balancer->task("t1")->unclaimed(), 0u);
}

}  // namespace
}  // namespace shoal::agent
