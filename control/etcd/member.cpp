#include "control/etcd/member.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <future>

#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "common/close_fds.h"

namespace shoal::etcd {

namespace fs = std::filesystem;

namespace {

constexpr auto kRestartDelay = std::chrono::seconds(1);
constexpr auto kStopGrace = std::chrono::seconds(5);

// The last line etcd wrote: usually the reason it stopped.
std::string last_log_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty())
      last = line;
  }
  return last;
}

std::string url(const std::string& ip, uint16_t port) {
  return "https://" + ip + ":" + std::to_string(port);
}

}  // namespace

std::string crl_file(const MemberConfig& config) {
  return config.dir + "/tls/crl.pem";
}

std::string peer_url(const std::string& ip, uint16_t port) {
  return url(ip, port);
}

std::vector<std::string> Member::command_line(const MemberConfig& c) {
  const std::string tls = c.dir + "/tls/";
  const std::string peer = url(c.peer_ip, c.peer_port);
  const std::string client = url(c.client_ip.empty() ? c.peer_ip : c.client_ip, c.client_port);
  // A renewed certificate reaches etcd through the identity file (key and certificate in one
  // file, so a handshake never reads a new key with an old certificate).
  const bool renewable = !c.tls.identity_file.empty();
  const std::string cert = renewable ? c.tls.identity_file : tls + "member.crt";
  const std::string key = renewable ? c.tls.identity_file : tls + "member.key";
  std::vector<std::string> argv = {
      c.binary, "--name", c.name, "--data-dir", c.dir + "/data", "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer, "--listen-client-urls", client,
      "--advertise-client-urls", client, "--initial-cluster",
      c.initial_cluster.empty() ? c.name + "=" + peer : c.initial_cluster,
      "--initial-cluster-state", c.join_existing ? "existing" : "new", "--initial-cluster-token",
      c.cluster_token, "--cert-file", cert, "--key-file", key, "--trusted-ca-file", tls + "ca.crt",
      "--client-cert-auth", "--client-cert-allowed-hostname", c.tls.server_name, "--peer-cert-file",
      cert, "--peer-key-file", key, "--peer-trusted-ca-file", tls + "ca.crt",
      "--peer-client-cert-auth", "--peer-cert-allowed-hostname", c.tls.server_name,
      "--experimental-peer-skip-client-san-verification", "--heartbeat-interval",
      std::to_string(c.heartbeat.count()), "--election-timeout",
      std::to_string(c.election_timeout.count()),
      // A first copy of a large store is one transaction (see etcd_store.h).
      "--max-txn-ops", "100000", "--max-request-bytes", std::to_string(32 << 20),
      "--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000",
      "--snapshot-count", "10000", "--logger", "zap", "--log-level", "warn",
      // No HTTP/JSON gateway: nothing uses it, and its connection to the member's own client
      // URL (refused by the checks above) held the member from serving for about 15 s.
      "--enable-grpc-gateway=false"};
  if (!c.tls.crl_pem.empty()) {
    for (const char* flag : {"--client-crl-file", "--peer-crl-file"}) {
      argv.emplace_back(flag);
      argv.push_back(crl_file(c));
    }
  }
  if (c.force_new_cluster) {
    argv.emplace_back("--force-new-cluster");
  }
  return argv;
}

Result<std::unique_ptr<Member>> Member::start(MemberConfig config) {
  if (config.name.empty() || config.dir.empty() || config.peer_ip.empty()) {
    return invalid_argument("etcd member", "needs a name, a directory and a peer address");
  }
  std::error_code ec;
  fs::create_directories(config.dir + "/tls", ec);
  if (ec) {
    return sys_error("create", config.dir + "/tls", ec.value());
  }
  fs::permissions(config.dir, fs::perms::owner_all, ec);
  const std::string tls = config.dir + "/tls/";
  // 0600 from the start: the key is never readable by others, not even for a moment.
  for (const auto& [name, pem] :
       {std::pair{"ca.crt", &config.tls.ca_pem}, std::pair{"member.crt", &config.tls.cert_pem},
        std::pair{"member.key", &config.tls.key_pem}}) {
    SHOAL_TRY(write_file_atomically(tls + name, *pem, 0600));
  }
  // A list already there is newer than the one given (the leader's, followed since).
  if (!config.tls.crl_pem.empty() && !fs::exists(crl_file(config)))
    SHOAL_TRY(write_file_atomically(crl_file(config), config.tls.crl_pem, 0600));
  std::unique_ptr<Member> member(new Member(std::move(config)));
  // The supervising thread starts etcd too: the parent-death signal follows the thread that
  // forked, and the caller's (a gRPC worker, say) may end long before shoald does.
  std::promise<Status> started;
  auto first = started.get_future();
  member->thread_ = std::thread([m = member.get(), &started] { m->supervise(started); });
  SHOAL_TRY(first.get());
  return member;
}

