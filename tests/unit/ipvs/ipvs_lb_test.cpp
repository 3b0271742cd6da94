// The IPVS load balancer's logic against a recording kernel: which IPVS services, destinations,
// nftables elements and VIP addresses a change makes, and in which order.
#include <gtest/gtest.h>

#include <algorithm>

#include "ipvs/ipvs_lb.h"
#include "ipvs/nft_marks.h"
#include "tests/unit/ipvs/fake_ipvs_kernel.h"

namespace shoal::ipvs {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

lb::Service web(std::vector<lb::Backend> backends) {
  lb::Service s;
  s.id = "web";
  s.frontends = {lb::Frontend{ip("10.0.0.100"), 80, lb::Protocol::kTcp, 8080},
                 lb::Frontend{ip("10.0.0.100"), 0, lb::Protocol::kUdp, 0}};
  s.backends = std::move(backends);
  return s;
}

std::vector<Request> of(const std::vector<Request>& all, Command command) {
  std::vector<Request> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out),
               [&](const Request& r) { return r.command == command; });
  return out;
}

size_t index_of(const std::vector<std::string>& events, const std::string& prefix) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].rfind(prefix, 0) == 0) {
      return i;
    }
  }
  return events.size();
}

class IpvsLb : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = IpvsLoadBalancer::create(kernel_);
    ASSERT_TRUE(created.ok()) << created.error().message();
    lb_ = std::move(*created);
  }
  // Forgets what create() did.
  void reset() {
    kernel_.requests.clear();
    kernel_.scripts.clear();
    kernel_.events.clear();
  }
  FakeIpvsKernel kernel_;
  std::unique_ptr<IpvsLoadBalancer> lb_;
};

TEST_F(IpvsLb, CreationSetsLongTcpTimeoutsAndRefillsItsOwnTableOnly) {
  ASSERT_EQ(kernel_.requests.size(), 1u);
  EXPECT_EQ(kernel_.requests[0].command, Command::kSetConfig);
  EXPECT_GT(kernel_.requests[0].tcp_timeout, 900u);  // above IPVS's default
  ASSERT_EQ(kernel_.scripts.size(), 1u);
  const std::string& script = kernel_.scripts[0];
  // The table is kept (its map elements are an earlier run's state), its rules replaced.
  EXPECT_EQ(script.find("delete table"), std::string::npos);
  EXPECT_NE(script.find("flush chain ip shoal-ipvs prerouting\n"), std::string::npos);
  EXPECT_NE(script.find("masquerade"), std::string::npos);
  // Every table and chain statement names ours; no flush ruleset, no other table.
  EXPECT_EQ(script.find("flush ruleset"), std::string::npos);
  for (const char* word : {"table ", "chain "}) {
    size_t at = 0;
    while ((at = script.find(word, at)) != std::string::npos) {
      const std::string rest = script.substr(at + 6, 13);
      EXPECT_TRUE(rest == "ip shoal-ipvs" || std::string(word) == "chain ")
          << script.substr(at, 40);
      at += 6;
    }
  }
}

