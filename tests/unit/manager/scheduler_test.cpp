// Scheduler: constraints, every filter and its explanation, spread placement, batches, tasks
// that name their node, and the store-driven pass.
#include "control/manager/rules/scheduler.h"

#include <gtest/gtest.h>

#include "control/manager/store/memory_store.h"

namespace shoal::manager {
namespace {

Node ready_node(std::string id, std::string hostname = {}) {
  Node node;
  node.id = std::move(id);
  node.hostname = hostname.empty() ? "host-" + node.id : std::move(hostname);
  node.status = NodeStatus::kReady;
  return node;
}

NodeInfo info(Node node) {
  return NodeInfo{
      .node = std::move(node), .tasks_by_service = {}, .total_tasks = 0, .host_ports = {}};
}

Service service(std::string id) {
  Service s;
  s.id = std::move(id);
  s.spec.name = "svc-" + s.id;
  return s;
}

Task pending_task(std::string id, std::string service_id, std::string node_id = {}) {
  Task task;
  task.id = std::move(id);
  task.service_id = std::move(service_id);
  task.node_id = std::move(node_id);
  task.observed = TaskState::kPending;
  return task;
}

TEST(Constraint, MatchesIdHostnameRoleAndLabels) {
  auto node = ready_node("abc", "Worker-1");
  node.role = NodeRole::kManager;
  node.labels["zone"] = "east";
  auto matches = [&](const char* text) { return Constraint::parse(text)->matches(node); };
  EXPECT_TRUE(matches("node.id==abc"));
  EXPECT_TRUE(matches("node.hostname == worker-1"));  // spaces and case do not matter
  EXPECT_FALSE(matches("node.hostname!=Worker-1"));
  EXPECT_TRUE(matches("node.role==manager"));
  EXPECT_TRUE(matches("Node.Role != worker"));
  EXPECT_TRUE(matches("node.labels.zone==EAST"));
  EXPECT_FALSE(matches("node.labels.zone==west"));
  EXPECT_FALSE(matches("node.labels.disk==ssd"));  // == on a missing label: no
  EXPECT_TRUE(matches("node.labels.disk!=ssd"));   // != on a missing label: yes
}

TEST(Constraint, InvalidExpressionsSayWhy) {
  auto message = [](const char* text) { return Constraint::parse(text).error().message(); };
  EXPECT_EQ(message("node.role=manager"),
            "invalid constraint \"node.role=manager\": expected exactly one operator, == or !=");
  EXPECT_EQ(message("node.id==a==b"),
            "invalid constraint \"node.id==a==b\": expected exactly one operator, == or !=");
  EXPECT_EQ(message("node.id=="), "invalid constraint \"node.id==\": the value is empty");
  EXPECT_EQ(message("node.role==boss"),
            "invalid constraint \"node.role==boss\": node.role is manager or worker");
  EXPECT_EQ(message("engine.labels.x==y"),
            "invalid constraint \"engine.labels.x==y\": unknown key \"engine.labels.x\" "
            "(expected node.id, node.hostname, node.role or node.labels.NAME)");
  EXPECT_FALSE(Constraint::parse("node.labels.==x").ok());
  EXPECT_FALSE(Constraint::parse_all({"node.id==a", "bad"}).ok());
}

TEST(Filters, EachRefusesAndExplains) {
  auto s = service("s");
  s.spec.constraints = {"node.labels.zone==east"};
  s.spec.ports = {PortConfig{.published = 8080, .target = 80, .mode = PublishMode::kHost}};
  s.spec.max_replicas_per_node = 1;
  auto task = pending_task("t", "s");

  ReadyFilter ready;
  EXPECT_TRUE(ready.set_task(task, s));
  auto down = ready_node("n");
  down.status = NodeStatus::kDown;
  EXPECT_FALSE(ready.check(info(down)));
  EXPECT_TRUE(ready.check(info(ready_node("n"))));
  EXPECT_EQ(ready.explain(1), "1 node not ready");

  AvailabilityFilter availability;
  auto drained = ready_node("n");
  drained.availability = NodeAvailability::kDrain;
  auto paused = ready_node("n");
  paused.availability = NodeAvailability::kPause;
  EXPECT_FALSE(availability.check(info(drained)));
  EXPECT_FALSE(availability.check(info(paused)));
  EXPECT_TRUE(availability.check(info(ready_node("n"))));
  EXPECT_EQ(availability.explain(2), "2 nodes not available for new tasks (paused or drained)");

  ConstraintFilter constraints;
  EXPECT_TRUE(constraints.set_task(task, s));
  auto east = ready_node("n");
  east.labels["zone"] = "east";
  EXPECT_TRUE(constraints.check(info(east)));
  EXPECT_FALSE(constraints.check(info(ready_node("n"))));
  EXPECT_EQ(constraints.explain(3),
            "scheduling constraints (node.labels.zone==east) not satisfied on 3 nodes");
  auto bad = service("b");
  bad.spec.constraints = {"nonsense"};
  EXPECT_TRUE(constraints.set_task(task, bad));
  EXPECT_FALSE(constraints.check(info(east)));
  EXPECT_EQ(constraints.explain(1),
            "invalid constraint \"nonsense\": expected exactly one operator, == or !=");
  EXPECT_FALSE(constraints.set_task(task, service("plain")));  // skipped without constraints

  HostPortFilter ports;
  EXPECT_TRUE(ports.set_task(task, s));
  auto busy = info(ready_node("n"));
  busy.host_ports.emplace(Protocol::kTcp, 8080);
  EXPECT_FALSE(ports.check(busy));
  auto udp_busy = info(ready_node("n"));
  udp_busy.host_ports.emplace(Protocol::kUdp, 8080);
  EXPECT_TRUE(ports.check(udp_busy));
  EXPECT_EQ(ports.explain(1), "host-mode port 8080/tcp already in use on 1 node");
  EXPECT_FALSE(ports.set_task(task, service("plain")));

  MaxReplicasFilter max_replicas;
  EXPECT_TRUE(max_replicas.set_task(task, s));
  auto full = info(ready_node("n"));
  full.add_task(pending_task("other", "s"), &s);
  EXPECT_FALSE(max_replicas.check(full));
  EXPECT_TRUE(max_replicas.check(info(ready_node("n"))));
  EXPECT_EQ(max_replicas.explain(4), "max replicas per node (1) reached on 4 nodes");
  EXPECT_FALSE(max_replicas.set_task(task, service("plain")));
}

TEST(Placement, SpreadsByServiceThenByTotal) {
  std::vector<NodeInfo> nodes = {info(ready_node("a")), info(ready_node("b")),
                                 info(ready_node("c"))};
  auto other = service("other");
  // a is busy with another service; b and c are empty.
  nodes[0].add_task(pending_task("x1", "other"), &other);
  nodes[0].add_task(pending_task("x2", "other"), &other);
  auto web = service("web");
  std::unordered_map<std::string, const Service*> services = {{"web", &web}, {"other", &other}};
  std::vector<Task> tasks;
  for (int i = 0; i < 6; ++i) {
    tasks.push_back(pending_task("t" + std::to_string(i), "web"));
  }
  std::vector<const Task*> pending;
  for (const auto& t : tasks) {
    pending.push_back(&t);
  }
  auto placements = place_tasks(nodes, pending, services);
  ASSERT_EQ(placements.size(), 6u);
  std::vector<std::string> chosen;
  for (const auto& p : placements) {
    chosen.push_back(p.node_id);
  }
  // b and c first (fewer tasks overall), then a, then round again the same way.
  EXPECT_EQ(chosen, (std::vector<std::string>{"b", "c", "a", "b", "c", "a"}));
  EXPECT_EQ(nodes[0].tasks_of("web"), 2u);
  EXPECT_EQ(nodes[0].total_tasks, 4u);
}

TEST(Placement, NoSuitableNodeCountsEveryReason) {
  auto down = ready_node("a");
  down.status = NodeStatus::kDown;
  auto drained = ready_node("b");
  drained.availability = NodeAvailability::kDrain;
  auto west = ready_node("c");
  west.labels["zone"] = "west";
  auto east = ready_node("d");
  east.labels["zone"] = "east";
  std::vector<NodeInfo> nodes = {info(down), info(drained), info(west), info(east)};
  auto s = service("s");
  s.spec.constraints = {"node.labels.zone==east"};
  s.spec.max_replicas_per_node = 1;
  std::unordered_map<std::string, const Service*> services = {{"s", &s}};
  auto t1 = pending_task("t1", "s");
  auto t2 = pending_task("t2", "s");
  auto placements = place_tasks(nodes, {&t1, &t2}, services);
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(placements[0].node_id, "d");
  EXPECT_EQ(placements[1].node_id, "");
  EXPECT_EQ(placements[1].message,
            "no suitable node (1 node not ready; 1 node not available for new tasks (paused or "
            "drained); scheduling constraints (node.labels.zone==east) not satisfied on 1 node; "
            "max replicas per node (1) reached on 1 node)");
  std::vector<NodeInfo> none;
  auto t3 = pending_task("t3", "s");
  EXPECT_EQ(place_tasks(none, {&t3}, services)[0].message,
            "no suitable node (no nodes in the swarm)");
  auto orphan = pending_task("t4", "gone");
  EXPECT_EQ(place_tasks(nodes, {&orphan}, services)[0].message, "service gone not found");
}

TEST(Placement, HostPortsKeepOneTaskPerNode) {
  std::vector<NodeInfo> nodes = {info(ready_node("a")), info(ready_node("b"))};
  auto s = service("s");
  s.spec.ports = {PortConfig{.published = 80, .target = 80, .mode = PublishMode::kHost}};
  std::unordered_map<std::string, const Service*> services = {{"s", &s}};
  std::vector<Task> tasks = {pending_task("t1", "s"), pending_task("t2", "s"),
                             pending_task("t3", "s")};
  auto placements = place_tasks(nodes, {&tasks[0], &tasks[1], &tasks[2]}, services);
  EXPECT_NE(placements[0].node_id, placements[1].node_id);
  EXPECT_EQ(placements[2].message,
            "no suitable node (host-mode port 80/tcp already in use on 2 nodes)");
}

Node labelled(std::string id, std::map<std::string, std::string> labels) {
  auto node = ready_node(std::move(id));
  node.labels = std::move(labels);
  return node;
}

std::map<std::string, int> place_counts(std::vector<NodeInfo>& nodes, const Service& s, int n) {
  std::unordered_map<std::string, const Service*> services = {{s.id, &s}};
  std::vector<Task> tasks;
  for (int i = 0; i < n; ++i) {
    tasks.push_back(pending_task("t" + std::to_string(i), s.id));
  }
  std::vector<const Task*> pending;
  for (const auto& t : tasks) {
    pending.push_back(&t);
  }
  std::map<std::string, int> out;
  for (const auto& p : place_tasks(nodes, pending, services)) {
    ++out[p.node_id];
  }
  return out;
}

TEST(Placement, SpreadPreferenceBalancesLabelValuesNotNodes) {
  // Two nodes in east, one in west, one without the label (a group of its own, as in swarmkit).
  std::vector<NodeInfo> nodes = {info(labelled("e1", {{"zone", "east"}})),
                                 info(labelled("e2", {{"zone", "east"}})),
                                 info(labelled("w1", {{"zone", "west"}})), info(ready_node("x"))};
  auto s = service("s");
  s.spec.placement_prefs = {"spread=node.labels.zone"};
  auto counts = place_counts(nodes, s, 6);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"e1", 1}, {"e2", 1}, {"w1", 2}, {"x", 2}}));
  // Without the preference the same nodes share the tasks node by node.
  std::vector<NodeInfo> plain = {info(labelled("e1", {{"zone", "east"}})),
                                 info(labelled("e2", {{"zone", "east"}})),
                                 info(labelled("w1", {{"zone", "west"}})), info(ready_node("x"))};
  s.spec.placement_prefs.clear();
  auto spread = place_counts(plain, s, 8);
  EXPECT_EQ(spread, (std::map<std::string, int>{{"e1", 2}, {"e2", 2}, {"w1", 2}, {"x", 2}}));
}

