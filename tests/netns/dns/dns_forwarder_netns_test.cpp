// The forwarder against off-path spoofing (security review #13), on the real kernel: each test
// runs on a thread of its own in a network namespace of its own (unshared, gone with the thread),
// where fake upstream resolvers and a forger bind to loopback addresses. Nothing leaves it.
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>

#include "common/unique_fd.h"
#include "dataplane/dns/dns_forwarder.h"

namespace shoal::dataplane::dns {
namespace {

using namespace std::chrono_literals;

// Runs body on a thread in a fresh network namespace whose lo is up.
void in_private_netns(const std::function<void()>& body) {
  std::thread worker([&] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare: " << std::strerror(errno) << " (root?)";
    UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq lo{};
    std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(::ioctl(control.get(), SIOCGIFFLAGS, &lo), 0);
    lo.ifr_flags = static_cast<short>(lo.ifr_flags | IFF_UP);
    ASSERT_EQ(::ioctl(control.get(), SIOCSIFFLAGS, &lo), 0) << std::strerror(errno);
    body();
  });
  worker.join();
}

sockaddr_in address(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

// A UDP socket bound to ip:port (0: any free port) that plays an upstream or a forger.
struct Peer {
  UniqueFd fd;
  uint16_t port = 0;

  static Peer bind(const char* ip, uint16_t port = 0) {
    Peer peer;
    peer.fd = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in at = address(ip, port);
    EXPECT_EQ(::bind(peer.fd.get(), reinterpret_cast<const sockaddr*>(&at), sizeof at), 0)
        << ip << ":" << port << ": " << std::strerror(errno);
    socklen_t len = sizeof at;
    ::getsockname(peer.fd.get(), reinterpret_cast<sockaddr*>(&at), &len);
    peer.port = ntohs(at.sin_port);
    return peer;
  }
  void send_to(const std::vector<uint8_t>& wire, uint16_t to_port) const {
    sockaddr_in to = address("127.0.0.1", to_port);
    EXPECT_EQ(::sendto(fd.get(), wire.data(), wire.size(), 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to),
              static_cast<ssize_t>(wire.size()));
  }
};

struct Datagram {
  std::vector<uint8_t> wire;
  uint16_t from_port = 0;
};

// Runs io until pred holds or the timeout passes.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {  // pred is called once per round: it may consume what it checks
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    if (io.stopped())
      io.restart();
    io.run_one_for(5ms);
  }
  return true;
}

// The next datagram the peer receives, running io meanwhile (the forwarder's retries need it).
std::optional<Datagram> receive(boost::asio::io_context& io, const Peer& peer,
                                std::chrono::milliseconds timeout = 2000ms) {
  std::optional<Datagram> got;
  run_until(
      io,
      [&] {
        pollfd p{peer.fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) != 1)
          return false;
        std::vector<uint8_t> buffer(4096);
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(peer.fd.get(), buffer.data(), buffer.size(), 0,
                                     reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0)
          return false;
        buffer.resize(static_cast<size_t>(n));
        got = Datagram{std::move(buffer), ntohs(from.sin_port)};
        return true;
      },
      timeout);
  return got;
}

DecodedQuery asked(const char* name, uint16_t id) {
  ldns_pkt* raw = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&raw, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD),
            LDNS_STATUS_OK);
  PacketPtr packet(raw);
  ldns_pkt_set_id(packet.get(), id);
  return decode_query(packet_to_wire(*packet), Transport::kUdp, 1232);
}

// The upstream's answer to a query it received: `address` for its question, with `id` (the
// query's own when not given).
std::vector<uint8_t> answer(const std::vector<uint8_t>& query_wire, const char* record,
                            std::optional<uint16_t> id = std::nullopt) {
  PacketPtr packet = packet_from_wire(query_wire);
  EXPECT_TRUE(packet);
  ldns_pkt_set_qr(packet.get(), true);
  ldns_rr* rr = nullptr;
  EXPECT_EQ(ldns_rr_new_frm_str(&rr, record, 0, nullptr, nullptr), LDNS_STATUS_OK);
  ldns_pkt_push_rr(packet.get(), LDNS_SECTION_ANSWER, rr);
  if (id)
    ldns_pkt_set_id(packet.get(), *id);
  return packet_to_wire(*packet);
}

uint16_t id_of(const std::vector<uint8_t>& wire) {
  return LDNS_ID_WIRE(wire.data());
}

struct Answers {
  std::vector<std::vector<uint8_t>> replies;
  DnsForwarder::ReplyHandler handler() {
    return [this](std::vector<uint8_t> reply) { replies.push_back(std::move(reply)); };
  }
};

std::unique_ptr<DnsForwarder> forwarder(boost::asio::io_context& io,
                                        std::vector<uint16_t> upstream_ports,
                                        std::chrono::milliseconds attempt_timeout = 5000ms) {
  ForwarderConfig config;
  for (uint16_t port : upstream_ports)
    config.upstreams.push_back(UpstreamServer{*Ipv4::parse("127.0.0.1"), port});
  config.attempt_timeout = attempt_timeout;
  auto created = DnsForwarder::create(io, std::move(config));
  EXPECT_TRUE(created.ok());
  return created.ok() ? std::move(*created) : nullptr;
}