TEST_F(IpvsLb, EachFrontendIsAFwmarkServiceWithNatDestinationsOnItsTargetPort) {
  reset();
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}, {ip("10.0.1.2"), 3}})).ok());
  auto services = of(kernel_.requests, Command::kNewService);
  ASSERT_EQ(services.size(), 2u);
  EXPECT_NE(services[0].fwmark, services[1].fwmark);
  for (const Request& s : services) {
    EXPECT_EQ(s.fwmark & kMarkMask, kMasqueradeMarks);
    EXPECT_EQ(s.scheduler, "rr");
  }
  auto dests = of(kernel_.requests, Command::kNewDest);
  ASSERT_EQ(dests.size(), 4u);
  std::map<uint32_t, std::set<uint16_t>> ports;
  for (const Request& d : dests) {
    ports[d.fwmark].insert(d.dest_port);
    EXPECT_EQ(d.weight, d.dest == ip("10.0.1.2") ? 3u : 1u);
  }
  // tcp/80 goes to 8080; the every-port udp frontend keeps the client's port (0).
  EXPECT_EQ(ports[services[0].fwmark], std::set<uint16_t>{8080});
  EXPECT_EQ(ports[services[1].fwmark], std::set<uint16_t>{0});
  EXPECT_EQ(kernel_.vips, std::set<Ipv4>{ip("10.0.0.100")});
  ASSERT_EQ(kernel_.scripts.size(), 1u);
  char mark[16];
  std::snprintf(mark, sizeof(mark), "0x%08x", services[0].fwmark);
  EXPECT_NE(kernel_.scripts[0].find("vip_ports { 10.0.0.100 . tcp . 80 : " + std::string(mark)),
            std::string::npos)
      << kernel_.scripts[0];
  EXPECT_NE(kernel_.scripts[0].find("vip_any { 10.0.0.100 . udp : "), std::string::npos);
  // The mark is set only once its service has destinations.
  EXPECT_GT(index_of(kernel_.events, "nft"), index_of(kernel_.events, "add destination"));
}

TEST_F(IpvsLb, TheSchedulerIsChosenPerService) {
  lb::Service s = web({{ip("10.0.1.1")}});
  s.scheduler = "wlc";
  ASSERT_TRUE(lb_->upsert(s).ok());
  for (const Request& r : of(kernel_.requests, Command::kNewService)) {
    EXPECT_EQ(r.scheduler, "wlc");
  }
  reset();
  s.scheduler = "sh";  // a change of scheduler recreates the services
  ASSERT_TRUE(lb_->upsert(s).ok());
  EXPECT_EQ(of(kernel_.requests, Command::kDelService).size(), 2u);
  auto again = of(kernel_.requests, Command::kNewService);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].scheduler, "sh");
}

TEST_F(IpvsLb, ARemovedBackendIsDrainedByWeightZeroBeforeItIsDeleted) {
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}, {ip("10.0.1.2")}})).ok());
  reset();
  ASSERT_TRUE(lb_->set_backends("web", {{ip("10.0.1.1")}}, {}).ok());
  // Two frontends: weight 0 for both, then (no connection open) a delete for both.
  ASSERT_EQ(kernel_.requests.size(), 4u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(kernel_.requests[i].command, Command::kSetDest);
    EXPECT_EQ(kernel_.requests[i].weight, 0u);
    EXPECT_EQ(kernel_.requests[i].dest, ip("10.0.1.2"));
    EXPECT_EQ(kernel_.requests[i + 2].command, Command::kDelDest);
    EXPECT_EQ(kernel_.requests[i + 2].dest, ip("10.0.1.2"));
  }
  EXPECT_EQ(std::set<uint32_t>({kernel_.requests[0].fwmark, kernel_.requests[1].fwmark}),
            std::set<uint32_t>({kernel_.requests[2].fwmark, kernel_.requests[3].fwmark}));
  EXPECT_TRUE(kernel_.scripts.empty());  // same frontends: the marks stay
}

TEST_F(IpvsLb, ALeavingBackendWithAnOpenConnectionStaysAtWeightZeroUntilItCloses) {
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}, {ip("10.0.1.2")}})).ok());
  kernel_.active[ip("10.0.1.2")] = 1;
  reset();
  ASSERT_TRUE(lb_->set_backends("web", {{ip("10.0.1.1")}}, {}).ok());
  EXPECT_EQ(of(kernel_.requests, Command::kSetDest).size(), 2u);
  EXPECT_TRUE(of(kernel_.requests, Command::kDelDest).empty());
  ASSERT_TRUE(lb_->sweep().ok());
  EXPECT_TRUE(of(kernel_.requests, Command::kDelDest).empty());  // still connected
  kernel_.active[ip("10.0.1.2")] = 0;
  ASSERT_TRUE(lb_->sweep().ok());
  auto deleted = of(kernel_.requests, Command::kDelDest);
  ASSERT_EQ(deleted.size(), 2u);
  EXPECT_EQ(deleted[0].dest, ip("10.0.1.2"));
  reset();
  ASSERT_TRUE(lb_->sweep().ok());
  EXPECT_TRUE(kernel_.events.empty());  // nothing left to look at
}

