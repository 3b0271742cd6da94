// shoal-lb-probe: a client for load-balancer tests, run inside a namespace and a cgroup.
//   shoal-lb-probe tcp IP PORT COUNT      COUNT connections; prints each server's greeting line
//   shoal-lb-probe hold IP PORT SECONDS   one connection: greeting, wait, then an echo round trip
//   shoal-lb-probe udp IP PORT COUNT      COUNT sockets: one datagram each; prints "reply from
//   ADDR"
// Every failure prints "error: TEXT" on its line, so a test can count outcomes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/unique_fd.h"

namespace {

using shoal::UniqueFd;

sockaddr_in address(const char* ip, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip, &addr.sin_addr);
  return addr;
}

bool readable(int fd, int timeout_ms = 2000) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (readable(fd) && ::read(fd, &c, 1) == 1 && c != '\n')
    line += c;
  return line;
}

UniqueFd connect_tcp(const char* ip, int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval timeout{2, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr = address(ip, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::printf("error: %s\n", std::strerror(errno));
    return UniqueFd();
  }
  return fd;
}

void tcp(const char* ip, int port, int count) {
  for (int i = 0; i < count; ++i) {
    UniqueFd fd = connect_tcp(ip, port);
    if (fd.valid())
      std::printf("%s\n", read_line(fd.get()).c_str());
  }
}

void hold(const char* ip, int port, int seconds) {
  UniqueFd fd = connect_tcp(ip, port);
  if (!fd.valid())
    return;
  std::printf("%s\n", read_line(fd.get()).c_str());
  std::fflush(stdout);
  ::sleep(static_cast<unsigned>(seconds));
  if (::send(fd.get(), "ping\n", 5, MSG_NOSIGNAL) != 5) {
    std::printf("error: %s\n", std::strerror(errno));
    return;
  }
  std::string echo = read_line(fd.get());
  std::printf("%s\n", echo.empty() ? "error: no echo" : echo.c_str());
}

void udp(const char* ip, int port, int count) {
  for (int i = 0; i < count; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr = address(ip, port);
    if (::sendto(fd.get(), "hi", 2, 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 2) {
      std::printf("error: %s\n", std::strerror(errno));
      continue;
    }
    char buf[256];
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    ssize_t n = readable(fd.get()) ? ::recvfrom(fd.get(), buf, sizeof(buf) - 1, 0,
                                                reinterpret_cast<sockaddr*>(&from), &len)
                                   : -1;
    if (n < 0) {
      std::printf("error: no reply\n");
      continue;
    }
    buf[n] = 0;
    char from_ip[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &from.sin_addr, from_ip, sizeof(from_ip));
    std::printf("%s from %s:%d\n", buf, from_ip, ntohs(from.sin_port));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: shoal-lb-probe tcp|hold|udp IP PORT N\n");
    return 2;
  }
  const std::string mode = argv[1];
  const int port = std::atoi(argv[3]);
  const int n = std::atoi(argv[4]);
  if (mode == "tcp")
    tcp(argv[2], port, n);
  else if (mode == "hold")
    hold(argv[2], port, n);
  else if (mode == "udp")
    udp(argv[2], port, n);
  else
    return 2;
  return 0;
}
