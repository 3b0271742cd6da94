#include "control/cli/views.h"

#include <gtest/gtest.h>

namespace shoal::cli {
namespace {

api::Task task(const std::string& id, uint64_t slot, int64_t updated, const std::string& state,
               const std::string& desired = "running", const std::string& node = "n1") {
  api::Task t;
  t.set_id(id);
  t.set_service_id("svc1");
  t.set_service_name("web");
  t.set_slot(slot);
  t.set_node_id(node);
  t.set_state(state);
  t.set_desired_state(desired);
  t.set_updated_unix_ms(updated);
  return t;
}

api::Service service(const std::string& mode, uint64_t replicas) {
  api::Service s;
  s.set_id("svc1");
  s.mutable_spec()->set_name("web");
  s.mutable_spec()->set_mode(mode);
  s.mutable_spec()->set_replicas(replicas);
  return s;
}

TEST(CliViews, PsOrdersBySlotNewestFirstWithHistoryBelow) {
  std::vector<api::Task> tasks = {
      task("t-old1", 1, 100, "failed", "shutdown"),
      task("t-2", 2, 150, "running"),
      task("t-new1", 1, 300, "running"),
      task("t-mid1", 1, 200, "shutdown", "shutdown"),
  };
  auto rows = order_tasks(tasks);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].task->id(), "t-new1");
  EXPECT_FALSE(rows[0].history);
  EXPECT_EQ(rows[1].task->id(), "t-mid1");
  EXPECT_TRUE(rows[1].history);
  EXPECT_EQ(rows[2].task->id(), "t-old1");
  EXPECT_TRUE(rows[2].history);
  EXPECT_EQ(rows[3].task->id(), "t-2");
  EXPECT_FALSE(rows[3].history);
  EXPECT_EQ(task_name(*rows[0].task, rows[0].history, false), "web.1");
  EXPECT_EQ(task_name(*rows[1].task, rows[1].history, false), " \\_ web.1");
  EXPECT_EQ(task_name(*rows[0].task, false, true), "web.1.t-new1");
}

TEST(CliViews, PsShowsTheTaskDesiredRunningAsCurrentEvenWhenStampedEarlier) {
  // A drained task's end and its replacement's start can carry the same (or crossed) stamps.
  std::vector<api::Task> tasks = {task("t-gone", 5, 300, "shutdown", "shutdown"),
                                  task("t-repl", 5, 299, "running")};
  auto rows = order_tasks(tasks);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].task->id(), "t-repl");
  EXPECT_FALSE(rows[0].history);
  EXPECT_TRUE(rows[1].history);
}

TEST(CliViews, GlobalTasksAreNamedAndGroupedByNode) {
  std::vector<api::Task> tasks = {task("a", 0, 10, "running", "running", "nodeB"),
                                  task("b", 0, 20, "running", "running", "nodeA"),
                                  task("c", 0, 5, "shutdown", "shutdown", "nodeB")};
  auto rows = order_tasks(tasks);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(task_name(*rows[0].task, rows[0].history, false), "web.nodeA");
  EXPECT_EQ(task_name(*rows[1].task, rows[1].history, false), "web.nodeB");
  EXPECT_EQ(task_name(*rows[2].task, rows[2].history, false), " \\_ web.nodeB");
}

