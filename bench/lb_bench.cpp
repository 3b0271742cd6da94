// shoal-lb-bench: the measuring parts of bench/lb.sh.
//   shoal-lb-bench serve IP PORT           echo server (one byte in, one byte out, per connection)
//   shoal-lb-bench http IP PORT [BODY]     keep-alive HTTP/1.1 server answering BODY (default
//                                          "ok"); wrk's target, and the demo's web task
//   shoal-lb-bench client IP PORT SECONDS  connect, one-byte request/response, close, repeat;
//                                          prints "CONNS_PER_S P50_US P99_US"
//   shoal-lb-bench programming NODE        map programming times of the eBPF load balancer:
//                                          bulk load of 1k and 10k services, and one backend
//                                          change with 1k and 10k present (run it in a private
//                                          mount namespace: it mounts bpffs if needed)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/unique_fd.h"
#include "ebpf/ebpf_lb.h"
#include "ebpf/lb_program.h"

namespace {

using shoal::UniqueFd;
using Clock = std::chrono::steady_clock;

sockaddr_in address(const char* ip, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip, &addr.sin_addr);
  return addr;
}

UniqueFd listen_tcp(const char* ip, int port) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = address(ip, port);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener.get(), 4096) != 0) {
    std::perror("listen");
    return UniqueFd();
  }
  return listener;
}

UniqueFd epoll_on(int fd) {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{EPOLLIN, {.fd = fd}};
  ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  return epoll;
}

// Accepts connections on ip:port and hands each readable one to on_readable, which returns
// false when the connection is to be closed. One thread, epoll; never returns but on error.
template <typename OnReadable>
int serve_connections(const char* ip, int port, OnReadable on_readable) {
  UniqueFd listener = listen_tcp(ip, port);
  if (!listener.valid()) {
    return 1;
  }
  UniqueFd epoll = epoll_on(listener.get());
  epoll_event events[256];
  while (true) {
    int n = ::epoll_wait(epoll.get(), events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener.get()) {
        int client = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          epoll_event cev{EPOLLIN, {.fd = client}};
          ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, client, &cev);
        }
      } else if (!on_readable(fd)) {
        ::close(fd);  // closing removes it from the epoll set
      }
    }
  }
}

int serve(const char* ip, int port) {
  return serve_connections(ip, port, [](int fd) {
    char buf[64];
    ssize_t got = ::read(fd, buf, sizeof(buf));
    return got > 0 && ::write(fd, buf, static_cast<size_t>(got)) == got;
  });
}

int http(const char* ip, int port, const std::string& body) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size() + 1) +
      "\r\nContent-Type: text/plain\r\n\r\n" + body + "\n";
  std::unordered_map<int, std::string> pending;  // per connection: bytes of unanswered requests
  return serve_connections(ip, port, [&](int fd) {
    char buf[4096];
    ssize_t got = ::read(fd, buf, sizeof(buf));
    if (got <= 0) {
      pending.erase(fd);
      return false;
    }
    std::string& data = pending[fd];
    data.append(buf, static_cast<size_t>(got));
    for (size_t end; (end = data.find("\r\n\r\n")) != std::string::npos;) {
      data.erase(0, end + 4);
      if (::write(fd, response.data(), response.size()) < 0) {
        pending.erase(fd);
        return false;
      }
    }
    return true;
  });
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int client(const char* ip, int port, double seconds) {
  sockaddr_in addr = address(ip, port);
  std::vector<double> latencies;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  const linger reset_on_close{1, 0};  // no TIME_WAIT: the port range would run out
  int failures = 0;
  while (Clock::now() < end) {
    const auto start = Clock::now();
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
    char byte = 'x';
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::write(fd.get(), &byte, 1) != 1 || ::read(fd.get(), &byte, 1) != 1) {
      if (++failures > 100) {
        std::fprintf(stderr, "client: too many failures: %s\n", std::strerror(errno));
        return 1;
      }
      continue;
    }
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  const double rate = static_cast<double>(latencies.size()) / seconds;
  std::printf("%.0f %.1f %.1f\n", rate, percentile(latencies, 0.5), percentile(latencies, 0.99));
  return 0;
}

shoal::lb::Service bench_service(uint32_t i, uint32_t generation) {
  const uint32_t vip = (10u << 24) | (100u << 16) | i;  // 10.100.0.0/16
  shoal::lb::Service s;
  s.id = "svc" + std::to_string(i);
  s.frontends = {{shoal::Ipv4(vip), 80, shoal::lb::Protocol::kTcp, 8080}};
  for (uint32_t b = 0; b < 3; ++b) {
    s.backends.push_back(
        {shoal::Ipv4((10u << 24) | (200u << 16) | ((i + b + generation) & 0xffff))});
  }
  return s;
}

int programming(const std::string& node) {
  for (uint32_t present : {1000u, 10000u}) {
    shoal::ebpf::LbProgramConfig config;
    config.node = node;
    config.max_frontends = 16384;
    config.max_slots = 131072;
    auto program = shoal::ebpf::LbProgram::load(config);
    if (!program.ok()) {
      std::fprintf(stderr, "%s\n", program.error().message().c_str());
      return 1;
    }
    shoal::ebpf::BpfLbMapIo maps((*program)->services_fd(), (*program)->slots_fd());
    auto balancer = shoal::ebpf::EbpfLoadBalancer::create(maps);
    const auto bulk_start = Clock::now();
    for (uint32_t i = 0; i < present; ++i) {
      if (!(*balancer)->upsert(bench_service(i, 0)).ok())
        return 1;
    }
    const double bulk_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - bulk_start).count();
    std::mt19937 random(42);
    std::vector<double> changes;
    for (uint32_t round = 1; round <= 500; ++round) {
      const uint32_t i = static_cast<uint32_t>(random() % present);
      const auto start = Clock::now();
      if (!(*balancer)
               ->set_backends("svc" + std::to_string(i), bench_service(i, round).backends, {})
               .ok()) {
        return 1;
      }
      changes.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    std::printf("%u %.1f %.1f %.1f\n", present, bulk_ms, percentile(changes, 0.5),
                percentile(changes, 0.99));
    if (!(*program)->uninstall().ok())
      return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "serve" && argc == 4) {
    return serve(argv[2], std::atoi(argv[3]));
  }
  if (mode == "http" && (argc == 4 || argc == 5)) {
    return http(argv[2], std::atoi(argv[3]), argc == 5 ? argv[4] : "ok");
  }
  if (mode == "client" && argc == 5) {
    return client(argv[2], std::atoi(argv[3]), std::atof(argv[4]));
  }
  if (mode == "programming" && argc == 3) {
    return programming(argv[2]);
  }
  std::fprintf(
      stderr,
      "usage: shoal-lb-bench serve IP PORT | http IP PORT [BODY] | client IP PORT SECONDS | "
      "programming NODE\n");
  return 2;
}
