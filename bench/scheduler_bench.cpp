// Manager throughput in memory: from a service's creation to every one of its tasks ASSIGNED.
//
// Runs the manager's pure core as the manager does (orchestrator creates the tasks, allocator
// gives each an address and moves it to PENDING, scheduler places it), on an in-memory store
// with simulated READY nodes; no network, no kernel. Two shapes: 10k tasks of one service onto
// 1k nodes (the swarmkit anchor: 1.8 s), and 10k tasks over 100 services. Each shape runs
// several times on a fresh store; the median is reported, with the phases that make it up.
//
//   shoal-scheduler-bench [--runs N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "control/manager/rules/allocator.h"
#include "control/manager/rules/orchestrator.h"
#include "control/manager/rules/scheduler.h"
#include "control/manager/store/memory_store.h"

namespace {

using namespace shoal;
using namespace shoal::manager;
using Seconds = std::chrono::duration<double>;

constexpr double kSwarmkitAnchorSeconds = 1.8;

struct RunResult {
  double total = 0;
  double orchestrate = 0;
  double allocate = 0;
  double schedule = 0;
  size_t assigned = 0;
};

template <typename F>
double timed(F&& work) {
  auto start = std::chrono::steady_clock::now();
  work();
  return Seconds(std::chrono::steady_clock::now() - start).count();
}

void check(const Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, status.error().message().c_str());
    std::exit(1);
  }
}

RunResult run(size_t nodes, size_t services, size_t replicas_each) {
  MemoryStore store;
  IdGenerator ids;
  check(store.update([&](WriteTx& tx) -> Status {
    for (size_t i = 0; i < nodes; ++i) {
      Node node;
      node.id = ids.next();
      node.hostname = "node-" + std::to_string(i);
      node.status = NodeStatus::kReady;
      SHOAL_TRY(tx.create(node));
    }
    Network app;  // one address per task: a /16 holds 10k of them
    app.id = "app";
    app.name = "app";
    app.subnet = *Ipv4Prefix::parse("10.10.0.0/16");
    return tx.create(app);
  }),
        "set up nodes");
  auto allocator = Allocator::create(store);
  check(allocator.ok() ? Status{} : Status(allocator.error()), "allocator");
  check((*allocator)->run_once().ok() ? Status{} : Status(invalid_argument("bench", "allocate")),
        "allocate network");
  Orchestrator orchestrator(store, ids);
  Scheduler scheduler(store);
  check(orchestrator.run_once().ok() ? Status{} : invalid_argument("bench", "orchestrate"),
        "first reconcile");

  RunResult result;
  size_t wanted = services * replicas_each;
  auto start = std::chrono::steady_clock::now();
  check(store.update([&](WriteTx& tx) -> Status {
    for (size_t s = 0; s < services; ++s) {
      Service service;
      service.id = ids.next();
      service.spec.name = "svc-" + std::to_string(s);
      service.spec.command = {"/bin/sleep", "infinity"};
      service.spec.replicas = replicas_each;
      service.spec.networks = {"app"};
      SHOAL_TRY(tx.create(service));
    }
    return {};
  }),
        "create services");
  while (result.assigned < wanted) {
    result.orchestrate += timed([&] {
      check(orchestrator.run_once().ok() ? Status{} : invalid_argument("bench", "orchestrate"),
            "orchestrate");
    });
    result.allocate += timed([&] {
      auto report = (*allocator)->run_once();
      check(report.ok() && report->problems.empty() ? Status{}
                                                    : invalid_argument("bench", "allocation"),
            "allocate");
    });
    result.schedule += timed([&] {
      auto report = scheduler.run_once();
      check(report.ok() ? Status{} : invalid_argument("bench", "schedule"), "schedule");
      result.assigned += report->assigned;
    });
  }
  result.total = Seconds(std::chrono::steady_clock::now() - start).count();
  // Every task is ASSIGNED and no node holds more than its share plus one.
  store.view([&](const ReadTx& tx) {
    std::unordered_map<std::string, size_t> per_node;
    for (const auto& task : tx.tasks()) {
      if (task.observed != TaskState::kAssigned) {
        std::fprintf(stderr, "task %s is %s\n", task.id.c_str(),
                     std::string(to_string(task.observed)).c_str());
        std::exit(1);
      }
      ++per_node[task.node_id];
    }
    size_t most = 0;
    for (const auto& [node, count] : per_node) {
      most = std::max(most, count);
    }
    if (per_node.size() != std::min(nodes, wanted) || most > wanted / nodes + 1) {
      std::fprintf(stderr, "uneven spread: %zu nodes used, at most %zu tasks on one\n",
                   per_node.size(), most);
      std::exit(1);
    }
  });
  return result;
}

RunResult median(std::vector<RunResult> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const RunResult& a, const RunResult& b) { return a.total < b.total; });
  return runs[runs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--runs N]\n", argv[0]);
      return 1;
    }
  }
  struct Shape {
    const char* name;
    size_t nodes;
    size_t services;
    size_t replicas;
  };
  const Shape shapes[] = {{"10k tasks, 1 service, 1k nodes", 1000, 1, 10000},
                          {"10k tasks, 100 services, 1k nodes", 1000, 100, 100}};
  std::printf(
      "| shape | create to all ASSIGNED, s | orchestrate, s | allocate, s | schedule, s |"
      " vs swarmkit 1.8 s |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const auto& shape : shapes) {
    std::vector<RunResult> results;
    for (int r = 0; r < runs; ++r) {
      results.push_back(run(shape.nodes, shape.services, shape.replicas));
    }
    auto m = median(results);
    std::printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3fx |\n", shape.name, m.total, m.orchestrate,
                m.allocate, m.schedule, m.total / kSwarmkitAnchorSeconds);
  }
  std::printf(
      "\nmedian of %d runs; ratio = Shoal time / swarmkit anchor (lower is better; goal "
      "< 0.5 s, i.e. < 0.278x)\n",
      runs);
  return 0;
}
