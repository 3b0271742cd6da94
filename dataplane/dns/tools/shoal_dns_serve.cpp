// shoal-dns-serve: the embedded DNS server alone, for benchmarks and by-hand checks.
//
//   shoal-dns-serve [--services N] [--ttl S] [--listen IP:PORT] [--upstream IP:PORT]...
//
// Serves, in the namespace it runs in (run it under `ip netns exec`), N services on network
// "bench": svc<i> -> VIP 10.100.<i/256>.<i%256>, tasks.svc<i> -> that address too. Prints
// "ready" once listening and the counters on SIGINT/SIGTERM. Without --upstream, names that are
// not ours get SERVFAIL: the tool never asks the machine's real resolvers.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "dataplane/dns/dns_server.h"

namespace dns = shoal::dataplane::dns;

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "shoal-dns-serve: " << problem
            << "\nusage: shoal-dns-serve [--services N] [--ttl S] [--listen IP:PORT] "
               "[--upstream IP:PORT]...\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  dns::DnsServerConfig config;
  config.resolv_conf = "/dev/null";  // no upstream unless --upstream: never the real resolvers
  int services = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc)
      usage(flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--services") {
      services = std::atoi(value.c_str());
      if (services < 1 || services > 65536)
        usage("--services must be 1-65536");
    } else if (flag == "--ttl") {
      config.answers.ttl_seconds = static_cast<uint32_t>(std::atoi(value.c_str()));
    } else if (flag == "--listen") {
      auto listen = dns::UpstreamServer::parse(value);
      if (!listen.ok())
        usage(listen.error().message());
      config.listen_ip = listen->ip;
      config.listen_port = listen->port;
    } else if (flag == "--upstream") {
      auto upstream = dns::UpstreamServer::parse(value);
      if (!upstream.ok())
        usage(upstream.error().message());
      config.forwarder.upstreams.push_back(*upstream);
    } else {
      usage("unknown option " + flag);
    }
  }

  // Block the stop signals before any thread starts, so that only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto server = dns::DnsServer::start(config);
  if (!server.ok()) {
    std::cerr << server.error().message() << "\n";
    return 1;
  }
  for (int i = 0; i < services; ++i) {
    dns::ServiceRecord record;
    record.service_id = "id" + std::to_string(i);
    record.network_id = "bench";
    record.name = "svc" + std::to_string(i);
    const auto index = static_cast<uint32_t>(i);
    record.vip = shoal::Ipv4((10u << 24) | (100u << 16) | index);
    record.task_ips = {*record.vip};
    if (auto upserted = (*server)->upsert_service(record); !upserted.ok()) {
      std::cerr << upserted.error().message() << "\n";
      return 1;
    }
  }
  auto here = shoal::dataplane::Netns::current();
  if (!here.ok()) {
    std::cerr << here.error().message() << "\n";
    return 1;
  }
  auto listener = (*server)->add_listener(*here, {"bench"});
  if (!listener.ok()) {
    std::cerr << listener.error().message() << "\n";
    return 1;
  }
  std::cout << "ready" << std::endl;

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  const dns::DnsServerStats stats = (*server)->stats();
  std::cout << "queries " << stats.responder.queries << " answered " << stats.responder.answered
            << " nxdomain " << stats.responder.nxdomain << " forwarded "
            << stats.responder.forwarded << " malformed " << stats.responder.malformed << std::endl;
  return 0;
}