TEST(CliViews, CurrentStateAndError) {
  auto t = task("x", 1, 1'000'000, "running");
  EXPECT_EQ(current_state_column(t, 1'012'500), "Running 12 seconds ago");
  EXPECT_EQ(current_state_column(t, 1'000'100), "Running less than a second ago");
  EXPECT_EQ(current_state_column(t, 1'000'000 + 90'000), "Running about a minute ago");
  EXPECT_EQ(current_state_column(t, 1'000'000 + 3 * 3'600'000), "Running 3 hours ago");
  t.set_updated_unix_ms(0);
  EXPECT_EQ(current_state_column(t, 5), "Running");
  EXPECT_EQ(error_column(t, false), "");
  t.set_state("failed");
  t.set_message("task: non-zero exit (1)");
  EXPECT_EQ(error_column(t, false), "\"task: non-zero exit (1)\"");
  t.set_message("a message that is much longer than thirty characters");
  EXPECT_EQ(error_column(t, false), "\"a message that is much longer\xE2\x80\xA6\"");
  EXPECT_EQ(error_column(t, true), "\"a message that is much longer than thirty characters\"");
}

TEST(CliViews, HumanDurationLikeGoUnits) {
  EXPECT_EQ(human_duration(999), "Less than a second");
  EXPECT_EQ(human_duration(1'000), "1 second");
  EXPECT_EQ(human_duration(59'000), "59 seconds");
  EXPECT_EQ(human_duration(60'000), "About a minute");
  EXPECT_EQ(human_duration(5 * 60'000), "5 minutes");
  EXPECT_EQ(human_duration(60 * 60'000), "About an hour");
  EXPECT_EQ(human_duration(3 * 24 * 3'600'000LL), "3 days");
}

TEST(CliViews, ReplicasCountsRunningTasksOnLiveNodes) {
  auto s = service("replicated", 3);
  std::vector<api::Task> tasks = {task("a", 1, 1, "running"), task("b", 2, 1, "starting"),
                                  task("c", 3, 1, "running", "running", "down-node"),
                                  task("d", 1, 0, "running", "shutdown")};
  EXPECT_EQ(replicas_column(s, tasks, {"down-node"}), "1/3");
  EXPECT_EQ(replicas_column(s, tasks, {}), "2/3");
  s.mutable_spec()->set_max_replicas_per_node(2);
  EXPECT_EQ(replicas_column(s, tasks, {}), "2/3 (max 2 per node)");

  auto g = service("global", 0);
  std::vector<api::Task> global = {task("a", 0, 1, "running", "running", "n1"),
                                   task("b", 0, 1, "pending", "running", "n2"),
                                   task("c", 0, 1, "running", "running", "n3")};
  EXPECT_EQ(replicas_column(g, global, {"n3"}), "1/2");
}

TEST(CliViews, PortsShowPublishedModeOnly) {
  auto s = service("replicated", 1);
  auto* p1 = s.mutable_spec()->add_ports();
  p1->set_published(0);
  p1->set_target(80);
  p1->set_protocol("tcp");
  p1->set_mode("ingress");
  auto* p2 = s.mutable_spec()->add_ports();
  p2->set_published(5353);
  p2->set_target(53);
  p2->set_protocol("udp");
  p2->set_mode("host");
  EXPECT_EQ(ports_column(s, "ingress"), "*:->80/tcp");
  EXPECT_EQ(ports_column(s, "host"), "*:5353->53/udp");
  // The manager's choice wins once it exists.
  auto* e1 = s.add_endpoint_ports();
  *e1 = *p1;
  e1->set_published(30001);
  auto* e2 = s.add_endpoint_ports();
  *e2 = *p1;
  e2->set_published(8080);
  e2->set_target(8080);
  EXPECT_EQ(ports_column(s, "ingress"), "*:30001->80/tcp, *:8080->8080/tcp");
}

TEST(CliViews, CommandIsJoinedAndCut) {
  api::ServiceSpec spec;
  spec.add_command("sh");
  spec.add_args("-c");
  spec.add_args("while true; do echo hello; sleep 1; done");
  EXPECT_EQ(command_column(spec), "sh -c while true; do echo hell");
  EXPECT_EQ(command_column(spec).size(), 30u);
}

TEST(CliViews, ShortIdsCapitalsAndManagerStatus) {
  EXPECT_EQ(short_id("abcdefghijklmnopqrstuvwxy"), "abcdefghijkl");
  EXPECT_EQ(short_id("abcdefghijklmnopqrstuvwxy", true), "abcdefghijklmnopqrstuvwxy");
  EXPECT_EQ(capitalise("ready"), "Ready");
  api::Node n;
  n.set_role("worker");
  EXPECT_EQ(manager_status(n), "");
  n.set_role("manager");
  n.set_status("ready");
  EXPECT_EQ(manager_status(n), "Reachable");
  n.set_leader(true);
  EXPECT_EQ(manager_status(n), "Leader");
}

// node ls marks a node whose certificate is in the last 10% of its lifetime or past it: its
// renewals have failed since the 80% point.
TEST(CliViews, TlsStatusFromTheRecordedValidity) {
  api::Node n;
  EXPECT_EQ(tls_status(n, 1000), "");  // never recorded (joined before renewal existed)
  n.set_cert_not_before(1000);
  n.set_cert_not_after(2000);
  EXPECT_EQ(tls_status(n, 1000), "Ready");
  EXPECT_EQ(tls_status(n, 1899), "Ready");
  EXPECT_EQ(tls_status(n, 1900), "Expiring");
  EXPECT_EQ(tls_status(n, 1999), "Expiring");
  EXPECT_EQ(tls_status(n, 2000), "Expired");
  EXPECT_EQ(utc_time(0), "");
  EXPECT_EQ(utc_time(86400), "1970-01-02T00:00:00Z");
}

}  // namespace
}  // namespace shoal::cli
