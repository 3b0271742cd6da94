// Objects to and from JSON text, for stores that keep them outside memory.
//
// Enums are written as their numbers: the enum orders are part of the format (TaskState's order
// is its meaning anyway), so new values may only be appended. Times are nanoseconds since the
// Unix epoch; durations milliseconds.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "control/manager/store/store.h"

namespace shoal::manager {

std::string encode(const Object& object);
Result<Object> decode(std::string_view kind, std::string_view text);

}  // namespace shoal::manager