TEST_F(IpvsLb, ALeavingBackendListedAgainComesBackWithItsWeight) {
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}, {ip("10.0.1.2")}})).ok());
  kernel_.active[ip("10.0.1.2")] = 1;
  ASSERT_TRUE(lb_->set_backends("web", {{ip("10.0.1.1")}}, {}).ok());
  reset();
  ASSERT_TRUE(lb_->set_backends("web", {{ip("10.0.1.1")}, {ip("10.0.1.2"), 2}}, {}).ok());
  auto changes = of(kernel_.requests, Command::kSetDest);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].weight, 2u);
  EXPECT_TRUE(of(kernel_.requests, Command::kNewDest).empty());
  kernel_.active.clear();
  ASSERT_TRUE(lb_->sweep().ok());
  EXPECT_TRUE(of(kernel_.requests, Command::kDelDest).empty());
}

TEST_F(IpvsLb, ADrainingBackendStaysWithWeightZero) {
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}, {ip("10.0.1.2")}})).ok());
  reset();
  ASSERT_TRUE(
      lb_->set_backends("web", {{ip("10.0.1.1")}, {ip("10.0.1.2"), 1, lb::BackendState::kDraining}},
                        {})
          .ok());
  auto changes = of(kernel_.requests, Command::kSetDest);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].weight, 0u);
  EXPECT_TRUE(of(kernel_.requests, Command::kDelDest).empty());
  reset();
  ASSERT_TRUE(lb_->set_backends("web", {{ip("10.0.1.1")}}, {}).ok());
  // Already at weight 0: deleted straight away.
  EXPECT_EQ(of(kernel_.requests, Command::kDelDest).size(), 2u);
  EXPECT_TRUE(of(kernel_.requests, Command::kSetDest).empty());
}

TEST_F(IpvsLb, RemovalTakesTheMarksAwayBeforeTheServicesAndTheVipLast) {
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}})).ok());
  reset();
  ASSERT_TRUE(lb_->remove("web").ok());
  EXPECT_EQ(of(kernel_.requests, Command::kDelService).size(), 2u);
  EXPECT_LT(index_of(kernel_.events, "nft"), index_of(kernel_.events, "delete service"));
  EXPECT_EQ(kernel_.events.back(), "remove vip 10.0.0.100");
  EXPECT_TRUE(kernel_.vips.empty());
  ASSERT_EQ(kernel_.scripts.size(), 1u);
  EXPECT_NE(
      kernel_.scripts[0].find("delete element ip shoal-ipvs vip_ports { 10.0.0.100 . tcp . 80 }"),
      std::string::npos);
  EXPECT_TRUE(lb_->list().empty());
}

TEST_F(IpvsLb, AVipSharedByTwoServicesStaysUntilTheLastGoes) {
  lb::Service a = web({{ip("10.0.1.1")}});
  lb::Service b;
  b.id = "api";
  b.frontends = {lb::Frontend{ip("10.0.0.100"), 443, lb::Protocol::kTcp, 0}};
  ASSERT_TRUE(lb_->upsert(a).ok());
  ASSERT_TRUE(lb_->upsert(b).ok());
  ASSERT_TRUE(lb_->remove("web").ok());
  EXPECT_EQ(kernel_.vips.count(ip("10.0.0.100")), 1u);
  ASSERT_TRUE(lb_->remove("api").ok());
  EXPECT_TRUE(kernel_.vips.empty());
}

