# Helpers the benchmark scripts share (sourced, not run).

# The median of the numbers on standard input (whitespace separated).
median() { tr -s ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# a / b to three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

# Re-runs the calling script in a private mount namespace, so the bpffs and cgroup2 mounts the load
# balancer makes when they are missing stay private to the benchmark. Call it first, with "$@".
private_mount_namespace() {
  [[ -n ${SHOAL_BENCH_UNSHARED:-} ]] && return 0
  exec env SHOAL_BENCH_UNSHARED=1 unshare -m --propagation slave "$0" "$@"
}
