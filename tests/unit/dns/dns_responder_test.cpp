// The responder alone: packets in, packets or forward decisions out. Queries are built and
// replies read with ldns, as a client would.
#include "dataplane/dns/dns_responder.h"

#include <gtest/gtest.h>

#include <optional>

namespace shoal::dataplane::dns {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

std::vector<uint8_t> query(const char* name, ldns_rr_type type = LDNS_RR_TYPE_A,
                           std::optional<uint16_t> edns_size = std::nullopt, uint16_t id = 4242) {
  ldns_pkt* raw = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&raw, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
            LDNS_STATUS_OK);
  PacketPtr packet(raw);
  ldns_pkt_set_id(packet.get(), id);
  if (edns_size)
    ldns_pkt_set_edns_udp_size(packet.get(), *edns_size);
  return packet_to_wire(*packet);
}

struct Reply {
  ldns_pkt_rcode rcode = LDNS_RCODE_SERVFAIL;
  uint16_t id = 0;
  bool authoritative = false;
  bool truncated = false;
  std::vector<Ipv4> addresses;
  std::vector<uint32_t> ttls;
  std::string first_owner;
  size_t size = 0;
};

Reply read_reply(const std::vector<uint8_t>& wire) {
  PacketPtr packet = packet_from_wire(wire);
  EXPECT_TRUE(packet) << "the reply does not parse";
  Reply reply;
  if (!packet)
    return reply;
  EXPECT_TRUE(ldns_pkt_qr(packet.get()));
  reply.rcode = ldns_pkt_get_rcode(packet.get());
  reply.id = ldns_pkt_id(packet.get());
  reply.authoritative = ldns_pkt_aa(packet.get());
  reply.truncated = ldns_pkt_tc(packet.get());
  reply.size = wire.size();
  const ldns_rr_list* answers = ldns_pkt_answer(packet.get());
  for (size_t i = 0; i < ldns_rr_list_rr_count(answers); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(answers, i);
    if (i == 0) {
      std::unique_ptr<char, LdnsMallocFree> owner(ldns_rdf2str(ldns_rr_owner(rr)));
      reply.first_owner = owner.get();
    }
    EXPECT_EQ(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
    const uint8_t* b = ldns_rdf_data(ldns_rr_rdf(rr, 0));
    reply.addresses.push_back(
        Ipv4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]));
    reply.ttls.push_back(ldns_rr_ttl(rr));
  }
  return reply;
}

class Responder : public ::testing::Test {
 protected:
  Responder() {
    ServiceRecord web;
    web.service_id = "s-web";
    web.network_id = "app";
    web.name = "web";
    web.aliases = {"frontend"};
    web.vip = ip("10.0.1.2");
    web.task_ips = {ip("10.0.1.10"), ip("10.0.1.11"), ip("10.0.1.12")};
    EXPECT_TRUE(records_.upsert(web).ok());
    ServiceRecord db;
    db.service_id = "s-db";
    db.network_id = "back";
    db.name = "db";
    db.mode = EndpointMode::kDnsrr;
    db.task_ips = {ip("10.0.2.10"), ip("10.0.2.11")};
    EXPECT_TRUE(records_.upsert(db).ok());
  }

  Reply ask(const std::vector<uint8_t>& wire, const std::vector<std::string>& networks,
            Transport transport = Transport::kUdp) {
    DnsDecision decision = responder_.respond(wire, networks, transport);
    EXPECT_EQ(decision.kind, DnsDecision::Kind::kReply);
    return read_reply(decision.reply);
  }

  DnsRecords records_;
  DnsResponder responder_{records_, AnswerConfig{}};
  const std::vector<std::string> app_{"app"};
  const std::vector<std::string> both_{"app", "back"};
};

TEST_F(Responder, NameGivesTheVipWithTheShortTtlAndTheQueryId) {
  Reply reply = ask(query("web.", LDNS_RR_TYPE_A, std::nullopt, 777), app_);
  EXPECT_EQ(reply.rcode, LDNS_RCODE_NOERROR);
  EXPECT_EQ(reply.id, 777);
  EXPECT_TRUE(reply.authoritative);
  EXPECT_EQ(reply.addresses, std::vector<Ipv4>{ip("10.0.1.2")});
  EXPECT_EQ(reply.ttls, std::vector<uint32_t>{5});
}

