// The routing-mesh programs on crafted packets (BPF_PROG_TEST_RUN): translation to a backend
// and back, flow affinity, backend removal, and what must pass untouched. No NIC, no namespace.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <set>

#include "ebpf/ebpf_lb.h"
#include "ebpf/ingress_program.h"
#include "ebpf/lb_program.h"
#include "tests/support/packet.h"
#include "tests/support/private_mounts.h"

namespace shoal::ebpf {
namespace {

using testing::build_frame;
using testing::Frame;
using testing::read_frame;

const auto* const kMounts = ::testing::AddGlobalTestEnvironment(new testing::PrivateMounts);

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}
const Ipv4 kNode = ip("198.51.100.11");
const Ipv4 kIngress = ip("10.0.0.101");
const Ipv4 kClient = ip("203.0.113.50");

struct Outcome {
  int verdict = -1;
  std::vector<uint8_t> out;
};

Outcome run(int prog_fd, const std::vector<uint8_t>& in) {
  Outcome result;
  result.out.resize(in.size() + 256);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = in.data();
  opts.data_size_in = static_cast<uint32_t>(in.size());
  opts.data_out = result.out.data();
  opts.data_size_out = static_cast<uint32_t>(result.out.size());
  opts.repeat = 1;
  EXPECT_EQ(bpf_prog_test_run_opts(prog_fd, &opts), 0) << std::strerror(errno);
  result.out.resize(opts.data_size_out);
  result.verdict = static_cast<int>(opts.retval);
  return result;
}

class IngressDatapath : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u);
    LbProgramConfig lb_config;
    // Named like a test run's node, so testbed.sh clean finds it if this process is killed.
    lb_config.node = "t" + std::to_string(::getpid()) + "r0h1";
    auto lb = LbProgram::load(lb_config);
    ASSERT_TRUE(lb.ok()) << lb.error().message();
    lb_ = std::move(*lb);
    IngressConfig config;
    config.pin_dir = lb_->pin_dir();
    config.max_slots = lb_config.max_slots;
    config.node_ip = kNode;
    config.ingress_ip = kIngress;
    auto ingress = IngressProgram::load(config);
    ASSERT_TRUE(ingress.ok()) << ingress.error().message();
    ingress_ = std::move(*ingress);
    // What attach() records, without attaching: ifindexes only matter to the redirect.
    shoal_ingress_config cfg{kNode.network_order(), kIngress.network_order(), 2, 3};
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(ingress_->config_fd(), &zero, &cfg, BPF_ANY), 0);
    maps_ = std::make_unique<BpfLbMapIo>(lb_->services_fd(), lb_->slots_fd(), ingress_->ports_fd());
    auto balancer = EbpfLoadBalancer::create(*maps_);
    ASSERT_TRUE(balancer.ok());
    balancer_ = std::move(*balancer);
    ASSERT_TRUE(balancer_->upsert(web({"10.0.0.11", "10.0.0.12"})).ok());
  }

  void TearDown() override {
    if (ingress_) {
      EXPECT_TRUE(ingress_->unpin().ok());  // never attached: nothing to detach
    }
    if (lb_) {
      EXPECT_TRUE(lb_->uninstall().ok());
    }
  }

  static lb::Service web(const std::vector<const char*>& backends) {
    lb::Service s;
    s.id = "web";
    s.published = {lb::PublishedPort{8080, lb::Protocol::kTcp, 80},
                   lb::PublishedPort{5353, lb::Protocol::kUdp, 53}};
    for (const char* b : backends)
      s.ingress_backends.push_back({ip(b)});
    return s;
  }

  Frame to_node(uint16_t client_port, bool syn = true, uint16_t port = 8080, uint8_t proto = 6) {
    return Frame{kClient, client_port, kNode, port, proto, syn, true};
  }

  std::unique_ptr<LbProgram> lb_;
  std::unique_ptr<IngressProgram> ingress_;
  std::unique_ptr<BpfLbMapIo> maps_;
  std::unique_ptr<EbpfLoadBalancer> balancer_;
};

TEST_F(IngressDatapath, ANewFlowIsTranslatedToABackendAndItsReplyBack) {
  Outcome forward = run(ingress_->from_uplink_fd(), build_frame(to_node(40000)));
  ASSERT_EQ(forward.verdict, TC_ACT_REDIRECT);
  auto out = read_frame(forward.out);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->checksums_ok);
  EXPECT_TRUE(out->dst == ip("10.0.0.11") || out->dst == ip("10.0.0.12")) << out->dst.str();
  EXPECT_EQ(out->dport, 80);
  EXPECT_EQ(out->src, kIngress);
  EXPECT_GE(out->sport, SHOAL_SNAT_PORT_MIN);

  Frame reply{out->dst, 80, kIngress, out->sport, 6, false, true};
  Outcome back = run(ingress_->from_overlay_fd(), build_frame(reply));
  ASSERT_EQ(back.verdict, TC_ACT_REDIRECT);
  auto answered = read_frame(back.out);
  ASSERT_TRUE(answered);
  EXPECT_TRUE(answered->checksums_ok);
  EXPECT_EQ(answered->src, kNode);
  EXPECT_EQ(answered->sport, 8080);
  EXPECT_EQ(answered->dst, kClient);
  EXPECT_EQ(answered->dport, 40000);
}

