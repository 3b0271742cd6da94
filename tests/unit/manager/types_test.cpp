// Task state transitions (forward only) and object IDs.
#include <gtest/gtest.h>

#include <set>

#include "control/manager/rules/ids.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {
namespace {

TEST(TaskState, MovesForwardAndRecordsHistory) {
  Task task;
  task.id = "t1";
  ASSERT_TRUE(advance(task, TaskState::kPending).ok());
  ASSERT_TRUE(advance(task, TaskState::kAssigned, "scheduled").ok());
  ASSERT_TRUE(advance(task, TaskState::kRunning).ok());  // skipping states is allowed
  EXPECT_EQ(task.observed, TaskState::kRunning);
  ASSERT_EQ(task.history.size(), 3u);
  EXPECT_EQ(task.history[1].state, TaskState::kAssigned);
  EXPECT_EQ(task.history[1].message, "scheduled");
  EXPECT_FALSE(task.ended_at.has_value());
}

TEST(TaskState, RefusesToMoveBackwardsOrStay) {
  Task task;
  task.id = "t1";
  ASSERT_TRUE(advance(task, TaskState::kRunning).ok());
  auto back = advance(task, TaskState::kAssigned);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().message(),
            "invalid task t1: state cannot move from running back to assigned");
  EXPECT_FALSE(advance(task, TaskState::kRunning).ok());
  EXPECT_EQ(task.observed, TaskState::kRunning);
  EXPECT_EQ(task.history.size(), 1u);
}

TEST(TaskState, TerminalStatesAreFinalInOrder) {
  Task task;
  task.id = "t1";
  ASSERT_TRUE(advance(task, TaskState::kFailed, "exit 1").ok());
  EXPECT_TRUE(is_terminal(task.observed));
  EXPECT_TRUE(task.ended_at.has_value());
  EXPECT_FALSE(advance(task, TaskState::kComplete).ok());
  EXPECT_FALSE(advance(task, TaskState::kRunning).ok());
  EXPECT_TRUE(advance(task, TaskState::kOrphaned).ok());  // the last state in the order
  EXPECT_FALSE(is_terminal(TaskState::kRunning));
}

TEST(TaskState, NamesMatchDocker) {
  EXPECT_EQ(to_string(TaskState::kNew), "new");
  EXPECT_EQ(to_string(TaskState::kPreparing), "preparing");
  EXPECT_EQ(to_string(TaskState::kOrphaned), "orphaned");
  EXPECT_EQ(to_string(NodeAvailability::kDrain), "drain");
  EXPECT_EQ(to_string(RestartCondition::kOnFailure), "on-failure");
}

TEST(Parse, AcceptsKnownWordsAndExplainsOthers) {
  EXPECT_EQ(*parse_availability("pause"), NodeAvailability::kPause);
  EXPECT_EQ(*parse_restart_condition("none"), RestartCondition::kNone);
  EXPECT_EQ(*parse_protocol("udp"), Protocol::kUdp);
  auto bad = parse_availability("sleep");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            "invalid availability \"sleep\": expected active, pause or drain");
  auto bad_condition = parse_restart_condition("always");
  ASSERT_FALSE(bad_condition.ok());
  EXPECT_EQ(bad_condition.error().message(),
            "invalid restart condition \"always\": expected any, on-failure or none");
  EXPECT_FALSE(parse_protocol("icmp").ok());
}

TEST(Ids, AreTwentyFiveBase36Characters) {
  IdGenerator ids;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = ids.next();
    EXPECT_TRUE(is_valid_id(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Ids, FollowTheInjectedSource) {
  IdGenerator zeros([] { return uint64_t{0}; });
  EXPECT_EQ(zeros.next(), std::string(25, '0'));
  IdGenerator ones([] { return ~uint64_t{0}; });
  // 2^128 - 1 in base 36.
  EXPECT_EQ(ones.next(), "f5lxx1zz5pnorynqglhzmsp33");
  uint64_t counter = 0;
  IdGenerator counting([&] { return counter++; });
  // high = 0, low = 1: the number 1.
  EXPECT_EQ(counting.next(), std::string(24, '0') + "1");
}

TEST(Ids, ValidationRejectsWrongShapes) {
  EXPECT_FALSE(is_valid_id("abc"));
  EXPECT_FALSE(is_valid_id(std::string(25, 'A')));
  EXPECT_FALSE(is_valid_id(std::string(26, 'a')));
  EXPECT_TRUE(is_valid_id(std::string(25, 'z')));
}

}  // namespace
}  // namespace shoal::manager
