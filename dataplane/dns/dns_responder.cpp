#include "dataplane/dns/dns_responder.h"

#include <algorithm>

namespace shoal::dataplane::dns {
namespace {

// Question name as text, normalized; ldns escapes odd bytes (\DDD), which then match nothing.
std::string question_name(const ldns_rr& question) {
  std::unique_ptr<char, LdnsMallocFree> text(ldns_rdf2str(ldns_rr_owner(&question)));
  return text ? normalize_name(text.get()) : std::string();
}

const ldns_rr* question_of(const DecodedQuery& query) {
  if (!query.packet)
    return nullptr;
  const ldns_rr_list* questions = ldns_pkt_question(query.packet.get());
  return questions && ldns_rr_list_rr_count(questions) == 1 ? ldns_rr_list_rr(questions, 0)
                                                            : nullptr;
}

// Header, question and OPT of a reply to query; no records.
PacketPtr reply_skeleton(const DecodedQuery& query, ldns_pkt_rcode rcode, bool authoritative) {
  PacketPtr reply(ldns_pkt_new());
  ldns_pkt* r = reply.get();
  ldns_pkt_set_id(r, query.id);
  ldns_pkt_set_qr(r, true);
  ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
  ldns_pkt_set_aa(r, authoritative);
  ldns_pkt_set_ra(r, true);
  ldns_pkt_set_rcode(r, static_cast<uint8_t>(rcode));
  if (query.packet) {
    ldns_pkt_set_rd(r, ldns_pkt_rd(query.packet.get()));
    ldns_pkt_set_cd(r, ldns_pkt_cd(query.packet.get()));
    ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(query.packet.get()));
  }
  if (const ldns_rr* question = question_of(query))
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
  if (query.advertised_udp_payload > 0)
    ldns_pkt_set_edns_udp_size(r, query.advertised_udp_payload);
  return reply;
}

ldns_rr* a_record(const ldns_rdf& owner, Ipv4 ip, uint32_t ttl) {
  ldns_rr* rr = ldns_rr_new();
  ldns_rr_set_owner(rr, ldns_rdf_clone(&owner));  // the asker's spelling (0x20 case games)
  ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
  ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr, ttl);
  const auto bytes = ip.bytes();
  ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, bytes.size(), bytes.data()));
  return rr;
}

// Drops answers from the end until the serialised reply fits, and sets TC when any was dropped.
std::vector<uint8_t> fit(ldns_pkt& reply, size_t limit, bool& truncated) {
  std::vector<uint8_t> wire = packet_to_wire(reply);
  truncated = false;
  ldns_rr_list* answers = ldns_pkt_answer(&reply);
  while (wire.size() > limit && ldns_rr_list_rr_count(answers) > 0) {
    truncated = true;
    // Jump close to the size in one step (an A record costs 16 bytes compressed), then by one.
    const size_t excess = (wire.size() - limit + 15) / 16;
    const size_t drop = std::clamp<size_t>(excess, 1, ldns_rr_list_rr_count(answers));
    for (size_t i = 0; i < drop; ++i)
      ldns_rr_free(ldns_rr_list_pop_rr(answers));
    ldns_pkt_set_ancount(&reply, static_cast<uint16_t>(ldns_rr_list_rr_count(answers)));
    ldns_pkt_set_tc(&reply, true);
    wire = packet_to_wire(reply);
  }
  return wire;
}

}  // namespace

DecodedQuery decode_query(std::span<const uint8_t> wire, Transport transport,
                          uint16_t max_udp_payload) {
  DecodedQuery query;
  query.packet = packet_from_wire(wire);
  if (!query.packet)
    return query;
  ldns_pkt* packet = query.packet.get();
  query.id = ldns_pkt_id(packet);
  if (ldns_pkt_qr(packet)) {
    query.problem = QueryProblem::kNotAQuery;
    return query;
  }
  if (ldns_pkt_edns(packet)) {
    query.advertised_udp_payload = max_udp_payload;
    query.reply_limit = std::clamp<size_t>(ldns_pkt_edns_udp_size(packet), kClassicUdpLimit,
                                           std::max<size_t>(max_udp_payload, kClassicUdpLimit));
  }
  if (transport == Transport::kTcp)
    query.reply_limit = kTcpLimit;
  if (ldns_pkt_get_opcode(packet) != LDNS_PACKET_QUERY) {
    query.problem = QueryProblem::kNotStandardQuery;
    return query;
  }
  const ldns_rr* question = question_of(query);
  if (!question || ldns_pkt_qdcount(packet) != 1) {
    query.problem = QueryProblem::kNotSingleQuestion;
    return query;
  }
  query.name = question_name(*question);
  query.type = ldns_rr_get_type(question);
  query.klass = ldns_rr_get_class(question);
  query.problem = QueryProblem::kNone;
  return query;
}