TEST_F(Responder, TtlComesFromTheConfiguration) {
  DnsResponder sixty(records_, AnswerConfig{60, 1232});
  DnsDecision decision = sixty.respond(query("web."), app_, Transport::kUdp);
  EXPECT_EQ(read_reply(decision.reply).ttls, std::vector<uint32_t>{60});
}

TEST_F(Responder, TasksNameAndDnsrrGiveTaskIps) {
  Reply tasks = ask(query("tasks.web."), app_);
  EXPECT_EQ(tasks.addresses.size(), 3u);
  Reply db = ask(query("db."), both_);
  EXPECT_EQ(db.addresses.size(), 2u);
  EXPECT_EQ(ask(query("frontend."), app_).addresses, std::vector<Ipv4>{ip("10.0.1.2")});
}

TEST_F(Responder, DnsrrRotatesTheFirstAddress) {
  const Ipv4 first = ask(query("db."), both_).addresses.at(0);
  const Ipv4 second = ask(query("db."), both_).addresses.at(0);
  EXPECT_NE(first, second);
}

TEST_F(Responder, NamesAreCaseInsensitiveAndKeepTheAskersSpelling) {
  Reply reply = ask(query("WeB."), app_);
  EXPECT_EQ(reply.addresses, std::vector<Ipv4>{ip("10.0.1.2")});
  EXPECT_EQ(reply.first_owner, "WeB.");
}

TEST_F(Responder, ANameOnNoSharedNetworkIsNxdomain) {
  Reply reply = ask(query("db."), app_);
  EXPECT_EQ(reply.rcode, LDNS_RCODE_NXDOMAIN);
  EXPECT_TRUE(reply.addresses.empty());
  EXPECT_EQ(ask(query("tasks.db."), app_).rcode, LDNS_RCODE_NXDOMAIN);
  EXPECT_EQ(responder_.stats().nxdomain, 2u);
}

TEST_F(Responder, OtherTypesOfKnownNamesAreEmptyNoerror) {
  for (ldns_rr_type type : {LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_TXT}) {
    Reply reply = ask(query("web.", type), app_);
    EXPECT_EQ(reply.rcode, LDNS_RCODE_NOERROR) << type;
    EXPECT_TRUE(reply.addresses.empty()) << type;
  }
}

TEST_F(Responder, UnknownNamesAreForwardedWithTheDecodedQuestion) {
  DnsDecision decision =
      responder_.respond(query("Example.COM.", LDNS_RR_TYPE_AAAA), app_, Transport::kUdp);
  ASSERT_EQ(decision.kind, DnsDecision::Kind::kForward);
  ASSERT_TRUE(decision.forward);
  EXPECT_EQ(decision.forward->name, "example.com");
  EXPECT_EQ(decision.forward->type, LDNS_RR_TYPE_AAAA);
  EXPECT_EQ(decision.forward->id, 4242);
  EXPECT_EQ(responder_.stats().forwarded, 1u);
}

TEST_F(Responder, ForwardRewritesTheIdAndTheRelayRestoresIt) {
  DnsDecision decision = responder_.respond(query("example.com."), app_, Transport::kUdp);
  ASSERT_TRUE(decision.forward);
  const DecodedQuery& forwarded = *decision.forward;
  std::vector<uint8_t> upstream_wire = upstream_query(forwarded, 9999);
  PacketPtr upstream = packet_from_wire(upstream_wire);
  ASSERT_TRUE(upstream);
  EXPECT_EQ(ldns_pkt_id(upstream.get()), 9999);

  // The upstream answers.
  ldns_pkt_set_qr(upstream.get(), true);
  ldns_rr* rr = nullptr;
  ASSERT_EQ(ldns_rr_new_frm_str(&rr, "example.com. 300 IN A 203.0.113.7", 0, nullptr, nullptr),
            LDNS_STATUS_OK);
  ldns_pkt_push_rr(upstream.get(), LDNS_SECTION_ANSWER, rr);
  auto relayed = relay_reply(packet_to_wire(*upstream), forwarded);
  ASSERT_TRUE(relayed.ok()) << relayed.error().message();
  Reply reply = read_reply(*relayed);
  EXPECT_EQ(reply.id, 4242);
  EXPECT_EQ(reply.addresses, std::vector<Ipv4>{ip("203.0.113.7")});

  // A reply for another question is not relayed.
  DnsDecision other = responder_.respond(query("other.com."), app_, Transport::kUdp);
  ASSERT_TRUE(other.forward);
  EXPECT_FALSE(relay_reply(packet_to_wire(*upstream), *other.forward).ok());
  // Nor is a query (QR clear).
  EXPECT_FALSE(relay_reply(upstream_query(forwarded, 1), forwarded).ok());
}

