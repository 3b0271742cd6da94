// shoal: the command-line client of shoald (see control/cli/README.md).
#include "control/cli/app.h"

int main(int argc, char** argv) {
  return shoal::cli::run(argc, argv);
}
