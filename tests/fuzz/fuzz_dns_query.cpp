// Fuzzes the embedded DNS's query decoder and the responder behind it. Whatever the bytes:
// no crash or leak; every reply parses back with ldns and fits the asker's limit; a forwarded
// query re-encodes to the same question; the same bytes read as an upstream's answer are either
// refused or relayed within the limit.
#include "dataplane/dns/dns_responder.h"

namespace dns = shoal::dataplane::dns;

namespace {

const dns::DnsRecords& records() {
  static const dns::DnsRecords store = [] {
    dns::DnsRecords r;
    dns::ServiceRecord web{
        "s-web", "app", "web", {"front.end"}, shoal::Ipv4(0x0a000102), {}, dns::EndpointMode::kVip};
    dns::ServiceRecord db{"s-db", "app", "db", {}, std::nullopt, {}, dns::EndpointMode::kDnsrr};
    for (uint32_t i = 0; i < 100; ++i)
      db.task_ips.push_back(shoal::Ipv4(0x0a000200 + i));
    (void)r.upsert(web);
    (void)r.upsert(db);
    return r;
  }();
  return store;
}

void check_reply(const std::vector<uint8_t>& reply, size_t limit) {
  if (reply.empty() || reply.size() > limit || !dns::packet_from_wire(reply))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> wire(data, size);
  static dns::DnsResponder responder(records(), dns::AnswerConfig{});
  for (dns::Transport transport : {dns::Transport::kUdp, dns::Transport::kTcp}) {
    dns::DnsDecision decision = responder.respond(wire, {"app"}, transport);
    const size_t limit = transport == dns::Transport::kUdp ? 1232 : dns::kTcpLimit;
    if (decision.kind == dns::DnsDecision::Kind::kReply)
      check_reply(decision.reply, limit);
    if (decision.kind != dns::DnsDecision::Kind::kForward)
      continue;
    const dns::DecodedQuery& query = *decision.forward;
    check_reply(dns::error_reply(query, LDNS_RCODE_SERVFAIL), limit);
    dns::DecodedQuery again = dns::decode_query(dns::upstream_query(query, 1), transport, 1232);
    if (again.problem != dns::QueryProblem::kNone || again.name != query.name ||
        again.type != query.type || again.id != 1) {
      __builtin_trap();
    }
    auto relayed = dns::relay_reply(wire, query);
    if (relayed.ok())
      check_reply(*relayed, query.reply_limit);
  }
  return 0;
}
