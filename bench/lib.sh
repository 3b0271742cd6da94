# Helpers the benchmark scripts share (sourced, not run).

# The median of the numbers on standard input (whitespace separated).
median() { tr -s ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# a / b to three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

# Runs the command until it succeeds, every 0.3 s, for at most $1 seconds (then fails).
wait_for() {  # seconds, command...: polls every 0.3 s
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.3
  done
}

# Re-runs the calling script in a private mount namespace, so the bpffs and cgroup2 mounts the load
# balancer makes when they are missing stay private to the benchmark. Call it first, with "$@".
private_mount_namespace() {
  [[ -n ${SHOAL_BENCH_UNSHARED:-} ]] && return 0
  exec env SHOAL_BENCH_UNSHARED=1 unshare -m --propagation slave "$0" "$@"
}
