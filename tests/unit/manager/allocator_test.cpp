// The allocator: VNIs, subnets, addresses, VIPs and published ports; exhaustion and conflicts
// as clear errors; release and reuse; rebuilding from the store after a restart.
#include "control/manager/rules/allocator.h"

#include <gtest/gtest.h>

#include "control/manager/store/memory_store.h"

namespace shoal::manager {
namespace {

Ipv4Prefix prefix(const char* text) {
  return *Ipv4Prefix::parse(text);
}

Network overlay(std::string id, std::string name, bool ingress = false) {
  Network network;
  network.id = std::move(id);
  network.name = std::move(name);
  network.ingress = ingress;
  return network;
}

NetworkAllocator make(AllocatorConfig config = {}) {
  auto allocator = NetworkAllocator::create(config);
  EXPECT_TRUE(allocator.ok());
  return std::move(allocator).value();
}

TEST(NetworkAllocator, IngressFirstThenPoolSubnetsAndVnis) {
  auto allocator = make();
  auto ingress = overlay("i", "ingress", true);
  auto app = overlay("a", "app");
  auto db = overlay("d", "db");
  ASSERT_TRUE(allocator.allocate_network(ingress).ok());
  ASSERT_TRUE(allocator.allocate_network(app).ok());
  ASSERT_TRUE(allocator.allocate_network(db).ok());
  EXPECT_EQ(ingress.vni, 4096u);
  EXPECT_EQ(ingress.subnet->str(), "10.0.0.0/24");
  EXPECT_EQ(ingress.gateway->str(), "10.0.0.1");
  EXPECT_EQ(app.vni, 4097u);
  EXPECT_EQ(app.subnet->str(), "10.0.1.0/24");
  EXPECT_EQ(db.subnet->str(), "10.0.2.0/24");
  EXPECT_EQ(allocator.ingress_network_id(), "i");
  auto second_ingress = overlay("i2", "ingress2", true);
  EXPECT_EQ(allocator.allocate_network(second_ingress).error().message(),
            "invalid network ingress2: an ingress network already exists: ingress");
}

TEST(NetworkAllocator, ReleasedVniAndSubnetAreReused) {
  auto allocator = make();
  auto a = overlay("a", "a");
  auto b = overlay("b", "b");
  ASSERT_TRUE(allocator.allocate_network(a).ok());
  ASSERT_TRUE(allocator.allocate_network(b).ok());
  allocator.release_network("a");
  auto c = overlay("c", "c");
  ASSERT_TRUE(allocator.allocate_network(c).ok());
  EXPECT_EQ(c.vni, 4096u);
  EXPECT_EQ(c.subnet->str(), "10.0.0.0/24");
}

TEST(NetworkAllocator, ExplicitSubnetAndGateway) {
  auto allocator = make();
  auto custom = overlay("c", "custom");
  custom.subnet = prefix("192.168.5.0/24");
  custom.gateway = *Ipv4::parse("192.168.5.254");
  ASSERT_TRUE(allocator.allocate_network(custom).ok());
  EXPECT_EQ(custom.gateway->str(), "192.168.5.254");
  // The pool skips what an explicit subnet took.
  auto inside = overlay("x", "inside");
  inside.subnet = prefix("10.0.0.0/23");
  ASSERT_TRUE(allocator.allocate_network(inside).ok());
  auto next = overlay("n", "next");
  ASSERT_TRUE(allocator.allocate_network(next).ok());
  EXPECT_EQ(next.subnet->str(), "10.0.2.0/24");
}

TEST(NetworkAllocator, InvalidNetworksAreRefusedWithReasons) {
  auto allocator = make();
  auto app = overlay("a", "app");
  ASSERT_TRUE(allocator.allocate_network(app).ok());
  auto overlapping = overlay("o", "other");
  overlapping.subnet = prefix("10.0.0.0/16");
  EXPECT_EQ(allocator.allocate_network(overlapping).error().message(),
            "invalid subnet 10.0.0.0/16: overlaps 10.0.0.0/24 of network app");
  auto host_bits = overlay("h", "h");
  host_bits.subnet = prefix("10.9.0.5/24");
  EXPECT_EQ(allocator.allocate_network(host_bits).error().message(),
            "invalid subnet 10.9.0.5/24: has host bits set (did you mean 10.9.0.0/24?)");
  auto tiny = overlay("t", "t");
  tiny.subnet = prefix("10.9.0.0/31");
  EXPECT_EQ(allocator.allocate_network(tiny).error().message(),
            "invalid subnet 10.9.0.0/31: is too small: /30 is the smallest");
  auto bad_gateway = overlay("g", "g");
  bad_gateway.subnet = prefix("10.9.0.0/24");
  bad_gateway.gateway = *Ipv4::parse("10.9.1.1");
  EXPECT_EQ(allocator.allocate_network(bad_gateway).error().message(),
            "invalid gateway 10.9.1.1: is not a host address of subnet 10.9.0.0/24");
  auto bridge = overlay("b", "b");
  bridge.driver = "bridge";
  EXPECT_EQ(allocator.allocate_network(bridge).error().message(),
            "invalid network b: driver \"bridge\" is not supported (overlay)");
  // Nothing of the refused ones stayed allocated.
  auto next = overlay("n", "n");
  ASSERT_TRUE(allocator.allocate_network(next).ok());
  EXPECT_EQ(next.vni, 4097u);
  EXPECT_EQ(next.subnet->str(), "10.0.1.0/24");
}

TEST(NetworkAllocator, ExhaustionOfVnisAndSubnets) {
  AllocatorConfig config;
  config.default_pool = prefix("10.20.0.0/23");
  config.vni_last = 4097;
  auto allocator = make(config);
  auto a = overlay("a", "a");
  auto b = overlay("b", "b");
  auto c = overlay("c", "c");
  ASSERT_TRUE(allocator.allocate_network(a).ok());
  ASSERT_TRUE(allocator.allocate_network(b).ok());
  EXPECT_EQ(allocator.allocate_network(c).error().message(),
            "invalid network c: no free VXLAN ID left in 4096-4097");
  config.vni_last = 5000;
  auto roomy = make(config);
  ASSERT_TRUE(roomy.allocate_network(a).ok());
  ASSERT_TRUE(roomy.allocate_network(b).ok());
  EXPECT_EQ(roomy.allocate_network(c).error().message(),
            "invalid address pool 10.20.0.0/23: no free /24 subnet left");
}

TEST(NetworkAllocator, ConfigurablePoolAndSize) {
  AllocatorConfig config;
  config.default_pool = prefix("172.30.0.0/16");
  config.subnet_size = 26;
  auto allocator = make(config);
  auto a = overlay("a", "a");
  auto b = overlay("b", "b");
  ASSERT_TRUE(allocator.allocate_network(a).ok());
  ASSERT_TRUE(allocator.allocate_network(b).ok());
  EXPECT_EQ(b.subnet->str(), "172.30.0.64/26");
  config.subnet_size = 8;
  EXPECT_EQ(NetworkAllocator::create(config).error().message(),
            "invalid subnet size /8: must be between the pool's /16 and /30");
  config.default_pool = prefix("172.30.0.1/16");
  EXPECT_EQ(NetworkAllocator::create(config).error().message(),
            "invalid address pool 172.30.0.1/16: has host bits set (did you mean 172.30.0.0/16?)");
}

TEST(IpPool, NeverGatewayNetworkOrBroadcastAndReusesAfterWrap) {
  IpPool pool(prefix("10.1.0.0/29"), *Ipv4::parse("10.1.0.1"));
  EXPECT_EQ(pool.free_count(), 5u);  // .2 to .6
  std::vector<std::string> given;
  for (int i = 0; i < 5; ++i) {
    given.push_back(pool.allocate()->str());
  }
  EXPECT_EQ(given,
            (std::vector<std::string>{"10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"}));
  EXPECT_EQ(pool.allocate().error().message(), "invalid subnet 10.1.0.0/29: no free address left");
  pool.release(*Ipv4::parse("10.1.0.4"));
  pool.release(*Ipv4::parse("10.1.0.1"));  // the gateway stays reserved
  EXPECT_EQ(pool.free_count(), 1u);
  EXPECT_EQ(pool.allocate()->str(), "10.1.0.4");
  EXPECT_EQ(pool.claim(*Ipv4::parse("10.1.0.4")).error().message(),
            "invalid address 10.1.0.4: is already in use in subnet 10.1.0.0/29");
  EXPECT_EQ(pool.claim(*Ipv4::parse("10.2.0.4")).error().message(),
            "invalid address 10.2.0.4: is outside subnet 10.1.0.0/29");
}

class ServiceAllocation : public ::testing::Test {
 protected:
  ServiceAllocation() : allocator_(make()) {
    EXPECT_TRUE(allocator_.allocate_network(ingress_).ok());
    EXPECT_TRUE(allocator_.allocate_network(app_).ok());
  }
  Service service(std::string id, std::string name) {
    Service s;
    s.id = std::move(id);
    s.spec.name = std::move(name);
    s.spec.networks = {"a"};
    return s;
  }
  NetworkAllocator allocator_;
  Network ingress_ = overlay("i", "ingress", true);
  Network app_ = overlay("a", "app");
};

TEST_F(ServiceAllocation, VipsPortsAndTaskAddresses) {
  auto web = service("s1", "web");
  web.spec.ports = {PortConfig{.published = 8080, .target = 80}, PortConfig{.target = 443},
                    PortConfig{.published = 9000, .target = 90, .mode = PublishMode::kHost}};
  ASSERT_TRUE(allocator_.allocate_service(web).ok());
  EXPECT_TRUE(web.allocated);
  EXPECT_EQ(web.endpoint.ports[0].published, 8080);
  EXPECT_EQ(web.endpoint.ports[1].published, 30000);
  EXPECT_EQ(web.endpoint.ports[2].published, 9000);  // host mode: the node's business
  EXPECT_EQ(web.endpoint.vips.at("a").str(), "10.0.1.2/24");
  EXPECT_EQ(web.endpoint.vips.at("i").str(), "10.0.0.2/24");  // ingress ports: a VIP there too
  Task task;
  task.id = "t1";
  ASSERT_TRUE(allocator_.allocate_task(task, web).ok());
  EXPECT_EQ(task.addresses.at("a").str(), "10.0.1.3/24");
  EXPECT_EQ(task.addresses.at("i").str(), "10.0.0.3/24");
  EXPECT_EQ(allocator_.allocate_task(task, web).error().message(),
            "invalid task t1: is already allocated");
  allocator_.release_task("t1");
  EXPECT_FALSE(allocator_.pool("a")->in_use(*Ipv4::parse("10.0.1.3")));
  EXPECT_TRUE(allocator_.pool("a")->in_use(*Ipv4::parse("10.0.1.2")));  // the VIP stays
}

TEST_F(ServiceAllocation, HostModePortsAlsoAttachTheIngressNetwork) {
  auto web = service("s1", "web");
  web.spec.ports = {PortConfig{.published = 9000, .target = 90, .mode = PublishMode::kHost}};
  ASSERT_TRUE(allocator_.allocate_service(web).ok());
  Task task;
  task.id = "t1";
  ASSERT_TRUE(allocator_.allocate_task(task, web).ok());
  // The node's mesh forwards a mode=host port to its own tasks' ingress addresses.
  EXPECT_TRUE(task.addresses.contains("i"));
}

TEST_F(ServiceAllocation, AnUpdatedServiceKeepsWhatStaysAndReleasesWhatGoes) {
  auto web = service("s1", "web");
  web.spec.ports = {PortConfig{.target = 80}};
  ASSERT_TRUE(allocator_.allocate_service(web).ok());
  const auto app_vip = web.endpoint.vips.at("a");
  const auto ingress_vip = web.endpoint.vips.at("i");
  const auto dynamic = web.endpoint.ports[0].published;

  web.spec.ports.push_back(PortConfig{.published = 8443, .target = 443});  // --publish-add
  ASSERT_TRUE(allocator_.reallocate_service(web).ok());
  EXPECT_EQ(web.endpoint.vips.at("a"), app_vip);
  EXPECT_EQ(web.endpoint.vips.at("i"), ingress_vip);
  ASSERT_EQ(web.endpoint.ports.size(), 2u);
  EXPECT_EQ(web.endpoint.ports[0].published, dynamic);  // not a new number from the range
  EXPECT_EQ(web.endpoint.ports[1].published, 8443);

  web.spec.ports.clear();  // no port left: off the ingress network
  ASSERT_TRUE(allocator_.reallocate_service(web).ok());
  EXPECT_FALSE(web.endpoint.vips.contains("i"));
  EXPECT_FALSE(allocator_.pool("i")->in_use(ingress_vip.addr()));
  EXPECT_TRUE(allocator_.pool("a")->in_use(app_vip.addr()));
  auto api = service("s2", "api");
  api.spec.ports = {PortConfig{.published = 8443, .target = 443}};
  EXPECT_TRUE(allocator_.allocate_service(api).ok()) << "web's 8443 was released";
}

TEST_F(ServiceAllocation, AFailedUpdateKeepsWhatTheServiceHeld) {
  auto web = service("s1", "web");
  web.spec.ports = {PortConfig{.published = 8080, .target = 80}};
  ASSERT_TRUE(allocator_.allocate_service(web).ok());
  auto api = service("s2", "api");
  api.spec.ports = {PortConfig{.published = 9090, .target = 80}};
  ASSERT_TRUE(allocator_.allocate_service(api).ok());
  const auto before = web.endpoint.vips;

  web.spec.ports = {PortConfig{.published = 9090, .target = 80}};  // api's
  EXPECT_FALSE(allocator_.reallocate_service(web).ok());
  EXPECT_EQ(web.endpoint.vips, before);
  EXPECT_EQ(web.endpoint.ports[0].published, 8080);
  auto other = service("s3", "other");
  other.spec.ports = {PortConfig{.published = 8080, .target = 80}};
  EXPECT_FALSE(allocator_.allocate_service(other).ok()) << "web still holds 8080";
}

TEST_F(ServiceAllocation, PortConflictsAndReleasedPortsAreFreeAgain) {
  auto web = service("s1", "web");
  web.spec.ports = {PortConfig{.published = 8080, .target = 80}};
  ASSERT_TRUE(allocator_.allocate_service(web).ok());
  auto api = service("s2", "api");
  api.spec.ports = {PortConfig{.target = 81}, PortConfig{.published = 8080, .target = 80}};
  EXPECT_EQ(allocator_.allocate_service(api).error().message(),
            "invalid service api: port 8080/tcp is already in use by service web");
  // The refused service kept nothing: its dynamic port is still free.
  auto other = service("s3", "other");
  other.spec.ports = {PortConfig{.target = 82}};
  ASSERT_TRUE(allocator_.allocate_service(other).ok());
  EXPECT_EQ(other.endpoint.ports[0].published, 30000);
  auto udp = service("s4", "dns");
  udp.spec.ports = {PortConfig{.published = 8080, .target = 53, .protocol = Protocol::kUdp}};
  EXPECT_TRUE(allocator_.allocate_service(udp).ok());  // another protocol, another port
  allocator_.release_service("s1");
  EXPECT_TRUE(allocator_.allocate_service(api).ok());
  EXPECT_FALSE(allocator_.pool("a")->in_use(web.endpoint.vips.at("a").addr()));
}

TEST_F(ServiceAllocation, InvalidServicesAreRefused) {
  auto lost = service("s1", "lost");
  lost.spec.networks = {"nope"};
  EXPECT_EQ(allocator_.allocate_service(lost).error().message(),
            "invalid service lost: network nope not found");
  auto rr = service("s2", "rr");
  rr.spec.endpoint_mode = EndpointMode::kDnsrr;
  rr.spec.ports = {PortConfig{.published = 80, .target = 80}};
  EXPECT_EQ(
      allocator_.allocate_service(rr).error().message(),
      "invalid service rr: ports published in ingress mode need endpoint mode vip, not dnsrr");
  auto no_target = service("s3", "nt");
  no_target.spec.ports = {PortConfig{.published = 80}};
  EXPECT_EQ(allocator_.allocate_service(no_target).error().message(),
            "invalid service nt: a published port needs a target port");
  rr.spec.ports.clear();
  ASSERT_TRUE(allocator_.allocate_service(rr).ok());
  EXPECT_TRUE(rr.endpoint.vips.empty());  // dnsrr: no VIP
  EXPECT_EQ(allocator_.allocate_service(rr).error().message(),
            "invalid service rr: is already allocated");
}

TEST(PortAllocator, DynamicRangeExhaustion) {
  PortAllocator ports(30000, 30001);
  ASSERT_TRUE(ports.allocate("a", {PortConfig{.target = 1}, PortConfig{.target = 2}}).ok());
  EXPECT_EQ(ports.allocate("b", {PortConfig{.target = 3}}).error().message(),
            "invalid published ports: no free port left in 30000-30001/tcp");
}

TEST(NetworkAllocator, AddressExhaustionNamesTheNetwork) {
  auto allocator = make();
  auto small = overlay("s", "small");
  small.subnet = prefix("10.9.0.0/30");  // one usable address beside the gateway: .2
  ASSERT_TRUE(allocator.allocate_network(small).ok());
  Service service;
  service.id = "svc";
  service.spec.name = "svc";
  service.spec.networks = {"s"};
  service.spec.endpoint_mode = EndpointMode::kDnsrr;
  ASSERT_TRUE(allocator.allocate_service(service).ok());
  Task first;
  first.id = "t1";
  ASSERT_TRUE(allocator.allocate_task(first, service).ok());
  Task second;
  second.id = "t2";
  EXPECT_EQ(allocator.allocate_task(second, service).error().message(),
            "invalid network small: no free address left in 10.9.0.0/30");
  allocator.release_task("t1");
  EXPECT_TRUE(allocator.allocate_task(second, service).ok());
}

}  // namespace
}  // namespace shoal::manager
