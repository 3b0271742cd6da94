#include "tests/e2e/swarm_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/wait.h"

namespace shoal::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::CommandResult;
using testing::wait_until;

namespace {

std::string lower(std::string word) {
  std::transform(word.begin(), word.end(), word.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return word;
}

std::string first_word(const std::string& text) {
  return text.substr(0, text.find(' '));
}

std::string last_lines(const std::string& path, size_t count) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
  }
  return out;
}

}  // namespace

std::string cgroup2_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, point, type, rest;
  while (mounts >> device >> point >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") {
      return point;
    }
  }
  return "";
}

void remove_cgroup_tree(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return;
  }
  if (fs::exists(dir + "/cgroup.kill", ec)) {
    std::ofstream(dir + "/cgroup.kill") << "1\n";
  }
  std::vector<std::string> dirs{dir};
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) {
      dirs.push_back(it->path().string());
    }
  }
  // Children before parents; a cgroup whose last process is still exiting is busy a moment.
  std::sort(dirs.begin(), dirs.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  testing::wait_until(
      [&] {
        bool all = true;
        for (const auto& path : dirs) {
          if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
            all = false;
          }
        }
        return all;
      },
      5s, 50ms);
}

std::string run_leftovers(const std::string& run) {
  std::string left;
  auto listed = testing::run_command({"ip", "netns", "list"});
  if (listed.ok()) {
    std::istringstream lines(listed->output);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("shoal-" + run)) {
        left += line.substr(0, line.find(' ')) + " ";
      }
    }
  }
  if (auto mount = cgroup2_mount(); !mount.empty() && fs::is_directory(mount + "/shoal")) {
    for (const auto& entry : fs::directory_iterator(mount + "/shoal")) {
      if (entry.is_directory() && entry.path().filename().string().starts_with(run + "h")) {
        left += entry.path().string() + " ";
      }
    }
  }
  return left;
}

bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0) {
    return false;
  }
  // A zombie is dead for our purposes (its parent has not reaped it yet).
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() || text[close + 2] != 'Z';
}

SwarmCluster::SwarmCluster(std::unique_ptr<testing::Testbed> testbed, std::string root)
    : testbed_(std::move(testbed)), root_(std::move(root)) {}

std::unique_ptr<SwarmCluster> SwarmCluster::start(int hosts, int members, std::string& error) {
  testing::clean_stale_runs();
  auto testbed = testing::Testbed::create(hosts);
  if (!testbed.ok()) {
    error = "testbed: " + testbed.error().message();
    return nullptr;
  }
  char pattern[] = "/tmp/shoal-e2e-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    error = "mkdtemp failed";
    return nullptr;
  }
  std::unique_ptr<SwarmCluster> cluster(new SwarmCluster(std::move(testbed).value(), pattern));
  for (int host = 1; host <= hosts; ++host) {
    if (auto started = cluster->start_daemon(host); !started) {
      error = started.message();
      return nullptr;
    }
  }
  if (members < 1) {
    return cluster;
  }
  auto init = cluster->shoal(1, {"swarm", "init", "--advertise-addr", cluster->address(1),
                                 "--dispatcher-heartbeat", "1s"});
  if (init.exit_code != 0) {
    error = "swarm init: " + init.output + cluster->daemon_logs();
    return nullptr;
  }
  auto token = cluster->shoal(1, {"swarm", "join-token", "-q", "worker"});
  if (token.exit_code != 0) {
    error = "swarm join-token: " + token.output;
    return nullptr;
  }
  std::string worker_token = first_word(token.output.substr(0, token.output.find('\n')));
  for (int host = 2; host <= members; ++host) {
    auto join = cluster->shoal(
        host, {"swarm", "join", "--token", worker_token, cluster->address(1) + ":2377"});
    if (join.exit_code != 0) {
      error = "swarm join on h" + std::to_string(host) + ": " + join.output;
      return nullptr;
    }
  }
  bool ready = wait_until(
      [&] {
        auto status = cluster->node_status();
        return static_cast<int>(status.size()) == members &&
               std::all_of(status.begin(), status.end(),
                           [](const auto& entry) { return entry.second == "Ready"; });
      },
      20s);
  if (!ready) {
    error = "nodes not ready: " + cluster->shoal(1, {"node", "ls"}).output;
    return nullptr;
  }
  return cluster;
}

