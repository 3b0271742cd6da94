// shoal-task-shim --report-fd FD TASK_DIR
// Started by shoal::runtime::Runtime::start(); see shim.h.
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
  return shoal::runtime::run_shim(argv[3], static_cast<int>(fd));
}