TEST_F(IngressDatapath, APreservedSourceReachesTheBackendAndItsReplyIsTranslated) {
  lb::Service local = web({"10.0.0.11"});
  local.published.push_back(lb::PublishedPort{9090, lb::Protocol::kTcp, 90, true});
  ASSERT_TRUE(balancer_->upsert(local).ok());
  auto out =
      read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(40010, true, 9090))).out);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->checksums_ok);
  EXPECT_EQ(out->src, kClient) << "the client's address was rewritten";
  EXPECT_EQ(out->sport, 40010);
  EXPECT_EQ(out->dst, ip("10.0.0.11"));
  EXPECT_EQ(out->dport, 90);

  Frame reply{ip("10.0.0.11"), 90, kClient, 40010, 6, false, true};
  Outcome back = run(ingress_->from_overlay_fd(), build_frame(reply));
  ASSERT_EQ(back.verdict, TC_ACT_REDIRECT);
  auto answered = read_frame(back.out);
  ASSERT_TRUE(answered);
  EXPECT_TRUE(answered->checksums_ok);
  EXPECT_EQ(answered->src, kNode);
  EXPECT_EQ(answered->sport, 9090);
  EXPECT_EQ(answered->dst, kClient);
}

TEST_F(IngressDatapath, UdpIsTranslatedWithValidChecksums) {
  Outcome forward = run(ingress_->from_uplink_fd(), build_frame(to_node(40001, true, 5353, 17)));
  ASSERT_EQ(forward.verdict, TC_ACT_REDIRECT);
  auto out = read_frame(forward.out);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->checksums_ok);
  EXPECT_EQ(out->dport, 53);
}

TEST_F(IngressDatapath, AFlowKeepsItsBackendWhenTheBackendsChange) {
  auto first = read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(40002))).out);
  ASSERT_TRUE(first);
  const char* other = first->dst == ip("10.0.0.11") ? "10.0.0.12" : "10.0.0.11";
  ASSERT_TRUE(balancer_->set_backends("web", {}, {{ip(other)}}).ok());

  auto same_flow =
      read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(40002, false))).out);
  ASSERT_TRUE(same_flow);
  EXPECT_EQ(same_flow->dst, first->dst) << "an established flow moved";
  EXPECT_EQ(same_flow->sport, first->sport);
  for (uint16_t port = 41000; port < 41020; ++port) {
    auto fresh = read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(port))).out);
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->dst, ip(other)) << "a new flow went to the removed backend";
  }
}

TEST_F(IngressDatapath, ASynFromAReusedPortLeavesAFlowWhoseBackendHasGone) {
  auto first = read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(40003))).out);
  ASSERT_TRUE(first);
  // A repeated SYN (a retransmission) while the backend serves: the same flow.
  auto again = read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(40003))).out);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->dst, first->dst);
  EXPECT_EQ(again->sport, first->sport);

  const char* other = first->dst == ip("10.0.0.11") ? "10.0.0.12" : "10.0.0.11";
  ASSERT_TRUE(balancer_->set_backends("web", {}, {{ip(other)}}).ok());
  // The same client port, a new connection: not to the backend that has gone.
  auto reused = read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(40003))).out);
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->dst, ip(other));
  EXPECT_TRUE(reused->checksums_ok);
}

TEST_F(IngressDatapath, NewFlowsSpreadOverTheBackends) {
  std::set<uint32_t> seen;
  for (uint16_t port = 42000; port < 42040; ++port) {
    auto out = read_frame(run(ingress_->from_uplink_fd(), build_frame(to_node(port))).out);
    ASSERT_TRUE(out);
    seen.insert(out->dst.host_order());
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(IngressDatapath, WhatIsNotOursPassesUntouched) {
  const std::vector<Frame> passing = {
      to_node(40003, true, 9999),                                       // a port nobody published
      Frame{kClient, 40004, ip("198.51.100.99"), 8080, 6, true, true},  // not this node
      to_node(40005, false),           // mid-flow packet with no flow
      to_node(40006, true, 8080, 17),  // 8080 is published for TCP only
  };
  for (const Frame& frame : passing) {
    const auto in = build_frame(frame);
    Outcome result = run(ingress_->from_uplink_fd(), in);
    EXPECT_EQ(result.verdict, TC_ACT_OK) << frame.dport;
    EXPECT_EQ(result.out, in);
  }
  // A reply nobody asked for, on the overlay side.
  const auto stray = build_frame(Frame{ip("10.0.0.11"), 80, kIngress, 40999, 6, false, true});
  EXPECT_EQ(run(ingress_->from_overlay_fd(), stray).verdict, TC_ACT_OK);
}

TEST_F(IngressDatapath, NoBackendLeavesTheConnectionToTheHostStack) {
  ASSERT_TRUE(balancer_->set_backends("web", {}, {}).ok());
  EXPECT_EQ(run(ingress_->from_uplink_fd(), build_frame(to_node(40007))).verdict, TC_ACT_OK);
}

}  // namespace
}  // namespace shoal::ebpf
