#include "control/runtime/runtime.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>

#include "common/atomic_file.h"
#include "common/mounts.h"
#include "common/unique_fd.h"
#include "control/runtime/cgroup.h"
#include "control/runtime/launch.h"
#include "control/runtime/process.h"
#include "control/runtime/task_files.h"
#include "dataplane/netns.h"

namespace shoal::runtime {
namespace {

constexpr auto kKillTimeout = std::chrono::seconds(10);

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
             "0123456789_.-") == std::string::npos;
}

Status validate(const TaskSpec& spec) {
  if (!valid_name(spec.id)) {
    return invalid_argument("task id \"" + spec.id + "\"", "expected [A-Za-z0-9][A-Za-z0-9_.-]*");
  }
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return invalid_argument("argv of task " + spec.id, "empty");
  }
  if (spec.workdir.empty() || spec.workdir[0] != '/') {
    return invalid_argument("workdir of task " + spec.id, "not an absolute path");
  }
  for (const std::string& entry : spec.env) {
    if (entry.find('=') == std::string::npos || entry[0] == '=') {
      return invalid_argument("env of task " + spec.id, "\"" + entry + "\" is not NAME=value");
    }
  }
  for (const TaskFile& file : spec.files) {
    if (file.target.empty() || file.target[0] != '/' || file.target.back() == '/') {
      return invalid_argument("file target \"" + file.target + "\" of task " + spec.id,
                              "not an absolute file path");
    }
    // The task gets a /dev, /proc and /sys of its own, mounted after its files.
    for (const char* dir : {"/dev/", "/proc/", "/sys/"}) {
      if (file.target.rfind(dir, 0) == 0) {
        return invalid_argument("file target " + file.target + " of task " + spec.id,
                                std::string("the task has its own ") + dir);
      }
    }
  }
  return {};
}

// The namespace file of a named or given netns, checked to exist and to be one.
Result<std::string> resolve_netns(const std::string& netns) {
  if (netns.empty()) {
    return netns;
  }
  const std::string path =
      netns.find('/') == std::string::npos ? dataplane::named_netns_path(netns) : netns;
  SHOAL_TRY(dataplane::open_nsfs(path, netns));
  return path;
}

std::string hosts_file(const TaskSpec& spec) {
  if (!spec.hosts.empty() || spec.hostname.empty()) {
    return spec.hosts;
  }
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" +
         spec.hostname + "\n";
}

Result<std::string> find_shim(const std::string& configured) {
  std::string path = configured;
  if (path.empty()) {
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) {
      return sys_error("readlink", "/proc/self/exe", errno);
    }
    path.assign(exe, static_cast<size_t>(n));
    path = path.substr(0, path.rfind('/') + 1) + "shoal-task-shim";
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return sys_error("find task shim", path, errno);
  }
  return path;
}

// Writes what the shim reads: the spec and the files it binds into the task's mount namespace.
Status write_task_files(const TaskPaths& paths, const TaskSpec& spec, ShimSpec shim) {
  if (!spec.resolv_conf.empty()) {
    SHOAL_TRY(write_file(paths.resolv_conf(), spec.resolv_conf));
    shim.resolv_conf = paths.resolv_conf();
  }
  if (const std::string hosts = hosts_file(spec); !hosts.empty()) {
    SHOAL_TRY(write_file(paths.hosts(), hosts));
    shim.hosts = paths.hosts();
  }
  if (!spec.files.empty() && ::mkdir(paths.files().c_str(), 0700) != 0) {
    return sys_error("create", paths.files(), errno);
  }
  for (size_t i = 0; i < spec.files.size(); ++i) {
    SHOAL_TRY(write_file(paths.file(i), spec.files[i].content));
    if (::chmod(paths.file(i).c_str(), spec.files[i].mode & 07777) != 0)
      return sys_error("chmod", paths.file(i), errno);
    shim.files.push_back({paths.file(i), spec.files[i].target});
  }
  return write_file(paths.spec(), encode_spec(shim));
}

