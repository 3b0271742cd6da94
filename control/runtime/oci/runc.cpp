#include "control/runtime/oci/runc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/spawn_attributes.h"
#include "common/unique_fd.h"

namespace shoal::runtime::oci {
namespace {

using Clock = std::chrono::steady_clock;

// runc's answers are a few hundred bytes (state) or a few lines (errors); more is kept out.
constexpr size_t kMaxCapture = 1024 * 1024;
// What of runc's log an error quotes.
constexpr std::streamoff kMaxLogTail = 16 * 1024;
// Where the subcommand sits in runc_args(): runc --root ROOT --log-format json SUBCOMMAND.
constexpr size_t kSubcommand = 5;
constexpr const char* kRuncEnv =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The spawn objects (destroyed on every path) and what runc gets.
class SpawnSetup : SpawnAttributes {
 public:
  // Descriptor `target` of the child is `fd`, or /dev/null when fd < 0.
  void stdio(int target, int fd) {
    if (fd >= 0)
      posix_spawn_file_actions_adddup2(&actions, fd, target);
    else
      posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0);
  }

  Result<pid_t> spawn(const std::vector<std::string>& args) {
    // The agent's threads may block signals or ignore SIGPIPE: runc starts with defaults.
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    // Descriptors other threads opened without O_CLOEXEC stay out of runc (and the container).
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> argv;
    for (const auto& arg : args)
      argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    char* envp[] = {const_cast<char*>(kRuncEnv), nullptr};
    pid_t pid = -1;
    if (int err = ::posix_spawn(&pid, args[0].c_str(), &actions, &attr, argv.data(), envp))
      return sys_error("spawn", args[0], err);
    return pid;
  }
};

// A spawned runc: killed and reaped on every path that does not reap it.
class Child {
 public:
  explicit Child(pid_t pid)
      : pid_(pid), pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {}
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int ignored = 0;
      ::waitpid(pid_, &ignored, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int pidfd() const { return pidfd_.get(); }

  // Reaps the child once it has exited (pidfd readable).
  ExitStatus reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (WIFSIGNALED(status))
      return {std::nullopt, WTERMSIG(status)};
    return {WEXITSTATUS(status), std::nullopt};
  }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

// Waits until the child has exited (its pidfd readable) or the deadline passes, then reaps it.
Result<ExitStatus> wait_child(Child& child, Clock::time_point deadline, const std::string& id) {
  if (child.pidfd() < 0)
    return sys_error("open pidfd of", "runc for " + id, errno);
  pollfd exited{child.pidfd(), POLLIN, 0};
  int ready = 0;
  while ((ready = ::poll(&exited, 1, remaining_ms(deadline))) < 0 && errno == EINTR) {
  }
  if (ready < 0)
    return sys_error("wait for", "runc for " + id, errno);
  if (ready == 0)
    return Error{"wait for", "runc for " + id, ETIMEDOUT, "no exit before the deadline"};
  return child.reap();
}

// Appends what is readable on fd to out (bounded); false at end of file or on an error.
bool drain(int fd, std::string& out) {
  char buffer[8192];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false;
  if (out.size() < kMaxCapture)
    out.append(buffer, std::min(static_cast<size_t>(n), kMaxCapture - out.size()));
  return true;
}

struct Captured {
  ExitStatus exit;
  std::string out;
  std::string err;
};

Error timed_out(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  return Error{args.size() > kSubcommand ? "runc " + args[kSubcommand] : "runc", args.back(),
               ETIMEDOUT, "no answer within " + std::to_string(timeout.count()) + " ms"};
}

// Waits for the child to exit (up to deadline), reading its stdout and stderr pipes meanwhile.
// A grandchild holding a pipe open does not keep this waiting: the child's exit ends it.
Result<Captured> collect(Child& child, UniqueFd out, UniqueFd err, Clock::time_point deadline) {
  if (child.pidfd() < 0)
    return sys_error("open pidfd of", "runc", errno);
  Captured got;
  pollfd fds[3] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}, {child.pidfd(), POLLIN, 0}};
  std::string* sinks[2] = {&got.out, &got.err};
  for (;;) {
    const int ready = ::poll(fds, 3, remaining_ms(deadline));
    if (ready < 0 && errno != EINTR)
      return sys_error("poll", "runc's output", errno);
    if (ready == 0)
      return Error{"wait for", "runc", ETIMEDOUT, "no exit before the deadline"};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
          !drain(fds[i].fd, *sinks[i]))
        fds[i].fd = -1;
    }
    if (fds[2].revents & POLLIN)
      break;
  }
  // Exited: what it wrote is in the pipes already.
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0)
      continue;
    ::fcntl(fds[i].fd, F_SETFL, O_NONBLOCK);
    for (;;) {
      const size_t before = sinks[i]->size();
      if (!drain(fds[i].fd, *sinks[i]) || sinks[i]->size() == before)
        break;
    }
  }
  got.exit = child.reap();
  return got;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

