// Durations as docker's flags take them (Go's time.ParseDuration): "10s", "1m30s", "500ms",
// "1.5h". A number without a unit is refused, as docker refuses it: "10" is ambiguous.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace shoal {

// Sub-millisecond parts are dropped: the API counts milliseconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The reverse, for inspect output: 90000 ms -> "1m30s", 500 ms -> "500ms", 0 -> "0s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace shoal