// Kills whatever runs in a task's cgroup and deletes the cgroup and the task's files.
Status discard(const TaskPaths& paths, const TaskCgroup& cgroup) {
  SHOAL_TRY(kill_cgroup(cgroup.dir));
  SHOAL_TRY(wait_cgroup_empty(cgroup.dir, kKillTimeout));
  SHOAL_TRY(remove_task_cgroup(cgroup));
  return remove_tree(paths.dir);
}

// Undoes a start() that failed half way, unless dismissed.
class StartGuard {
 public:
  StartGuard(const TaskPaths& paths, const TaskCgroup& cgroup) : paths_(paths), cgroup_(cgroup) {}
  StartGuard(const StartGuard&) = delete;
  StartGuard& operator=(const StartGuard&) = delete;
  ~StartGuard() {
    if (armed_) {
      [[maybe_unused]] Status ignored = discard(paths_, cgroup_);
    }
  }
  void dismiss() { armed_ = false; }

 private:
  const TaskPaths& paths_;
  const TaskCgroup& cgroup_;
  bool armed_ = true;
};

}  // namespace

struct Task {
  std::string id;
  TaskPaths paths;
  TaskCgroup cgroup;
  PidRecord pids;
  UniqueFd shim;  // pidfd; invalid when the shim was already gone when we adopted the task
  std::optional<ExitRecord> exit;
};

struct Runtime::State {
  RuntimeConfig config;
  std::string tasks_dir;
  std::string node_cgroup;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Task>> tasks;

  // Shims that have exited are reaped; running ones stay this process's children until a new
  // Runtime here reaps them, or become init's when the process ends. The tasks run on.
  ~State() {
    for (auto& [id, task] : tasks) {
      if (task->shim.valid()) {
        reap_if_child(task->shim.get());
      }
    }
  }

  TaskPaths paths_of(const std::string& id) const { return {tasks_dir + "/" + id}; }
  TaskCgroup cgroup_of(const std::string& id) const { return {node_cgroup + "/" + id}; }

  Result<std::shared_ptr<Task>> find(const std::string& op, const std::string& id) {
    auto it = tasks.find(id);
    if (it == tasks.end()) {
      return sys_error(op, id, ENOENT, "no such task");
    }
    return it->second;
  }

  void adopt_all();
  void adopt(const std::string& id);
  void refresh(Task& task);
};

namespace {

// Learns whether a task has ended: from its exit file, or, when its shim died without writing
// one, from its cgroup having emptied.
bool read_exit(Task& task) {
  auto text = read_file(task.paths.exit());
  if (!text.ok()) {
    return false;
  }
  auto exit = decode_exit(*text);
  task.exit = exit.ok() ? *exit : ExitRecord{};
  return true;
}

TaskStatus status_of(const Task& task) {
  TaskStatus status{task.id,      TaskPhase::kRunning, task.pids.task.pid,
                    std::nullopt, std::nullopt,        task.cgroup.task()};
  if (task.exit) {
    status.phase = TaskPhase::kExited;
    status.exit_code = task.exit->exit_code;
    status.signal = task.exit->signal;
  }
  return status;
}

// Waits for every process of the task to be gone: its shim exits only after that.
bool wait_gone(const Task& task, std::chrono::milliseconds timeout) {
  if (task.shim.valid()) {
    return wait_exit(task.shim.get(), timeout);
  }
  return wait_cgroup_empty(task.cgroup.task(), timeout).ok();
}

}  // namespace

