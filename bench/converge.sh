#!/usr/bin/env bash
# bench/converge.sh [N...]      (as root; N defaults to "50 200")
#
# Routing convergence of a real swarm (issue #6): five simulated hosts with one shoald each (host 1
# the manager), a sixth host outside the swarm as the client. Service web (published 8080:80, VIP
# on overlay app) answers HTTP with its task's name; service probe (global, one task per host)
# gives each host a task whose namespace and cgroup a VIP prober runs in. For each N, starting
# from 1 replica:
#   answer    per new task and per host, seconds from `service scale web=N` until the task first
#             answers (a) through the published port of that host (from the client host) and
#             (b) through the VIP from the probe task on that host; p50/p99/max over tasks x hosts;
#   running   the reference, orchestration alone: seconds from the same command until the task's
#             process runs on its node (the agent's "task ... running" log line, which is also when
#             it reports RUNNING); lag = answer - running, per task x host;
#   floor     the probe's own sampling delay: with all N tasks already in rotation, a fresh probe's
#             time to first see each (the load balancers pick a backend at random, so a task is
#             seen on average N/rate after it is in rotation).
# Then web is scaled to 10 and one task's process is killed on each of three hosts in turn:
# per host and path, seconds from the kill to the last request that still went to it (its last
# answer, or the last failed request), with nothing after it for the rest of a 15 s window; the
# published port is probed twice, from client ports the kernel chooses (as a real client) and
# from ports never used before in the run. Reference: seconds until `service ps` shows the task
# no longer running (the manager knows; polled every ~0.3 s).
# shoal-converge-probe does the requests: one process per host and path, one connection per
# request, at most SHOAL_CONVERGE_RATE per second (default 1000), SHOAL_CONVERGE_INFLIGHT in
# flight (default 8).
# Prints Markdown tables with the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
sizes=("$@")
((${#sizes[@]})) || sizes=(50 200)
hosts=5
client=$((hosts + 1))
run="cv$$"
rate=${SHOAL_CONVERGE_RATE:-1000}
inflight=${SHOAL_CONVERGE_INFLIGHT:-8}
kill_window=15
kill_n=${SHOAL_CONVERGE_KILL_N:-10}
# The agents' heartbeat period (--dispatcher-heartbeat; a node is Down after three missed). An
# agent sends none while it starts a batch of tasks (RESULTS.md): on this 2-core machine 1s lost
# nodes at N=50 and 5s at N=200; SHOAL_CONVERGE_HEARTBEAT=20s kept them.
heartbeat=${SHOAL_CONVERGE_HEARTBEAT:-5s}
# The kernel's ARP table is one for every namespace of the machine (gc_thresh3 = 1024 entries by
# default): five simulated hosts with hundreds of tasks overflow it, and a backend whose neighbour
# entry cannot be made never answers through the routing mesh of that host. Opt in to raise the
# limits for the run (restored at exit): SHOAL_CONVERGE_GC_THRESH3=16384.
gc_thresh3=${SHOAL_CONVERGE_GC_THRESH3:-}
probe=${SHOAL_CONVERGE_PROBE:-build/bench/shoal-converge-probe}
[[ $(id -u) -eq 0 ]] || { echo "converge.sh: run as root" >&2; exit 1; }
[[ -x build/bin/shoald && -x build/bench/shoal-lb-bench ]] || scripts/build.sh >&2
[[ -x $probe ]] || cmake --build build --target shoal-converge-probe >&2

work=$(mktemp -d /tmp/shoal-converge.XXXXXX)
prober_pids=()
stop_probers() {
  local pid
  for pid in "${prober_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${prober_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  prober_pids=()
}
cleanup() {
  stop_probers
  for ((h = hosts; h >= 1; h--)); do
    [[ -S $work/h$h/shoald.sock ]] && timeout 60 build/bin/shoal -H "unix://$work/h$h/shoald.sock" \
      swarm leave --force >/dev/null 2>&1 || true
  done
  scripts/testbed.sh down "$run"
  [[ -z ${gc_saved:-} ]] || sysctl -q -w $gc_saved
  [[ -n ${SHOAL_CONVERGE_KEEP:-} ]] && echo "converge.sh: logs kept in $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

host_ip() { scripts/testbed.sh ip "$run" "$1"; }
shoal() { build/bin/shoal -H "unix://$work/h1/shoald.sock" "$@"; }
now_ns() { date +%s%N; }
log() { echo "[$(date +%T)] $*" >&2; }
cgroup_root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)

# Tasks of a service: "ID NODE STATE" per line (STATE: the first word of CurrentState), only those
# meant to run.
tasks() {
  shoal service ps "$1" --no-trunc --format json |
    awk '/"DesiredState":"Running"/ {
      match($0, /"ID":"[^"]*"/); id = substr($0, RSTART + 6, RLENGTH - 7)
      match($0, /"Node":"[^"]*"/); node = substr($0, RSTART + 8, RLENGTH - 9)
      match($0, /"CurrentState":"[^ "]*/); state = substr($0, RSTART + 16, RLENGTH - 16)
      print id, node, state }'
}
running_ids() { tasks "$1" | awk '$3 == "Running" {print substr($1, 1, 12)}' | sort; }
running_all() { shoal service ps web --no-trunc --format json | grep -c '"CurrentState":"Running' || true; }

if [[ -n $gc_thresh3 ]]; then
  gc_saved=$(for i in 2 3; do echo -n "net.ipv4.neigh.default.gc_thresh$i=$(sysctl -n net.ipv4.neigh.default.gc_thresh$i) "; done)
  sysctl -q -w net.ipv4.neigh.default.gc_thresh3="$gc_thresh3" net.ipv4.neigh.default.gc_thresh2=$((gc_thresh3 / 2))
fi
# Kernel messages since the start (by their uptime stamps: the ring buffer rotates).
since=$(cut -d' ' -f1 /proc/uptime)
overflows() { dmesg 2>/dev/null | awk -v t="$since" -F'[][]' '/neighbor table overflow/ && $2 + 0 > t {n++} END {print n + 0}'; }

# The swarm.
scripts/testbed.sh up "$run" "$client"
for ((h = 1; h <= hosts; h++)); do
  mkdir -p "$work/h$h"
  setsid ip netns exec "shoal-$run-h$h" build/bin/shoald --state-dir "$work/h$h" \
    --advertise-addr "$(host_ip "$h")" --node-name "h$h" --node-tag "${run}h$h" \
    </dev/null >"$work/h$h.log" 2>&1 &
done
for ((h = 1; h <= hosts; h++)); do
  wait_for 10 test -S "$work/h$h/shoald.sock" || { echo "converge.sh: shoald $h did not start" >&2; exit 1; }
done
shoal swarm init --advertise-addr "$(host_ip 1)" --dispatcher-heartbeat "$heartbeat" >/dev/null
token=$(shoal swarm join-token -q worker)
for ((h = 2; h <= hosts; h++)); do
  build/bin/shoal -H "unix://$work/h$h/shoald.sock" swarm join --token "$token" "$(host_ip 1):2377" >/dev/null
done
all_ready() { [[ $(shoal node ls | grep -c ' Ready ') -eq $hosts ]]; }
wait_for 30 all_ready || { echo "converge.sh: nodes not ready" >&2; shoal node ls >&2; exit 1; }
shoal network create -d overlay app >/dev/null
app_id=$(shoal network ls --no-trunc 2>/dev/null | awk '$2 == "app" {print $1}')
# A killed task comes back after 120 s: no kill window (15 s each, three in a row) sees a
# replacement start.
shoal service create -d --name web --network app --publish 8080:80 --restart-delay 120s -- /bin/sh -c \
  "exec $PWD/build/bench/shoal-lb-bench http 0.0.0.0 80 \"web \$(hostname)\"" >/dev/null
shoal service create -d --name probe --mode global --network app -- sleep 1000000 >/dev/null
probes_up() { [[ $(tasks probe | awk '$3 == "Running"' | wc -l) -eq $hosts && $(running_all) -eq 1 ]]; }
wait_for 60 probes_up || { echo "converge.sh: services did not start" >&2; shoal service ps web probe >&2; exit 1; }
vip=$(shoal service inspect web | tr -d ' \n' | grep -o '"Addr":"[0-9.]*/[0-9]*","NetworkID":"[^"]*"' |
  awk -F'"' -v net="$app_id" '$8 == net || net == "" {split($4, a, "/"); v = a[1]} END {print v}')
declare -A probe_task
while read -r id node _; do probe_task[${node#h}]=$id; done < <(tasks probe)
log "swarm up: $hosts hosts, web VIP $vip, probe tasks ${probe_task[*]}"

# Probers: p<h> = the published port of host h (from the client host), v<h> = the VIP from the
# probe task on host h (its cgroup first, for the eBPF connect hook, then its namespace).
start_probers() {  # output directory, [fresh LO-HI: also q<h> = published port from those ports]
  local out=$1 h task
  mkdir -p "$out"
  # One process per host and path: a single one for the five mesh targets got a fifth of the
  # requests of a VIP prober on this loaded machine.
  for ((h = 1; h <= hosts; h++)); do
    ip netns exec "shoal-$run-h$client" "$probe" --rate "$rate" --inflight "$inflight" \
      "p$h=$(host_ip "$h"):8080" >"$out/mesh$h.out" &
    prober_pids+=($!)
    if [[ ${2:-} == fresh ]]; then
      # Client ports below the kernel's ephemeral range, a range per kill: none was used before
      # in this run, so no flow the mesh remembers can match them.
      ip netns exec "shoal-$run-h$client" "$probe" --rate "$rate" --inflight "$inflight" \
        --ports "$3" "q$h=$(host_ip "$h"):8080" >"$out/fresh$h.out" &
      prober_pids+=($!)
    fi
    task=${probe_task[$h]}
    sh -c "echo \$\$ > $cgroup_root/shoal/${run}h$h/$task/task/cgroup.procs &&
      exec ip netns exec shoal-${run}h$h-ep-$task $probe --rate $rate --inflight $inflight v$h=$vip:80" \
      >"$out/vip$h.out" &
    prober_pids+=($!)
  done
}
# Pairs (label x name) of the expected names (file) that the probers of a directory have seen.
seen_pairs() {  # names file, output directory
  awk 'FNR == NR {want[$1] = 1; next} $1 == "first" && ($4 in want) {got[$2 " " $4] = 1}
    END {print length(got)}' "$1" "$2"/*.out
}
percentiles() {  # "p50 p99 max" of the numbers on stdin
  sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) {print "- - -"; exit}
    i50 = int((NR * 50 + 99) / 100); i99 = int((NR * 99 + 99) / 100)
    printf "%.3f %.3f %.3f\n", v[i50 < 1 ? 1 : i50], v[i99 < 1 ? 1 : i99], v[NR] }'
}
# Seconds since t0 of each (label with prefix, new task) first answer: one number per line.
answer_times() {  # t0, prefix (p|v), names file, output directory
  awk -v t0="$1" -v pre="$2" 'FNR == NR {want[$1] = 1; next}
    $1 == "first" && ($4 in want) && substr($2, 1, 1) == pre {printf "%.3f\n", ($5 - t0) / 1e9}' \
    "$3" "$4"/*.out
}
# The agents' "task ID (web.N) running" lines after t0: "SHORTID EPOCH_NS" per line.
running_times() {  # t0
  cat "$work"/h*.log | awk -v t0="$1" '/ \(web\.[0-9]+\) running, pid / {
    ts = substr($1, 2) " " substr($2, 1, 12); gsub(/[-:]/, " ", ts)
    split(ts, f, " "); split(f[6], s, ".")
    t = mktime(f[1] " " f[2] " " f[3] " " f[4] " " f[5] " " s[1]) * 1e9 + s[2] * 1e6
    for (i = 1; i <= NF; i++) if ($i == "task") id = substr($(i + 1), 1, 12)
    if (t >= t0 - 1e6) print id, sprintf("%.0f", t) }'
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }
rss_mb() { local h pid; for ((h = 1; h <= hosts; h++)); do
  pid=$(ip netns pids "shoal-$run-h$h" | while read -r p; do [[ $(cat /proc/$p/comm 2>/dev/null) == shoald ]] && echo "$p"; done | awk 'NR == 1')
  awk '/VmRSS/ {printf "%d ", $2 / 1024}' "/proc/$pid/status" 2>/dev/null; done; }