TEST(Placement, SpreadCountsTasksAlreadyRunningAndHonoursTheLimitPerNode) {
  std::vector<NodeInfo> nodes = {info(labelled("e1", {{"zone", "east"}})),
                                 info(labelled("w1", {{"zone", "west"}})),
                                 info(labelled("w2", {{"zone", "west"}}))};
  auto s = service("s");
  s.spec.placement_prefs = {"spread=node.labels.zone"};
  s.spec.max_replicas_per_node = 2;
  nodes[0].add_task(pending_task("old1", "s"), &s);
  nodes[0].add_task(pending_task("old2", "s"), &s);  // east holds 2 already, and its limit
  auto counts = place_counts(nodes, s, 4);
  // west takes two (one per node) to catch up; east is full, so west takes the rest.
  EXPECT_EQ(counts, (std::map<std::string, int>{{"w1", 2}, {"w2", 2}}));
  auto more = place_counts(nodes, s, 1);
  EXPECT_EQ(more.begin()->first, "");  // every node at its limit
}

TEST(Placement, NestedSpreadPreferencesSplitEachLevel) {
  std::vector<NodeInfo> nodes = {info(labelled("a1", {{"dc", "a"}, {"rack", "1"}})),
                                 info(labelled("a2", {{"dc", "a"}, {"rack", "2"}})),
                                 info(labelled("a3", {{"dc", "a"}, {"rack", "2"}})),
                                 info(labelled("b1", {{"dc", "b"}, {"rack", "1"}}))};
  auto s = service("s");
  s.spec.placement_prefs = {"spread=node.labels.dc", "spread=node.labels.rack"};
  auto counts = place_counts(nodes, s, 8);
  // 4 per dc; in dc a, 2 per rack, rack 2's two split between a2 and a3.
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a1", 2}, {"a2", 1}, {"a3", 1}, {"b1", 4}}));
}

