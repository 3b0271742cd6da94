// The eBPF load balancer's logic against in-memory maps: slot planning by weight, the
// generation flip, adoption of pinned state after a restart, and what it refuses.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "ebpf/ebpf_lb.h"
#include "ebpf/slot_plan.h"

namespace shoal::ebpf {
namespace {

using lb::Backend;
using lb::BackendState;
using lb::Frontend;
using lb::Protocol;
using lb::Service;

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

class FakeMaps final : public LbMapIo {
 public:
  using FKey = std::tuple<uint32_t, uint16_t, uint8_t>;
  using SKey = std::pair<uint32_t, uint32_t>;
  std::map<FKey, shoal_lb_service> frontends;
  std::map<std::pair<uint16_t, uint8_t>, shoal_lb_service> ports;
  std::map<SKey, shoal_lb_backend> slots;
  std::vector<std::string> log;  // the order of writes

  Status put_service(const shoal_lb_frontend& k, const shoal_lb_service& v) override {
    frontends[{k.vip, k.port, k.proto}] = v;
    log.push_back("service");
    return {};
  }
  Status delete_service(const shoal_lb_frontend& k) override {
    frontends.erase({k.vip, k.port, k.proto});
    return {};
  }
  Status put_slot(const shoal_lb_slot_key& k, const shoal_lb_backend& v) override {
    slots[{k.service_id, k.index}] = v;
    log.push_back("slot");
    return {};
  }
  Result<bool> delete_slot(const shoal_lb_slot_key& k) override {
    return slots.erase({k.service_id, k.index}) > 0;
  }
  Result<std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>>> services() override {
    return services_impl();
  }
  Status put_ingress_port(const shoal_ingress_port& k, const shoal_lb_service& v) override {
    ports[{k.port, k.proto}] = v;
    return {};
  }
  Status delete_ingress_port(const shoal_ingress_port& k) override {
    ports.erase({k.port, k.proto});
    return {};
  }
  Result<std::vector<std::pair<shoal_ingress_port, shoal_lb_service>>> ingress_ports() override {
    std::vector<std::pair<shoal_ingress_port, shoal_lb_service>> out;
    for (const auto& [k, v] : ports) {
      shoal_ingress_port key{};
      key.port = k.first;
      key.proto = k.second;
      out.emplace_back(key, v);
    }
    return out;
  }

  const shoal_lb_service& of(const char* vip, uint16_t port) {
    return frontends.at({ip(vip).network_order(), htons(port), 6});
  }
  // The backends the live generation of a frontend leads to.
  std::vector<std::string> live(const char* vip, uint16_t port) {
    const shoal_lb_service& s = of(vip, port);
    std::vector<std::string> out;
    for (uint32_t i = 0; i < s.slot_count; ++i) {
      const shoal_lb_backend& b = slots.at({s.id, s.generation * SHOAL_LB_MAX_SLOTS + i});
      out.push_back(Ipv4(ntohl(b.ip)).str() + ":" + std::to_string(ntohs(b.port)));
    }
    return out;
  }

