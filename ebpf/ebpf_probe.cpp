#include "ebpf/ebpf_probe.h"

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace shoal::lb {

Status ebpf_available() {
  const bpf_insn program[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},  // r0 = 1: allow the connect
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const char license[] = "GPL";
  bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
  attr.expected_attach_type = BPF_CGROUP_INET4_CONNECT;
  attr.insns = reinterpret_cast<uint64_t>(program);
  attr.insn_cnt = 2;
  attr.license = reinterpret_cast<uint64_t>(license);
  UniqueFd fd(static_cast<int>(::syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr))));
  if (!fd.valid()) {
    return sys_error("load a cgroup/connect4 program", "on this kernel", errno,
                     "the eBPF load balancer needs BPF cgroup socket hooks");
  }
  return {};
}

}  // namespace shoal::lb
