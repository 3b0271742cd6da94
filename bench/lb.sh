#!/usr/bin/env bash
# bench/lb.sh [SECONDS] [REPS]
#
# The eBPF VIP load balancer against references measured in the same run:
#  1. TCP connection rate and latency (connect + one-byte request/response + close) from a task
#     on host 2 to a backend on host 1, over the overlay: through the VIP (connect-time eBPF),
#     directly to the backend (the limit), and through an nftables DNAT rule (per-packet NAT).
#  2. Programming: bulk load of 1k and 10k services and one backend change with 1k and 10k
#     present, Shoal's maps (in-process) vs `nft -f` on a DNAT verdict map.
# Prints a Markdown table with ratios. Runs in a private mount namespace (bpffs stays private).
source "$(dirname "$0")/lib.sh"
private_mount_namespace "$@"
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${2:-3}
run="lbb$$"
bin=build/bench/shoal-lb-bench
[[ $(id -u) -eq 0 ]] || { echo "lb.sh: run as root" >&2; exit 1; }
[[ -x $bin && -x build/ebpf/shoal-lb ]] || scripts/build.sh >&2

trap 'build/ebpf/shoal-lb --node "${run}h2" down >/dev/null 2>&1; scripts/testbed.sh down "$run"' EXIT
scripts/testbed.sh up "$run" 2
h_ip() { scripts/testbed.sh ip "$run" "$1"; }

# Overlay: backend b1 on host 1, client c2 on host 2.
for h in 1 2; do
  o=$((3 - h)) ep=$([[ $h == 1 ]] && echo b1 || echo c2)
  ip netns exec "shoal-$run-h$h" build/dataplane/shoal-dataplane --tag "${run}h$h" \
    --underlay "$(h_ip $h)" apply -f - >/dev/null <<EOT
{"networks":[{"id":"lb","vni":4096,"subnet":"10.30.1.0/24","gateway":"10.30.1.1",
  "endpoints":[{"id":"$ep","ip":"10.30.1.1$h"}],"peers":[{"ip":"10.30.1.1$o","vtep":"$(h_ip $o)"}]}]}
EOT
done
backend_ns="shoal-${run}h1-ep-b1" client_ns="shoal-${run}h2-ep-c2"
ip netns exec "$backend_ns" "$bin" serve 10.30.1.11 8080 &
disown
services='{"services":[{"id":"web","backends":[{"ip":"10.30.1.11"}],
  "frontends":[{"vip":"10.30.1.100","port":80,"target_port":8080}]}]}'
cgroup=$(build/ebpf/shoal-lb --node "${run}h2" apply <<<"$services" | awk '/^cgroup/ {print $2}' | tr -d ,)
ip netns exec "$client_ns" nft -f - <<'EOT'
table ip shoalbench {
  chain out { type nat hook output priority -100; ip daddr 10.30.1.101 tcp dport 80 dnat to 10.30.1.11:8080; }
}
EOT

declare -A target=([vip]="10.30.1.100 80" [direct]="10.30.1.11 8080" [nftables]="10.30.1.101 80")
paths=(vip direct nftables)
declare -A rate p50 p99
measure() {  # a task's view: the client runs in host 2's node cgroup and the client netns
  sh -c "echo \$\$ > $cgroup/cgroup.procs && exec ip netns exec $client_ns $bin client ${target[$1]} $secs"
}
sleep 0.3
for ((r = 1; r <= reps; r++)); do
  for p in "${paths[@]}"; do
    read -r c l50 l99 <<<"$(measure "$p")"
    rate[$p]+="$c " p50[$p]+="$l50 " p99[$p]+="$l99 "
    echo "rep $r $p: $c conn/s, p50 $l50 us, p99 $l99 us" >&2
  done
done

echo "### VIP connections (host 2 task -> host 1 backend, over the overlay)"
echo
echo "| path | connections/s | latency p50, us | p99, us |"
echo "|---|---|---|---|"
declare -A R
for p in "${paths[@]}"; do
  R[$p]=$(median <<<"${rate[$p]}")
  echo "| $p | ${R[$p]} | $(median <<<"${p50[$p]}") | $(median <<<"${p99[$p]}") |"
done
echo
echo "- VIP / direct: **$(ratio "${R[vip]}" "${R[direct]}")x** (goal >= 0.95x); VIP / nftables DNAT: $(ratio "${R[vip]}" "${R[nftables]}")x"
echo "- medians of $reps interleaved runs of ${secs}s; one client connection at a time"
echo

# Programming: Shoal's maps in-process vs nft -f on a verdict map (one backend per element for
# nft, three per service for Shoal).
nft_ns="shoal-$run-nft"
ip netns add "$nft_ns"
nft_file=$(mktemp)
nft_table() {
  echo "table ip shoalbench {"
  echo "  map svc {"
  echo "    type ipv4_addr . inet_service : ipv4_addr . inet_service"
  echo -n "    elements = { "
  for ((i = 0; i < $1; i++)); do
    ((i > 0)) && echo ","
    printf '10.100.%d.%d . 80 : 10.200.%d.%d . 8080' $((i / 256)) $((i % 256)) $((i / 256)) $((i % 256))
  done
  echo " }"
  echo "  }"
  echo "  chain out {"
  echo "    type nat hook output priority -100;"
  echo "    dnat ip to ip daddr . tcp dport map @svc"
  echo "  }"
  echo "}"
}
us_since() { echo "$(( ($(date +%s%N) - $1) / 1000 ))"; }
declare -A nft_bulk nft_change
for n in 1000 10000; do
  ip netns exec "$nft_ns" nft flush ruleset
  nft_table "$n" >"$nft_file"
  t=$(date +%s%N); ip netns exec "$nft_ns" nft -f "$nft_file"; nft_bulk[$n]=$(us_since "$t")
  changes=""
  for ((k = 0; k < 21; k++)); do
    i=$((RANDOM % n)) key="10.100.$((i / 256)).$((i % 256)) . 80"
    printf 'delete element ip shoalbench svc { %s }\nadd element ip shoalbench svc { %s : 10.201.0.%d . 8080 }\n' \
      "$key" "$key" $((k + 1)) >"$nft_file"
    t=$(date +%s%N); ip netns exec "$nft_ns" nft -f "$nft_file"; changes+="$(us_since "$t") "
  done
  nft_change[$n]=$(median <<<"$changes")
done
rm -f "$nft_file"

echo "### Programming (bulk load, then one backend change while N services are present)"
echo
echo "| services | Shoal bulk, ms | nft -f bulk, ms | Shoal one change p50 / p99, us | nft -f one change p50, us |"
echo "|---|---|---|---|---|"
while read -r n bulk c50 c99; do
  echo "| $n | $bulk | $(awk -v v="${nft_bulk[$n]}" 'BEGIN {printf "%.1f", v / 1000}') | $c50 / $c99 | ${nft_change[$n]} |"
done < <("$bin" programming "${run}p")
echo
echo "- Shoal services have 3 backends each; nft elements one. nft's figures include starting nft(8)."
echo "- kernel $(uname -r), $(nproc) cores"
