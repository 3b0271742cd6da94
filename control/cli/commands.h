// Helpers shared by the commands_*.cpp files (internal to the CLI).
#pragma once

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/cli/app.h"
#include "control/cli/table.h"

namespace shoal::cli {

// Registers `fn` as the action of `sub`: it runs once the whole command line has parsed.
template <typename Fn>
void on_parsed(CLI::App* sub, Context& ctx, Fn fn) {
  sub->callback([&ctx, fn] { ctx.action = fn; });
}

// --env K=V; a bare K takes its value from this environment, as docker does.
Result<std::string> parse_env(const std::string& text);

// --format: "table" (default) or "json" (one object per line, as docker's '{{json .}}').
Status check_format(const std::string& format);

// Prints a table, or its rows as JSON lines keyed by `json_keys` (same order as the columns).
void print_rows(const std::string& format, const Row& header, const std::vector<std::string>& keys,
                const std::vector<Row>& rows, const std::vector<nlohmann::json>& extra = {});

// KEY=VALUE for --env/--label-add; `what` names the flag in the error.
Result<std::pair<std::string, std::string>> split_key_value(const std::string& text,
                                                            const std::string& what,
                                                            bool value_required);

// For commands taking several objects (rm, inspect), as docker does them: each failure is
// printed on stderr and the next object is tried; a connection failure stops at once.
template <typename Fn>
Status for_each_name(const std::vector<std::string>& names, Fn fn) {
  bool any_failed = false;
  for (const auto& name : names) {
    Status status = fn(name);
    if (!status.ok()) {
      if (status.error().op == kConnectOp) {
        return status;
      }
      std::cerr << user_message(status.error()) << "\n";
      any_failed = true;
    }
  }
  return any_failed ? reported_error() : Status();
}

}  // namespace shoal::cli
