// posix_spawn's attribute and file-action objects, owned: made with the object and destroyed
// on every path out of the caller. The agent is multi-threaded, so it starts programs only with
// posix_spawn (nothing runs between fork and exec); each caller sets what its child needs.
#pragma once

#include <spawn.h>

namespace shoal {

struct SpawnAttributes {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};

  SpawnAttributes() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

}  // namespace shoal