void Runtime::State::refresh(Task& task) {
  if (!task.exit && !read_exit(task)) {
    if (task.shim.valid() && !has_exited(task.shim.get())) {
      return;
    }
    // The shim writes the exit file and then exits: look again before concluding it died.
    if (!read_exit(task)) {
      if (cgroup_populated(task.cgroup.task())) {
        return;  // the shim died but the task lives on, unwatched; stop() still ends it
      }
      task.exit = ExitRecord{};
      [[maybe_unused]] Status ignored =
          write_file_atomically(task.paths.exit(), encode_exit({}), 0644, Durability::kAtomicOnly);
    }
  }
  if (task.shim.valid()) {
    reap_if_child(task.shim.get());
  }
}

void Runtime::State::adopt(const std::string& id) {
  auto task = std::make_shared<Task>();
  task->id = id;
  task->paths = paths_of(id);
  task->cgroup = cgroup_of(id);
  auto text = read_file(task->paths.pid());
  auto pids = text.ok() ? decode_pids(*text) : Result<PidRecord>(std::move(text).error());
  if (!pids.ok()) {
    // A start() that never finished (the agent died during it): nothing to adopt.
    [[maybe_unused]] Status ignored = discard(task->paths, task->cgroup);
    return;
  }
  task->pids = *pids;
  if (auto shim = open_process(task->pids.shim); shim.ok()) {
    task->shim = std::move(*shim);
  }
  refresh(*task);
  tasks.emplace(id, std::move(task));
}

void Runtime::State::adopt_all() {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(tasks_dir.c_str()), ::closedir);
  std::vector<std::string> ids;
  while (dirent* entry = dir ? ::readdir(dir.get()) : nullptr) {
    if (entry->d_type == DT_DIR && valid_name(entry->d_name)) {
      ids.emplace_back(entry->d_name);
    }
  }
  for (const std::string& id : ids) {
    adopt(id);
  }
}

Result<Runtime> Runtime::open(RuntimeConfig config) {
  if (!valid_name(config.node)) {
    return invalid_argument("node name \"" + config.node + "\"",
                            "expected [A-Za-z0-9][A-Za-z0-9_.-]*");
  }
  if (config.state_dir.empty() || config.state_dir[0] != '/') {
    return invalid_argument("state dir \"" + config.state_dir + "\"", "not an absolute path");
  }
  for (const std::string& path : config.hidden_paths) {
    if (path.empty() || path[0] != '/') {
      return invalid_argument("hidden path \"" + path + "\"", "not an absolute path");
    }
  }
  SHOAL_ASSIGN_OR_RETURN(config.shim_path, find_shim(config.shim_path));
  if (config.cgroup_root.empty()) {
    SHOAL_ASSIGN_OR_RETURN(config.cgroup_root, ensure_cgroup2());
  }
  auto state = std::make_unique<State>();
  state->tasks_dir = config.state_dir + "/tasks";
  state->node_cgroup = config.cgroup_root + "/shoal/" + config.node;
  state->config = std::move(config);
  SHOAL_TRY(make_dirs(state->tasks_dir));
  SHOAL_TRY(make_dirs(state->node_cgroup));
  state->adopt_all();
  return Runtime(std::move(state));
}

Runtime::Runtime(std::unique_ptr<State> state) : state_(std::move(state)) {}
Runtime::Runtime(Runtime&&) noexcept = default;
Runtime& Runtime::operator=(Runtime&&) noexcept = default;
Runtime::~Runtime() = default;

