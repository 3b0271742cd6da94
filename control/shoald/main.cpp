// shoald: the Shoal agent, and on the node that ran `swarm init`, the manager.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <thread>

#include "common/crash_report.h"
#include "control/agent/plane/service_balancer.h"
#include "control/shoald/daemon.h"

int main(int argc, char** argv) {
  // Whatever shoald creates is its own: files that need wider modes set them explicitly
  // (write_file_atomically). No window in which the CLI socket or a directory is wider.
  ::umask(077);
  shoal::report_crashes("shoald");
  shoal::shoald::DaemonOptions options;
  std::string log_level = "info";
  CLI::App app{"shoald: the Shoal node agent"};
  app.add_option("--state-dir", options.state_dir, "where this node keeps its state")
      ->capture_default_str();
  app.add_option("--advertise-addr", options.advertise_addr,
                 "this node's address on the underlay (VXLAN, gossip, manager)");
  app.add_option("--listen-addr", options.listen_addr,
                 "manager port, IP:PORT (default: the advertise address, port 2377)");
  app.add_option("--node-name", options.node_name, "node name (default: the host name)");
  app.add_option("--node-tag", options.node_tag,
                 "prefix of this node's kernel names (default: from the node id)");
  app.add_option("--etcd", options.etcd_binary,
                 "the etcd server binary several managers run (one member each)")
      ->capture_default_str();
  int64_t rotation_seconds = options.gossip_key_rotation.count();
  app.add_option("--gossip-key-rotation", rotation_seconds,
                 "seconds between the gossip keys a leader adds (Docker: 12 hours)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{365} * 24 * 3600));
  app.add_option("--log-level", log_level, "debug|info|warn|error")->capture_default_str();
  std::string lb_backend = "auto";
  app.add_option("--lb-backend", lb_backend, "auto|ebpf|ipvs (auto: eBPF where the kernel runs it)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.gossip_key_rotation = std::chrono::seconds(rotation_seconds);

  // A backend the kernel lacks stops the start here, in one line.
  auto backend = shoal::lb::choose_backend(lb_backend, shoal::agent::probe_kernel());
  if (!backend.ok()) {
    std::fprintf(stderr, "shoald: %s\n", backend.error().message().c_str());
    return 1;
  }

  auto level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    std::fprintf(stderr, "shoald: unknown log level \"%s\"\n", log_level.c_str());
    return 1;
  }
  spdlog::set_level(level);
  spdlog::info("load balancer: {}", shoal::lb::backend_kind_name(*backend));
  options.lb_backend = *backend;

  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto daemon = shoal::shoald::Daemon::start(options);
  if (!daemon.ok()) {
    std::fprintf(stderr, "shoald: %s\n", daemon.error().message().c_str());
    return 1;
  }
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("signal {}: stopping (tasks keep running)", signal);
    (*daemon)->shutdown();
  });
  (*daemon)->wait();
  waiter.join();
  daemon->reset();
  return 0;
}
