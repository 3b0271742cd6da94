// The --update-* and --rollback-* flags of `service create` and `service update` (Docker's
// names and defaults: parallelism 1, delay 0s, failure action pause, monitor 5s, max failure
// ratio 0, order stop-first).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "common/result.h"
#include "swarm.pb.h"

namespace shoal::cli {

// Each empty: not given, so unchanged.
struct UpdateFlags {
  std::string parallelism;
  std::string delay;
  std::string failure_action;
  std::string monitor;
  std::string max_failure_ratio;
  std::string order;
};

void add_update_flags(CLI::App* command, UpdateFlags& update, UpdateFlags& rollback);

// Docker's defaults, for a new service.
void default_update_config(api::UpdateConfig& config);

// Applies the flags that were given over `config`; `prefix` is "--update" or "--rollback".
Status apply_update_flags(const UpdateFlags& flags, const std::string& prefix,
                          api::UpdateConfig& config);

}  // namespace shoal::cli
