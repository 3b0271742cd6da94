// shoal-lb-vm-bench-{ebpf,ipvs}: the load-balancer backends on the same kernel (run inside the VM
// by bench/ipvs_vm.sh), on the conformance suite's node. Prints "METRIC name value" lines:
//   load_1k_ms, load_10k_ms   upserting 1k, then up to 10k services (one VIP:80 each)
//   change_at_1k_us, change_at_10k_us   median time of one set_backends with 1k / 10k present
//   vip_conns_per_s, direct_conns_per_s   sequential TCP connections from a task, via a VIP
//                                         and straight to a task (the same-run reference)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/conformance/backend_under_test.h"
#include "tests/conformance/node_topology.h"
#include "tests/support/testbed.h"

namespace shoal::conformance {
namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

lb::Service service(int i, int task) {
  lb::Service s;
  s.id = "svc" + std::to_string(i);
  s.frontends = {
      lb::Frontend{Ipv4(Ipv4::parse("10.78.0.0")->host_order() + static_cast<uint32_t>(i)), 80,
                   lb::Protocol::kTcp, kTaskPort}};
  s.backends = NodeTopology::tasks({task});
  return s;
}

Result<double> load(lb::LoadBalancer& lb, int from, int to) {
  const auto start = Clock::now();
  for (int i = from; i < to; ++i) {
    SHOAL_TRY(lb.upsert(service(i, 1 + i % 3)));
  }
  return us_since(start) / 1000.0;
}

// One backend change on service 0 (its task swapped), the median of `n`.
Result<double> change(lb::LoadBalancer& lb, int n) {
  std::vector<double> times;
  for (int k = 0; k < n; ++k) {
    const auto start = Clock::now();
    SHOAL_TRY(lb.set_backends("svc0", NodeTopology::tasks({1 + (k + 1) % 3}), {}));
    times.push_back(us_since(start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

Result<double> conns_per_s(const BackendUnderTest& backend, Ipv4 ip, uint16_t port, int n) {
  const auto start = Clock::now();
  auto result = testing::run_command(
      backend.as_task({testing::build_path("tests/support/shoal-lb-probe"), "tcp", ip.str(),
                       std::to_string(port), std::to_string(n)}),
      600000);
  const double seconds = us_since(start) / 1e6;
  if (!result.ok()) {
    return std::move(result).error();
  }
  for (const std::string& line : testing::output_lines(result)) {
    if (line.rfind("error:", 0) == 0) {
      return sys_error("connect", ip.str(), 0, line);
    }
  }
  return n / seconds;
}

void metric(const char* name, double value) {
  std::printf("METRIC %s %s %.1f\n", backend_kind(), name, value);
  std::fflush(stdout);
}

Status run() {
  SHOAL_ASSIGN_OR_RETURN(auto topology, NodeTopology::create());
  SHOAL_ASSIGN_OR_RETURN(auto backend, make_backend(topology->node()));
  lb::LoadBalancer& lb = backend->balancer();
  SHOAL_ASSIGN_OR_RETURN(double load_1k, load(lb, 0, 1000));
  metric("load_1k_ms", load_1k);
  SHOAL_ASSIGN_OR_RETURN(double change_1k, change(lb, 21));
  metric("change_at_1k_us", change_1k);
  SHOAL_ASSIGN_OR_RETURN(double load_rest, load(lb, 1000, 10000));
  metric("load_10k_ms", load_1k + load_rest);
  SHOAL_ASSIGN_OR_RETURN(double change_10k, change(lb, 21));
  metric("change_at_10k_us", change_10k);
  lb::Service web;
  web.id = "web";
  web.frontends = {lb::Frontend{*Ipv4::parse("10.77.100.1"), 80, lb::Protocol::kTcp, kTaskPort}};
  web.backends = NodeTopology::tasks({1, 2, 3});
  SHOAL_TRY(lb.upsert(web));
  SHOAL_ASSIGN_OR_RETURN(double direct,
                         conns_per_s(*backend, *Ipv4::parse(kTaskIps[0]), kTaskPort, 300));
  metric("direct_conns_per_s", direct);
  SHOAL_ASSIGN_OR_RETURN(double via_vip,
                         conns_per_s(*backend, *Ipv4::parse("10.77.100.1"), 80, 300));
  metric("vip_conns_per_s", via_vip);
  return backend->teardown();
}

}  // namespace
}  // namespace shoal::conformance

int main() {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "shoal-lb-vm-bench: run as root\n");
    return 2;
  }
  shoal::Status status = shoal::conformance::run();
  if (!status.ok()) {
    std::fprintf(stderr, "shoal-lb-vm-bench: %s\n", status.error().message().c_str());
    return 1;
  }
  return 0;
}
