// shoal-converge-probe: the measuring part of bench/converge.sh. Sends short HTTP requests (one
// connection each: connect, GET, read the answer, close with a reset so no TIME_WAIT is left) to
// every target, several in flight per target, and records which task answered when.
//
//   shoal-converge-probe [--inflight K] [--rate R] [--timeout-ms T] [--ports LO-HI]
//                        LABEL=IP:PORT...
//
// The answer body names its task ("web <hostname>"). Runs until SIGINT or SIGTERM. Prints, on
// stdout, times in nanoseconds of CLOCK_REALTIME (comparable with `date +%s%N` and the daemons'
// logs on the same machine):
//   first LABEL NAME T                    as soon as NAME first answers through LABEL (T: when the
//                                         answer arrived)
//   seen LABEL NAME FIRST LAST COUNT      at exit, for every name that answered through LABEL
//   failure LABEL KIND T PORT PREVIOUS    as each failure happens (the first 2000 per target; T,
//                                         as in fail lines, is when the failed request went out):
//                                         its kind (refused, reset, timeout, unreachable, http,
//                                         other), the client port, and the task that last answered
//                                         a request from that client port ("-": none)
//   fail LABEL KIND FIRST LAST COUNT      at exit, per kind of failure
//   total LABEL ANSWERS FAILURES SECONDS  at exit
//   start T                               when the first requests go out
// --rate caps the requests started per second per target (0: as fast as K in flight allow).
// --ports binds each connection to the next client port of LO-HI in turn (per target), so a port
// is not used twice until the range wraps; without it the kernel chooses, as for any client.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Span {
  int64_t first = 0;
  int64_t last = 0;
  uint64_t count = 0;
  void add(int64_t t) {
    if (count++ == 0) {
      first = t;
    }
    last = t;
  }
};

struct Target {
  std::string label;
  sockaddr_in addr{};
  std::map<std::string, Span> names;     // task name -> answers
  std::map<std::string, Span> failures;  // kind -> failures
  uint64_t answers = 0;
  uint64_t failed = 0;
  int inflight = 0;
  int64_t next_start = 0;  // rate limit: earliest time of the next request
  int next_port = 0;       // --ports: the next client port to bind
  std::vector<std::string> by_port = std::vector<std::string>(65536);  // last answer per port
};

struct Request {
  int fd = -1;
  Target* target = nullptr;
  int64_t started = 0;
  uint16_t port = 0;  // the client's
  bool sent = false;
  std::string data;
};

const char kRequest[] = "GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";

std::string failure_kind(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "refused";
    case ECONNRESET:
    case EPIPE:
      return "reset";
    case ETIMEDOUT:
      return "timeout";
    case EHOSTUNREACH:
    case ENETUNREACH:
      return "unreachable";
    default:
      return "other";
  }
}

bool parse_target(const std::string& spec, Target& target) {
  auto eq = spec.find('=');
  auto colon = spec.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq) {
    return false;
  }
  target.label = spec.substr(0, eq);
  target.addr.sin_family = AF_INET;
  target.addr.sin_port = htons(static_cast<uint16_t>(std::atoi(spec.c_str() + colon + 1)));
  return ::inet_pton(AF_INET, spec.substr(eq + 1, colon - eq - 1).c_str(), &target.addr.sin_addr) ==
         1;
}

// A complete answer: the body after the headers, Content-Length bytes of it. Returns false
// while more is to come; sets `name` (empty: not a 200).
bool complete_answer(const std::string& data, std::string& name) {
  auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return false;
  }
  auto length_at = data.find("Content-Length: ");
  if (length_at == std::string::npos || length_at > head_end) {
    name.clear();
    return true;
  }
  size_t length = std::strtoul(data.c_str() + length_at + 16, nullptr, 10);
  if (data.size() < head_end + 4 + length) {
    return false;
  }
  if (data.compare(0, 12, "HTTP/1.1 200") != 0) {
    name.clear();
    return true;
  }
  name = data.substr(head_end + 4, length);
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) {
    name.pop_back();
  }
  return true;
}

