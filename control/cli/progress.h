// Convergence progress after service create/update/scale, as docker shows it:
//
//   overall progress: 2 out of 3 tasks
//   1/3: running
//   2/3: running
//   3/3: preparing
//   verify: Service converged
//
// A slot counts when its task made from the service's current spec_version is RUNNING (global
// services: one line per node that should run a task). The service has converged when every
// slot counts and stays so for 1 s (docker waits 5 s; our tasks are processes, which fail fast).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "control/cli/client.h"
#include "swarm.pb.h"

namespace shoal::cli {

// A failed or rejected task of the current spec. Its replacement may already hide it from
// the slot lines by the next poll, so the watch prints it once as a note of its own.
struct ProgressFailure {
  std::string task_id;
  std::string line;  // "2/3: failed: task: non-zero exit (1)"
  int64_t updated_unix_ms = 0;
  bool shown = false;  // it is its slot's line right now
};

struct ProgressView {
  std::vector<std::string> lines;  // the overall line, then one per slot
  std::vector<ProgressFailure> failures;
  bool converged = false;
};

// Pure: what to show for this service and its tasks.
ProgressView compute_progress(const api::Service& service, const std::vector<api::Task>& tasks);

// On a terminal, redraws the block in place; otherwise prints only the lines that changed, so
// a log file reads as a history.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& out, bool tty) : out_(out), tty_(tty) {}
  void show(const std::vector<std::string>& lines);
  // A line that stays: printed above the block on a terminal.
  void note(const std::string& line);

 private:
  std::ostream& out_;
  bool tty_;
  std::vector<std::string> last_;
};

// Polls GetService and ListTasks every 250 ms until the service converges. SIGINT stops the
// watch with success: the service keeps converging in the background. Daemon errors end it.
Status watch_progress(Client& client, const std::string& service_id, std::ostream& out, bool tty);

}  // namespace shoal::cli
