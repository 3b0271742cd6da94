#!/usr/bin/env bash
# Simulated hosts on one machine: each host is a network namespace with one underlay interface
# on a bridge that lives in a namespace of its own. The root namespace is never touched. The
# interfaces are named as real hosts name theirs (ens3, enp1s0, eno1, ...), never eth0, so
# nothing in Shoal may assume a host's uplink name.
#
#   testbed.sh up RUN N [MTU]   hosts shoal-RUN-h1..hN, uplink = ${SHOAL_UNDERLAY_NET:-198.51.100}.(10+i)/24
#   testbed.sh down RUN         kill every process in, and delete, every namespace named shoal-RUN*
#                               and the node cgroups and bpffs pins of its agents
#   testbed.sh clean            down every test run whose owner process is gone (names shoal-t<PID>r*)
#   testbed.sh ip RUN I         print host I's underlay address
#   testbed.sh uplink I         print host I's underlay interface name
#
# Every name starts with shoal-RUN, so runs coexist and a teardown never touches another run.
set -euo pipefail

net=${SHOAL_UNDERLAY_NET:-198.51.100}

die() { echo "testbed.sh: $*" >&2; exit 1; }
host_ip() { echo "$net.$((10 + $1))"; }
uplink_names=(ens3 enp1s0 eno1 enp0s31f6 ens18 enp3s0)
host_uplink() { echo "${uplink_names[$((($1 - 1) % ${#uplink_names[@]}))]}"; }

run_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^shoal-$1(-|h[0-9]+-|$)" || true
}

# Node cgroups and bpffs pins the run's agents made: <mount>/shoal/<run>h<i>.
run_node_dirs() {
  local fstype=$1 mnt
  for mnt in $(awk -v t="$fstype" '$3 == t {print $2}' /proc/self/mounts); do
    compgen -G "$mnt/shoal/$2h[0-9]*" || true
  done
}

down() {
  local run=$1 ns dir
  for dir in $(run_node_dirs cgroup2 "$run"); do
    # The node cgroup holds its tasks' cgroups: kill the whole subtree, wait until it is
    # empty, then remove it bottom-up.
    echo 1 >"$dir/cgroup.kill" 2>/dev/null ||
      find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    for _ in $(seq 50); do
      grep -q '^populated 0' "$dir/cgroup.events" 2>/dev/null && break
      sleep 0.1
    done
    find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  for dir in $(run_node_dirs bpf "$run"); do
    rm -rf "$dir"
  done
  for dir in $(awk '$3 == "cgroup2" || $3 == "bpf" {print $2 "/shoal"}' /proc/self/mounts); do
    rmdir "$dir" 2>/dev/null || true  # the shared parent, once no node uses it
  done
  for ns in $(run_namespaces "$run"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  for ns in $(run_namespaces "$run"); do
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  local run=$1 hosts=$2 mtu=${3:-1500} ul="shoal-$1-ul" i ns uplink
  [[ $run =~ ^[a-z0-9]{1,20}$ ]] || die "run id '$run' must be 1-20 characters of a-z0-9"
  [[ $hosts =~ ^[0-9]+$ ]] && ((hosts >= 1 && hosts <= 200)) || die "host count must be 1-200"
  [[ $mtu =~ ^[0-9]+$ ]] && ((mtu >= 1280 && mtu <= 65535)) || die "MTU must be 1280-65535"
  [[ -z $(run_namespaces "$run") ]] || die "run '$run' already exists (testbed.sh down $run)"
  trap 'down "$run"' ERR
  ip netns add "$ul"
  ip -n "$ul" link add br0 mtu "$mtu" type bridge
  ip -n "$ul" link set br0 up
  ip -n "$ul" link set lo up
  for ((i = 1; i <= hosts; i++)); do
    ns="shoal-$run-h$i"
    ip netns add "$ns"
    uplink=$(host_uplink "$i")
    ip -n "$ul" link add "h$i" mtu "$mtu" type veth peer name "$uplink" mtu "$mtu" netns "$ns"
    ip -n "$ul" link set "h$i" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$(host_ip "$i")/24" dev "$uplink"
    ip -n "$ns" link set "$uplink" up
  done
  trap - ERR
}

clean() {
  local name pid
  # Test runs are t<PID>r<N>: their namespaces are shoal-t<PID>r..., their agents' cgroups and
  # pins <mount>/shoal/t<PID>r<N>h<I>.
  for name in $(ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^shoal-\(t[0-9]*r\).*/\1/p') \
    $(awk '$3 == "cgroup2" || $3 == "bpf" {print $2 "/shoal"}' /proc/self/mounts |
      xargs -r -I{} find {} -maxdepth 1 -name 't*r*' -printf '%f\n' 2>/dev/null |
      sed -n 's/^\(t[0-9]*r\).*/\1/p'); do
    pid=${name#t}; pid=${pid%r}
    # Every run of that process: "[0-9]*" reads the same as a regex (namespaces) and a glob (dirs).
    kill -0 "$pid" 2>/dev/null || down "${name}[0-9]*"
  done
}

[[ $(id -u) -eq 0 ]] || die "must run as root"
case "${1:-}" in
  up) [[ $# -ge 3 ]] || die "usage: testbed.sh up RUN N [MTU]"; up "$2" "$3" "${4:-1500}" ;;
  down) [[ $# -eq 2 ]] || die "usage: testbed.sh down RUN"; down "$2" ;;
  clean) clean ;;
  ip) [[ $# -eq 3 ]] || die "usage: testbed.sh ip RUN I"; host_ip "$3" ;;
  uplink) [[ $# -eq 2 && $2 =~ ^[0-9]+$ && $2 -ge 1 ]] || die "usage: testbed.sh uplink I"; host_uplink "$2" ;;
  *) die "usage: testbed.sh up|down|clean|ip|uplink ..." ;;
esac
