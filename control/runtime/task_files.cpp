#include "control/runtime/task_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/atomic_file.h"
#include "common/unique_fd.h"

namespace shoal::runtime {

using nlohmann::json;

std::string encode_spec(const ShimSpec& spec) {
  json j = {{"argv", spec.argv},
            {"env", spec.env},
            {"workdir", spec.workdir},
            {"netns", spec.netns},
            {"resolv_conf", spec.resolv_conf},
            {"hosts", spec.hosts},
            {"hostname", spec.hostname},
            {"shim_cgroup", spec.shim_cgroup},
            {"task_cgroup", spec.task_cgroup},
            {"files", json::array()},
            {"hidden", spec.hidden}};
  for (const auto& file : spec.files)
    j["files"].push_back({{"source", file.source}, {"target", file.target}});
  if (spec.image)
    j["image"] = {{"lower", spec.image->lower},
                  {"runc", spec.image->runc},
                  {"runc_root", spec.image->runc_root},
                  {"stop_signal", spec.image->stop_signal}};
  return j.dump(2) + "\n";
}

Result<ShimSpec> decode_spec(const std::string& text) {
  try {
    const json j = json::parse(text);
    ShimSpec spec;
    j.at("argv").get_to(spec.argv);
    j.at("env").get_to(spec.env);
    j.at("workdir").get_to(spec.workdir);
    j.at("netns").get_to(spec.netns);
    j.at("resolv_conf").get_to(spec.resolv_conf);
    j.at("hosts").get_to(spec.hosts);
    j.at("hostname").get_to(spec.hostname);
    j.at("shim_cgroup").get_to(spec.shim_cgroup);
    j.at("task_cgroup").get_to(spec.task_cgroup);
    for (const auto& file : j.value("files", json::array()))
      spec.files.push_back(
          {file.at("source").get<std::string>(), file.at("target").get<std::string>()});
    spec.hidden = j.value("hidden", std::vector<std::string>());
    if (j.contains("image")) {
      const json& image = j.at("image");
      spec.image =
          ShimImage{image.at("lower").get<std::string>(), image.at("runc").get<std::string>(),
                    image.at("runc_root").get<std::string>(), image.at("stop_signal").get<int>()};
    }
    return spec;
  } catch (const json::exception& e) {
    return invalid_argument("task spec", e.what());
  }
}

std::string encode_pids(const PidRecord& pids) {
  std::ostringstream out;
  out << "shim " << pids.shim.pid << " " << pids.shim.start_time << "\n"
      << "task " << pids.task.pid << " " << pids.task.start_time << "\n";
  return out.str();
}

Result<PidRecord> decode_pids(const std::string& text) {
  std::istringstream in(text);
  PidRecord pids;
  std::string shim, task;
  in >> shim >> pids.shim.pid >> pids.shim.start_time >> task >> pids.task.pid >>
      pids.task.start_time;
  if (!in || shim != "shim" || task != "task" || pids.shim.pid <= 0 || pids.task.pid <= 0) {
    return invalid_argument("pid file", "expected \"shim PID START\\ntask PID START\"");
  }
  return pids;
}

std::string encode_exit(const ExitRecord& exit) {
  if (exit.exit_code) {
    return "exit " + std::to_string(*exit.exit_code) + "\n";
  }
  if (exit.signal) {
    return "signal " + std::to_string(*exit.signal) + "\n";
  }
  return "unknown\n";
}

Result<ExitRecord> decode_exit(const std::string& text) {
  std::istringstream in(text);
  std::string kind;
  int value = 0;
  in >> kind;
  if (kind == "unknown") {
    return ExitRecord{};
  }
  in >> value;
  if (in && kind == "exit") {
    return ExitRecord{value, std::nullopt};
  }
  if (in && kind == "signal") {
    return ExitRecord{std::nullopt, value};
  }
  return invalid_argument("exit file", "expected \"exit N\", \"signal N\" or \"unknown\"");
}

ExitRecord exit_from_wait_status(int status) {
  if (WIFEXITED(status)) {
    return ExitRecord{WEXITSTATUS(status), std::nullopt};
  }
  if (WIFSIGNALED(status)) {
    return ExitRecord{std::nullopt, WTERMSIG(status)};
  }
  return ExitRecord{};
}

Status write_file(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return sys_error("open", path, errno);
  }
  return write_all(fd.get(), content, path);
}

Result<std::string> read_file(const std::string& path) {
  return read_tail(path, SIZE_MAX);
}

Result<std::string> read_tail(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return sys_error("open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return sys_error("stat", path, errno);
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size > max_bytes && ::lseek(fd.get(), static_cast<off_t>(size - max_bytes), SEEK_SET) < 0) {
    return sys_error("seek", path, errno);
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return sys_error("read", path, errno);
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  // The file may have grown while we read; keep the promise of at most max_bytes.
  if (text.size() > max_bytes) {
    text.erase(0, text.size() - max_bytes);
  }
  return text;
}

bool path_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

Status remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) {
    return sys_error("remove", path, ec.value());
  }
  return {};
}

}  // namespace shoal::runtime