TEST_F(Responder, ServfailKeepsIdAndQuestion) {
  DnsDecision decision = responder_.respond(query("example.com."), app_, Transport::kUdp);
  ASSERT_TRUE(decision.forward);
  Reply reply = read_reply(error_reply(*decision.forward, LDNS_RCODE_SERVFAIL));
  EXPECT_EQ(reply.rcode, LDNS_RCODE_SERVFAIL);
  EXPECT_EQ(reply.id, 4242);
}

TEST_F(Responder, MalformedPacketsAreDroppedAndCounted) {
  const std::vector<std::vector<uint8_t>> garbage{
      {}, {0x12}, {0x12, 0x34, 0x01, 0x00, 0x00, 0x01}, std::vector<uint8_t>(40, 0xff)};
  for (const auto& bytes : garbage) {
    EXPECT_EQ(responder_.respond(bytes, app_, Transport::kUdp).kind, DnsDecision::Kind::kDrop);
  }
  // A response is never answered (two resolvers must not ping-pong).
  std::vector<uint8_t> response = query("web.");
  response[2] |= 0x80;  // QR
  EXPECT_EQ(responder_.respond(response, app_, Transport::kUdp).kind, DnsDecision::Kind::kDrop);
  EXPECT_EQ(responder_.stats().malformed, garbage.size() + 1);
}

TEST_F(Responder, NoQuestionIsFormerrAndOtherOpcodesAreNotimp) {
  PacketPtr empty(ldns_pkt_new());
  ldns_pkt_set_id(empty.get(), 5);
  Reply formerr = ask(packet_to_wire(*empty), app_);
  EXPECT_EQ(formerr.rcode, LDNS_RCODE_FORMERR);
  EXPECT_EQ(formerr.id, 5);

  ldns_pkt* raw = nullptr;
  ASSERT_EQ(ldns_pkt_query_new_frm_str(&raw, "web.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0),
            LDNS_STATUS_OK);
  PacketPtr notify(raw);
  ldns_pkt_set_opcode(notify.get(), LDNS_PACKET_NOTIFY);
  EXPECT_EQ(ask(packet_to_wire(*notify), app_).rcode, LDNS_RCODE_NOTIMPL);
}

class ManyTasks : public Responder {
 protected:
  ManyTasks() {
    ServiceRecord big;
    big.service_id = "s-big";
    big.network_id = "app";
    big.name = "big";
    big.mode = EndpointMode::kDnsrr;
    for (uint32_t i = 0; i < 200; ++i)
      big.task_ips.push_back(Ipv4((10u << 24) | (9u << 16) | i));
    EXPECT_TRUE(records_.upsert(big).ok());
  }
};

TEST_F(ManyTasks, UdpWithoutEdnsIsCutAt512WithTc) {
  Reply reply = ask(query("big."), app_);
  EXPECT_TRUE(reply.truncated);
  EXPECT_LE(reply.size, 512u);
  EXPECT_GT(reply.addresses.size(), 20u) << "as many as fit";
  EXPECT_EQ(responder_.stats().truncated, 1u);
}

TEST_F(ManyTasks, EdnsSizeIsHonouredUpToTheConfiguredCap) {
  Reply reply = ask(query("big.", LDNS_RR_TYPE_A, 4096), app_);
  EXPECT_TRUE(reply.truncated);
  EXPECT_LE(reply.size, 1232u);
  EXPECT_GT(reply.size, 1100u);
}

TEST_F(ManyTasks, TcpCarriesThemAll) {
  Reply reply = ask(query("big."), app_, Transport::kTcp);
  EXPECT_FALSE(reply.truncated);
  EXPECT_EQ(reply.addresses.size(), 200u);
}

}  // namespace
}  // namespace shoal::dataplane::dns
