#include "control/runtime/runtime.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
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
#include "control/runtime/oci/bundle_config.h"
#include "control/runtime/oci/cgroup_cleanup.h"
#include "control/runtime/oci/rootfs_mount.h"
#include "control/runtime/oci/runc.h"
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

Status validate_image(const TaskSpec& spec) {
  const ImageSpec& image = *spec.image;
  if (image.rootfs.empty() || image.rootfs[0] != '/') {
    return invalid_argument("image rootfs \"" + image.rootfs + "\" of task " + spec.id,
                            "not an absolute path");
  }
  if (spec.netns.empty()) {
    return invalid_argument("netns of image task " + spec.id,
                            "required: runc joins the task's network namespace, never makes one");
  }
  if (image.stop_signal < 1 || image.stop_signal > SIGRTMAX) {
    return invalid_argument("stop signal of task " + spec.id, std::to_string(image.stop_signal));
  }
  return {};
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
  return spec.image ? validate_image(spec) : Status{};
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

std::string hosts_file(const std::string& hosts, const std::string& hostname) {
  if (!hosts.empty() || hostname.empty()) {
    return hosts;
  }
  return "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname +
         "\n";
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

// The spec's config files, written into the task directory, and where each goes.
Result<std::vector<FileMount>> write_config_files(const TaskPaths& paths, const TaskSpec& spec) {
  std::vector<FileMount> mounts;
  if (!spec.files.empty() && ::mkdir(paths.files().c_str(), 0700) != 0) {
    return sys_error("create", paths.files(), errno);
  }
  for (size_t i = 0; i < spec.files.size(); ++i) {
    SHOAL_TRY(write_file(paths.file(i), spec.files[i].content));
    if (::chmod(paths.file(i).c_str(), spec.files[i].mode & 07777) != 0)
      return sys_error("chmod", paths.file(i), errno);
    mounts.push_back({paths.file(i), spec.files[i].target});
  }
  return mounts;
}

// Writes what the shim reads: the spec and the files it binds into the task's mount namespace.
Status write_task_files(const TaskPaths& paths, const TaskSpec& spec, ShimSpec shim) {
  if (!spec.resolv_conf.empty()) {
    SHOAL_TRY(write_file(paths.resolv_conf(), spec.resolv_conf));
    shim.resolv_conf = paths.resolv_conf();
  }
  if (const std::string hosts = hosts_file(spec.hosts, spec.hostname); !hosts.empty()) {
    SHOAL_TRY(write_file(paths.hosts(), hosts));
    shim.hosts = paths.hosts();
  }
  SHOAL_ASSIGN_OR_RETURN(shim.files, write_config_files(paths, spec));
  return write_file(paths.spec(), encode_spec(shim));
}

// An image task's bundle is its task directory: config.json, and the files it binds read-only
// (resolv.conf, hosts, hostname, configs). The shim mounts rootfs/ (it runs runc).
Status write_bundle(const TaskPaths& paths, const TaskSpec& spec, const std::string& netns_path,
                    const std::string& cgroups_path) {
  const ImageSpec& image = *spec.image;
  oci::BundleSpec bundle;
  bundle.id = spec.id;
  bundle.rootfs = paths.rootfs();
  bundle.readonly_rootfs = image.readonly_rootfs;
  bundle.process = {.argv = spec.argv,
                    .env = spec.env,
                    .cwd = spec.workdir,
                    .uid = image.uid,
                    .gid = image.gid,
                    .additional_gids = image.additional_gids,
                    .nofile = std::nullopt};
  // As Docker: the container id's first 12 characters when no hostname is given.
  bundle.hostname = spec.hostname.empty() ? spec.id.substr(0, 12) : spec.hostname;
  bundle.netns_path = netns_path;
  bundle.cgroups_path = cgroups_path;
  // No resolv.conf given: the node's, as Docker copies the host's (the image's own is not used).
  std::string resolv = spec.resolv_conf;
  if (resolv.empty()) {
    SHOAL_ASSIGN_OR_RETURN(resolv, read_file("/etc/resolv.conf"));
  }
  SHOAL_TRY(write_file(paths.resolv_conf(), resolv));
  bundle.resolv_conf = paths.resolv_conf();
  SHOAL_TRY(write_file(paths.hosts(), hosts_file(spec.hosts, bundle.hostname)));
  bundle.hosts = paths.hosts();
  SHOAL_TRY(write_file(paths.hostname(), bundle.hostname + "\n"));
  bundle.hostname_file = paths.hostname();
  SHOAL_ASSIGN_OR_RETURN(const std::vector<FileMount> files, write_config_files(paths, spec));
  for (const FileMount& file : files) {
    bundle.files.push_back({file.source, file.target});
  }
  SHOAL_ASSIGN_OR_RETURN(const nlohmann::json config, oci::bundle_config(bundle));
  return oci::write_bundle_config(paths.dir, config);
}

std::string id_of(const TaskPaths& paths) {
  return paths.dir.substr(paths.dir.rfind('/') + 1);
}

oci::Runc runc_of(const ShimImage& image) {
  return oci::Runc({image.runc, image.runc_root});
}

// Unmounts a task's overlay root, if mounted, and removes rootfs/, upper/ and work/.
Status release_rootfs(const TaskPaths& paths, const std::string& lower) {
  if (!path_exists(paths.rootfs())) {
    return {};
  }
  // Adopting the mount (or mounting it anew, which is harmless) lets RootfsMount undo it.
  if (auto mounted = oci::RootfsMount::mount(lower, paths.dir); mounted.ok()) {
    return mounted->release();
  }
  // The image's layer is gone (or was never mounted here): detach whatever is on rootfs/, so
  // that removing the task directory never walks into a mount.
  if (::umount2(paths.rootfs().c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    return sys_error("unmount", paths.rootfs(), errno);
  }
  return {};
}

// What an image task holds beyond a process task's: runc's state entry, the overlay root, and
// the cgroup directories runc made in every hierarchy (cgroup v1 leftovers on hybrid hosts).
Status discard_container(const TaskPaths& paths, const ShimImage& image,
                         const std::string& cgroups_dir) {
  SHOAL_TRY(runc_of(image).delete_container(id_of(paths), true));
  SHOAL_TRY(release_rootfs(paths, image.lower));
  return oci::remove_task_cgroups(cgroups_dir);
}

// Kills whatever runs in a task's cgroup and deletes the cgroup and the task's files (and, for
// an image task, its container: `cgroups_dir` is /shoal/<node>/<id>).
Status discard(const TaskPaths& paths, const TaskCgroup& cgroup, const ShimImage* image,
               const std::string& cgroups_dir) {
  SHOAL_TRY(kill_cgroup(cgroup.dir));
  SHOAL_TRY(wait_cgroup_empty(cgroup.dir, kKillTimeout));
  if (image != nullptr) {
    SHOAL_TRY(discard_container(paths, *image, cgroups_dir));
  }
  SHOAL_TRY(remove_task_cgroup(cgroup));
  return remove_tree(paths.dir);
}

// Undoes a start() that failed half way, unless dismissed.
class StartGuard {
 public:
  StartGuard(const TaskPaths& paths, const TaskCgroup& cgroup, const ShimImage* image,
             std::string cgroups_dir)
      : paths_(paths), cgroup_(cgroup), image_(image), cgroups_dir_(std::move(cgroups_dir)) {}
  StartGuard(const StartGuard&) = delete;
  StartGuard& operator=(const StartGuard&) = delete;
  ~StartGuard() {
    if (armed_) {
      [[maybe_unused]] Status ignored = discard(paths_, cgroup_, image_, cgroups_dir_);
    }
  }
  void dismiss() { armed_ = false; }

 private:
  const TaskPaths& paths_;
  const TaskCgroup& cgroup_;
  const ShimImage* image_;
  std::string cgroups_dir_;
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
  std::optional<ShimImage> image;  // an image task: its container is runc's
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
  // An image task's cgroup as runc names it, relative to every hierarchy's root; the container
  // is in its task/ leaf, as a process task is.
  std::string container_cgroups(const std::string& id) const {
    return "/shoal/" + config.node + "/" + id;
  }
  Status discard(const Task& task) const {
    return runtime::discard(task.paths, task.cgroup, task.image ? &*task.image : nullptr,
                            container_cgroups(task.id));
  }

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

// `runc kill` of a container's init; one that has just ended is no error.
Status signal_container(const Task& task, int signal) {
  Status sent = runc_of(*task.image).kill(task.id, signal);
  if (!sent.ok() && sent.error().errnum != ESRCH && sent.error().errnum != ENOENT) {
    return sent;
  }
  return {};
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
  if (auto spec = read_file(task->paths.spec()); spec.ok()) {
    if (auto decoded = decode_spec(*spec); decoded.ok()) {
      task->image = decoded->image;
    }
  }
  auto text = read_file(task->paths.pid());
  auto pids = text.ok() ? decode_pids(*text) : Result<PidRecord>(std::move(text).error());
  if (!pids.ok()) {
    // A start() that never finished (the agent died during it): nothing to adopt.
    [[maybe_unused]] Status ignored = discard(*task);
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
  SHOAL_TRY(make_dirs(state->config.state_dir + "/runc"));
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
  if (spec.image) {
    task->image = ShimImage{spec.image->rootfs, state_->config.runc_path,
                            state_->config.state_dir + "/runc", spec.image->stop_signal};
    shim.image = task->image;
  }
  if (::mkdir(task->paths.dir.c_str(), 0700) != 0) {
    return sys_error("start task", spec.id, errno, "creating " + task->paths.dir);
  }
  const std::string cgroups = state_->container_cgroups(spec.id);
  StartGuard guard(task->paths, task->cgroup, task->image ? &*task->image : nullptr, cgroups);
  if (spec.image) {
    SHOAL_TRY(write_bundle(task->paths, spec, shim.netns, cgroups + "/task"));
  }
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
  if (task->image) {
    SHOAL_TRY(signal_container(*task, task->image->stop_signal));
  } else if (auto main = open_process(task->pids.task); main.ok()) {
    SHOAL_TRY(signal_process(main->get(), SIGTERM, "task " + id));
  }
  if (!wait_gone(*task, grace)) {
    if (task->image) {
      [[maybe_unused]] Status killed = runc_of(*task->image).kill(id, SIGKILL, true);
    }
    // Whatever runc did, the task's cgroup leaf holds everything of it.
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
  SHOAL_TRY(state_->discard(*task));
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