TEST_F(IpvsLb, PublishedPortsAreMarkedOnAnyLocalAddressAndKeepTheSourceWhenAsked) {
  lb::Service s;
  s.id = "web";
  s.published = {lb::PublishedPort{8080, lb::Protocol::kTcp, 80, false},
                 lb::PublishedPort{9090, lb::Protocol::kTcp, 0, true}};
  s.ingress_backends = {{ip("10.255.0.5")}};
  reset();
  ASSERT_TRUE(lb_->upsert(s).ok());
  auto services = of(kernel_.requests, Command::kNewService);
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].fwmark & kMarkMask, kMasqueradeMarks);
  EXPECT_EQ(services[1].fwmark & kMarkMask, kPreserveMarks);
  auto dests = of(kernel_.requests, Command::kNewDest);
  ASSERT_EQ(dests.size(), 2u);
  EXPECT_EQ(dests[0].dest_port, 80);
  EXPECT_EQ(dests[1].dest_port, 9090);
  EXPECT_NE(kernel_.scripts[0].find("published { tcp . 8080 : "), std::string::npos);
  EXPECT_TRUE(kernel_.vips.empty());  // the node's own addresses: no VIP to add
}

TEST_F(IpvsLb, AFrontendOfAnotherServiceIsRefusedAndChangesNothing) {
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}})).ok());
  reset();
  lb::Service other = web({{ip("10.0.2.1")}});
  other.id = "other";
  auto refused = lb_->upsert(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("belongs to service web"), std::string::npos);
  EXPECT_TRUE(kernel_.events.empty());
}

TEST_F(IpvsLb, MarksOfRemovedServicesAreReused) {
  ASSERT_TRUE(lb_->upsert(web({})).ok());
  auto first = of(kernel_.requests, Command::kNewService);
  ASSERT_TRUE(lb_->remove("web").ok());
  reset();
  ASSERT_TRUE(lb_->upsert(web({})).ok());
  auto second = of(kernel_.requests, Command::kNewService);
  ASSERT_EQ(second.size(), 2u);
  std::set<uint32_t> before{first[0].fwmark, first[1].fwmark};
  std::set<uint32_t> after{second[0].fwmark, second[1].fwmark};
  EXPECT_EQ(before, after);
}

TEST_F(IpvsLb, AKernelRefusalIsReturned) {
  kernel_.fail_next = true;
  auto status = lb_->upsert(web({{ip("10.0.1.1")}}));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("add service fwmark"), std::string::npos);
}

TEST_F(IpvsLb, TeardownRemovesEverythingItMade) {
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}})).ok());
  reset();
  ASSERT_TRUE(lb_->teardown().ok());
  EXPECT_EQ(of(kernel_.requests, Command::kDelService).size(), 2u);
  EXPECT_NE(kernel_.scripts.back().find("delete table ip shoal-ipvs"), std::string::npos);
  EXPECT_EQ(kernel_.events.back(), "remove vip link");
}

// What `nft -j list table ip shoal-ipvs` prints after an earlier run made web's two frontends
// (marks 1 and 2) and a published port (mark 3).
const char* const kEarlierRun = R"({"nftables": [{"metainfo": {"version": "1.0.6"}},
  {"table": {"family": "ip", "name": "shoal-ipvs", "handle": 1}},
  {"map": {"family": "ip", "name": "vip_ports", "table": "shoal-ipvs", "map": "mark",
           "elem": [[{"concat": ["10.0.0.100", "tcp", 80]}, 1578106881]]}},
  {"map": {"family": "ip", "name": "vip_any", "table": "shoal-ipvs", "map": "mark",
           "elem": [[{"concat": ["10.0.0.100", "udp"]}, 1578106882]]}},
  {"map": {"family": "ip", "name": "published", "table": "shoal-ipvs", "map": "mark",
           "elem": [[{"concat": ["tcp", 8080]}, 1579155459]]}},
  {"chain": {"family": "ip", "table": "shoal-ipvs", "name": "output"}}]})";

class IpvsAdoption : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel_.listing = kEarlierRun;
    DestStats d;
    d.ip = ip("10.0.1.1");
    d.weight = 1;
    d.port = 8080;
    kernel_.dests_of[0x5e100001] = {d};
    d.port = 0;
    kernel_.dests_of[0x5e100002] = {d};
    kernel_.dests_of[0x5e200003] = {};
  }
  void create() {
    auto created = IpvsLoadBalancer::create(kernel_);
    ASSERT_TRUE(created.ok()) << created.error().message();
    lb_ = std::move(*created);
  }
  FakeIpvsKernel kernel_;
  std::unique_ptr<IpvsLoadBalancer> lb_;
};