SwarmCluster::~SwarmCluster() {
  kill_daemons();
  std::vector<std::string> tags;
  for (int host = 1; host <= hosts(); ++host) {
    tags.push_back(node_tag(host));
  }
  testbed_.reset();  // testbed.sh down: task processes, namespaces, empty node cgroups
  // A killed daemon leaves its tasks' cgroups (<node>/<task>/{shim,task}), which testbed.sh's
  // single rmdir of the node's cgroup cannot remove: take the trees down leaf first.
  if (auto mount = cgroup2_mount(); !mount.empty()) {
    for (const auto& tag : tags) {
      remove_cgroup_tree(mount + "/shoal/" + tag);
    }
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

void SwarmCluster::kill_daemons() {
  for (auto& [host, pid] : pids_) {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
}

std::string SwarmCluster::state_dir(int host) const {
  return root_ + "/h" + std::to_string(host);
}

::testing::AssertionResult SwarmCluster::start_daemon(int host, const std::string& node_name) {
  if (pids_.contains(host) && pids_[host] > 0) {
    return ::testing::AssertionFailure() << "h" << host << "'s shoald is already running";
  }
  std::string dir = state_dir(host);
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string socket = dir + "/shoald.sock";
  fs::remove(socket, ec);
  std::vector<std::string> argv{"ip",
                                "netns",
                                "exec",
                                testbed_->host_ns(host),
                                SHOALD_PATH,
                                "--state-dir",
                                dir,
                                "--advertise-addr",
                                address(host),
                                "--node-name",
                                node_name.empty() ? hostname(host) : node_name,
                                "--node-tag",
                                node_tag(host),
                                "--log-level",
                                "debug"};
  std::vector<char*> args;
  for (auto& arg : argv) {
    args.push_back(arg.data());
  }
  args.push_back(nullptr);
  std::string log = root_ + "/h" + std::to_string(host) + ".log";
  pid_t pid = ::fork();
  if (pid < 0) {
    return ::testing::AssertionFailure() << "fork failed";
  }
  if (pid == 0) {
    // If this test process dies, so does the daemon (testbed.sh clean removes the rest).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::setpgid(0, 0);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    if (in >= 0) {
      ::dup2(in, STDIN_FILENO);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  pids_[host] = pid;
  bool up = wait_until(
      [&] {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) {
          pids_[host] = -1;
          return true;  // exited: reported below
        }
        if (!fs::exists(socket)) {
          return false;
        }
        auto probe = shoal(host, {"node", "ls", "-q"}, 5000);
        return probe.output.find("Cannot connect") == std::string::npos;
      },
      15s, 100ms);
  if (!up || pids_[host] <= 0) {
    return ::testing::AssertionFailure() << "h" << host << "'s shoald did not come up:\n"
                                         << last_lines(log, 30);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SwarmCluster::stop_daemon(int host, int signal,
                                                     std::chrono::milliseconds timeout) {
  pid_t pid = pids_.contains(host) ? pids_[host] : -1;
  if (pid <= 0) {
    return ::testing::AssertionFailure() << "h" << host << "'s shoald is not running";
  }
  ::kill(pid, signal);
  bool exited = wait_until([&] { return ::waitpid(pid, nullptr, WNOHANG) == pid; }, timeout, 50ms);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pids_[host] = -1;
    return ::testing::AssertionFailure() << "h" << host << "'s shoald did not exit within "
                                         << timeout.count() << " ms of signal " << signal;
  }
  pids_[host] = -1;
  if (signal == SIGKILL) {
    return kill_etcd_members(host);
  }
  return ::testing::AssertionSuccess();
}

// A host that dies takes its etcd member with it. shoald's death alone lets the member shut
// down gracefully (told by its parent-death signal), still serving raft for a few seconds.
::testing::AssertionResult SwarmCluster::kill_etcd_members(int host) {
  auto members = [&] {
    std::vector<pid_t> found;
    for (pid_t pid : namespace_pids(testbed_->host_ns(host))) {
      std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
      std::string name;
      if (std::getline(comm, name) && name == "etcd" && process_alive(pid)) {
        found.push_back(pid);
      }
    }
    return found;
  };
  for (pid_t pid : members()) {
    ::kill(pid, SIGKILL);
  }
  if (!wait_until([&] { return members().empty(); }, 10s, 50ms)) {
    return ::testing::AssertionFailure() << "h" << host << "'s etcd member did not exit";
  }
  return ::testing::AssertionSuccess();
}

CommandResult SwarmCluster::shoal(int host, std::vector<std::string> args, int timeout_ms) {
  std::vector<std::string> argv{SHOAL_CLI_PATH, "-H", "unix://" + state_dir(host) + "/shoald.sock"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = testing::run_command(argv, timeout_ms);
  if (!result.ok()) {
    return {-1, "run_command: " + result.error().message()};
  }
  return *result;
}

std::string SwarmCluster::http_get(int from_host, int host, int port) {
  auto answer = testing::run_in_ns(testbed_->host_ns(from_host),
                                   {"curl", "-s", "--max-time", "2",
                                    "http://" + address(host) + ":" + std::to_string(port) + "/"},
                                   5000);
  if (!answer.ok() || answer->exit_code != 0) {
    return "";
  }
  auto text = answer->output;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();  // the servers end their body with a newline
  }
  return text;
}

std::vector<nlohmann::json> SwarmCluster::json_rows(int host, std::vector<std::string> args) {
  args.push_back("--format");
  args.push_back("json");
  auto result = shoal(host, std::move(args));
  std::vector<nlohmann::json> rows;
  if (result.exit_code != 0) {
    return rows;
  }
  std::istringstream in(result.output);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      continue;
    }
    auto row = nlohmann::json::parse(line, nullptr, false);
    if (!row.is_discarded()) {
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::vector<TaskRow> SwarmCluster::ps(const std::string& service) {
  std::vector<TaskRow> tasks;
  for (const auto& row : json_rows(manager_host_, {"service", "ps", "--no-trunc", service})) {
    TaskRow task;
    task.id = row.value("ID", "");
    std::string name = row.value("Name", "");
    if (name.starts_with(" \\_ ")) {
      task.history = true;
      name = name.substr(4);
    }
    // web.<slot>.<task id> with --no-trunc
    auto dot = name.find('.');
    task.service = name.substr(0, dot);
    if (dot != std::string::npos) {
      task.slot = std::strtoull(name.c_str() + dot + 1, nullptr, 10);
    }
    task.node = row.value("Node", "");
    task.desired = lower(row.value("DesiredState", ""));
    task.state = lower(first_word(row.value("CurrentState", "")));
    task.error = row.value("Error", "");
    tasks.push_back(std::move(task));
  }
  return tasks;
}

std::string SwarmCluster::ps_text(const std::string& service) {
  return shoal(manager_host_, {"service", "ps", service}).output;
}

std::map<std::string, std::string> SwarmCluster::node_status() {
  std::map<std::string, std::string> status;
  for (const auto& row : json_rows(manager_host_, {"node", "ls"})) {
    status[row.value("Hostname", "")] = row.value("Status", "");
  }
  return status;
}

std::string SwarmCluster::create_app_network(std::vector<std::string> extra) {
  std::vector<std::string> args{"network", "create", "-d", "overlay"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("app");
  auto created = shoal(manager_host_, args);
  return created.exit_code == 0 ? "" : "network create app: " + created.output;
}

::testing::AssertionResult SwarmCluster::create_service(const std::string& name, int replicas,
                                                        const std::string& command,
                                                        std::vector<std::string> extra) {
  std::vector<std::string> args{"service",
                                "create",
                                "--name",
                                name,
                                "--replicas",
                                std::to_string(replicas),
                                "--network",
                                "app",
                                "--restart-delay",
                                "100ms",
                                "--stop-grace-period",
                                "2s",
                                "--detach"};
  args.insert(args.end(), extra.begin(), extra.end());
  for (const char* word : {"--", "/bin/sh", "-c"}) {
    args.push_back(word);
  }
  args.push_back(command);
  auto created = shoal(manager_host_, args);
  if (created.exit_code != 0) {
    return ::testing::AssertionFailure() << "service create " << name << ": " << created.output;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SwarmCluster::wait_running(const std::string& name, size_t count,
                                                      std::chrono::milliseconds timeout) {
  size_t running = 0;
  size_t desired = 0;
  bool done = wait_until(
      [&] {
        auto tasks = ps(name);
        running = static_cast<size_t>(std::count_if(
            tasks.begin(), tasks.end(), [](const TaskRow& t) { return t.current_running(); }));
        desired = static_cast<size_t>(std::count_if(
            tasks.begin(), tasks.end(), [](const TaskRow& t) { return t.desired == "running"; }));
        return running == count && desired == count;
      },
      timeout);
  if (!done) {
    return ::testing::AssertionFailure() << "service " << name << ": " << running << " running, "
                                         << desired << " desired running, wanted " << count << "\n"
                                         << ps_text(name);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SwarmCluster::remove_service(const std::string& name) {
  auto tasks = ps(name);
  auto removed = shoal(manager_host_, {"service", "rm", name});
  if (removed.exit_code != 0) {
    return ::testing::AssertionFailure() << "service rm " << name << ": " << removed.output;
  }
  std::string left;
  bool gone = wait_until(
      [&] {
        left.clear();
        for (const auto& task : tasks) {
          if (task.node.empty() || host_of(task.node) == 0) {
            continue;
          }
          auto ns = task_namespace(task);
          if (fs::exists("/run/netns/" + ns)) {
            left += ns + " ";
          }
        }
        return left.empty();
      },
      20s);
  if (!gone) {
    return ::testing::AssertionFailure() << "service " << name << " removed but left " << left;
  }
  return ::testing::AssertionSuccess();
}

int SwarmCluster::host_of(const std::string& name) const {
  for (int host = 1; host <= hosts(); ++host) {
    if (hostname(host) == name) {
      return host;
    }
  }
  return 0;
}

std::string SwarmCluster::task_namespace(const TaskRow& task) const {
  return "shoal-" + node_tag(host_of(task.node)) + "-ep-" + task.id;
}

std::string SwarmCluster::task_address(const TaskRow& task) {
  auto shown = testing::run_command(
      {"ip", "-n", task_namespace(task), "-4", "-o", "addr", "show", "dev", "eth0"});
  if (!shown.ok()) {
    return "";
  }
  // "2: eth0    inet 10.0.1.3/24 brd ... scope global eth0"
  std::istringstream words(shown->output);
  for (std::string word; words >> word;) {
    if (word == "inet" && words >> word) {
      return word.substr(0, word.find('/'));
    }
  }
  return "";
}

std::vector<pid_t> SwarmCluster::namespace_pids(const std::string& ns) {
  std::vector<pid_t> pids;
  auto listed = testing::run_command({"ip", "netns", "pids", ns});
  if (!listed.ok() || listed->exit_code != 0) {
    return pids;
  }
  std::istringstream in(listed->output);
  for (pid_t pid; in >> pid;) {
    pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::string SwarmCluster::daemon_logs(size_t lines) const {
  std::string out;
  for (int host = 1; host <= testbed_->hosts(); ++host) {
    out += "---- h" + std::to_string(host) + " shoald log (last " + std::to_string(lines) +
           " lines) ----\n" + last_lines(root_ + "/h" + std::to_string(host) + ".log", lines);
  }
  return out;
}

}  // namespace shoal::e2e
