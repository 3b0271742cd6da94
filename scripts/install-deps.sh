#!/usr/bin/env bash
# Installs every Debian package that Shoal's build, tests, benchmarks and demo need.
# Idempotent: packages already present are skipped, and `apt-get update` runs at most once.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang clang-format llvm libclang-rt-14-dev
  # dataplane (netlink)
  libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libmnl-dev iproute2 procps iputils-ping curl
  # eBPF
  libbpf-dev bpftool libelf-dev zlib1g-dev
  # gossip and common libraries
  libboost-dev libboost-system-dev libmsgpack-cxx-dev libssl-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  # wire formats and the control API
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc libsqlite3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev iperf3 sockperf nftables serf stress-ng wrk
  # IPVS backend (libnftables) and its tests in a VM (Debian's kernel has ip_vs)
  libnftables-dev ipvsadm qemu-system-x86 linux-image-amd64 busybox-static kmod cpio
  # embedded DNS
  libldns-dev dnsutils dnsmasq-base dnsperf
  # several managers: shoald runs its own etcd member (the package's service is never used)
  etcd-server etcd-client
  # compiler cache for scripts/build.sh
  ccache
  # the tasks' seccomp profile is loaded with libseccomp (runc needs libseccomp2 as well)
  libseccomp-dev
  # container images (#20): the OCI runtime, image transport and unpacking, a registry for the
  # tests and the demo (its service never started here), tini for --init
  runc skopeo umoci docker-registry tini
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: must run as root (it calls apt-get)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# No package's service may start here (etcd-server ships one; shoald runs its own members).
policy=/usr/sbin/policy-rc.d
policy_added=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && policy_added=1
  trap '((policy_added)) && rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
