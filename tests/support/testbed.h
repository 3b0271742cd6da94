// Simulated hosts for tests, through scripts/testbed.sh (the one definition of the topology):
// N host namespaces on an underlay bridge in its own namespace, every name under shoal-<run>.
// The destructor tears the run down; a run whose process was killed is removed by the next
// test binary (or CI) through `testbed.sh clean`, which keys on the PID in the run id.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"

namespace shoal::testing {

// Runs argv with a time limit; stdout and stderr are captured together.
struct CommandResult {
  int exit_code = -1;  // -1 when killed at the time limit or by a signal
  std::string output;
};
Result<CommandResult> run_command(const std::vector<std::string>& argv, int timeout_ms = 10000);
// As run_command, inside a named network namespace (`ip netns exec`).
Result<CommandResult> run_in_ns(const std::string& ns, const std::vector<std::string>& argv,
                                int timeout_ms = 10000);

// The lines of a command's output, and how often each line occurs.
std::vector<std::string> output_lines(const Result<CommandResult>& result);
std::map<std::string, int> tally(const std::vector<std::string>& lines);

std::string source_path(const std::string& relative);  // a file of this source tree
std::string build_path(const std::string& relative);   // a file of this build tree

class Testbed {
 public:
  static Result<std::unique_ptr<Testbed>> create(int hosts, uint32_t mtu = 1500);
  ~Testbed();
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  const std::string& run() const { return run_; }
  int hosts() const { return hosts_; }
  std::string host_ns(int host) const;  // hosts are numbered from 1
  Ipv4 host_ip(int host) const;
  // The host's underlay interface (named as real hosts name theirs, never eth0).
  std::string host_uplink(int host) const;
  std::string node_tag(int host) const;  // tag for the agent of that host
  // Every namespace whose name belongs to this run, from `ip netns list`.
  std::vector<std::string> namespaces() const;

 private:
  Testbed(std::string run, int hosts) : run_(std::move(run)), hosts_(hosts) {}
  std::string run_;
  int hosts_;
};

// Removes the runs of test processes that are gone (killed before their teardown).
void clean_stale_runs();

}  // namespace shoal::testing