TEST(Placement, TaskNamingItsNodeIsOnlyCheckedThere) {
  auto drained = ready_node("b");
  drained.availability = NodeAvailability::kDrain;
  std::vector<NodeInfo> nodes = {info(ready_node("a")), info(drained)};
  auto s = service("s");
  s.spec.global = true;
  std::unordered_map<std::string, const Service*> services = {{"s", &s}};
  auto on_a = pending_task("t1", "s", "a");
  auto on_b = pending_task("t2", "s", "b");
  auto on_gone = pending_task("t3", "s", "zz");
  auto placements = place_tasks(nodes, {&on_a, &on_b, &on_gone}, services);
  EXPECT_EQ(placements[0].node_id, "a");
  EXPECT_EQ(placements[1].node_id, "");
  EXPECT_EQ(placements[1].message,
            "no suitable node (1 node not available for new tasks (paused or drained))");
  EXPECT_EQ(placements[2].message, "no suitable node (node zz not found)");
}

TEST(SchedulerLoop, AssignsPendingTasksAndLeavesReasonsOnOthers) {
  MemoryStore store;
  ASSERT_TRUE(store
                  .update([](WriteTx& tx) -> Status {
                    SHOAL_TRY(tx.create(ready_node("n1")));
                    SHOAL_TRY(tx.create(ready_node("n2")));
                    auto web = service("web");
                    SHOAL_TRY(tx.create(web));
                    auto pinned = service("pinned");
                    pinned.spec.constraints = {"node.hostname==elsewhere"};
                    SHOAL_TRY(tx.create(pinned));
                    // A task already running on n1 counts for spread.
                    auto running = pending_task("r", "web", "n1");
                    running.observed = TaskState::kRunning;
                    SHOAL_TRY(tx.create(running));
                    SHOAL_TRY(tx.create(pending_task("t1", "web")));
                    auto stopped = pending_task("t2", "web");
                    stopped.desired = TaskState::kShutdown;  // no longer wanted: not placed
                    SHOAL_TRY(tx.create(stopped));
                    return tx.create(pending_task("p1", "pinned"));
                  })
                  .ok());
  Scheduler scheduler(store);
  auto report = scheduler.run_once();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->assigned, 1u);
  EXPECT_EQ(report->unschedulable, 1u);
  store.view([](const ReadTx& tx) {
    auto t1 = *tx.get_task("t1");
    EXPECT_EQ(t1.observed, TaskState::kAssigned);
    EXPECT_EQ(t1.node_id, "n2");
    EXPECT_EQ(tx.get_task("t2")->observed, TaskState::kPending);
    auto p1 = *tx.get_task("p1");
    EXPECT_EQ(p1.observed, TaskState::kPending);
    EXPECT_EQ(p1.message,
              "no suitable node (scheduling constraints (node.hostname==elsewhere) not satisfied "
              "on 2 nodes)");
  });
  uint64_t index_before = store.index();
  ASSERT_TRUE(scheduler.run_once().ok());
  EXPECT_EQ(store.index(), index_before);  // nothing new to say: no write
  EXPECT_FALSE(scheduler.has_work());

  // An agent's progress report changes no placement: the scheduler stays idle.
  ASSERT_TRUE(store
                  .update([](WriteTx& tx) {
                    auto t1 = *tx.get_task("t1");
                    EXPECT_TRUE(advance(t1, TaskState::kRunning).ok());
                    return tx.update(t1);
                  })
                  .ok());
  EXPECT_FALSE(scheduler.has_work());
  // A node whose hostname now matches the pinned service's constraint: p1 can go there.
  ASSERT_TRUE(store
                  .update([](WriteTx& tx) {
                    auto node = *tx.get_node("n1");
                    node.hostname = "elsewhere";
                    return tx.update(node);
                  })
                  .ok());
  EXPECT_TRUE(scheduler.has_work());
  auto after = scheduler.run_once();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->assigned, 1u);
  store.view([](const ReadTx& tx) { EXPECT_EQ(tx.get_task("p1")->node_id, "n1"); });
}

}  // namespace
}  // namespace shoal::manager
