#include "control/cli/progress.h"

#include "common/printable.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "control/cli/views.h"

namespace shoal::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr auto kPollTimeout = std::chrono::seconds(5);
constexpr auto kStableFor = std::chrono::seconds(1);

// Which of a slot's tasks to show: the newest spec first, then the latest change, then the one
// still desired running.
bool shown_before(const api::Task& a, const api::Task& b) {
  if (a.spec_version() != b.spec_version()) {
    return a.spec_version() > b.spec_version();
  }
  if (a.updated_unix_ms() != b.updated_unix_ms()) {
    return a.updated_unix_ms() > b.updated_unix_ms();
  }
  return a.desired_state() == "running" && b.desired_state() != "running";
}

std::string state_text(const api::Task* task) {
  if (task == nullptr) {
    return "";
  }
  if ((task->state() == "failed" || task->state() == "rejected") && !task->message().empty()) {
    return task->state() + ": " + printable(task->message());
  }
  return task->state();
}

std::string trim_right(std::string s) {
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

std::atomic<bool> g_interrupted{false};

void on_sigint(int) {
  g_interrupted = true;
}

// Installs the SIGINT handler for the watch and restores the previous one after.
class SigintGuard {
 public:
  SigintGuard() {
    g_interrupted = false;
    struct sigaction action {};
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_);
  }
  ~SigintGuard() { sigaction(SIGINT, &previous_, nullptr); }
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

 private:
  struct sigaction previous_ {};
};

// Sleeps for `d`, waking early on SIGINT.
void sleep_interruptible(std::chrono::milliseconds d) {
  auto until = Clock::now() + d;
  while (!g_interrupted && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

}  // namespace

ProgressView compute_progress(const api::Service& service, const std::vector<api::Task>& tasks) {
  const bool global = service.spec().mode() == "global";
  // Slot key: the slot number, or for global services the node.
  std::map<std::string, const api::Task*> shown;
  std::map<std::string, bool> wanted;  // global: nodes that should run a task
  std::map<uint64_t, const api::Task*> by_slot;
  for (const auto& task : tasks) {
    if (task.service_id() != service.id()) {
      continue;
    }
    if (global) {
      if (task.node_id().empty()) {
        continue;
      }
      if (task.desired_state() == "running") {
        wanted[task.node_id()] = true;
      }
      auto& current = shown[task.node_id()];
      if (current == nullptr || shown_before(task, *current)) {
        current = &task;
      }
    } else {
      auto& current = by_slot[task.slot()];
      if (current == nullptr || shown_before(task, *current)) {
        current = &task;
      }
    }
  }
  ProgressView view;
  auto note_failures = [&](const std::string& label, const api::Task* shown_task, auto matches) {
    for (const auto& task : tasks) {
      if (task.service_id() == service.id() && task.spec_version() == service.spec_version() &&
          (task.state() == "failed" || task.state() == "rejected") && matches(task)) {
        view.failures.push_back({task.id(), trim_right(label + ": " + state_text(&task)),
                                 task.updated_unix_ms(), &task == shown_task});
      }
    }
  };
  // Once an update (or rollback) is over, a running task counts whatever version made it: tasks
  // a rollback kept, or whose node still matches changed constraints, are not replaced.
  const auto& update_state = service.update_status().state();
  bool settled = update_state == "completed" || update_state == "rollback_completed";
  auto counts = [&](const api::Task* task) {
    return task != nullptr && (settled || task->spec_version() == service.spec_version()) &&
           task->state() == "running";
  };
  std::vector<std::string> slot_lines;
  uint64_t done = 0;
  uint64_t total = 0;
  if (global) {
    total = wanted.size();
    for (const auto& [node, unused] : wanted) {
      const api::Task* task = shown[node];
      done += counts(task) ? 1 : 0;
      slot_lines.push_back(trim_right(short_id(node) + ": " + state_text(task)));
      note_failures(short_id(node), task,
                    [&node = node](const api::Task& t) { return t.node_id() == node; });
    }
  } else {
    total = service.spec().replicas();
    for (uint64_t slot = 1; slot <= total; ++slot) {
      auto it = by_slot.find(slot);
      const api::Task* task = it == by_slot.end() ? nullptr : it->second;
      done += counts(task) ? 1 : 0;
      std::string label = std::to_string(slot) + "/" + std::to_string(total);
      slot_lines.push_back(trim_right(label + ": " + state_text(task)));
      note_failures(label, task, [slot](const api::Task& t) { return t.slot() == slot; });
    }
  }
  view.lines.push_back("overall progress: " + std::to_string(done) + " out of " +
                       std::to_string(total) + " tasks");
  view.lines.insert(view.lines.end(), slot_lines.begin(), slot_lines.end());
  view.converged = done == total;
  return view;
}

void ProgressPrinter::show(const std::vector<std::string>& lines) {
  if (lines == last_) {
    return;
  }
  if (tty_) {
    if (!last_.empty()) {
      out_ << "\x1b[" << last_.size() << "A";  // back to the top of the block
    }
    for (const auto& line : lines) {
      out_ << "\x1b[2K" << line << "\n";
    }
    out_ << "\x1b[J";  // clear what is left of a longer previous block
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i >= last_.size() || last_[i] != lines[i]) {
        out_ << lines[i] << "\n";
      }
    }
  }
  out_.flush();
  last_ = lines;
}

