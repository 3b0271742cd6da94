#include "common/close_fds.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace shoal {

void close_fds_from(int lowest) noexcept {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, static_cast<unsigned>(lowest), ~0u, 0u) == 0)
    return;
#endif
  // Older kernels (ENOSYS): every number below the descriptor limit.
  rlimit limit{};
  rlim_t end = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    end = limit.rlim_cur;
  for (rlim_t fd = static_cast<rlim_t>(lowest); fd < end; ++fd)
    ::close(static_cast<int>(fd));
}

}  // namespace shoal
