#!/usr/bin/env bash
# bench/gossip.sh [IDLE_SECONDS] [STRESS_SECONDS] [N...]      (as root; N defaults to "10 30")
#
# Shoal's gossip (shoal-gossip agent) side by side with stock Serf (Debian's serf agent), both
# with memberlist's LAN profile (probe 1 s, gossip 200 ms to 3 nodes, push/pull 30 s, suspicion
# mult 4; serf -profile=lan, shoal-gossip without --fast), N members each, all in one network
# namespace of the benchmark's own on loopback addresses (Shoal 127.0.10.i, Serf 127.0.20.i,
# networkdb table agents 127.0.40.i; port 7946), so nftables counters there see only their
# traffic and the root namespace is untouched. For each N:
#   converge  seconds from launching N-1 joiners (seed already up) until every member lists all N
#             (Shoal: member-join lines on stdout; Serf: EventMemberJoin lines of its log);
#   bytes     idle gossip bytes per second per member (IP bytes, nftables counters), over
#             IDLE_SECONDS (default 90: push/pull runs every 30 s) after a 10 s settle;
#   false     members reported failed while `stress-ng --cpu 1` saturates one core for
#             STRESS_SECONDS (nobody is killed: every report is false);
#   detect    seconds from SIGKILL of one member (of each cluster, at the same moment) until
#             every other member reported it failed;
#   table     (Shoal only) N `shoal-gossip table-agent` members in one network: 100 entries
#             written one by one at member 1, p50/p99 over entries of the time until the last
#             other member's watch saw it (system clock, same machine).
# Prints a Markdown table per N and the Shoal/Serf ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
idle=${1:-90}
stress=${2:-60}
shift $(($# >= 2 ? 2 : $#))
sizes=("$@")
((${#sizes[@]})) || sizes=(10 30)
bin=${SHOAL_GOSSIP_BIN:-build/gossip/shoal-gossip}
entries=${SHOAL_BENCH_TABLE_ENTRIES:-100}
[[ $(id -u) -eq 0 ]] || { echo "gossip.sh: run as root" >&2; exit 1; }
command -v serf >/dev/null && command -v stress-ng >/dev/null || scripts/install-deps.sh >&2
[[ -x $bin ]] || cmake --build build --target shoal-gossip >&2

# Everything runs in a namespace of our own; the outer run removes it and whatever is left in it.
if [[ -z ${SHOAL_GOSSIP_BENCH_NS:-} ]]; then
  ns="shoal-gbench$$"
  ip netns add "$ns"
  trap 'ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true' EXIT
  ip -n "$ns" link set lo up
  SHOAL_GOSSIP_BENCH_NS=$ns ip netns exec "$ns" "$0" "$idle" "$stress" "${sizes[@]}"
  exit
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN {printf "%.2f", (b - a) / 1e9}'; }

nft -f - <<'EOF'
table inet gbench {
  chain out {
    type filter hook output priority 0;
    ip daddr 127.0.10.0/24 counter comment "shoal"
    ip saddr 127.0.10.0/24 ip daddr != 127.0.10.0/24 counter comment "shoal"
    ip daddr 127.0.20.0/24 counter comment "serf"
    ip saddr 127.0.20.0/24 ip daddr != 127.0.20.0/24 counter comment "serf"
  }
}
EOF
# Bytes counted so far for one implementation (outbound TCP of both uses 127.0.0.1 as source,
# hence the two rules each).
counted_bytes() {
  nft list table inet gbench | awk -v who="\"$1\"" '$0 ~ who {for (i = 1; i < NF; i++) if ($i == "bytes") s += $(i + 1)} END {print s + 0}'
}

# Members (of files $2...) that list at least $1 distinct names in lines matching the pattern.
# Shoal: {"addr":..,"event":"member-join","name":"X",..}; Serf: "EventMemberJoin: X addr".
count_ready() {
  local want=$1 kind=$2
  shift 2
  awk -v want="$want" -v kind="$kind" '
    FNR == 1 { if (seen_file) done += (n >= want); n = 0; seen_file = 1; delete names }
    kind == "shoal" && /"event":"member-join"/ {
      match($0, /"name":"[^"]*"/); name = substr($0, RSTART + 8, RLENGTH - 9)
      if (!(name in names)) { names[name] = 1; n++ }
    }
    kind == "serf" && /EventMemberJoin: / {
      match($0, /EventMemberJoin: [^ ]*/); name = substr($0, RSTART + 17, RLENGTH - 17)
      if (!(name in names)) { names[name] = 1; n++ }
    }
    END { if (seen_file) done += (n >= want); print done + 0 }' "$@"
}

# Files (of $2...) that report member $1 failed.
count_failed() {
  local name=$1
  shift
  { grep -lE "\"event\":\"member-failed\",\"name\":\"$name\"|EventMemberFailed: $name " "$@" 2>/dev/null || true; } | wc -l
}
# Failure reports of any member in the files.
all_failures() {
  cat "$@" | grep -cE '"event":"member-failed"|EventMemberFailed: ' || true
}

start_shoal() {  # index, [join address]
  "$bin" agent --name "sh$1" --bind "127.0.10.$1:7946" ${2:+--join "$2"} \
    >"$work/shoal$1.out" 2>"$work/shoal$1.err" &
  pids+=($!)
  shoal_pid[$1]=$!
}
start_serf() {
  serf agent -node="sf$1" -bind="127.0.20.$1:7946" -rpc-addr="127.0.30.$1:7373" -profile=lan \
    -log-level=info ${2:+-join="$2"} >"$work/serf$1.out" 2>&1 &
  pids+=($!)
  serf_pid[$1]=$!
}

# Waits until `count_ready` reaches the count for both clusters; prints "shoal_s serf_s".
wait_both() {  # t0, want_shoal, want_serf, timeout_s, checker (ready|failed), [name_shoal name_serf]
  local t0=$1 want_shoal=$2 want_serf=$3 timeout=$4 check=$5 shoal_t="" serf_t="" got
  local deadline=$(($(now_ns) + timeout * 1000000000))
  while [[ -z $shoal_t || -z $serf_t ]] && (($(now_ns) < deadline)); do
    if [[ -z $shoal_t ]]; then
      if [[ $check == ready ]]; then got=$(count_ready "$want_shoal" shoal "${shoal_files[@]}"); else got=$(count_failed "$6" "${shoal_files[@]}"); fi
      ((got >= ${#shoal_files[@]})) && shoal_t=$(secs_since "$t0")
    fi
    if [[ -z $serf_t ]]; then
      if [[ $check == ready ]]; then got=$(count_ready "$want_serf" serf "${serf_files[@]}"); else got=$(count_failed "$7" "${serf_files[@]}"); fi
      ((got >= ${#serf_files[@]})) && serf_t=$(secs_since "$t0")
    fi
    sleep 0.05
  done
  echo "${shoal_t:-timeout} ${serf_t:-timeout}"
}

percentile() {  # p (0-100) of the numbers on stdin
  sort -g | awk -v p="$1" '{v[NR] = $1} END {if (NR == 0) {print "n/a"; exit} i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i]}'
}

table_propagation() {  # n: prints "p50_ms p99_ms missing"
  local n=$1 i fifo="$work/writer.in"
  mkfifo "$fifo"
  "$bin" table-agent --name "t1" --bind 127.0.40.1:7946 --network net-1 \
    <"$fifo" >"$work/table1.out" 2>"$work/table1.err" &
  pids+=($!)
  exec 3>"$fifo"
  sleep 0.5
  for ((i = 2; i <= n; i++)); do
    "$bin" table-agent --name "t$i" --bind "127.0.40.$i:7946" --join 127.0.40.1:7946 \
      --network net-1 </dev/null >"$work/table$i.out" 2>"$work/table$i.err" &
    pids+=($!)
  done
  local files=() deadline=$(($(now_ns) + 120 * 1000000000))
  for ((i = 1; i <= n; i++)); do files+=("$work/table$i.out"); done
  local ready=0
  until ((ready >= n)); do
    ready=$(count_ready $((n - 1)) shoal "${files[@]}")
    if (($(now_ns) >= deadline)); then
      echo "gossip.sh: only $ready of $n table agents converged" >&2
      cat "$work"/table*.err >&2
      break
    fi
    sleep 0.2
  done
  # Everyone must know everyone's attachment to net-1 before writes count.
  until echo status >&3 && sleep 0.3 && tail -n 1 "$work/table1.out" | grep -q "\"peers\":$((n - 1))"; do
    (($(now_ns) < deadline)) || { echo "gossip.sh: network peers incomplete" >&2; break; }
  done
  sleep 3
  for ((i = 0; i < entries; i++)); do
    echo "create peers net-1 k$i v$i" >&3
    sleep 0.1
  done
  sleep 5
  exec 3>&-
  # Per key: the write time at t1, then the latest watch time among the others.
  awk -v n="$n" '
    FILENAME ~ /table1.out$/ && /"event":"ok"/ && /"command":"create"/ {
      match($0, /"key":"[^"]*"/); k = substr($0, RSTART + 7, RLENGTH - 8)
      match($0, /"t_us":[0-9]+/); w[k] = substr($0, RSTART + 7, RLENGTH - 7) + 0
    }
    FILENAME !~ /table1.out$/ && /"event":"table-create"/ {
      match($0, /"key":"[^"]*"/); k = substr($0, RSTART + 7, RLENGTH - 8)
      match($0, /"t_us":[0-9]+/); t = substr($0, RSTART + 7, RLENGTH - 7) + 0
      got[k]++; if (t > last[k]) last[k] = t
    }
    END {
      for (k in w) {
        if (got[k] >= n - 1) printf "%.1f\n", (last[k] - w[k]) / 1000
        else print "missing"
      }
    }' "$work"/table*.out >"$work/propagation"
  local p50 p99 missing
  p50=$(grep -v missing "$work/propagation" | percentile 50)
  p99=$(grep -v missing "$work/propagation" | percentile 99)
  missing=$(grep -c missing "$work/propagation" || true)
  echo "$p50 $p99 $missing"
}

summary=()
for n in "${sizes[@]}"; do
  echo "== N=$n" >&2
  declare -A shoal_pid=() serf_pid=()
  shoal_files=() serf_files=()
  for ((i = 1; i <= n; i++)); do
    shoal_files+=("$work/shoal$i.out")
    serf_files+=("$work/serf$i.out")
  done
  start_shoal 1
  start_serf 1
  sleep 1
  t0=$(now_ns)
  for ((i = 2; i <= n; i++)); do
    start_shoal "$i" 127.0.10.1:7946
    start_serf "$i" 127.0.20.1:7946
  done
  read -r conv_shoal conv_serf < <(wait_both "$t0" $((n - 1)) "$n" 120 ready)
  echo "converge: shoal $conv_shoal s, serf $conv_serf s" >&2

  sleep 10
  b0_shoal=$(counted_bytes shoal) b0_serf=$(counted_bytes serf)
  sleep "$idle"
  b1_shoal=$(counted_bytes shoal) b1_serf=$(counted_bytes serf)
  bps_shoal=$(awk -v a="$b0_shoal" -v b="$b1_shoal" -v t="$idle" -v n="$n" 'BEGIN {printf "%.0f", (b - a) / t / n}')
  bps_serf=$(awk -v a="$b0_serf" -v b="$b1_serf" -v t="$idle" -v n="$n" 'BEGIN {printf "%.0f", (b - a) / t / n}')
  echo "idle bytes/s/member: shoal $bps_shoal, serf $bps_serf" >&2

  f0_shoal=$(all_failures "${shoal_files[@]}") f0_serf=$(all_failures "${serf_files[@]}")
  stress-ng --cpu 1 --timeout "${stress}s" --quiet >/dev/null 2>&1 || true
  sleep 2
  false_shoal=$(($(all_failures "${shoal_files[@]}") - f0_shoal))
  false_serf=$(($(all_failures "${serf_files[@]}") - f0_serf))
  echo "false failures under stress-ng --cpu 1 (${stress}s): shoal $false_shoal, serf $false_serf" >&2

  t0=$(now_ns)
  kill -9 "${shoal_pid[$n]}" "${serf_pid[$n]}"
  unset "shoal_files[$((n - 1))]" "serf_files[$((n - 1))]"
  read -r det_shoal det_serf < <(wait_both "$t0" 0 0 120 failed "sh$n" "sf$n")
  echo "detect: shoal $det_shoal s, serf $det_serf s" >&2

  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  rm -f "$work"/*.out "$work"/*.err

  # Not in a subshell: the agents it starts must land in pids.
  table_propagation "$n" >"$work/table.result"
  read -r tp50 tp99 tmissing <"$work/table.result"
  echo "table propagation: p50 $tp50 ms, p99 $tp99 ms, entries missing: $tmissing" >&2
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  rm -f "$work"/*.out "$work"/*.err "$work/writer.in" "$work/propagation" "$work/table.result"

  summary+=("| $n | shoal | $conv_shoal | $det_shoal | $bps_shoal | $false_shoal | $tp50 / $tp99 ($tmissing missing) |")
  summary+=("| $n | serf | $conv_serf | $det_serf | $bps_serf | $false_serf | - |")
  ratios+=("- N=$n shoal/serf: converge $(ratio "$conv_shoal" "$conv_serf")x, detect $(ratio "$det_shoal" "$det_serf")x, idle bytes $(ratio "$bps_shoal" "$bps_serf")x (lower is better)")
done

echo "| N | member | converge, s | detect, s | idle bytes/s/member | false failures (stress ${stress}s) | table p50 / p99, ms |"
echo "|---|---|---:|---:|---:|---:|---|"
printf '%s\n' "${summary[@]}"
echo
printf '%s\n' "${ratios[@]}"
echo "- LAN profile both (serf -profile=lan, shoal-gossip agent default); idle window ${idle}s; kernel $(uname -r), $(nproc) cores"
