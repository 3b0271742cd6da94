// The embedded DNS on the real kernel: one simulated host (the node's namespace, where a dnsmasq
// plays the node's upstream resolver on 127.0.0.1) and two task namespaces on different networks,
// each with a listener at 127.0.0.11:53. Every question is asked with dig(1) from inside a task
// namespace, over UDP and TCP. No packet leaves the namespaces this test creates.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "dataplane/dns/dns_server.h"
#include "tests/support/testbed.h"

namespace shoal::dataplane::dns {
namespace {

using testing::run_command;
using testing::run_in_ns;
using testing::Testbed;

class TestEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { testing::clean_stale_runs(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new TestEnvironment);

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

// A child process in its own process group, killed (group and all) and reaped by the destructor,
// so that no dnsmasq outlives a failed assertion.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& arg : argv)
      args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    if (pid_ > 0)
      ::setpgid(pid_, pid_);  // also here: no window in which a kill misses the group
  }
  ~ChildProcess() {
    if (pid_ <= 0)
      return;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

struct DigAnswer {
  std::string status;  // NOERROR, NXDOMAIN, SERVFAIL...; empty when dig got no reply
  std::vector<Ipv4> addresses;
  std::vector<uint32_t> ttls;
  std::string output;
};

// dig @127.0.0.11 from inside ns; one try, bounded.
DigAnswer dig(const std::string& ns, const std::string& name, bool tcp = false,
              const std::string& type = "A", int port = 53) {
  std::vector<std::string> argv{"dig",     "@127.0.0.11", "-p",     std::to_string(port),
                                "+time=2", "+tries=1",    "+noall", "+comments",
                                "+answer", name,          type};
  if (tcp)
    argv.push_back("+tcp");
  DigAnswer answer;
  auto ran = run_in_ns(ns, argv, 8000);
  if (!ran.ok())
    return answer;
  answer.output = ran->output;
  std::istringstream lines(ran->output);
  std::string line;
  while (std::getline(lines, line)) {
    if (const size_t at = line.find("status: "); at != std::string::npos) {
      answer.status = line.substr(at + 8, line.find(',', at) - at - 8);
      continue;
    }
    if (line.empty() || line[0] == ';')
      continue;
    std::istringstream fields(line);
    std::string owner, klass, rtype, data;
    uint32_t ttl = 0;
    if (fields >> owner >> ttl >> klass >> rtype >> data && rtype == "A") {
      answer.addresses.push_back(ip(data.c_str()));
      answer.ttls.push_back(ttl);
    }
  }
  return answer;
}

std::vector<Ipv4> sorted(std::vector<Ipv4> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A socket made inside ns (it stays there), so the test can talk to a listener byte by byte.
Result<UniqueFd> socket_in(const std::string& ns, int type) {
  SHOAL_ASSIGN_OR_RETURN(Netns netns, Netns::open_named(ns));
  return run_in_netns(netns, [&]() -> Result<UniqueFd> {
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd.valid())
      return sys_error("socket", ns, errno);
    const timeval bounded{3, 0};  // every read in these tests gives up after 3 s
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &bounded, sizeof(bounded));
    return fd;
  });
}

sockaddr_in address(Ipv4 ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = ip.network_order();
  a.sin_port = htons(port);
  return a;
}

std::vector<uint8_t> query_wire(const char* name, uint16_t id) {
  ldns_pkt* raw = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&raw, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD),
            LDNS_STATUS_OK);
  PacketPtr packet(raw);
  ldns_pkt_set_id(packet.get(), id);
  return packet_to_wire(*packet);
}

// Sends one framed query on a connected TCP socket; the reply's rcode, or -1 on EOF or timeout.
int tcp_query(const UniqueFd& fd, const char* name) {
  std::vector<uint8_t> framed(2);
  const std::vector<uint8_t> wire = query_wire(name, 7);
  ldns_write_uint16(framed.data(), static_cast<uint16_t>(wire.size()));
  framed.insert(framed.end(), wire.begin(), wire.end());
  if (::send(fd.get(), framed.data(), framed.size(), MSG_NOSIGNAL) < 0)
    return -1;
  std::vector<uint8_t> reply(kTcpLimit + 2);
  const ssize_t got = ::recv(fd.get(), reply.data(), reply.size(), 0);
  if (got <= 2)
    return -1;
  reply.resize(static_cast<size_t>(got));
  PacketPtr packet = packet_from_wire(std::span(reply).subspan(2));
  return packet ? ldns_pkt_get_rcode(packet.get()) : -1;
}

constexpr int kUpstreamPort = 5353;

