// `service update` and `service rollback` as rules (service_update.h), and which tasks they
// outdate: the one definition the handlers and the orchestrator share.
#include "control/manager/rules/service_update.h"

#include <gtest/gtest.h>

namespace shoal::manager {
namespace {

const TimePoint kNow = Clock::time_point(std::chrono::hours(1000));

Service web() {
  Service service;
  service.id = "svc1";
  service.spec.name = "web";
  service.spec.command = {"httpd"};
  service.spec.replicas = 2;
  service.spec.ports = {PortConfig{.published = 8080, .target = 80}};
  service.allocated = true;
  service.spec_version = 3;
  return service;
}

TEST(ServiceUpdate, AChangeOfWhatTasksRunStartsANewSpecVersion) {
  auto service = web();
  auto spec = service.spec;
  spec.env = {"MODE=fast"};
  ASSERT_TRUE(update_service(service, spec, false, kNow).ok());
  EXPECT_EQ(service.spec_version, 4u);
  EXPECT_EQ(service.update_status.state, UpdateState::kUpdating);
  EXPECT_EQ(service.update_status.started_at, kNow);
  ASSERT_TRUE(service.previous_spec.has_value());
  EXPECT_TRUE(service.previous_spec->env.empty());
  EXPECT_EQ(service.spec.env, spec.env);
  EXPECT_TRUE(service.allocated) << "the ports did not change";
}

TEST(ServiceUpdate, ScalingOutdatesNoTask) {
  auto service = web();
  auto spec = service.spec;
  spec.replicas = 5;
  ASSERT_TRUE(update_service(service, spec, false, kNow).ok());
  EXPECT_EQ(service.spec_version, 3u);
  EXPECT_EQ(service.update_status.state, UpdateState::kNone);
  EXPECT_EQ(service.spec.replicas, 5u);
  EXPECT_TRUE(service.previous_spec.has_value()) << "Docker keeps it on every update";
}

TEST(ServiceUpdate, ForceReplacesEveryTaskOfAnUnchangedSpec) {
  auto service = web();
  ASSERT_TRUE(update_service(service, service.spec, true, kNow).ok());
  EXPECT_EQ(service.spec_version, 4u);
  EXPECT_EQ(service.spec.force_update, 1u);
}

TEST(ServiceUpdate, NewPortsAllocateAgainAndReplaceTheTasks) {
  auto service = web();
  auto spec = service.spec;
  spec.ports = {PortConfig{.published = 9090, .target = 80}};
  ASSERT_TRUE(update_service(service, spec, false, kNow).ok());
  EXPECT_FALSE(service.allocated);
  EXPECT_EQ(service.spec.force_update, 1u);
  EXPECT_EQ(service.spec_version, 4u);
}

TEST(ServiceUpdate, ANewNameOrModeIsRefusedAndChangesNothing) {
  auto service = web();
  auto renamed = service.spec;
  renamed.name = "api";
  auto refused = update_service(service, renamed, false, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(), "update service web: renaming services is not supported");
  auto global = service.spec;
  global.global = true;
  refused = update_service(service, global, false, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("mode cannot be changed"), std::string::npos);
  EXPECT_EQ(service.spec.name, "web");
  EXPECT_FALSE(service.spec.global);
  EXPECT_FALSE(service.previous_spec.has_value());
  EXPECT_EQ(service.spec_version, 3u);
}

TEST(ServiceRollback, SwapsSoThatASecondRollbackReturns) {
  auto service = web();
  auto spec = service.spec;
  spec.env = {"MODE=fast"};
  ASSERT_TRUE(update_service(service, spec, false, kNow).ok());
  ASSERT_TRUE(roll_back_service(service, kNow).ok());
  EXPECT_TRUE(service.spec.env.empty());
  EXPECT_EQ(service.previous_spec->env, spec.env);
  EXPECT_EQ(service.spec_version, 5u);
  EXPECT_EQ(service.update_status.state, UpdateState::kRollbackStarted);
  ASSERT_TRUE(roll_back_service(service, kNow).ok());
  EXPECT_EQ(service.spec.env, spec.env);
}

TEST(ServiceRollback, OfAPortChangeAllocatesTheEarlierPortsAgain) {
  auto service = web();
  auto spec = service.spec;
  spec.ports = {PortConfig{.published = 9090, .target = 80}};
  ASSERT_TRUE(update_service(service, spec, false, kNow).ok());
  service.allocated = true;  // the allocator ran
  ASSERT_TRUE(roll_back_service(service, kNow).ok());
  EXPECT_EQ(service.spec.ports[0].published, 8080);
  EXPECT_FALSE(service.allocated);
}

TEST(ServiceRollback, WithoutAPreviousSpecIsRefused) {
  auto service = web();
  auto refused = roll_back_service(service, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "roll back service web: it has no previous spec to roll back to");
  EXPECT_EQ(service.update_status.state, UpdateState::kNone);
}

TEST(TaskOutdated, ByWhatItRunsOrByItsNodeNoLongerMeetingTheConstraints) {
  auto service = web();
  Task task;
  task.runtime = runtime_of(service.spec);
  Node east;
  east.labels = {{"zone", "east"}};
  auto constraints = Constraint::parse_all({"node.labels.zone==east"});
  ASSERT_TRUE(constraints.ok());
  const auto wanted = runtime_of(service.spec);
  EXPECT_FALSE(task_outdated(task, wanted, &*constraints, &east));
  Node west;
  west.labels = {{"zone", "west"}};
  EXPECT_TRUE(task_outdated(task, wanted, &*constraints, &west));
  EXPECT_FALSE(task_outdated(task, wanted, &*constraints, nullptr)) << "not placed yet";
  auto changed = service.spec;
  changed.env = {"MODE=fast"};
  EXPECT_TRUE(task_outdated(task, runtime_of(changed), nullptr, nullptr));
  EXPECT_TRUE(tasks_change(service.spec, changed));
  changed = service.spec;
  changed.replicas = 9;
  EXPECT_FALSE(tasks_change(service.spec, changed));
}

}  // namespace
}  // namespace shoal::manager