class Prober {
 public:
  Prober(std::vector<Target> targets, int inflight, double rate, int64_t timeout_ns, int port_lo,
         int port_hi)
      : targets_(std::move(targets)),
        port_lo_(port_lo),
        port_hi_(port_hi),
        inflight_(inflight),
        interval_ns_(rate > 0 ? static_cast<int64_t>(1e9 / rate) : 0),
        timeout_ns_(timeout_ns),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)) {}

  void run() {
    const int64_t begin = now_ns();
    std::printf("start %lld\n", static_cast<long long>(begin));
    std::fflush(stdout);
    epoll_event events[256];
    while (!g_stop) {
      int64_t now = now_ns();
      for (auto& target : targets_) {
        while (target.inflight < inflight_ && now >= target.next_start) {
          start(target, now);
          target.next_start = std::max(target.next_start + interval_ns_, now - interval_ns_);
        }
      }
      int n = ::epoll_wait(epoll_, events, 256, interval_ns_ > 0 ? 1 : 10);
      now = now_ns();
      for (int i = 0; i < n; ++i) {
        handle(events[i].data.fd, events[i].events, now);
      }
      expire(now);
    }
    report(static_cast<double>(now_ns() - begin) / 1e9);
  }

 private:
  void start(Target& target, int64_t now) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      fail(target, "other", now);
      return;
    }
    const linger reset_on_close{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
    if (port_lo_ > 0 && !bind_next_port(target, fd)) {
      fail(target, "other", now);
      ::close(fd);
      return;
    }
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&target.addr), sizeof(target.addr));
    if (rc != 0 && errno != EINPROGRESS) {
      // The VIP hook refuses a connection to a service without backends here.
      fail(target, failure_kind(errno), now);
      ::close(fd);
      return;
    }
    sockaddr_in local{};
    socklen_t local_len = sizeof(local);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
    requests_[fd] = Request{fd, &target, now, ntohs(local.sin_port), false, {}};
    ++target.inflight;
    epoll_event ev{EPOLLOUT | EPOLLIN, {.fd = fd}};
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }

  bool bind_next_port(Target& target, int fd) {
    for (int attempt = 0; attempt < 64; ++attempt) {
      if (target.next_port < port_lo_ || target.next_port > port_hi_) {
        target.next_port = port_lo_;
      }
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_port = htons(static_cast<uint16_t>(target.next_port++));
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) == 0) {
        return true;
      }
    }
    return false;
  }

  void handle(int fd, uint32_t events, int64_t now) {
    auto it = requests_.find(fd);
    if (it == requests_.end()) {
      return;
    }
    Request& r = it->second;
    if (!r.sent && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        finish(r, failure_kind(err), "", now);
        return;
      }
      if (::send(fd, kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL) < 0) {
        finish(r, failure_kind(errno), "", now);
        return;
      }
      r.sent = true;
      epoll_event ev{EPOLLIN, {.fd = fd}};
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &ev);
      return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      char buf[2048];
      ssize_t got = ::recv(fd, buf, sizeof(buf), 0);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      }
      if (got <= 0) {
        finish(r, got == 0 ? "reset" : failure_kind(errno), "", now);
        return;
      }
      r.data.append(buf, static_cast<size_t>(got));
      std::string name;
      if (complete_answer(r.data, name)) {
        finish(r, name.empty() ? "http" : "", name, now);
      }
    }
  }

  void expire(int64_t now) {
    std::vector<int> late;
    for (auto& [fd, r] : requests_) {
      if (now - r.started > timeout_ns_) {
        late.push_back(fd);
      }
    }
    for (int fd : late) {
      finish(requests_[fd], "timeout", "", now);
    }
  }

  // kind empty: an answer from `name`.
  void finish(Request& r, const std::string& kind, const std::string& name, int64_t now) {
    Target& target = *r.target;
    if (kind.empty()) {
      ++target.answers;
      Span& span = target.names[name];
      if (span.count == 0) {
        std::printf("first %s %s %lld\n", target.label.c_str(), name.c_str(),
                    static_cast<long long>(now));
        std::fflush(stdout);
      }
      span.add(now);
      target.by_port[r.port] = name;
    } else {
      fail(target, kind, r.started, r.port);  // when the request that failed went out
    }
    --target.inflight;
    ::close(r.fd);  // also leaves the epoll set
    requests_.erase(r.fd);
  }

  void fail(Target& target, const std::string& kind, int64_t now, uint16_t port = 0) {
    if (target.failed < 2000) {
      const std::string& previous = target.by_port[port];
      std::printf("failure %s %s %lld %u %s\n", target.label.c_str(), kind.c_str(),
                  static_cast<long long>(now), port, previous.empty() ? "-" : previous.c_str());
      std::fflush(stdout);
    }
    ++target.failed;
    target.failures[kind].add(now);
  }

  void report(double seconds) {
    for (const auto& target : targets_) {
      for (const auto& [name, span] : target.names) {
        std::printf("seen %s %s %lld %lld %llu\n", target.label.c_str(), name.c_str(),
                    static_cast<long long>(span.first), static_cast<long long>(span.last),
                    static_cast<unsigned long long>(span.count));
      }
      for (const auto& [kind, span] : target.failures) {
        std::printf("fail %s %s %lld %lld %llu\n", target.label.c_str(), kind.c_str(),
                    static_cast<long long>(span.first), static_cast<long long>(span.last),
                    static_cast<unsigned long long>(span.count));
      }
      std::printf("total %s %llu %llu %.3f\n", target.label.c_str(),
                  static_cast<unsigned long long>(target.answers),
                  static_cast<unsigned long long>(target.failed), seconds);
    }
    std::fflush(stdout);
  }

  std::vector<Target> targets_;
  int port_lo_;
  int port_hi_;
  int inflight_;
  int64_t interval_ns_;
  int64_t timeout_ns_;
  int epoll_;
  std::map<int, Request> requests_;
};

int usage() {
  std::fprintf(stderr,
               "usage: shoal-converge-probe [--inflight K] [--rate R] [--timeout-ms T] "
               "[--ports LO-HI] LABEL=IP:PORT...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int inflight = 2;
  double rate = 0;
  int64_t timeout_ms = 1000;
  int port_lo = 0;
  int port_hi = 0;
  std::vector<Target> targets;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--inflight" || arg == "--rate" || arg == "--timeout-ms" || arg == "--ports") &&
        i + 1 < argc) {
      const char* value = argv[++i];
      if (arg == "--ports") {
        if (std::sscanf(value, "%d-%d", &port_lo, &port_hi) != 2 || port_lo < 1 ||
            port_hi > 65535 || port_lo > port_hi) {
          return usage();
        }
      } else if (arg == "--inflight") {
        inflight = std::max(1, std::atoi(value));
      } else if (arg == "--rate") {
        rate = std::atof(value);
      } else {
        timeout_ms = std::max(1, std::atoi(value));
      }
      continue;
    }
    Target target;
    if (!parse_target(arg, target)) {
      return usage();
    }
    targets.push_back(std::move(target));
  }
  if (targets.empty()) {
    return usage();
  }
  struct sigaction stop {};
  stop.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGINT, &stop, nullptr);
  ::sigaction(SIGTERM, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  Prober(std::move(targets), inflight, rate, timeout_ms * 1000000, port_lo, port_hi).run();
  return 0;
}