class EmbeddedDns : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "netns tests create namespaces and need root";
    auto bed = Testbed::create(1);
    ASSERT_TRUE(bed.ok()) << bed.error().message();
    bed_ = std::move(*bed);
    for (const std::string& ns : {task_ns(1), task_ns(2)}) {
      auto added = run_command({"ip", "netns", "add", ns});
      ASSERT_TRUE(added.ok() && added->exit_code == 0) << ns;
      auto lo = run_command({"ip", "-n", ns, "link", "set", "lo", "up"});
      ASSERT_TRUE(lo.ok() && lo->exit_code == 0) << ns;
    }
    // The node's upstream resolver: answers example.test, says NXDOMAIN for nx.test.
    upstream_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "ip", "netns", "exec", bed_->host_ns(1), "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
        "--no-resolv", "--no-hosts", "--pid-file", "--log-facility=/dev/null",
        "--port=" + std::to_string(kUpstreamPort), "--listen-address=127.0.0.1",
        "--bind-interfaces", "--address=/example.test/203.0.113.7", "--address=/nx.test/"});
    ASSERT_TRUE(upstream_->started());
    ASSERT_TRUE(upstream_answers()) << "dnsmasq did not come up in " << bed_->host_ns(1);

    DnsServerConfig config;
    config.forwarder.upstreams = {UpstreamServer{ip("127.0.0.1"), kUpstreamPort}};
    config.forwarder.attempt_timeout = std::chrono::milliseconds(500);
    config.forwarder_netns = bed_->host_ns(1);  // 127.0.0.1:5353 exists only there
    auto server = DnsServer::start(config);
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    listener1_ = add_listener(task_ns(1), {"app"});
    listener2_ = add_listener(task_ns(2), {"back"});

    ServiceRecord web{"s-web",           "app",          "web",
                      {"frontend"},      ip("10.0.1.2"), {ip("10.0.1.10"), ip("10.0.1.11")},
                      EndpointMode::kVip};
    ServiceRecord db{"s-db",
                     "back",
                     "db",
                     {},
                     std::nullopt,
                     {ip("10.0.2.10"), ip("10.0.2.11")},
                     EndpointMode::kDnsrr};
    ServiceRecord api_app{"s-api", "app", "api", {}, ip("10.0.1.3"), {}, EndpointMode::kVip};
    ServiceRecord api_back{"s-api", "back", "api", {}, ip("10.0.2.3"), {}, EndpointMode::kVip};
    for (const ServiceRecord& r : {web, db, api_app, api_back})
      ASSERT_TRUE(server_->upsert_service(r).ok());
  }

  void TearDown() override {
    server_.reset();    // sockets closed before their namespaces go
    upstream_.reset();  // dnsmasq killed before testbed.sh kills what is left in the namespaces
    bed_.reset();
  }

  std::string task_ns(int i) const { return "shoal-" + bed_->run() + "-task" + std::to_string(i); }

  DnsServer::ListenerId add_listener(const std::string& ns, std::vector<std::string> networks) {
    auto netns = Netns::open_named(ns);
    EXPECT_TRUE(netns.ok());
    if (!netns.ok())
      return 0;
    auto id = server_->add_listener(*netns, std::move(networks));
    EXPECT_TRUE(id.ok()) << id.error().message();
    return id.ok() ? *id : 0;
  }

  bool upstream_answers() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      auto ran = run_in_ns(bed_->host_ns(1),
                           {"dig", "@127.0.0.1", "-p", std::to_string(kUpstreamPort), "+time=1",
                            "+tries=1", "+short", "example.test"},
                           3000);
      if (ran.ok() && ran->output.find("203.0.113.7") != std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::unique_ptr<Testbed> bed_;
  std::unique_ptr<ChildProcess> upstream_;
  std::unique_ptr<DnsServer> server_;
  DnsServer::ListenerId listener1_ = 0;
  DnsServer::ListenerId listener2_ = 0;
};

TEST_F(EmbeddedDns, NameTasksNameAndDnsrrOverUdpAndTcp) {
  for (bool tcp : {false, true}) {
    SCOPED_TRACE(tcp ? "tcp" : "udp");
    DigAnswer web = dig(task_ns(1), "web", tcp);
    EXPECT_EQ(web.status, "NOERROR") << web.output;
    EXPECT_EQ(web.addresses, std::vector<Ipv4>{ip("10.0.1.2")});
    EXPECT_EQ(web.ttls, std::vector<uint32_t>{5});
    EXPECT_EQ(dig(task_ns(1), "FrontEnd", tcp).addresses, std::vector<Ipv4>{ip("10.0.1.2")});
    EXPECT_EQ(sorted(dig(task_ns(1), "tasks.web", tcp).addresses),
              (std::vector<Ipv4>{ip("10.0.1.10"), ip("10.0.1.11")}));
    EXPECT_EQ(sorted(dig(task_ns(2), "db", tcp).addresses),
              (std::vector<Ipv4>{ip("10.0.2.10"), ip("10.0.2.11")}));
    DigAnswer aaaa = dig(task_ns(1), "web", tcp, "AAAA");
    EXPECT_EQ(aaaa.status, "NOERROR");
    EXPECT_TRUE(aaaa.addresses.empty());
  }
}