rows=()
floor_rows=()
notes=()
log "shoald RSS (MiB) h1..h$hosts: $(rss_mb)"
for n in "${sizes[@]}"; do
  round="$work/n$n"
  mkdir -p "$round"
  # From 1 replica: scale down first and let the removed tasks go.
  shoal service scale -d web=1 >/dev/null
  one_left() { [[ $(running_all) -eq 1 ]]; }
  wait_for 120 one_left || notes+=("- N=$n: web did not scale down to 1 within 120 s ($(running_all) still running)")
  sleep 3
  running_ids web >"$round/before"
  start_probers "$round/scale"
  sleep 2
  load0=$(loadavg)
  log "N=$n: scaling web from 1 (load $load0)"
  t0=$(now_ns)
  shoal service scale -d "web=$n" >/dev/null
  converged() {
    running_ids web >"$round/running"
    awk 'FNR == NR {old[$1] = 1; next} !($1 in old)' "$round/before" "$round/running" >"$round/new"
    [[ $(wc -l <"$round/running") -eq $n ]] || return 1
    [[ $(seen_pairs "$round/new" "$round/scale") -eq $(($(wc -l <"$round/new") * 2 * hosts)) ]]
  }
  if ! wait_for 300 converged; then
    notes+=("- N=$n: NOT converged within 300 s: $(wc -l <"$round/running") of $n tasks running, $(seen_pairs "$round/new" "$round/scale") of $(($(wc -l <"$round/new") * 2 * hosts)) (new running task) x host x path pairs answered")
  fi
  notes+=("- N=$n: kernel ARP table (one for the machine) after the round: $(ip -s ntable show name arp_cache | awk '/entries/ {for (i = 1; i < NF; i++) if ($i == "entries") print $(i + 1)}') entries, gc_thresh3 $(sysctl -n net.ipv4.neigh.default.gc_thresh3)")
  t_done=$(now_ns)
  stop_probers
  for f in "$round/scale"/*.out; do
    grep -q '^total' "$f" || notes+=("- N=$n: prober $(basename "$f" .out) ended early (its probe task was stopped: node marked Down?)")
  done
  load1=$(loadavg)
  new=$(wc -l <"$round/new")
  log "N=$n: $new new tasks, converged after $(awk -v a="$t0" -v b="$t_done" 'BEGIN {printf "%.2f", (b - a) / 1e9}') s (load $load1)"
  running_times "$t0" | awk 'FNR == NR {want[$1] = 1; next} ($1 in want)' "$round/new" - >"$round/running_at"
  awk -v t0="$t0" '{printf "%.3f\n", ($2 - t0) / 1e9}' "$round/running_at" >"$round/ref"
  failures=$(awk '$1 == "fail" {n[substr($2, 1, 1) == "v" ? "VIP " $3 : "published " $3] += $6}
    END {for (k in n) printf "%s%s %d", (s++ ? ", " : ""), k, n[k]; if (!s) printf "none"}' "$round/scale"/*.out)
  read -r r50 r99 rmax < <(percentiles <"$round/ref")
  for path in p v; do
    name=$([[ $path == p ]] && echo "published port" || echo "VIP")
    answer_times "$t0" "$path" "$round/new" "$round/scale" >"$round/answer_$path"
    # lag: answer - running of the same task
    awk -v pre="$path" 'FNR == NR {run[$1] = $2; next}
      $1 == "first" && ($4 in run) && substr($2, 1, 1) == pre {printf "%.3f\n", ($5 - run[$4]) / 1e9}' \
      "$round/running_at" "$round/scale"/*.out >"$round/lag_$path"
    read -r a50 a99 amax < <(percentiles <"$round/answer_$path")
    read -r l50 l99 lmax < <(percentiles <"$round/lag_$path")
    rows+=("| $n | $name | $new x $hosts | $(wc -l <"$round/answer_$path") | $a50 / $a99 / $amax | $r50 / $r99 / $rmax | $(ratio "$a99" "$r99")x | $l50 / $l99 / $lmax |")
  done
  notes+=("- N=$n: failed requests while scaling (all hosts): $failures; load average $load0 -> $load1")
  down=$(awk -v t0="$t0" '/missed its heartbeats: down/ {print $(NF - 4)}' "$work/h1.log" | sort | uniq -c | awk '{printf "%s%s x%d", (s++ ? ", " : ""), $2, $1}')
  [[ -z $down ]] || notes+=("- N=$n: nodes marked Down (missed heartbeats) so far in the run: $down")

  # The probe's own floor: every task already in rotation.
  start_probers "$round/floor"
  all_seen() { [[ $(seen_pairs "$round/new" "$round/floor") -eq $((new * 2 * hosts)) ]]; }
  wait_for 60 all_seen || true
  stop_probers
  for path in p v; do
    # from each prober's own start (a prober takes a moment to start on a loaded machine)
    awk -v pre="$path" 'FNR == NR {want[$1] = 1; next} $1 == "start" {t0 = $2}
      $1 == "first" && ($4 in want) && substr($2, 1, 1) == pre {printf "%.3f\n", ($5 - t0) / 1e9}' \
      "$round/new" "$round/floor"/*.out >"$round/floor_$path"
    read -r f50 f99 fmax < <(percentiles <"$round/floor_$path")
    rate_got=$(awk -v pre="$path" '$1 == "total" && substr($2, 1, 1) == pre {a += $3 + $4; s += $5; k++} END {printf "%.0f", a / (s / k) / k}' "$round/floor"/*.out)
    floor_rows+=("| $n | $([[ $path == p ]] && echo "published port" || echo "VIP") | $rate_got | $f50 / $f99 / $fmax |")
  done
  log "shoald RSS (MiB) h1..h$hosts: $(rss_mb)"
done

# Task kills, at kill_n replicas (each task then gets a share of the requests large enough to
# time its removal): one task on each of three hosts in turn (3, 4, 5, else 2), each with fresh
# probers and a window of its own.
shoal service scale -d "web=$kill_n" >/dev/null
at_kill_n() { [[ $(running_all) -eq $kill_n ]]; }
wait_for 120 at_kill_n || notes+=("- kill: web did not scale down to $kill_n")
sleep 5
kill_rows=()
known_all=""
kills=0
for kh in 3 4 5 2; do
  ((kills < 3)) || break
  victim=$(tasks web | awk -v h="h$kh" '$2 == h && $3 == "Running" && v == "" {v = $1} END {print v}')
  [[ -n $victim ]] || continue
  short=${victim:0:12} dir="$work/kill$kh"
  start_probers "$dir" fresh "$((1024 + kills * 10000))-$((10023 + kills * 10000))"
  kills=$((kills + 1))
  sleep 2
  log "killing task $short on h$kh"
  t_kill=$(now_ns)
  xargs -r kill -9 <"$cgroup_root/shoal/${run}h$kh/$victim/task/cgroup.procs"
  t_known=""
  while (($(now_ns) < t_kill + kill_window * 1000000000)); do
    if [[ -z $t_known ]] && ! tasks web | awk -v v="$victim" '$1 == v && $3 == "Running" {f = 1} END {exit !f}'; then
      t_known=$(now_ns)
    fi
    sleep 0.2
  done
  stop_probers
  known_all+="$(awk -v a="$t_kill" -v b="${t_known:-0}" 'BEGIN {printf "%.3f", (b > 0 ? (b - a) / 1e9 : 999)}') "
  for path in q p v; do
    # per label: seconds from the kill to the last request that went to the victim (its last
    # answer, or the last failed request); failed requests after the kill; those on a client
    # port whose previous request (in this phase) the victim had answered
    awk -v t="$t_kill" -v id="$short" -v pre="$path" '
      substr($2, 1, 1) != pre {next}
      {label[$2] = 1}
      $1 == "fail" && $5 > t {if ($5 > last[$2]) last[$2] = $5}
      $1 == "failure" && $4 > t {n[$2]++; if ($7 == id) stale[$2]++}
      $1 == "seen" && $4 == id && $6 > t {if ($6 > last[$2]) last[$2] = $6}
      END {for (l in label) printf "%.3f %d %d\n", (last[l] > 0 ? (last[l] - t) / 1e9 : 0), n[l], stale[l]}' \
      "$dir"/*.out >>"$work/clear_$path"
  done
done
if [[ -n $known_all ]]; then
  known_s=$(median <<<"$known_all")
  for path in q p v; do
    read -r c50 _ cmax < <(cut -d' ' -f1 "$work/clear_$path" | percentiles)
    kfail=$(awk '{s += $2; p += $3} END {printf "%d (%d)", s, p}' "$work/clear_$path")
    case $path in
      q) what="published port, fresh client ports" ;;
      p) what="published port, kernel-chosen client ports" ;;
      v) what="VIP" ;;
    esac
    kill_rows+=("| $what | $c50 / $cmax | $kfail | $known_s | $(ratio "$cmax" "$known_s")x |")
    if awk -v w="$kill_window" '$1 > w - 3 {bad = 1} END {exit !bad}' "$work/clear_$path"; then
      notes+=("- kill, $what: some host still sent requests to a killed task in the last 3 s of its ${kill_window} s window: not converged")
    fi
  done
fi

echo "### Scale-up: from \`service scale web=N\` (from 1 replica) to each new task answering on each host"
echo
echo "| N | path | new tasks x hosts | answered | answer p50 / p99 / max, s | running (reference) p50 / p99 / max, s | answer / running p99 | lag answer - running p50 / p99 / max, s |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "### Probe floor: time to first see each task when all are in rotation (random backend choice)"
echo
echo "| N | path | requests/s per host | p50 / p99 / max, s |"
echo "|---|---|---|---|"
printf '%s\n' "${floor_rows[@]}"
echo
echo "### Task kill (at N=$kill_n, one task on each of three hosts in turn): from SIGKILL to the last request a host sent it"
echo
echo "| path | kills x hosts p50 / max, s | failed requests after the kills (on a client port it had answered) | manager knows (service ps, median), s | max / manager |"
echo "|---|---|---|---|---|"
printf '%s\n' "${kill_rows[@]}"
echo
printf '%s\n' "${notes[@]}"
echo "- kernel neighbour table overflows during the run (dmesg): $(overflows); gc_thresh3 $(sysctl -n net.ipv4.neigh.default.gc_thresh3)"
echo "- probes: ${rate} requests/s per host and path cap, ${inflight} in flight, one connection per request; dispatcher heartbeat $heartbeat; kernel $(uname -r), $(nproc) cores"
