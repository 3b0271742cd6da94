#!/usr/bin/env bash
# bench/mesh.sh [SECONDS] [REPS]
#
# The routing mesh against references measured in the same run: HTTP requests/s and latency
# (wrk, 32 keep-alive connections) from a client outside the cluster (host 4) to a published
# port on host 3, which has no backend, served by a backend on host 1 over the ingress overlay:
#   mesh      Shoal's tc programs on host 3 (DNAT + SNAT, redirect, no netfilter)
#   nftables  the same translation with nftables DNAT + masquerade and ip_forward on host 3
#   direct    wrk from a task on host 3 straight to the backend over the overlay (the limit)
source "$(dirname "$0")/lib.sh"
private_mount_namespace "$@"
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${2:-3}
run="mb$$"
bin=build/bench/shoal-lb-bench
[[ $(id -u) -eq 0 ]] || { echo "mesh.sh: run as root" >&2; exit 1; }
command -v wrk >/dev/null || scripts/install-deps.sh >&2
[[ -x $bin && -x build/ebpf/shoal-lb ]] || scripts/build.sh >&2

mesh=(--node "${run}h3" --mesh-netns "shoal-$run-h3" --node-ip 198.51.100.13 --ingress-ip 10.0.0.103)
trap 'build/ebpf/shoal-lb "${mesh[@]}" down >/dev/null 2>&1; scripts/testbed.sh down "$run"' EXIT
scripts/testbed.sh up "$run" 4
h_ip() { scripts/testbed.sh ip "$run" "$1"; }

# The ingress overlay on hosts 1-3: each node's own endpoint (ingress0, in the host namespace),
# the backend b1 on host 1, a task t3 on host 3 for the direct path. 10.0.0.113 is the address
# the nftables reference masquerades to, on host 3's ingress0 (hence its MAC).
declare -A endpoints=([1]='{"id":"b1","ip":"10.0.0.11"}' [2]='' [3]='{"id":"t3","ip":"10.0.0.13"}')
peer() { echo "{\"ip\":\"$1\",\"vtep\":\"$(h_ip "$2")\"${3:+,\"mac\":\"$3\"}}"; }
for h in 1 2 3; do
  peers=()
  for o in 1 2 3; do
    ((o == h)) || peers+=("$(peer "10.0.0.10$o" "$o")")
  done
  ((h == 1)) || peers+=("$(peer 10.0.0.11 1)")
  ((h == 3)) || peers+=("$(peer 10.0.0.13 3)" "$(peer 10.0.0.113 3 02:42:0a:00:00:67)")
  own="{\"id\":\"node\",\"ip\":\"10.0.0.10$h\",\"netns\":\"shoal-$run-h$h\",\"ifname\":\"ingress0\",\"default_route\":false}"
  ip netns exec "shoal-$run-h$h" build/dataplane/shoal-dataplane --tag "${run}h$h" \
    --underlay "$(h_ip $h)" apply -f - >/dev/null <<EOT
{"networks":[{"id":"ingress","vni":4096,"subnet":"10.0.0.0/24","gateway":"10.0.0.1",
  "endpoints":[$own${endpoints[$h]:+,${endpoints[$h]}}],
  "peers":[$(IFS=,; echo "${peers[*]}")]}]}
EOT
done
ip netns exec "shoal-${run}h1-ep-b1" "$bin" http 10.0.0.11 80 &
disown

build/ebpf/shoal-lb "${mesh[@]}" apply >/dev/null <<'EOT'
{"services":[{"id":"web","published":[{"port":8080,"target_port":80}],
  "ingress_backends":[{"ip":"10.0.0.11"}]}]}
EOT

host3="shoal-$run-h3"
ip -n "$host3" addr add 10.0.0.113/24 dev ingress0
ip netns exec "$host3" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$host3" nft -f - <<'EOT'
table ip reference {
  chain pre { type nat hook prerouting priority -100; tcp dport 8081 dnat to 10.0.0.11:80; }
  chain post { type nat hook postrouting priority 100; ip daddr 10.0.0.11 tcp dport 80 snat to 10.0.0.113; }
}
EOT

declare -A client=([mesh]="shoal-$run-h4" [nftables]="shoal-$run-h4" [direct]="shoal-${run}h3-ep-t3")
declare -A url=([mesh]="http://198.51.100.13:8080/" [nftables]="http://198.51.100.13:8081/"
  [direct]="http://10.0.0.11/")
paths=(mesh nftables direct)
declare -A rps p50 p99
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'; }
sleep 0.3
for ((r = 1; r <= reps; r++)); do
  for p in "${paths[@]}"; do
    out=$(ip netns exec "${client[$p]}" wrk -t1 -c32 -d"${secs}s" --latency "${url[$p]}")
    n=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    [[ $(awk '/Non-2xx|Socket errors/' <<<"$out") == "" ]] || echo "$p: $(grep -E 'Non-2xx|Socket errors' <<<"$out")" >&2
    a=$(awk '$1 == "50%" {print $2}' <<<"$out" | to_us) b=$(awk '$1 == "99%" {print $2}' <<<"$out" | to_us)
    rps[$p]+="$n " p50[$p]+="$a " p99[$p]+="$b "
    echo "rep $r $p: $n req/s, p50 $a us, p99 $b us" >&2
  done
done

echo "### Routing mesh (outside client -> host without a backend -> backend on another host)"
echo
echo "| path | requests/s | latency p50, us | p99, us |"
echo "|---|---|---|---|"
declare -A R
for p in "${paths[@]}"; do
  R[$p]=$(median <<<"${rps[$p]}")
  echo "| $p | ${R[$p]} | $(median <<<"${p50[$p]}") | $(median <<<"${p99[$p]}") |"
done
echo
echo "- mesh / nftables DNAT+masquerade: **$(ratio "${R[mesh]}" "${R[nftables]}")x** (goal >= 0.9x); mesh / direct: $(ratio "${R[mesh]}" "${R[direct]}")x"
echo "- wrk -t1 -c32, medians of $reps interleaved runs of ${secs}s; kernel $(uname -r), $(nproc) cores"