TEST(DnsForwarderSpoofing, EachForwardedQueryLeavesFromAPortOfItsOwn) {
  in_private_netns([] {
    boost::asio::io_context io;
    Peer upstream = Peer::bind("127.0.0.1");
    auto fwd = forwarder(io, {upstream.port});
    ASSERT_TRUE(fwd);
    Answers answers;
    fwd->forward(asked("one.example.", 1), answers.handler());
    fwd->forward(asked("two.example.", 2), answers.handler());
    auto first = receive(io, upstream);
    auto second = receive(io, upstream);
    ASSERT_TRUE(first && second);
    // One shared socket (a source port fixed for shoald's life) lets a forger aim at one port.
    EXPECT_NE(first->from_port, second->from_port);
    EXPECT_NE(first->from_port, 53);
    EXPECT_EQ(fwd->pending(), 2u);
    EXPECT_EQ(fwd->stats().sent, 2u);
  });
}

TEST(DnsForwarderSpoofing, OnlyTheUpstreamsAnswerWithTheQueryIdAndQuestionIsTaken) {
  in_private_netns([] {
    boost::asio::io_context io;
    Peer upstream = Peer::bind("127.0.0.1");
    auto fwd = forwarder(io, {upstream.port});
    ASSERT_TRUE(fwd);
    Answers answers;
    fwd->forward(asked("www.example.", 4242), answers.handler());
    auto query = receive(io, upstream);
    ASSERT_TRUE(query);
    const std::vector<uint8_t> genuine = answer(query->wire, "www.example. 60 IN A 203.0.113.7");
    const std::vector<uint8_t> forged = answer(query->wire, "www.example. 60 IN A 198.51.100.66");

    // A forger that guessed port and ID, from another port of the upstream's address ...
    Peer::bind("127.0.0.1").send_to(forged, query->from_port);
    // ... and from the upstream's port on another address.
    Peer::bind("127.0.0.2", upstream.port).send_to(forged, query->from_port);
    // The upstream's own address and port, with a wrong ID ...
    upstream.send_to(answer(query->wire, "www.example. 60 IN A 198.51.100.66",
                            static_cast<uint16_t>(id_of(query->wire) ^ 0x5a5a)),
                     query->from_port);
    // ... and with the right ID but another question.
    auto other = asked("other.example.", 1);
    std::vector<uint8_t> other_wire = upstream_query(other, id_of(query->wire));
    upstream.send_to(answer(other_wire, "other.example. 60 IN A 198.51.100.66"), query->from_port);

    run_until(
        io, [] { return false; }, 200ms);
    EXPECT_TRUE(answers.replies.empty()) << "a forged answer was relayed";
    EXPECT_EQ(fwd->stats().stray_replies, 2u) << "the kernel drops the other two";

    upstream.send_to(genuine, query->from_port);
    ASSERT_TRUE(run_until(
        io, [&] { return !answers.replies.empty(); }, 2000ms));
    ASSERT_EQ(answers.replies.size(), 1u);
    PacketPtr reply = packet_from_wire(answers.replies[0]);
    ASSERT_TRUE(reply);
    EXPECT_EQ(ldns_pkt_id(reply.get()), 4242) << "the asker's ID is restored";
    ASSERT_EQ(ldns_rr_list_rr_count(ldns_pkt_answer(reply.get())), 1u);
    std::unique_ptr<char, LdnsMallocFree> text(
        ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(reply.get()), 0), 0)));
    EXPECT_STREQ(text.get(), "203.0.113.7");
    EXPECT_EQ(fwd->stats().answered, 1u);
    EXPECT_EQ(fwd->pending(), 0u);
  });
}

TEST(DnsForwarderSpoofing, ARetryUsesAFreshPortAndIdAndALateAnswerIsNotTaken) {
  in_private_netns([] {
    boost::asio::io_context io;
    Peer slow = Peer::bind("127.0.0.1");
    Peer next = Peer::bind("127.0.0.1");
    auto fwd = forwarder(io, {slow.port, next.port}, 200ms);
    ASSERT_TRUE(fwd);
    Answers answers;
    fwd->forward(asked("www.example.", 7), answers.handler());
    auto first = receive(io, slow);
    ASSERT_TRUE(first);
    auto retried = receive(io, next);  // after the 200 ms attempt timeout
    ASSERT_TRUE(retried);
    EXPECT_NE(first->from_port, retried->from_port);
    // The first upstream answers late, to the port it was asked from: that socket is closed.
    slow.send_to(answer(first->wire, "www.example. 60 IN A 198.51.100.66"), first->from_port);
    run_until(
        io, [] { return false; }, 100ms);
    EXPECT_TRUE(answers.replies.empty());
    next.send_to(answer(retried->wire, "www.example. 60 IN A 203.0.113.7"), retried->from_port);
    ASSERT_TRUE(run_until(
        io, [&] { return !answers.replies.empty(); }, 2000ms));
    EXPECT_EQ(fwd->stats().answered, 1u);
  });
}

TEST(DnsForwarderSpoofing, QueriesInFlightAreCappedAt1024SinceEachHoldsASocket) {
  in_private_netns([] {
    boost::asio::io_context io;
    Peer upstream = Peer::bind("127.0.0.1");
    ForwarderConfig config;
    config.upstreams = {UpstreamServer{*Ipv4::parse("127.0.0.1"), upstream.port}};
    config.max_pending = 100000;  // capped at 1024: each query in flight holds a socket
    auto fwd = DnsForwarder::create(io, config);
    ASSERT_TRUE(fwd.ok());
    EXPECT_EQ((*fwd)->config().max_pending, 1024u);
  });
}

}  // namespace
}  // namespace shoal::dataplane::dns
