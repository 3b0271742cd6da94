// What the executor's source files (executor.cpp, executor_network.cpp, executor_stop.cpp)
// share; not for use elsewhere.
#pragma once

#include <cstddef>
#include <string>

namespace shoal::daemon::executor_internal {

// A second network's endpoint needs an id of its own (it names the sandbox's veth end).
inline std::string endpoint_id(const std::string& task_id, size_t index) {
  return index == 0 ? task_id : task_id + "-" + std::to_string(index);
}

}  // namespace shoal::daemon::executor_internal
