// Closing what a child process must not inherit, between fork and exec.
#pragma once

namespace shoal {

// Closes every descriptor numbered `lowest` or above. For a forked child before exec: shoald
// holds sockets and pipes that other threads opened without O_CLOEXEC (libraries do), and a
// child that keeps them holds shoald's ports (gossip, say) and sees its traffic. Async-signal-
// safe: close_range(2) (Linux 5.9), else one close(2) per possible descriptor up to the limit.
void close_fds_from(int lowest) noexcept;

}  // namespace shoal