// The errno an answer of runc's stands for, so that callers can tell "gone" from "failed".
int errno_of(const std::string& message) {
  if (message.find("does not exist") != std::string::npos)
    return ENOENT;
  if (message.find("not running") != std::string::npos)
    return ESRCH;
  return 0;
}

// The messages of the error lines of runc's JSON log output (`--log-format json`), or the text
// itself when it has none (a panic, a message printed outside the logger).
std::string error_messages(const std::string& text) {
  std::istringstream lines(text);
  std::string errors;
  for (std::string line; std::getline(lines, line);) {
    const auto entry = nlohmann::json::parse(line, nullptr, false);
    if (!entry.is_object())
      continue;
    const std::string level = entry.value("level", "");
    if (level == "error" || level == "fatal")
      errors += (errors.empty() ? "" : "; ") + entry.value("msg", "");
  }
  return errors.empty() ? trim(text) : errors;
}

// The errors of runc's log file, from its tail.
std::string log_errors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return {};
  const std::streamoff size = in.tellg();
  in.seekg(std::max<std::streamoff>(0, size - kMaxLogTail));
  std::stringstream tail;
  tail << in.rdbuf();
  return error_messages(tail.str());
}

std::vector<std::string> runc_args(const RuncOptions& options,
                                   std::initializer_list<std::string> rest) {
  // JSON log lines, on stderr too, so that errors are read as runc's messages.
  std::vector<std::string> args{options.binary, "--root", options.root, "--log-format", "json"};
  args.insert(args.end(), rest);
  return args;
}

Status check_options(const RuncOptions& options) {
  if (options.root.empty() || options.root[0] != '/')
    return invalid_argument("runc root '" + options.root + "'", "not an absolute path");
  return {};
}

// Runs a short runc command with its output captured.
Result<Captured> run_captured(const RuncOptions& options, const std::vector<std::string>& args) {
  SHOAL_TRY(check_options(options));
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return sys_error("pipe", "runc stdout", errno);
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return sys_error("pipe", "runc stderr", errno);
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  SpawnSetup setup;
  setup.stdio(0, -1);
  setup.stdio(1, out_write.get());
  setup.stdio(2, err_write.get());
  SHOAL_ASSIGN_OR_RETURN(const pid_t pid, setup.spawn(args));
  Child child(pid);
  out_write.reset();
  err_write.reset();
  auto got =
      collect(child, std::move(out_read), std::move(err_read), Clock::now() + options.timeout);
  if (!got.ok() && got.error().errnum == ETIMEDOUT)
    return timed_out(args, options.timeout);
  return got;
}

Error runc_error(const std::vector<std::string>& args, const std::string& id, const Captured& got) {
  const std::string message = error_messages(got.err.empty() ? got.out : got.err);
  const std::string how = got.exit.signal ? "killed by signal " + std::to_string(*got.exit.signal)
                                          : "exit " + std::to_string(got.exit.code.value_or(-1));
  return Error{"runc " + args[kSubcommand], id, errno_of(message), how + ": " + message};
}

Result<pid_t> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  long long pid = 0;
  if (!(in >> pid) || pid <= 0 || pid > INT32_MAX)
    return Error{"read", path, 0, "no pid in runc's pid file"};
  return static_cast<pid_t>(pid);
}

// Runs runc with the container's stdio (a container started by it inherits them) and waits for
// it to exit; errors say "runc run".
Result<ExitStatus> run_with_io(const std::vector<std::string>& args, const ContainerIo& io,
                               Clock::time_point deadline, const std::string& id) {
  SpawnSetup setup;
  setup.stdio(0, io.in);
  setup.stdio(1, io.out);
  setup.stdio(2, io.err);
  SHOAL_ASSIGN_OR_RETURN(const pid_t pid, setup.spawn(args));
  Child child(pid);
  auto waited = wait_child(child, deadline, id);
  if (!waited.ok()) {
    Error error = std::move(waited).error();
    error.op = "runc run";
    return error;
  }
  return waited;
}

}  // namespace

Result<pid_t> Runc::run_detached(const std::string& id, const std::string& bundle,
                                 const ContainerIo& io) {
  SHOAL_TRY(check_options(options_));
  const std::string pid_file = bundle + "/container.pid";
  const std::string log_file = bundle + "/runc.log";
  ::unlink(pid_file.c_str());
  ::unlink(log_file.c_str());
  const auto args = runc_args(options_, {"--log", log_file, "run", "--detach", "--pid-file",
                                         pid_file, "--bundle", bundle, id});
  SHOAL_ASSIGN_OR_RETURN(const ExitStatus status,
                         run_with_io(args, io, Clock::now() + options_.timeout, id));
  if (status.code != 0) {
    const std::string message = log_errors(log_file);
    return Error{"runc run", id, errno_of(message), message.empty() ? "runc failed" : message};
  }
  return read_pid_file(pid_file);
}

