// The strings in `ls` and `ps` columns, computed from API objects without I/O so that tests
// can check them directly.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "swarm.pb.h"

namespace shoal::cli {

inline constexpr size_t kShortIdLength = 12;
inline constexpr size_t kCommandWidth = 30;

std::string short_id(const std::string& id, bool no_trunc = false);

// "running" -> "Running": the API's words, capitalised as docker prints them.
std::string capitalise(std::string word);

// go-units' HumanDuration: "Less than a second", "12 seconds", "About a minute", "3 hours"...
std::string human_duration(int64_t ms);

// `service ls` COMMAND: command and args joined by spaces, cut to 30 characters (there is no
// image to show; the command is what tells services apart).
std::string command_column(const api::ServiceSpec& spec);
std::string command_column(const api::Task& task, bool no_trunc);

// `service ls` REPLICAS: "running/desired", as docker counts them: tasks observed running on a
// node that is not down. Global services: desired is the number of tasks desired running.
// "(max N per node)" is appended when the spec limits it.
std::string replicas_column(const api::Service& service, const std::vector<api::Task>& tasks,
                            const std::set<std::string>& down_nodes);

// "*:8080->80/tcp, *:5353->53/udp": the ports published in `mode` (docker's `service ls` shows
// ingress ports, `service ps` host ports). The manager's endpoint ports when it has chosen
// them, else the spec's.
std::string ports_column(const api::Service& service, const std::string& mode);

// `service ps` rows: per slot (global: per node), the newest task first, then older ones.
struct PsEntry {
  const api::Task* task;
  bool history;  // not the slot's newest task: NAME is shown as " \_ name"
};
std::vector<PsEntry> order_tasks(const std::vector<api::Task>& tasks);

// "web.2"; global tasks "web.<node id>"; with no_trunc docker appends ".<task id>".
std::string task_name(const api::Task& task, bool history, bool no_trunc);

// "Running 12 seconds ago"; just "Running" when the time is unknown.
std::string current_state_column(const api::Task& task, int64_t now_ms);

// The task's message when it failed or was rejected, else empty. Quoted and cut to 30
// characters unless no_trunc, as docker shows it.
std::string error_column(const api::Task& task, bool no_trunc);

// MANAGER STATUS: Leader, Reachable (a manager not down), Unreachable, or empty for workers.
std::string manager_status(const api::Node& node);

// The node's certificate at `now` (unix seconds), from the validity the CA recorded: "Ready",
// "Expiring" (in the last 10% of its lifetime: its renewals failed since the 80% point),
// "Expired", or "" when unknown (a node that joined before renewal existed).
std::string tls_status(const api::Node& node, int64_t now);
// Unix seconds as RFC 3339 UTC ("2026-12-07T11:00:00Z"); "" for 0.
std::string utc_time(int64_t seconds);

}  // namespace shoal::cli
