#!/usr/bin/env bash
# bench/overlay.sh [SECONDS] [REPS]
#
# Between endpoints on two simulated hosts, in one run, through three paths:
#   shoal     Shoal's overlay, made by shoal-dataplane apply
#   by hand   the same topology (sandbox netns, bridge, VXLAN, veth, static FDB/ARP) made with ip(8)
#   underlay  the plain veth between the two hosts (no encapsulation)
# measures TCP throughput (iperf3) and TCP request/response round trip (sockperf ping-pong), the
# paths interleaved REPS times, and prints a Markdown table of medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
secs=${1:-5}
reps=${2:-3}
run="bench$$"
[[ $(id -u) -eq 0 ]] || { echo "overlay.sh: run as root" >&2; exit 1; }
command -v iperf3 >/dev/null && command -v sockperf >/dev/null || scripts/install-deps.sh >&2
[[ -x build/dataplane/shoal-dataplane ]] || scripts/build.sh >&2

trap 'scripts/testbed.sh down "$run"' EXIT
scripts/testbed.sh up "$run" 2
h_ip() { scripts/testbed.sh ip "$run" "$1"; }

# Shoal: network "bench" (VNI 4096, 10.20.1.0/24), endpoint e<h> = 10.20.1.1<h>.
for h in 1 2; do
  o=$((3 - h))
  ip netns exec "shoal-$run-h$h" build/dataplane/shoal-dataplane --tag "${run}h$h" \
    --underlay "$(h_ip $h)" apply -f - >/dev/null <<EOT
{"networks":[{"id":"bench","vni":4096,"subnet":"10.20.1.0/24","gateway":"10.20.1.1",
  "endpoints":[{"id":"e$h","ip":"10.20.1.1$h"}],
  "peers":[{"ip":"10.20.1.1$o","vtep":"$(h_ip $o)"}]}]}
EOT
done

# By hand: the same objects with ip(8) and bridge(8), VNI 4097, 10.20.2.0/24.
for h in 1 2; do
  o=$((3 - h)) sb="shoal-$run-refsb$h" ep="shoal-$run-ref$h" host="shoal-$run-h$h"
  ip netns add "$sb"
  ip netns add "$ep"
  ip -n "$sb" link add br0 mtu 1450 type bridge
  ip -n "$sb" addr add 10.20.2.1/24 dev br0
  ip -n "$sb" link set br0 up
  ip -n "$host" link add vxlan0 netns "$sb" mtu 1450 type vxlan id 4097 local "$(h_ip $h)" \
    dstport 4789 nolearning proxy
  ip -n "$sb" link set vxlan0 master br0 up
  ip -n "$sb" link add veth0 mtu 1450 type veth peer name eth0 netns "$ep" mtu 1450 \
    address "02:42:0a:14:02:1$h"
  ip -n "$sb" link set veth0 master br0 up
  ip -n "$ep" link set lo up
  ip -n "$ep" addr add "10.20.2.1$h/24" dev eth0
  ip -n "$ep" link set eth0 up
  ip -n "$ep" route add default via 10.20.2.1
  ip -n "$sb" neigh add "10.20.2.1$o" lladdr "02:42:0a:14:02:1$o" dev vxlan0 nud permanent
  bridge -n "$sb" fdb add "02:42:0a:14:02:1$o" dev vxlan0 dst "$(h_ip $o)" self permanent
done

paths=(shoal byhand underlay)
declare -A client=([shoal]="shoal-${run}h1-ep-e1" [byhand]="shoal-$run-ref1" [underlay]="shoal-$run-h1")
declare -A server=([shoal]="shoal-${run}h2-ep-e2" [byhand]="shoal-$run-ref2" [underlay]="shoal-$run-h2")
declare -A target=([shoal]=10.20.1.12 [byhand]=10.20.2.12 [underlay]=$(h_ip 2))
declare -A gbps p50 p99

throughput() {  # prints Gbit/s received
  local p=$1
  ip netns exec "${server[$p]}" iperf3 -s -1 -B "${target[$p]}" >/dev/null 2>&1 &
  sleep 0.3
  ip netns exec "${client[$p]}" iperf3 -c "${target[$p]}" -t "$secs" -f m |
    awk '/receiver/ {printf "%.2f", $(NF-2) / 1000}'
  wait
}

latency() {  # prints "p50 p99" of the TCP round trip in microseconds
  local p=$1 pid out
  ip netns exec "${server[$p]}" sockperf server --tcp -i "${target[$p]}" -p 11111 >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  out=$(ip netns exec "${client[$p]}" sockperf ping-pong --tcp -i "${target[$p]}" -p 11111 \
    -t "$secs" --full-rtt 2>&1)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  awk '/percentile 50.000/ {a=$NF} /percentile 99.000/ {b=$NF} END {print a, b}' <<<"$out"
}


for ((r = 1; r <= reps; r++)); do
  for p in "${paths[@]}"; do
    g=$(throughput "$p")
    read -r a b <<<"$(latency "$p")"
    gbps[$p]+="$g " p50[$p]+="$a " p99[$p]+="$b "
    echo "rep $r $p: $g Gbit/s, round trip p50 $a us, p99 $b us" >&2
  done
done

declare -A G L99 L50
for p in "${paths[@]}"; do
  G[$p]=$(median <<<"${gbps[$p]}") L50[$p]=$(median <<<"${p50[$p]}") L99[$p]=$(median <<<"${p99[$p]}")
done

echo "| path | TCP throughput, Gbit/s | TCP round trip p50, us | p99, us |"
echo "|---|---|---|---|"
for p in "${paths[@]}"; do
  echo "| $p | ${G[$p]} | ${L50[$p]} | ${L99[$p]} |"
done
echo
echo "- Shoal / by-hand VXLAN throughput: **$(ratio "${G[shoal]}" "${G[byhand]}")x** (goal >= 0.97x)"
echo "- Shoal / by-hand VXLAN round trip p50: $(ratio "${L50[shoal]}" "${L50[byhand]}")x (lower is better)"
echo "- VXLAN tax, by-hand / underlay throughput: $(ratio "${G[byhand]}" "${G[underlay]}")x;" \
  "round trip p50: $(ratio "${L50[byhand]}" "${L50[underlay]}")x"
echo "- medians of $reps interleaved runs of ${secs}s each; kernel $(uname -r), $(nproc) cores"
