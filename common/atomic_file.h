// Replacing a file's contents all at once: a reader, or the file system after a crash, sees the
// old file or the new one, never part of either.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace shoal {

enum class Durability {
  // Synced before and after the rename: once the call returns, the new contents survive a power
  // loss. Costs two fsyncs (milliseconds on a busy disk).
  kDurable,
  // No syncs, for files rewritten often whose contents mean nothing after a reboot anyway (a
  // task's pid file, the agent's per-task state). Other processes and a restarted daemon still
  // see the old file or the new one; after a power loss some file systems may show an empty one.
  kAtomicOnly,
};

// Writes `contents` to a new, uniquely named temporary file beside `path` (same directory, so the
// rename is atomic; unique, so two writers racing do not share one), gives it exactly `mode`
// before any byte is written (the umask does not apply, and a 0600 secret is never readable by
// others) and renames it over `path`. The directory must exist. On failure the temporary file is
// removed, `path` keeps its old contents (unless only the final directory sync failed) and the
// error names `path` and the step that failed.
Status write_file_atomically(const std::string& path, std::string_view contents, mode_t mode,
                             Durability durability = Durability::kDurable);

// Writes all of `data` to `fd`, through short and interrupted writes; errors name `path`. For
// files that must be written in place (cgroup controls, say).
Status write_all(int fd, std::string_view data, const std::string& path);

}  // namespace shoal
