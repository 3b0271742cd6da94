#include "control/cli/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace shoal::cli {
namespace {

api::Service service(uint64_t replicas, uint64_t spec_version,
                     const std::string& mode = "replicated") {
  api::Service s;
  s.set_id("svc1");
  s.mutable_spec()->set_name("web");
  s.mutable_spec()->set_mode(mode);
  s.mutable_spec()->set_replicas(replicas);
  s.set_spec_version(spec_version);
  return s;
}

api::Task task(uint64_t slot, const std::string& state, uint64_t spec_version, int64_t updated,
               const std::string& desired = "running", const std::string& node = "node1") {
  api::Task t;
  t.set_id("t" + std::to_string(slot) + state);
  t.set_service_id("svc1");
  t.set_slot(slot);
  t.set_node_id(node);
  t.set_state(state);
  t.set_desired_state(desired);
  t.set_spec_version(spec_version);
  t.set_updated_unix_ms(updated);
  return t;
}

TEST(CliProgress, CountsSlotsRunningTheCurrentSpec) {
  auto view = compute_progress(service(3, 2), {task(1, "running", 2, 5), task(2, "running", 1, 5),
                                               task(3, "preparing", 2, 5)});
  EXPECT_FALSE(view.converged);
  EXPECT_EQ(view.lines,
            (std::vector<std::string>{"overall progress: 1 out of 3 tasks", "1/3: running",
                                      "2/3: running", "3/3: preparing"}));
}

TEST(CliProgress, NewestTaskOfTheSlotIsShownAndFailuresSayWhy) {
  auto failed = task(1, "failed", 1, 10);
  failed.set_message("task: non-zero exit (1)");
  auto view = compute_progress(service(2, 1), {failed});
  EXPECT_EQ(view.lines[1], "1/2: failed: task: non-zero exit (1)");
  EXPECT_EQ(view.lines[2], "2/2:");
  ASSERT_EQ(view.failures.size(), 1u);
  EXPECT_TRUE(view.failures[0].shown);
  auto replaced = compute_progress(service(1, 1), {failed, task(1, "running", 1, 20)});
  EXPECT_TRUE(replaced.converged);
  EXPECT_EQ(replaced.lines[1], "1/1: running");
  // Replaced before anyone saw it: still reported, as a note.
  ASSERT_EQ(replaced.failures.size(), 1u);
  EXPECT_FALSE(replaced.failures[0].shown);
  EXPECT_EQ(replaced.failures[0].line, "1/1: failed: task: non-zero exit (1)");
}

TEST(CliProgress, ConvergedWhenEverySlotRunsAndZeroReplicasAtOnce) {
  EXPECT_TRUE(compute_progress(service(2, 1), {task(1, "running", 1, 1), task(2, "running", 1, 1)})
                  .converged);
  EXPECT_TRUE(compute_progress(service(0, 1), {}).converged);
}

TEST(CliProgress, GlobalHasALinePerNodeThatShouldRunATask) {
  auto view = compute_progress(service(0, 1, "global"),
                               {task(0, "running", 1, 1, "running", "nodeAAAAAAAAAAAAAA"),
                                task(0, "starting", 1, 1, "running", "nodeBBBBBBBBBBBBBB"),
                                task(0, "shutdown", 1, 1, "shutdown", "nodeCCCCCCCCCCCCCC")});
  EXPECT_EQ(view.lines,
            (std::vector<std::string>{"overall progress: 1 out of 2 tasks", "nodeAAAAAAAA: running",
                                      "nodeBBBBBBBB: starting"}));
}

TEST(CliProgress, PrinterOutsideATerminalPrintsOnlyChanges) {
  std::ostringstream out;
  ProgressPrinter printer(out, false);
  printer.show({"overall progress: 0 out of 1 tasks", "1/1: new"});
  printer.show({"overall progress: 0 out of 1 tasks", "1/1: new"});
  printer.show({"overall progress: 0 out of 1 tasks", "1/1: running"});
  EXPECT_EQ(out.str(), "overall progress: 0 out of 1 tasks\n1/1: new\n1/1: running\n");
}

TEST(CliProgress, NotesGoAboveTheBlockOnATerminal) {
  std::ostringstream out;
  ProgressPrinter printer(out, true);
  printer.show({"a"});
  printer.note("n");
  EXPECT_EQ(out.str(), "\x1b[2Ka\n\x1b[J\x1b[1A\x1b[Jn\na\n");
}

TEST(CliProgress, PrinterOnATerminalRedrawsInPlace) {
  std::ostringstream out;
  ProgressPrinter printer(out, true);
  printer.show({"a", "b"});
  printer.show({"a", "c"});
  EXPECT_EQ(out.str(), "\x1b[2Ka\n\x1b[2Kb\n\x1b[J\x1b[2A\x1b[2Ka\n\x1b[2Kc\n\x1b[J");
}

}  // namespace
}  // namespace shoal::cli
