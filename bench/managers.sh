#!/usr/bin/env bash
# bench/managers.sh [WRITES] [FAILOVERS]      (as root; defaults 300 and 5)
#
# Several managers through shoald (issue #8), on three simulated hosts with one shoald each:
#   write latency   WRITES control writes (UpdateNode: one label, one store commit each) from the
#                   CLI socket of host 1, one at a time, p50/p99/max: first with one manager (the
#                   SQLite store, the reference), then with three (h2 and h3 joined with the
#                   manager token; the etcd store, every write a raft commit) from the leader and
#                   from a follower (forwarded to the leader);
#   through the CLI the same writes as a user makes them (`shoal node update --label-add`, one
#                   process each, CLI_WRITES of them), 1 vs 3 managers;
#   failover        FAILOVERS times: the leader's host is cut from the underlay and its shoald
#                   killed (its etcd member with it); milliseconds until the first control write
#                   through a surviving manager succeeds (tried every 50 ms). The host then comes
#                   back and rejoins before the next round. Reference: the lease TTL (3 s) plus
#                   one poll (0.2 s); a round can beat it when the cut leader last renewed its
#                   lease well before the cut.
# shoal-control-bench makes the calls in-process. Prints Markdown tables with the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
writes=${1:-300}
failovers=${2:-5}
cli_writes=${SHOAL_MANAGERS_CLI_WRITES:-50}
hosts=3
run="mg$$"
[[ $(id -u) -eq 0 ]] || { echo "managers.sh: run as root" >&2; exit 1; }
[[ -x build/bin/shoald && -x build/bench/shoal-control-bench ]] || scripts/build.sh >&2

