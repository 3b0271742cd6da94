// The embedded resolver's answers, without sockets: a query packet and the asker's networks in,
// a reply packet or a decision to forward out. The server and the unit tests drive it alike.
//
// Wire format is ldns's: the query is parsed with ldns_wire2pkt and every reply is built as an
// ldns_pkt and serialised with ldns_pkt2wire. What this file adds is policy:
//   - never answer a packet that is not a query (QR set): two resolvers must not loop;
//   - unparseable packets are dropped and counted; a query with other than one question is
//     FORMERR; an opcode other than QUERY is NOTIMP;
//   - A (and ANY) for a name of ours: its addresses, TTL from the configuration, AA set; any
//     other type for a name of ours: NOERROR with no answer (AAAA must not be NXDOMAIN, or a
//     dual-stack client would give up on the name); a name of ours on no network of the asker:
//     NXDOMAIN; anything else: forward;
//   - a reply that exceeds what the asker accepts (512 bytes over UDP, or its EDNS size capped by
//     max_udp_payload; 65535 over TCP) keeps the answers that fit and sets TC, so the client
//     retries over TCP;
//   - dnsrr answers rotate by one address per query, so that clients that take the first address
//     still spread over the tasks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "dataplane/dns/dns_records.h"
#include "dataplane/dns/ldns_ptr.h"

namespace shoal::dataplane::dns {

enum class Transport { kUdp, kTcp };

inline constexpr size_t kClassicUdpLimit = 512;  // RFC 1035, when the query has no EDNS
inline constexpr size_t kTcpLimit = 65535;       // the 2-byte length prefix

struct AnswerConfig {
  uint32_t ttl_seconds = 5;         // Swarm's 600 s keeps dead task IPs in clients (moby#30029)
  uint16_t max_udp_payload = 1232;  // cap on an EDNS size (the DNS flag day 2020 value)
};

enum class QueryProblem {
  kNone,
  kUnparseable,        // ldns refused the bytes
  kNotAQuery,          // QR set: a response, never answered
  kNotStandardQuery,   // opcode other than QUERY
  kNotSingleQuestion,  // QDCOUNT != 1
};

// A query as the resolver needs it, decoded once and kept for a forward.
struct DecodedQuery {
  QueryProblem problem = QueryProblem::kUnparseable;
  PacketPtr packet;
  std::string name;  // normalized question name (lower case, no trailing dot)
  ldns_rr_type type = LDNS_RR_TYPE_A;
  ldns_rr_class klass = LDNS_RR_CLASS_IN;
  uint16_t id = 0;
  size_t reply_limit = kClassicUdpLimit;  // the largest reply the asker accepts
  uint16_t advertised_udp_payload = 0;    // what our reply's OPT announces; 0 = no EDNS
};

DecodedQuery decode_query(std::span<const uint8_t> wire, Transport transport,
                          uint16_t max_udp_payload);

// A reply with the query's question and rcode and no records (SERVFAIL, FORMERR, NOTIMP, ...).
std::vector<uint8_t> error_reply(const DecodedQuery& query, ldns_pkt_rcode rcode);

// The query with its ID replaced, for an upstream resolver.
std::vector<uint8_t> upstream_query(const DecodedQuery& query, uint16_t upstream_id);

// An upstream resolver's answer re-addressed to the asker: its ID, within its size limit (TC and
// no records when it does not fit). Fails when the bytes are not an answer to this question.
Result<std::vector<uint8_t>> relay_reply(std::span<const uint8_t> upstream_wire,
                                         const DecodedQuery& query);

struct ResponderStats {
  uint64_t queries = 0;
  uint64_t answered = 0;  // NOERROR from our records (with or without addresses)
  uint64_t nxdomain = 0;
  uint64_t forwarded = 0;
  uint64_t malformed = 0;  // dropped, or FORMERR
  uint64_t not_implemented = 0;
  uint64_t truncated = 0;
};

struct DnsDecision {
  enum class Kind { kReply, kForward, kDrop };
  Kind kind = Kind::kDrop;
  std::vector<uint8_t> reply;           // kReply
  std::optional<DecodedQuery> forward;  // kForward
};

class DnsResponder {
 public:
  DnsResponder(const DnsRecords& records, AnswerConfig config)
      : records_(records), config_(config) {}

  DnsDecision respond(std::span<const uint8_t> query, const std::vector<std::string>& networks,
                      Transport transport);

  const ResponderStats& stats() const { return stats_; }
  const AnswerConfig& config() const { return config_; }

 private:
  std::vector<uint8_t> answer(const DecodedQuery& query, const Lookup& lookup);

  const DnsRecords& records_;
  AnswerConfig config_;
  ResponderStats stats_;
  size_t rotation_ = 0;
};

}  // namespace shoal::dataplane::dns