TEST_F(EmbeddedDns, AnswersAreScopedToTheAskersNetworks) {
  EXPECT_EQ(dig(task_ns(1), "db").status, "NXDOMAIN");
  EXPECT_EQ(dig(task_ns(1), "tasks.db").status, "NXDOMAIN");
  EXPECT_EQ(dig(task_ns(2), "web").status, "NXDOMAIN");
  EXPECT_EQ(dig(task_ns(1), "api").addresses, std::vector<Ipv4>{ip("10.0.1.3")});
  EXPECT_EQ(dig(task_ns(2), "api").addresses, std::vector<Ipv4>{ip("10.0.2.3")});

  ASSERT_TRUE(server_->set_listener_networks(listener1_, {"app", "back"}).ok());
  EXPECT_EQ(dig(task_ns(1), "db").addresses.size(), 2u) << "task 1 joined network back";
}

TEST_F(EmbeddedDns, UnknownNamesAreForwardedFromTheNodesNamespace) {
  for (bool tcp : {false, true}) {
    SCOPED_TRACE(tcp ? "tcp" : "udp");
    DigAnswer forwarded = dig(task_ns(1), "www.Example.test", tcp);
    EXPECT_EQ(forwarded.status, "NOERROR") << forwarded.output;
    EXPECT_EQ(forwarded.addresses, std::vector<Ipv4>{ip("203.0.113.7")});
    EXPECT_EQ(dig(task_ns(2), "nothing.nx.test", tcp).status, "NXDOMAIN");
  }
  EXPECT_EQ(dig(task_ns(1), "unknown").status, "NXDOMAIN") << "bare names never go upstream";
  const DnsServerStats stats = server_->stats();
  EXPECT_EQ(stats.forwarder.answered, 4u);
  EXPECT_EQ(stats.pending_forwards, 0u);
}

TEST_F(EmbeddedDns, RemovingAServiceMakesItsNameNxdomain) {
  ASSERT_EQ(dig(task_ns(1), "web").addresses.size(), 1u);
  server_->remove_service("s-web");
  EXPECT_EQ(dig(task_ns(1), "web").status, "NXDOMAIN");
  EXPECT_EQ(dig(task_ns(1), "tasks.web", true).status, "NXDOMAIN");
  EXPECT_EQ(dig(task_ns(1), "api").addresses.size(), 1u) << "other services stay";
}

TEST_F(EmbeddedDns, NoUpstreamAnswerGivesServfailInBoundedTime) {
  upstream_.reset();  // dnsmasq gone: the forwarded query times out
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(dig(task_ns(1), "www.example.test").status, "SERVFAIL");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(server_->stats().forwarder.servfail, 1u);
}

TEST_F(EmbeddedDns, ARemovedListenerStopsAnsweringAndTheOtherGoesOn) {
  ASSERT_TRUE(server_->remove_listener(listener1_).ok());
  EXPECT_EQ(dig(task_ns(1), "web").status, "") << "nothing listens in task 1 any more";
  EXPECT_EQ(dig(task_ns(2), "db").addresses.size(), 2u);
  EXPECT_FALSE(server_->remove_listener(listener1_).ok());
}

TEST_F(EmbeddedDns, GarbageIsCountedAndTheListenerStillAnswers) {
  // 40 bytes of 0xff to 127.0.0.11:53 over UDP (a header claiming 65535 of everything), then a
  // normal question.
  auto sent =
      run_in_ns(task_ns(1), {"bash", "-c", "printf '\\377%.0s' {1..40} > /dev/udp/127.0.0.11/53"});
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(dig(task_ns(1), "web").addresses.size(), 1u);
  EXPECT_GE(server_->stats().responder.malformed, 1u);
}

// A second server on port 5454 with small caps: two TCP connections per listener, one forward
// in flight, to an upstream that never answers.
class SmallCaps : public EmbeddedDns {
 protected:
  static constexpr uint16_t kPort = 5454;
  static constexpr uint16_t kSilentPort = 5499;

