#include "tests/unit/gossip/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace shoal::gossip::testing {

using Clock = std::chrono::steady_clock;

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    std::abort();
  pid_ = fork();
  if (pid_ < 0)
    std::abort();
  if (pid_ == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    std::vector<char*> args;
    for (std::string& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  in_fd_ = in[1];
  out_fd_ = out[0];
  err_fd_ = err[0];
  fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  close(in_fd_);
  close(out_fd_);
  close(err_fd_);
}

bool ChildProcess::write_line(const std::string& line) {
  // A child that died must fail the write, not kill the test with SIGPIPE.
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  const std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(in_fd_, data.data() + done, data.size() - done);
    if (n <= 0)
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void ChildProcess::signal(int sig) {
  if (!exit_code_)
    kill(pid_, sig);
}

void ChildProcess::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (poll(fds, 2, static_cast<int>(timeout.count())) <= 0)
    return;
  char buf[4096];
  ssize_t n;
  while ((n = read(out_fd_, buf, sizeof buf)) > 0) {
    partial_.append(buf, static_cast<size_t>(n));
    for (size_t eol; (eol = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back(partial_.substr(0, eol));
      partial_.erase(0, eol + 1);
    }
  }
  while ((n = read(err_fd_, buf, sizeof buf)) > 0)
    err_.append(buf, static_cast<size_t>(n));
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!exit_code_) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (Clock::now() >= deadline)
      return std::nullopt;
    pump(std::chrono::milliseconds(20));
  }
  pump(std::chrono::milliseconds(0));
  return exit_code_;
}

std::optional<std::string> ChildProcess::wait_for_line(
    const std::function<bool(const std::string&)>& match, std::chrono::milliseconds timeout,
    size_t from) {
  const auto deadline = Clock::now() + timeout;
  size_t checked = from;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      if (match(lines_[checked]))
        return lines_[checked];
    }
    const auto now = Clock::now();
    if (now >= deadline)
      return std::nullopt;
    pump(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                  std::chrono::milliseconds(100)));
  }
}

std::string ChildProcess::stderr_text() {
  pump(std::chrono::milliseconds(0));
  return err_;
}

}  // namespace shoal::gossip::testing
