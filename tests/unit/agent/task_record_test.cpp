// The records a restarted agent adopts its tasks from (control/agent/executor/task_record.h):
// what is saved comes back, and a damaged file is skipped rather than taken or thrown on.
#include "control/agent/executor/task_record.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace shoal::agent {
namespace {

TEST(TaskRecordFiles, ASavedRecordComesBackWithItsNetworksAddressesAndLastReport) {
  shoal::testing::TempDir dir("shoal-records");
  TaskRecordFiles files(dir.path());
  TaskRecord record;
  record.networks = {"net1", "net2"};
  record.addresses = {*Ipv4Prefix::parse("10.0.9.5/24"), *Ipv4Prefix::parse("10.0.8.3/24")};
  record.reported = manager::TaskState::kRunning;
  record.message = "started";
  record.in_rotation = true;  // this process only: not kept
  ASSERT_TRUE(files.save("task1", record).ok());

  auto loaded = files.load();
  ASSERT_EQ(loaded.size(), 1u);
  const auto& back = loaded.at("task1");
  EXPECT_EQ(back.networks, record.networks);
  EXPECT_EQ(back.addresses, record.addresses);
  EXPECT_EQ(back.reported, manager::TaskState::kRunning);
  EXPECT_EQ(back.message, "started");
  EXPECT_FALSE(back.torn_down);
  EXPECT_FALSE(back.in_rotation);
  EXPECT_FALSE(back.started_at.has_value());  // an adopted task goes back in rotation at once
}

TEST(TaskRecordFiles, DamagedFilesAreSkippedAndTheOthersLoad) {
  shoal::testing::TempDir dir("shoal-records");
  TaskRecordFiles files(dir.path());
  TaskRecord record;
  record.networks = {"net1"};
  ASSERT_TRUE(files.save("good", record).ok());
  std::ofstream(dir.at("agent/garbage.json")) << "{not json";
  std::ofstream(dir.at("agent/array.json")) << "[1, 2]";
  std::ofstream(dir.at("agent/wrong-type.json")) << R"({"networks": 7, "torn_down": "yes"})";
  std::ofstream(dir.at("agent/other.txt")) << "{}";

  auto loaded = files.load();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_TRUE(loaded.contains("good"));
}

TEST(TaskRecordFiles, RemoveForgetsOneAndRemoveAllEvery) {
  shoal::testing::TempDir dir("shoal-records");
  TaskRecordFiles files(dir.path());
  ASSERT_TRUE(files.save("a", {}).ok());
  ASSERT_TRUE(files.save("b", {}).ok());
  files.remove("a");
  EXPECT_EQ(files.load().size(), 1u);
  files.remove_all();
  EXPECT_TRUE(files.load().empty());
  EXPECT_FALSE(std::filesystem::exists(dir.at("agent")));
}

TEST(TaskRecordFiles, NothingSavedYetLoadsNothing) {
  shoal::testing::TempDir dir("shoal-records");
  EXPECT_TRUE(TaskRecordFiles(dir.path()).load().empty());
}

}  // namespace
}  // namespace shoal::agent
