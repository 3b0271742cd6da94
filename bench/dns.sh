#!/usr/bin/env bash
# bench/dns.sh [SECONDS] [REPS] [SERVICES]
#
# Queries per second that dnsperf gets from Shoal's embedded DNS (shoal-dns-serve) and from
# dnsmasq serving the same names, in one run: both in one namespace of their own (Shoal on
# 127.0.0.11, dnsmasq on 127.0.0.12), each pinned to the same core with taskset, dnsperf on the
# other core. SERVICES names svc<i> -> 10.100.<i/256>.<i%256>, the query mix is svc<i> and
# tasks.svc<i> (A), every name answered locally (no forwarding: nothing leaves the namespace).
# The two servers take turns REPS times; prints a Markdown table of medians and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
reps=${2:-3}
services=${3:-100}
server_core=${SHOAL_BENCH_SERVER_CORE:-0}
client_core=${SHOAL_BENCH_CLIENT_CORE:-1}
serve=${SHOAL_DNS_SERVE:-build/dataplane/dns/shoal-dns-serve}
ns="shoal-dnsbench$$"
work=$(mktemp -d)
[[ $(id -u) -eq 0 ]] || { echo "dns.sh: run as root" >&2; exit 1; }
command -v dnsperf >/dev/null && command -v dnsmasq >/dev/null || scripts/install-deps.sh >&2
[[ -x $serve ]] || cmake --build build --target shoal-dns-serve >&2

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up

for ((i = 0; i < services; i++)); do
  addr="10.100.$((i / 256)).$((i % 256))"
  echo "$addr svc$i tasks.svc$i" >>"$work/hosts"
  printf 'svc%d A\ntasks.svc%d A\n' "$i" "$i" >>"$work/queries"
done

ip netns exec "$ns" taskset -c "$server_core" "$serve" --services "$services" \
  --listen 127.0.0.11:53 >"$work/shoal.log" 2>&1 &
pids+=($!)
ip netns exec "$ns" taskset -c "$server_core" dnsmasq --no-daemon --conf-file=/dev/null \
  --no-resolv --no-hosts --pid-file --log-facility=/dev/null --bind-interfaces \
  --listen-address=127.0.0.12 --port=53 --addn-hosts="$work/hosts" --local-ttl=5 \
  --cache-size=10000 >"$work/dnsmasq.log" 2>&1 &
pids+=($!)

declare -A server=([shoal]=127.0.0.11 [dnsmasq]=127.0.0.12)
for name in shoal dnsmasq; do
  for ((try = 0; try < 50; try++)); do
    out=$(ip netns exec "$ns" dig @"${server[$name]}" +time=1 +tries=1 +short svc1 || true)
    [[ $out == 10.100.0.1 ]] && break
    sleep 0.1
  done
  [[ $out == 10.100.0.1 ]] || { echo "dns.sh: $name does not answer svc1" >&2; exit 1; }
done

declare -A results
for ((rep = 1; rep <= reps; rep++)); do
  for name in shoal dnsmasq; do
    out=$(ip netns exec "$ns" taskset -c "$client_core" dnsperf -s "${server[$name]}" \
      -d "$work/queries" -l "$secs" -q 200 2>&1)
    qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
    lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
    codes=$(awk '/Response codes:/ {$1=$2=""; print}' <<<"$out")
    [[ -n $qps ]] || { echo "dns.sh: dnsperf failed against $name:" >&2; echo "$out" >&2; exit 1; }
    echo "rep $rep $name: $qps q/s, lost $lost, codes$codes" >&2
    results[$name]+="$qps "
  done
done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
shoal=$(median "${results[shoal]}")
dnsmasq=$(median "${results[dnsmasq]}")
echo
echo "DNS queries/s, dnsperf -q 200 for ${secs}s x $reps, $services services, server on core" \
  "$server_core, dnsperf on core $client_core ($(uname -r))"
echo
echo "| server | queries/s (median) | vs dnsmasq |"
echo "|---|---:|---:|"
printf '| shoal embedded DNS | %.0f | %.2fx |\n' "$shoal" "$(echo "$shoal / $dnsmasq" | bc -l)"
printf '| dnsmasq 2.90 | %.0f | 1.00x |\n' "$dnsmasq"