Member::~Member() {
  stop();
}

Result<pid_t> Member::spawn() {
  // Everything the child needs is built before fork: between fork and exec only
  // async-signal-safe calls are allowed in a threaded process.
  auto args = command_line(config_);
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  const std::string log = config_.dir + "/etcd.log";
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return sys_error("start", "etcd member " + config_.name, errno);
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) {
      ::_exit(1);  // shoald died before the line above took effect
    }
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (in < 0 || out < 0) {
      ::_exit(127);
    }
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    // Nothing else of shoald's: its gossip sockets (etcd held port 7946 with it), pipes, files.
    close_fds_from(3);
    ::execvp(argv[0], argv.data());
    static const char kNoEtcd[] = "cannot execute etcd (is Debian's etcd-server installed?)\n";
    (void)!::write(2, kNoEtcd, sizeof kNoEtcd - 1);
    ::_exit(127);
  }
  return pid;
}

void Member::supervise(std::promise<Status>& started) {
  {
    auto spawned = spawn();
    std::lock_guard lock(mutex_);
    if (!spawned.ok()) {
      stopping_ = true;
      started.set_value(spawned.error());
      return;
    }
    pid_ = *spawned;
    starts_ = 1;
  }
  started.set_value(Status{});  // `started` is gone after this
  std::unique_lock lock(mutex_);
  while (true) {
    const pid_t pid = pid_;
    lock.unlock();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    lock.lock();
    pid_ = -1;
    cv_.notify_all();
    if (stopping_) {
      return;
    }
    if (restarting_) {
      spdlog::info("etcd member {} restarts to trust the swarm's new roots", config_.name);
      restarting_ = false;
    } else {
      spdlog::warn("etcd member {} exited ({}); restarting it in {} s. Its last words: {}",
                   config_.name,
                   WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                                     : "signal " + std::to_string(WTERMSIG(status)),
                   kRestartDelay.count(), last_log_line(config_.dir + "/etcd.log"));
      if (cv_.wait_for(lock, kRestartDelay, [this] { return stopping_; })) {
        return;
      }
    }
    auto spawned = spawn();
    if (!spawned.ok()) {
      spdlog::error("{}", spawned.error().message());
      return;
    }
    pid_ = *spawned;
    ++starts_;
  }
}

void Member::stop() {
  std::unique_lock lock(mutex_);
  if (stopping_ && !thread_.joinable()) {
    return;
  }
  stopping_ = true;
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
  }
  cv_.notify_all();
  if (!cv_.wait_for(lock, kStopGrace, [this] { return pid_ < 0; }) && pid_ > 0) {
    ::kill(pid_, SIGKILL);
  }
  lock.unlock();
  if (thread_.joinable()) {
    thread_.join();
  }
  if (restart_thread_.joinable()) {
    restart_thread_.join();
  }
}

Status Member::trust(const std::string& ca_pem, std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  if (stopping_)
    return {};
  SHOAL_TRY(write_file_atomically(config_.dir + "/tls/ca.crt", ca_pem, 0600));
  if (restart_thread_.joinable()) {
    lock.unlock();  // an earlier restart: over within its delay (stop() would end it sooner)
    restart_thread_.join();
    lock.lock();
  }
  restart_thread_ = std::thread([this, delay] {
    std::unique_lock restart_lock(mutex_);
    if (cv_.wait_for(restart_lock, delay, [this] { return stopping_; }) || pid_ <= 0)
      return;
    restarting_ = true;
    ::kill(pid_, SIGTERM);  // the supervisor starts it again at once, reading the new file
  });
  return {};
}

Status Member::wait_serving(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Error last{.op = "wait for", .object = "etcd member " + config_.name, .detail = "not started"};
  std::string exited;  // once etcd has exited, that is the news, whatever came after
  while (std::chrono::steady_clock::now() < deadline) {
    if (pid() < 0) {
      exited = "etcd exited: " + last_log_line(config_.dir + "/etcd.log");
    } else if (auto status = client({.call_timeout = std::chrono::milliseconds(1000)})->status();
               status.ok()) {  // a fresh channel each time: no reconnect backoff carried over
      return {};
    } else {
      last = status.error();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!exited.empty()) {
    last.detail = exited;
  }
  return last;
}

std::string Member::client_endpoint() const {
  const auto& ip = config_.client_ip.empty() ? config_.peer_ip : config_.client_ip;
  return ip + ":" + std::to_string(config_.client_port);
}

std::string Member::peer_url() const {
  return url(config_.peer_ip, config_.peer_port);
}

std::unique_ptr<Client> Member::client(Client::Options options) const {
  return Client::create(client_endpoint(), config_.tls, options);
}

pid_t Member::pid() const {
  std::lock_guard lock(mutex_);
  return pid_;
}

int Member::starts() const {
  std::lock_guard lock(mutex_);
  return starts_;
}

}  // namespace shoal::etcd
