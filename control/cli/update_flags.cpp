#include "control/cli/update_flags.h"

#include <charconv>

#include "common/duration.h"
#include "control/cli/client.h"

namespace shoal::cli {

namespace {

void add_flags(CLI::App* command, UpdateFlags& flags, const std::string& prefix,
               const std::string& what, bool rollback) {
  command->add_option(
      prefix + "-parallelism", flags.parallelism,
      "Maximum number of tasks " + what + " simultaneously (0 to " + what + " all at once)");
  command->add_option(prefix + "-delay", flags.delay,
                      "Delay between " + what + "s (ns|us|ms|s|m|h)");
  command
      ->add_option(prefix + "-failure-action", flags.failure_action,
                   rollback ? "Action on rollback failure (pause, continue)"
                            : "Action on update failure (pause, continue, rollback)")
      ->check(rollback ? CLI::IsMember({"pause", "continue"})
                       : CLI::IsMember({"pause", "continue", "rollback"}));
  command->add_option(prefix + "-monitor", flags.monitor,
                      "Duration after each task " + what + " to monitor for failure");
  command->add_option(prefix + "-max-failure-ratio", flags.max_failure_ratio,
                      "Failure rate to tolerate during " +
                          (rollback ? std::string("a rollback") : std::string("an update")));
  command
      ->add_option(prefix + "-order", flags.order,
                   "Order of " + what + " operations (start-first, stop-first)")
      ->check(CLI::IsMember({"start-first", "stop-first"}));
}

Result<uint64_t> duration_ms(const std::string& text, const std::string& flag) {
  auto d = parse_duration(text);
  if (!d.ok()) {
    return usage_error(flag + ": " + d.error().message());
  }
  return static_cast<uint64_t>(d->count());
}

}  // namespace

void add_update_flags(CLI::App* command, UpdateFlags& update, UpdateFlags& rollback) {
  add_flags(command, update, "--update", "update", false);
  add_flags(command, rollback, "--rollback", "rollback", true);
}

void default_update_config(api::UpdateConfig& config) {
  config.set_parallelism(1);
  config.set_delay_ms(0);
  config.set_failure_action("pause");
  config.set_monitor_ms(5000);
  config.set_max_failure_ratio(0);
  config.set_order("stop-first");
}

Status apply_update_flags(const UpdateFlags& flags, const std::string& prefix,
                          api::UpdateConfig& config) {
  if (!flags.parallelism.empty()) {
    uint64_t n = 0;
    const auto& text = flags.parallelism;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return usage_error("invalid " + prefix + "-parallelism \"" + text +
                         "\": must be a non-negative integer");
    }
    config.set_parallelism(n);
  }
  if (!flags.delay.empty()) {
    SHOAL_ASSIGN_OR_RETURN(uint64_t ms, duration_ms(flags.delay, prefix + "-delay"));
    config.set_delay_ms(ms);
  }
  if (!flags.failure_action.empty()) {
    config.set_failure_action(flags.failure_action);
  }
  if (!flags.monitor.empty()) {
    SHOAL_ASSIGN_OR_RETURN(uint64_t ms, duration_ms(flags.monitor, prefix + "-monitor"));
    config.set_monitor_ms(ms);
  }
  if (!flags.max_failure_ratio.empty()) {
    double ratio = -1;
    const auto& text = flags.max_failure_ratio;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ratio);
    if (ec != std::errc() || end != text.data() + text.size() || ratio < 0 || ratio > 1) {
      return usage_error("invalid " + prefix + "-max-failure-ratio \"" + text +
                         "\": must be a number between 0 and 1");
    }
    config.set_max_failure_ratio(ratio);
  }
  if (!flags.order.empty()) {
    config.set_order(flags.order);
  }
  return Status();
}

}  // namespace shoal::cli
