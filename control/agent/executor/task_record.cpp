#include "control/agent/executor/task_record.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"

namespace shoal::agent {

namespace fs = std::filesystem;

namespace {

nlohmann::json to_json(const TaskRecord& record) {
  std::vector<std::string> addresses;
  for (const auto& addr : record.addresses)
    addresses.push_back(addr.str());
  return {{"networks", record.networks},
          {"addresses", addresses},
          {"reported", std::string(manager::to_string(record.reported))},
          {"message", record.message},
          {"torn_down", record.torn_down}};
}

std::optional<TaskRecord> from_json(const nlohmann::json& json) {
  if (json.is_discarded() || !json.is_object())
    return std::nullopt;
  TaskRecord record;
  try {
    record.networks = json.value("networks", std::vector<std::string>{});
    for (const auto& text : json.value("addresses", std::vector<std::string>{})) {
      if (auto addr = Ipv4Prefix::parse(text); addr.ok())
        record.addresses.push_back(*addr);
    }
    auto state = manager::parse_task_state(json.value("reported", "new"));
    record.reported = state.ok() ? *state : manager::TaskState::kNew;
    record.message = json.value("message", "");
    record.torn_down = json.value("torn_down", false);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a field of the wrong type
  }
  return record;
}

}  // namespace

TaskRecordFiles::TaskRecordFiles(std::string state_dir) : dir_(std::move(state_dir) + "/agent") {}

Status TaskRecordFiles::save(const std::string& task_id, const TaskRecord& record) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  return write_file_atomically(dir_ + "/" + task_id + ".json", to_json(record).dump() + "\n", 0644,
                               Durability::kAtomicOnly);
}

std::map<std::string, TaskRecord> TaskRecordFiles::load() const {
  std::map<std::string, TaskRecord> records;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".json")
      continue;
    std::ifstream in(entry.path());
    if (auto record = from_json(nlohmann::json::parse(in, nullptr, false)))
      records[entry.path().stem().string()] = std::move(*record);
  }
  return records;
}

void TaskRecordFiles::remove(const std::string& task_id) const {
  std::error_code ec;
  fs::remove(dir_ + "/" + task_id + ".json", ec);
}

void TaskRecordFiles::remove_all() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace shoal::agent