Result<int> Runc::run(const std::string& id, const std::string& bundle, const ContainerIo& io,
                      std::chrono::milliseconds timeout) {
  SHOAL_TRY(check_options(options_));
  const std::string log_file = bundle + "/runc.log";
  ::unlink(log_file.c_str());
  const auto args = runc_args(options_, {"--log", log_file, "run", "--bundle", bundle, id});
  SHOAL_ASSIGN_OR_RETURN(const ExitStatus status,
                         run_with_io(args, io, Clock::now() + timeout, id));
  if (status.signal)
    return Error{"runc run", id, 0, "runc killed by signal " + std::to_string(*status.signal)};
  // runc's own failure is logged; the container's exit code is not.
  if (*status.code != 0) {
    if (std::string message = log_errors(log_file); !message.empty())
      return Error{"runc run", id, errno_of(message), message};
  }
  return *status.code;
}

Status Runc::kill(const std::string& id, int signal, bool all) {
  auto args = runc_args(options_, {"kill"});
  if (all)
    args.push_back("--all");
  args.push_back(id);
  args.push_back(std::to_string(signal));
  SHOAL_ASSIGN_OR_RETURN(const Captured got, run_captured(options_, args));
  if (got.exit.code != 0)
    return runc_error(args, id, got);
  return {};
}

Result<std::optional<ContainerState>> Runc::state(const std::string& id) {
  const auto args = runc_args(options_, {"state", id});
  SHOAL_ASSIGN_OR_RETURN(const Captured got, run_captured(options_, args));
  if (got.exit.code != 0) {
    Error error = runc_error(args, id, got);
    if (error.errnum == ENOENT)
      return std::optional<ContainerState>();
    return error;
  }
  const auto doc = nlohmann::json::parse(got.out, nullptr, false);
  if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string() ||
      !doc.contains("status") || !doc["status"].is_string())
    return Error{"parse runc state", id, 0, "not a state document: " + got.out.substr(0, 200)};
  ContainerState state;
  state.id = doc["id"].get<std::string>();
  state.status = doc["status"].get<std::string>();
  if (doc.contains("pid") && doc["pid"].is_number_integer())
    state.pid = static_cast<int>(doc["pid"].get<long long>());
  if (doc.contains("bundle") && doc["bundle"].is_string())
    state.bundle = doc["bundle"].get<std::string>();
  return std::optional<ContainerState>(std::move(state));
}

Status Runc::delete_container(const std::string& id, bool force) {
  auto args = runc_args(options_, {"delete"});
  if (force)
    args.push_back("--force");
  args.push_back(id);
  SHOAL_ASSIGN_OR_RETURN(const Captured got, run_captured(options_, args));
  if (got.exit.code != 0) {
    Error error = runc_error(args, id, got);
    if (error.errnum != ENOENT)
      return error;
  }
  return {};
}

Result<std::vector<std::string>> Runc::list() {
  const auto args = runc_args(options_, {"list", "--quiet"});
  SHOAL_ASSIGN_OR_RETURN(const Captured got, run_captured(options_, args));
  if (got.exit.code != 0)
    return runc_error(args, "containers in " + options_.root, got);
  std::vector<std::string> ids;
  std::istringstream lines(got.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty())
      ids.push_back(line);
  }
  return ids;
}

Status become_child_subreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    return sys_error("become", "child subreaper", errno);
  return {};
}

Result<ExitStatus> wait_for_exit(pid_t pid, std::optional<std::chrono::milliseconds> timeout) {
  // Our child (re-parented to us): its pid cannot be reused before we reap it.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid())
    return sys_error("open pidfd of", "process " + std::to_string(pid), errno);
  const auto deadline = Clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  pollfd exited{pidfd.get(), POLLIN, 0};
  int ready = 0;
  while ((ready = ::poll(&exited, 1, timeout ? remaining_ms(deadline) : -1)) < 0 &&
         errno == EINTR) {
  }
  if (ready == 0)
    return Error{"wait for", "process " + std::to_string(pid), ETIMEDOUT, "still running"};
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) != 0) {
    if (errno != EINTR)
      return sys_error("wait for", "process " + std::to_string(pid), errno,
                       "not a child of this process (is it the child subreaper?)");
  }
  if (info.si_code == CLD_EXITED)
    return ExitStatus{info.si_status, std::nullopt};
  return ExitStatus{std::nullopt, info.si_status};
}

}  // namespace shoal::runtime::oci