  void SetUp() override {
    EmbeddedDns::SetUp();
    if (HasFatalFailure())
      return;
    auto silent = socket_in(bed_->host_ns(1), SOCK_DGRAM);
    ASSERT_TRUE(silent.ok()) << silent.error().message();
    silent_upstream_ = std::move(*silent);
    const sockaddr_in at = address(ip("127.0.0.1"), kSilentPort);
    ASSERT_EQ(::bind(silent_upstream_.get(), reinterpret_cast<const sockaddr*>(&at), sizeof(at)),
              0);
    DnsServerConfig config;
    config.listen_port = kPort;
    config.max_tcp_connections = 2;
    config.forwarder.max_pending = 1;
    config.forwarder.attempt_timeout = std::chrono::milliseconds(300);
    config.forwarder.upstreams = {UpstreamServer{ip("127.0.0.1"), kSilentPort}};
    config.forwarder_netns = bed_->host_ns(1);
    auto small = DnsServer::start(config);
    ASSERT_TRUE(small.ok()) << small.error().message();
    small_ = std::move(*small);
    auto netns = Netns::open_named(task_ns(1));
    ASSERT_TRUE(netns.ok());
    ASSERT_TRUE(small_->add_listener(*netns, {"app"}).ok());
    ASSERT_TRUE(small_
                    ->upsert_service(ServiceRecord{
                        "s-web", "app", "web", {}, ip("10.0.1.2"), {}, EndpointMode::kVip})
                    .ok());
  }

  void TearDown() override {
    small_.reset();
    EmbeddedDns::TearDown();
  }

  UniqueFd connected() {
    auto fd = socket_in(task_ns(1), SOCK_STREAM);
    EXPECT_TRUE(fd.ok());
    if (!fd.ok())
      return UniqueFd();
    const sockaddr_in to = address(kEmbeddedDnsIp, kPort);
    EXPECT_EQ(::connect(fd->get(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)), 0);
    return std::move(*fd);
  }

  UniqueFd silent_upstream_;
  std::unique_ptr<DnsServer> small_;
};

TEST_F(SmallCaps, TcpConnectionsPerListenerAreCapped) {
  UniqueFd first = connected();
  UniqueFd second = connected();
  ASSERT_EQ(tcp_query(first, "web."), LDNS_RCODE_NOERROR);
  ASSERT_EQ(tcp_query(second, "web."), LDNS_RCODE_NOERROR);
  UniqueFd third = connected();  // the kernel accepts it; the server closes it at once
  EXPECT_EQ(tcp_query(third, "web."), -1);
  EXPECT_EQ(small_->stats().tcp_rejected, 1u);

  first.reset();  // a slot frees up once the server has seen the close
  int rcode = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (rcode == -1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    UniqueFd again = connected();
    rcode = tcp_query(again, "web.");
  }
  EXPECT_EQ(rcode, LDNS_RCODE_NOERROR);
}

TEST_F(SmallCaps, PendingForwardsAreCappedAndTimeOutAsServfail) {
  auto client = socket_in(task_ns(1), SOCK_DGRAM);
  ASSERT_TRUE(client.ok());
  const sockaddr_in to = address(kEmbeddedDnsIp, kPort);
  for (uint16_t id : {uint16_t{1}, uint16_t{2}}) {
    const std::vector<uint8_t> wire =
        query_wire(id == 1 ? "a.example.test." : "b.example.test.", id);
    ASSERT_GT(::sendto(client->get(), wire.data(), wire.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to), sizeof(to)),
              0);
  }
  std::vector<uint16_t> order;
  for (int i = 0; i < 2; ++i) {
    std::vector<uint8_t> reply(kTcpLimit);
    const ssize_t got = ::recv(client->get(), reply.data(), reply.size(), 0);
    ASSERT_GT(got, 0) << "no reply " << i;
    PacketPtr packet = packet_from_wire(std::span(reply).first(static_cast<size_t>(got)));
    ASSERT_TRUE(packet);
    EXPECT_EQ(ldns_pkt_get_rcode(packet.get()), LDNS_RCODE_SERVFAIL);
    order.push_back(ldns_pkt_id(packet.get()));
  }
  EXPECT_EQ(order, (std::vector<uint16_t>{2, 1})) << "over the cap at once, then the timeout";
  const DnsServerStats stats = small_->stats();
  EXPECT_EQ(stats.forwarder.over_cap, 1u);
  EXPECT_EQ(stats.forwarder.servfail, 2u);
  EXPECT_EQ(stats.forwarder.sent, 1u) << "only the first went upstream";
}

}  // namespace
}  // namespace shoal::dataplane::dns