void ProgressPrinter::note(const std::string& line) {
  if (tty_ && !last_.empty()) {
    out_ << "\x1b[" << last_.size() << "A\x1b[J" << line << "\n";
    for (const auto& l : last_) {
      out_ << l << "\n";
    }
  } else {
    out_ << line << "\n";
  }
  out_.flush();
}

Status watch_progress(Client& client, const std::string& service_id, std::ostream& out, bool tty) {
  SigintGuard guard;
  ProgressPrinter printer(out, tty);
  std::optional<Clock::time_point> stable_since;
  std::set<std::string> reported;  // failed tasks already on screen
  // Failures from before this command are history (`service ps` shows them), not progress.
  const int64_t start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count() -
                           1000;
  api::IdRequest get;
  get.set_id(service_id);
  api::ListTasksRequest list;
  list.set_service(service_id);
  while (!g_interrupted) {
    SHOAL_ASSIGN_OR_RETURN(auto service,
                           client.control(&api::Control::Stub::GetService, get, kPollTimeout));
    SHOAL_ASSIGN_OR_RETURN(auto tasks,
                           client.control(&api::Control::Stub::ListTasks, list, kPollTimeout));
    ProgressView view = compute_progress(
        service, std::vector<api::Task>(tasks.tasks().begin(), tasks.tasks().end()));
    const auto& update = service.update_status();
    if (update.state() == "paused" || update.state() == "rollback_paused") {
      printer.show(view.lines);
      return Error{kDaemonOp, "", 0, update.message()};
    }
    for (const auto& failure : view.failures) {
      if (failure.updated_unix_ms < start_ms || !reported.insert(failure.task_id).second) {
        continue;
      }
      if (!failure.shown) {
        printer.note(failure.line);
      }
    }
    if (view.converged) {
      if (!stable_since) {
        stable_since = Clock::now();
      }
      if (Clock::now() - *stable_since >= kStableFor) {
        view.lines.push_back("verify: Service converged");
        printer.show(view.lines);
        return Status();
      }
      view.lines.push_back("verify: Waiting 1 second to verify that tasks are stable...");
    } else {
      stable_since.reset();
    }
    printer.show(view.lines);
    sleep_interruptible(kPollInterval);
  }
  std::cerr << "Operation continuing in background: the service keeps converging.\n"
            << "Use `shoal service ps " << service_id << "` to check progress.\n";
  return Status();
}

}  // namespace shoal::cli