TEST(NftMarks, ParsesTheThreeMapsAndIgnoresTheRest) {
  auto marks = parse_marks(kEarlierRun);
  ASSERT_TRUE(marks.ok()) << marks.error().message();
  const std::vector<MarkedKey> want = {{ip("10.0.0.100").host_order(), 80, 6, 0x5e100001},
                                       {ip("10.0.0.100").host_order(), 0, 17, 0x5e100002},
                                       {0, 8080, 6, 0x5e200003}};
  EXPECT_EQ(*marks, want);
  EXPECT_FALSE(parse_marks("not json").ok());
  EXPECT_FALSE(parse_marks(R"({"nftables": [{"map": {"name": "vip_any", "elem": [[1]]}}]})").ok());
}

TEST_F(IpvsAdoption, AnEarlierRunsServicesAreClaimedWithoutAnyKernelChange) {
  create();
  EXPECT_EQ(lb_->unclaimed(), 3u);
  EXPECT_EQ(kernel_.requests.size(), 1u);  // the timeouts only
  kernel_.requests.clear();
  kernel_.scripts.clear();
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}})).ok());
  EXPECT_EQ(lb_->unclaimed(), 1u);
  EXPECT_TRUE(kernel_.requests.empty()) << describe(kernel_.requests[0]);
  EXPECT_TRUE(kernel_.scripts.empty()) << kernel_.scripts[0];
}

TEST_F(IpvsAdoption, AClaimedServiceConvergesItsBackends) {
  create();
  kernel_.requests.clear();
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}, {ip("10.0.1.2")}})).ok());
  auto added = of(kernel_.requests, Command::kNewDest);
  ASSERT_EQ(added.size(), 2u);  // one per frontend
  EXPECT_EQ(added[0].dest, ip("10.0.1.2"));
  EXPECT_TRUE(of(kernel_.requests, Command::kNewService).empty());
}

TEST_F(IpvsAdoption, PruneRemovesOnlyWhatNobodyClaimed) {
  create();
  ASSERT_TRUE(lb_->upsert(web({{ip("10.0.1.1")}})).ok());
  kernel_.requests.clear();
  kernel_.scripts.clear();
  ASSERT_TRUE(lb_->prune().ok());
  auto deleted = of(kernel_.requests, Command::kDelService);
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].fwmark, 0x5e200003u);
  ASSERT_EQ(kernel_.scripts.size(), 1u);
  EXPECT_EQ(kernel_.scripts[0], "delete element ip shoal-ipvs published { tcp . 8080 }\n");
  EXPECT_EQ(lb_->unclaimed(), 0u);
}

TEST_F(IpvsAdoption, NewServicesTakeMarksTheEarlierRunDidNotUse) {
  create();
  lb::Service other;
  other.id = "other";
  other.frontends = {lb::Frontend{ip("10.0.0.101"), 0, lb::Protocol::kTcp, 0}};
  ASSERT_TRUE(lb_->upsert(other).ok());
  auto created = of(kernel_.requests, Command::kNewService);
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].fwmark, 0x5e100004u);
}

TEST_F(IpvsAdoption, AMarkWithoutItsIpvsServiceIsDropped) {
  kernel_.gone.insert(0x5e200003);
  create();
  EXPECT_EQ(lb_->unclaimed(), 2u);
  EXPECT_EQ(kernel_.scripts.back(), "delete element ip shoal-ipvs published { tcp . 8080 }\n");
}

TEST_F(IpvsAdoption, ATableOfAnotherLayoutIsReplacedAndNothingAdopted) {
  kernel_.fail_nft_once = true;
  create();
  EXPECT_EQ(lb_->unclaimed(), 0u);
  ASSERT_EQ(kernel_.scripts.size(), 1u);
  EXPECT_EQ(kernel_.scripts[0].rfind("add table ip shoal-ipvs\ndelete table ip shoal-ipvs\n", 0),
            0u);
}

}  // namespace
}  // namespace shoal::ipvs