std::vector<uint8_t> error_reply(const DecodedQuery& query, ldns_pkt_rcode rcode) {
  PacketPtr reply = reply_skeleton(query, rcode, false);
  return packet_to_wire(*reply);
}

std::vector<uint8_t> upstream_query(const DecodedQuery& query, uint16_t upstream_id) {
  ldns_pkt_set_id(query.packet.get(), upstream_id);
  std::vector<uint8_t> wire = packet_to_wire(*query.packet);
  ldns_pkt_set_id(query.packet.get(), query.id);
  return wire;
}

Result<std::vector<uint8_t>> relay_reply(std::span<const uint8_t> upstream_wire,
                                         const DecodedQuery& query) {
  DecodedQuery answer;
  answer.packet = packet_from_wire(upstream_wire);
  if (!answer.packet || !ldns_pkt_qr(answer.packet.get()))
    return invalid_argument("upstream reply", "not a DNS response");
  const ldns_rr* question = question_of(answer);
  if (!question || question_name(*question) != query.name ||
      ldns_rr_get_type(question) != query.type || ldns_rr_get_class(question) != query.klass) {
    return invalid_argument("upstream reply", "answers another question than " + query.name);
  }
  ldns_pkt_set_id(answer.packet.get(), query.id);
  if (query.advertised_udp_payload > 0)
    ldns_pkt_set_edns_udp_size(answer.packet.get(), query.advertised_udp_payload);
  std::vector<uint8_t> wire = packet_to_wire(*answer.packet);
  if (wire.empty())
    return invalid_argument("upstream reply", "cannot be serialised");
  if (wire.size() > query.reply_limit) {
    PacketPtr truncated = reply_skeleton(query, ldns_pkt_get_rcode(answer.packet.get()), false);
    ldns_pkt_set_tc(truncated.get(), true);
    return packet_to_wire(*truncated);
  }
  return wire;
}

DnsDecision DnsResponder::respond(std::span<const uint8_t> wire,
                                  const std::vector<std::string>& networks, Transport transport) {
  ++stats_.queries;
  DecodedQuery query = decode_query(wire, transport, config_.max_udp_payload);
  DnsDecision decision;
  switch (query.problem) {
    case QueryProblem::kUnparseable:
    case QueryProblem::kNotAQuery:
      ++stats_.malformed;
      return decision;
    case QueryProblem::kNotSingleQuestion:
      ++stats_.malformed;
      decision.kind = DnsDecision::Kind::kReply;
      decision.reply = error_reply(query, LDNS_RCODE_FORMERR);
      return decision;
    case QueryProblem::kNotStandardQuery:
      ++stats_.not_implemented;
      decision.kind = DnsDecision::Kind::kReply;
      decision.reply = error_reply(query, LDNS_RCODE_NOTIMPL);
      return decision;
    case QueryProblem::kNone:
      break;
  }
  const Lookup lookup = records_.lookup(query.name, networks);
  if (lookup.kind == Lookup::Kind::kNotOurs) {
    ++stats_.forwarded;
    decision.kind = DnsDecision::Kind::kForward;
    decision.forward = std::move(query);
    return decision;
  }
  decision.kind = DnsDecision::Kind::kReply;
  decision.reply = answer(query, lookup);
  return decision;
}

std::vector<uint8_t> DnsResponder::answer(const DecodedQuery& query, const Lookup& lookup) {
  if (lookup.kind == Lookup::Kind::kNxDomain) {
    ++stats_.nxdomain;
    PacketPtr reply = reply_skeleton(query, LDNS_RCODE_NXDOMAIN, true);
    return packet_to_wire(*reply);
  }
  ++stats_.answered;
  PacketPtr reply = reply_skeleton(query, LDNS_RCODE_NOERROR, true);
  const bool wants_a = query.type == LDNS_RR_TYPE_A || query.type == LDNS_RR_TYPE_ANY;
  const bool class_in = query.klass == LDNS_RR_CLASS_IN || query.klass == LDNS_RR_CLASS_ANY;
  const size_t count = lookup.addresses.size();
  if (wants_a && class_in && count > 0) {
    const ldns_rdf& owner = *ldns_rr_owner(question_of(query));
    const size_t first = rotation_++ % count;
    for (size_t i = 0; i < count; ++i) {
      ldns_pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER,
                       a_record(owner, lookup.addresses[(first + i) % count], config_.ttl_seconds));
    }
  }
  bool truncated = false;
  std::vector<uint8_t> wire = fit(*reply, query.reply_limit, truncated);
  if (truncated)
    ++stats_.truncated;
  return wire;
}

}  // namespace shoal::dataplane::dns