 private:
  Result<std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>>> services_impl() {
    std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>> out;
    for (const auto& [k, v] : frontends) {
      shoal_lb_frontend key{};
      key.vip = std::get<0>(k);
      key.port = std::get<1>(k);
      key.proto = std::get<2>(k);
      out.emplace_back(key, v);
    }
    return out;
  }
};

Service web(std::vector<Backend> backends) {
  Service s;
  s.id = "web";
  s.frontends = {Frontend{ip("10.0.1.100"), 80, Protocol::kTcp, 8080}};
  s.backends = std::move(backends);
  return s;
}

Service published_web(std::vector<Backend> ingress_backends) {
  Service s = web({{ip("10.0.1.11")}});
  s.published = {lb::PublishedPort{8080, Protocol::kTcp, 80}};
  s.ingress_backends = std::move(ingress_backends);
  return s;
}

TEST(SlotPlan, WeightsBecomeSlotsAndDrainingGetsNone) {
  auto slots = plan_slots({{ip("10.0.0.1"), 1, BackendState::kActive},
                           {ip("10.0.0.2"), 3, BackendState::kActive},
                           {ip("10.0.0.3"), 5, BackendState::kDraining},
                           {ip("10.0.0.4"), 0, BackendState::kActive}},
                          256);
  EXPECT_EQ(std::count(slots.begin(), slots.end(), ip("10.0.0.1")), 1);
  EXPECT_EQ(std::count(slots.begin(), slots.end(), ip("10.0.0.2")), 3);
  EXPECT_EQ(slots.size(), 4u);
}

TEST(SlotPlan, ScalesDownButKeepsEveryActiveBackend) {
  std::vector<Backend> many;
  for (int i = 1; i <= 10; ++i)
    many.push_back({Ipv4(0x0a000000u + i), 100, BackendState::kActive});
  auto slots = plan_slots(many, 256);
  EXPECT_LE(slots.size(), 256u);
  for (const Backend& b : many)
    EXPECT_EQ(std::count(slots.begin(), slots.end(), b.ip), 25);
}

TEST(EbpfLb, SlotsAreWrittenBeforeTheServiceEntryFlips) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  ASSERT_TRUE(balancer.ok());
  ASSERT_TRUE((*balancer)->upsert(web({{ip("10.0.1.11")}, {ip("10.0.1.12")}})).ok());
  EXPECT_EQ(maps.log, (std::vector<std::string>{"slot", "slot", "service"}));
  EXPECT_EQ(maps.live("10.0.1.100", 80),
            (std::vector<std::string>{"10.0.1.11:8080", "10.0.1.12:8080"}));
  const uint32_t first = maps.of("10.0.1.100", 80).generation;

  ASSERT_TRUE((*balancer)->set_backends("web", {{ip("10.0.1.13")}}, {}).ok());
  EXPECT_NE(maps.of("10.0.1.100", 80).generation, first);
  EXPECT_EQ(maps.live("10.0.1.100", 80), (std::vector<std::string>{"10.0.1.13:8080"}));
}

TEST(EbpfLb, NoActiveBackendMeansZeroSlots) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  ASSERT_TRUE((*balancer)->upsert(web({{ip("10.0.1.11"), 1, BackendState::kDraining}})).ok());
  EXPECT_EQ(maps.of("10.0.1.100", 80).slot_count, 0u);
}

TEST(EbpfLb, RemoveDeletesTheFrontendAndBothGenerations) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  ASSERT_TRUE((*balancer)->upsert(web({{ip("10.0.1.11")}, {ip("10.0.1.12")}})).ok());
  ASSERT_TRUE((*balancer)->set_backends("web", {{ip("10.0.1.13")}}, {}).ok());
  ASSERT_TRUE((*balancer)->remove("web").ok());
  EXPECT_TRUE(maps.frontends.empty());
  EXPECT_TRUE(maps.slots.empty());
  EXPECT_TRUE((*balancer)->list().empty());
}

TEST(EbpfLb, AFrontendBelongsToOneService) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  ASSERT_TRUE((*balancer)->upsert(web({{ip("10.0.1.11")}})).ok());
  Service other = web({{ip("10.0.1.12")}});
  other.id = "api";
  auto refused = (*balancer)->upsert(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("belongs to service web"), std::string::npos);
  EXPECT_EQ(maps.live("10.0.1.100", 80), (std::vector<std::string>{"10.0.1.11:8080"}));
}

TEST(EbpfLb, DroppedFrontendsOfAnUpdatedServiceGo) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  Service svc = web({{ip("10.0.1.11")}});
  svc.frontends.push_back(Frontend{ip("10.0.1.100"), 443, Protocol::kTcp, 8443});
  ASSERT_TRUE((*balancer)->upsert(svc).ok());
  EXPECT_EQ(maps.frontends.size(), 2u);
  ASSERT_TRUE((*balancer)->upsert(web({{ip("10.0.1.11")}})).ok());
  EXPECT_EQ(maps.frontends.size(), 1u);
}

