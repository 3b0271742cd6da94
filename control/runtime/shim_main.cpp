// shoal-task-shim --report-fd FD TASK_DIR
// Started by shoal::runtime::Runtime::start(); see shim.h.
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "control/runtime/shim.h"

int main(int argc, char** argv) {
  if (argc != 4 || std::string(argv[1]) != "--report-fd") {
    std::fprintf(stderr, "usage: shoal-task-shim --report-fd FD TASK_DIR\n");
    return 2;
  }
  char* end = nullptr;
  const long fd = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || fd < 0 || fd > 1024) {
    std::fprintf(stderr, "shoal-task-shim: bad report fd %s\n", argv[2]);
    return 2;
  }
  // Whatever else the agent had open (its gossip and gRPC sockets, files) must not live on in
  // the shim and its task: a restarted agent could not bind its ports again.
  const auto report_fd = static_cast<unsigned>(fd);
  if (report_fd > 3)
    ::syscall(SYS_close_range, 3u, report_fd - 1, 0u);
  ::syscall(SYS_close_range, report_fd + 1, ~0u, 0u);
  return shoal::runtime::run_shim(argv[3], static_cast<int>(fd));
}