Result<TaskStatus> Runtime::start(const TaskSpec& spec) {
  SHOAL_TRY(validate(spec));
  std::lock_guard lock(state_->mu);
  if (state_->tasks.count(spec.id) != 0) {
    return sys_error("start task", spec.id, EEXIST);
  }
  ShimSpec shim;
  shim.argv = spec.argv;
  shim.env = spec.env;
  shim.workdir = spec.workdir;
  shim.hostname = spec.hostname;
  shim.hidden = state_->config.hidden_paths;
  shim.hidden.push_back(state_->config.state_dir);
  SHOAL_ASSIGN_OR_RETURN(shim.netns, resolve_netns(spec.netns));
  auto task = std::make_shared<Task>();
  task->id = spec.id;
  task->paths = state_->paths_of(spec.id);
  task->cgroup = state_->cgroup_of(spec.id);
  shim.shim_cgroup = task->cgroup.shim();
  shim.task_cgroup = task->cgroup.task();
  if (::mkdir(task->paths.dir.c_str(), 0700) != 0) {
    return sys_error("start task", spec.id, errno, "creating " + task->paths.dir);
  }
  StartGuard guard(task->paths, task->cgroup);
  SHOAL_TRY(write_task_files(task->paths, spec, std::move(shim)));
  SHOAL_TRY(create_task_cgroup(task->cgroup));
  auto launched = launch_shim(state_->config.shim_path, task->paths, state_->config.start_timeout);
  if (!launched.ok()) {
    Error error = std::move(launched).error();
    error.op = "start task " + spec.id + ": " + error.op;
    return error;
  }
  guard.dismiss();
  task->pids = launched->pids;
  task->shim = std::move(launched->shim);
  state_->tasks.emplace(spec.id, task);
  return status_of(*task);
}

Status Runtime::stop(const std::string& id, std::chrono::milliseconds grace) {
  std::shared_ptr<Task> task;
  {
    std::lock_guard lock(state_->mu);
    SHOAL_ASSIGN_OR_RETURN(task, state_->find("stop task", id));
    state_->refresh(*task);
    if (task->exit) {
      return {};
    }
  }
  // Unlocked while waiting: the task's pidfds and paths do not change once it is known.
  if (auto main = open_process(task->pids.task); main.ok()) {
    SHOAL_TRY(signal_process(main->get(), SIGTERM, "task " + id));
  }
  if (!wait_gone(*task, grace)) {
    SHOAL_TRY(kill_cgroup(task->cgroup.task()));
    if (!wait_gone(*task, kKillTimeout)) {
      return sys_error("stop task", id, ETIMEDOUT, "still running after SIGKILL");
    }
  }
  std::lock_guard lock(state_->mu);
  state_->refresh(*task);
  return {};
}

Status Runtime::remove(const std::string& id) {
  std::lock_guard lock(state_->mu);
  SHOAL_ASSIGN_OR_RETURN(auto task, state_->find("remove task", id));
  state_->refresh(*task);
  if (!task->exit) {
    return sys_error("remove task", id, EBUSY, "still running; stop it first");
  }
  SHOAL_TRY(discard(task->paths, task->cgroup));
  // The shim exits just after writing the exit file: reap it now, as nobody will later.
  if (task->shim.valid() && wait_exit(task->shim.get(), kKillTimeout)) {
    reap_if_child(task->shim.get());
  }
  state_->tasks.erase(id);
  return {};
}

std::vector<TaskStatus> Runtime::list() {
  std::lock_guard lock(state_->mu);
  std::vector<TaskStatus> out;
  for (auto& [id, task] : state_->tasks) {
    state_->refresh(*task);
    out.push_back(status_of(*task));
  }
  return out;
}

Result<TaskStatus> Runtime::status(const std::string& id) {
  std::lock_guard lock(state_->mu);
  SHOAL_ASSIGN_OR_RETURN(auto task, state_->find("task status", id));
  state_->refresh(*task);
  return status_of(*task);
}

Result<TaskLogs> Runtime::logs(const std::string& id, size_t max_bytes) {
  std::lock_guard lock(state_->mu);
  SHOAL_ASSIGN_OR_RETURN(auto task, state_->find("task logs", id));
  TaskLogs logs;
  for (auto [path, out] : {std::pair{task->paths.stdout_log(), &logs.out},
                           std::pair{task->paths.stderr_log(), &logs.err}}) {
    auto tail = read_tail(path, max_bytes);
    if (!tail.ok() && tail.error().errnum != ENOENT) {
      return std::move(tail).error();
    }
    *out = tail.ok() ? std::move(*tail) : std::string();
  }
  return logs;
}

}  // namespace shoal::runtime