TEST(EbpfLb, ARestartAdoptsPinnedFrontendsAndPrunesTheUnclaimed) {
  FakeMaps maps;
  {
    auto before = EbpfLoadBalancer::create(maps);
    ASSERT_TRUE((*before)->upsert(web({{ip("10.0.1.11")}})).ok());
    Service gone;
    gone.id = "gone";
    gone.frontends = {Frontend{ip("10.0.1.200"), 80, Protocol::kTcp, 0}};
    gone.backends = {{ip("10.0.1.21")}};
    gone.published = {lb::PublishedPort{9090, Protocol::kUdp, 0}};
    ASSERT_TRUE((*before)->upsert(gone).ok());
  }
  const uint32_t web_id = maps.of("10.0.1.100", 80).id;
  auto after = EbpfLoadBalancer::create(maps);
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE((*after)->upsert(web({{ip("10.0.1.12")}})).ok());
  EXPECT_EQ(maps.of("10.0.1.100", 80).id, web_id) << "the id survives the restart";
  EXPECT_EQ(maps.live("10.0.1.100", 80), (std::vector<std::string>{"10.0.1.12:8080"}));
  ASSERT_TRUE((*after)->prune().ok());
  EXPECT_EQ(maps.frontends.size(), 1u) << "the service nobody re-declared is gone";
  EXPECT_TRUE(maps.ports.empty()) << "its published port too";
  for (const auto& [key, backend] : maps.slots)
    EXPECT_EQ(key.first, web_id);
}

TEST(EbpfLb, RejectsBadServices) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  Service twice = web({});
  twice.frontends.push_back(twice.frontends[0]);
  EXPECT_FALSE((*balancer)->upsert(twice).ok());
  Service every_port_to_one = web({});
  every_port_to_one.frontends[0].port = 0;  // every port, yet a target port: contradictory
  EXPECT_FALSE((*balancer)->upsert(every_port_to_one).ok());
  EXPECT_FALSE((*balancer)->set_backends("nope", {}, {}).ok());
  EXPECT_TRUE(maps.frontends.empty());
}

TEST(EbpfLb, PublishedPortsGoToTheIngressMapWithTheirOwnBackends) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  ASSERT_TRUE((*balancer)->upsert(published_web({{ip("10.0.0.11")}, {ip("10.0.0.12")}})).ok());
  const shoal_lb_service& port = maps.ports.at({htons(8080), 6});
  EXPECT_EQ(port.slot_count, 2u);
  const shoal_lb_backend& first = maps.slots.at({port.id, port.generation * SHOAL_LB_MAX_SLOTS});
  EXPECT_EQ(Ipv4(ntohl(first.ip)).str(), "10.0.0.11");
  EXPECT_EQ(ntohs(first.port), 80);
  EXPECT_EQ(maps.live("10.0.1.100", 80), (std::vector<std::string>{"10.0.1.11:8080"}))
      << "the VIP keeps its own backends";
  ASSERT_TRUE((*balancer)->set_backends("web", {{ip("10.0.1.11")}}, {}).ok());
  EXPECT_EQ(maps.ports.at({htons(8080), 6}).slot_count, 0u) << "mode=host with no local task";
}

TEST(EbpfLb, APortIsPublishedByOneService) {
  FakeMaps maps;
  auto balancer = EbpfLoadBalancer::create(maps);
  ASSERT_TRUE((*balancer)->upsert(published_web({{ip("10.0.0.11")}})).ok());
  Service other;
  other.id = "api";
  other.published = {lb::PublishedPort{8080, Protocol::kTcp, 80}};
  auto refused = (*balancer)->upsert(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("published port 8080 belongs to service web"),
            std::string::npos);
}

}  // namespace
}  // namespace shoal::ebpf
