#include "control/cli/views.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <tuple>

namespace shoal::cli {

std::string short_id(const std::string& id, bool no_trunc) {
  return no_trunc ? id : id.substr(0, kShortIdLength);
}

std::string capitalise(std::string word) {
  if (!word.empty()) {
    word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
  }
  return word;
}

std::string human_duration(int64_t ms) {
  int64_t seconds = ms / 1000;
  if (seconds < 1) {
    return "Less than a second";
  }
  if (seconds == 1) {
    return "1 second";
  }
  if (seconds < 60) {
    return std::to_string(seconds) + " seconds";
  }
  int64_t minutes = seconds / 60;
  if (minutes == 1) {
    return "About a minute";
  }
  if (minutes < 60) {
    return std::to_string(minutes) + " minutes";
  }
  int64_t hours = (ms + 1'800'000) / 3'600'000;  // go-units rounds hours to nearest
  if (hours == 1) {
    return "About an hour";
  }
  if (hours < 48) {
    return std::to_string(hours) + " hours";
  }
  if (hours < 24 * 7 * 2) {
    return std::to_string(hours / 24) + " days";
  }
  if (hours < 24 * 30 * 2) {
    return std::to_string(hours / 24 / 7) + " weeks";
  }
  if (hours < 24 * 365 * 2) {
    return std::to_string(hours / 24 / 30) + " months";
  }
  return std::to_string(ms / 3'600'000 / 24 / 365) + " years";
}

namespace {

std::string join_command(const google::protobuf::RepeatedPtrField<std::string>& command,
                         const google::protobuf::RepeatedPtrField<std::string>& args,
                         bool no_trunc) {
  std::string text;
  for (const auto& part : command) {
    text += (text.empty() ? "" : " ") + part;
  }
  for (const auto& part : args) {
    text += (text.empty() ? "" : " ") + part;
  }
  if (!no_trunc && text.size() > kCommandWidth) {
    text.resize(kCommandWidth);
  }
  return text;
}

bool is_down(const std::set<std::string>& down_nodes, const std::string& node) {
  return node.empty() || down_nodes.count(node) != 0;
}

}  // namespace

std::string command_column(const api::ServiceSpec& spec) {
  return join_command(spec.command(), spec.args(), false);
}

std::string command_column(const api::Task& task, bool no_trunc) {
  return join_command(task.command(), task.args(), no_trunc);
}

std::string replicas_column(const api::Service& service, const std::vector<api::Task>& tasks,
                            const std::set<std::string>& down_nodes) {
  uint64_t running = 0;
  uint64_t desired_running = 0;
  for (const auto& task : tasks) {
    if (task.service_id() != service.id() || task.desired_state() != "running") {
      continue;
    }
    if (!is_down(down_nodes, task.node_id())) {
      ++desired_running;
      if (task.state() == "running") {
        ++running;
      }
    }
  }
  bool global = service.spec().mode() == "global";
  uint64_t desired = global ? desired_running : service.spec().replicas();
  std::string text = std::to_string(running) + "/" + std::to_string(desired);
  if (service.spec().max_replicas_per_node() > 0) {
    text += " (max " + std::to_string(service.spec().max_replicas_per_node()) + " per node)";
  }
  return text;
}

std::string ports_column(const api::Service& service, const std::string& mode) {
  const auto& ports =
      service.endpoint_ports().empty() ? service.spec().ports() : service.endpoint_ports();
  std::string text;
  for (const auto& port : ports) {
    std::string port_mode = port.mode().empty() ? "ingress" : port.mode();
    if (port_mode != mode) {
      continue;
    }
    std::string protocol = port.protocol().empty() ? "tcp" : port.protocol();
    // An unpublished number (0) is shown as docker shows an unset one: empty after "*:".
    std::string published = port.published() == 0 ? "" : std::to_string(port.published());
    text += (text.empty() ? "" : ", ") + std::string("*:") + published + "->" +
            std::to_string(port.target()) + "/" + protocol;
  }
  return text;
}

std::vector<PsEntry> order_tasks(const std::vector<api::Task>& tasks) {
  std::vector<const api::Task*> sorted;
  for (const auto& task : tasks) {
    sorted.push_back(&task);
  }
  // Slot 0 means a global task: its node is its slot.
  auto key = [](const api::Task* t) {
    return std::make_tuple(t->service_name(), t->slot(), t->slot() == 0 ? t->node_id() : "");
  };
  std::stable_sort(sorted.begin(), sorted.end(), [&](const api::Task* a, const api::Task* b) {
    auto ka = key(a);
    auto kb = key(b);
    if (ka != kb) {
      return ka < kb;
    }
    // The task still desired running is the slot's current one, whatever the clocks say (a
    // replacement can be stamped in the same millisecond as its predecessor's end); then newest.
    bool a_current = a->desired_state() == "running";
    bool b_current = b->desired_state() == "running";
    if (a_current != b_current) {
      return a_current;
    }
    return a->updated_unix_ms() > b->updated_unix_ms();
  });
  std::vector<PsEntry> entries;
  for (size_t i = 0; i < sorted.size(); ++i) {
    bool history = i > 0 && key(sorted[i - 1]) == key(sorted[i]);
    entries.push_back({sorted[i], history});
  }
  return entries;
}

std::string task_name(const api::Task& task, bool history, bool no_trunc) {
  std::string name =
      task.service_name() + "." + (task.slot() != 0 ? std::to_string(task.slot()) : task.node_id());
  if (no_trunc) {
    name += "." + task.id();
  }
  return history ? " \\_ " + name : name;
}

std::string current_state_column(const api::Task& task, int64_t now_ms) {
  std::string state = capitalise(task.state());
  if (task.updated_unix_ms() <= 0) {
    return state;
  }
  std::string ago = human_duration(std::max<int64_t>(0, now_ms - task.updated_unix_ms()));
  std::transform(ago.begin(), ago.end(), ago.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return state + " " + ago + " ago";
}

std::string error_column(const api::Task& task, bool no_trunc) {
  if ((task.state() != "failed" && task.state() != "rejected") || task.message().empty()) {
    return "";
  }
  std::string message = task.message();
  if (!no_trunc && message.size() > kCommandWidth) {
    message = message.substr(0, kCommandWidth - 1) + "\xE2\x80\xA6";  // "…" as docker does
  }
  return "\"" + message + "\"";
}

std::string tls_status(const api::Node& node, int64_t now) {
  const int64_t from = node.cert_not_before();
  const int64_t until = node.cert_not_after();
  if (until == 0 || until <= from) {
    return "";
  }
  if (now >= until) {
    return "Expired";
  }
  return now >= until - (until - from) / 10 ? "Expiring" : "Ready";
}

std::string utc_time(int64_t seconds) {
  if (seconds == 0) {
    return "";
  }
  auto when = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::gmtime_r(&when, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string manager_status(const api::Node& node) {
  if (node.role() != "manager") {
    return "";
  }
  if (node.leader()) {
    return "Leader";
  }
  if (!node.manager_status().empty()) {
    return node.manager_status();  // the managers' store probed it
  }
  return node.status() == "down" ? "Unreachable" : "Reachable";
}

}  // namespace shoal::cli