work=$(mktemp -d /tmp/shoal-managers.XXXXXX)
cleanup() {
  local h
  for ((h = 1; h <= hosts; h++)); do
    pkill -9 -f "shoald --state-dir $work/h$h " 2>/dev/null || true
  done
  sleep 1
  scripts/testbed.sh down "$run"
  [[ -n ${SHOAL_MANAGERS_KEEP:-} ]] && echo "managers.sh: logs kept in $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

host_ip() { scripts/testbed.sh ip "$run" "$1"; }
sock() { echo "$work/h$1/shoald.sock"; }
shoal_on() { local h=$1; shift; build/bin/shoal -H "unix://$(sock "$h")" "$@"; }
bench() { build/bench/shoal-control-bench "$@"; }
log() { echo "[$(date +%T)] $*" >&2; }
start_daemon() {
  setsid ip netns exec "shoal-$run-h$1" build/bin/shoald --state-dir "$work/h$1" \
    --advertise-addr "$(host_ip "$1")" --node-name "h$1" --node-tag "${run}h$1" \
    </dev/null >>"$work/h$1.log" 2>&1 &
  wait_for 10 test -S "$(sock "$1")"
}
leader_host() {  # as host $1 sees it
  shoal_on "$1" node ls 2>/dev/null | awk '/Leader/ {for (i = 1; i <= NF; i++) if ($i ~ /^h[0-9]+$/) print substr($i, 2)}'
}
reachable_managers() { shoal_on "$1" node ls 2>/dev/null | grep -cE 'Leader|Reachable' || true; }
# CLI_WRITES `shoal node update` runs on host $1: "p50_ms p99_ms".
cli_latency() {
  local i start samples=()
  for ((i = 0; i < cli_writes; i++)); do
    start=$(date +%s%N)
    shoal_on "$1" node update --label-add "cli=$i" h1 >/dev/null
    samples+=($((($(date +%s%N) - start) / 1000)))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{v[NR] = $1 / 1000} END {i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f %.1f\n", v[int((NR + 1) / 2)], v[i]}'
}
find_leader() {  # sets $leader from the first manager that names one
  local h
  for ((h = 1; h <= hosts; h++)); do
    leader=$(leader_host "$h")
    [[ -n $leader ]] && return 0
  done
  return 1
}
three_managers_up() { [[ $(reachable_managers "$1") -eq 3 ]]; }

scripts/testbed.sh up "$run" "$hosts"
for ((h = 1; h <= hosts; h++)); do
  mkdir -p "$work/h$h"
  start_daemon "$h" || { echo "managers.sh: shoald $h did not start" >&2; exit 1; }
done
shoal_on 1 swarm init --advertise-addr "$(host_ip 1)" >/dev/null

log "one manager: $writes writes"
read -r one_p50 one_p99 one_max < <(bench latency "$(sock 1)" h1 "$writes")
read -r cli_one_p50 cli_one_p99 < <(cli_latency 1)

token=$(shoal_on 1 swarm join-token -q manager)
for h in 2 3; do
  shoal_on "$h" swarm join --token "$token" "$(host_ip 1):2377" >/dev/null
done
wait_for 60 three_managers_up 1 || { shoal_on 1 node ls >&2; exit 1; }
log "three managers: $writes writes from the leader, then from a follower"
read -r three_p50 three_p99 three_max < <(bench latency "$(sock 1)" h1 "$writes")
read -r fwd_p50 fwd_p99 fwd_max < <(bench latency "$(sock 2)" h1 "$writes")
read -r cli_three_p50 cli_three_p99 < <(cli_latency 1)

times=()
for ((round = 1; round <= failovers; round++)); do
  leader=""
  wait_for 30 find_leader || { echo "managers.sh: no leader" >&2; shoal_on 1 node ls >&2; exit 1; }
  survivor=$((leader % hosts + 1))
  ip -n "shoal-$run-ul" link set "h$leader" down
  pkill -9 -f "shoald --state-dir $work/h$leader " || true
  ms=$(bench first-ok "$(sock "$survivor")" "h$survivor" 60)
  times+=("$ms")
  log "round $round: leader h$leader cut; a write through h$survivor after $ms ms"
  ip -n "shoal-$run-ul" link set "h$leader" up
  start_daemon "$leader"
  wait_for 60 three_managers_up "$survivor" || { shoal_on "$survivor" node ls >&2; exit 1; }
  sleep 2
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
fo_p50=$(printf '%s\n' "${times[@]}" | median)
fo_max=$(echo "$sorted" | tail -1)

echo
echo "| control write (UpdateNode) | p50 ms | p99 ms | max ms | p50 ratio | p99 ratio |"
echo "|---|---|---|---|---|---|"
echo "| 1 manager (SQLite, reference) | $one_p50 | $one_p99 | $one_max | 1 | 1 |"
echo "| 3 managers, from the leader | $three_p50 | $three_p99 | $three_max | $(ratio "$three_p50" "$one_p50") | $(ratio "$three_p99" "$one_p99") |"
echo "| 3 managers, from a follower | $fwd_p50 | $fwd_p99 | $fwd_max | $(ratio "$fwd_p50" "$one_p50") | $(ratio "$fwd_p99" "$one_p99") |"
echo
echo "| the same write through the shoal CLI ($cli_writes runs) | p50 ms | p99 ms | p50 ratio | p99 ratio |"
echo "|---|---|---|---|---|"
echo "| 1 manager (reference) | $cli_one_p50 | $cli_one_p99 | 1 | 1 |"
echo "| 3 managers, from the leader | $cli_three_p50 | $cli_three_p99 | $(ratio "$cli_three_p50" "$cli_one_p50") | $(ratio "$cli_three_p99" "$cli_one_p99") |"
echo
echo "| leader failover, host cut to first write ($failovers rounds) | p50 ms | max ms | p50 / (lease TTL + poll, 3200 ms) |"
echo "|---|---|---|---|"
echo "| through a surviving manager | $fo_p50 | $fo_max | $(ratio "$fo_p50" 3200) |"
echo "all rounds (ms): ${times[*]}"
