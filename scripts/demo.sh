#!/usr/bin/env bash
# Shoal's main job as far as it goes today: three simulated hosts on one machine, an overlay
# network across them with one endpoint per host, and traffic between endpoints across hosts.
#
#   scripts/demo.sh        install what is missing, build, set up, show the traffic
#   scripts/demo.sh down   remove everything the demo made
set -euo pipefail
cd "$(dirname "$0")/.."
run=demo
hosts=3
[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root" >&2; exit 1; }

if [[ ${1:-} == down ]]; then
  scripts/testbed.sh down "$run"
  echo "demo removed"
  exit 0
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
endpoint_ip() { echo "10.0.1.$((10 + $1))"; }

say "installing packages and building"
scripts/install-deps.sh
scripts/build.sh

say "three simulated hosts on an underlay bridge"
scripts/testbed.sh down "$run"
scripts/testbed.sh up "$run" "$hosts"
for ((h = 1; h <= hosts; h++)); do
  echo "host $h: netns shoal-$run-h$h, underlay $(scripts/testbed.sh ip "$run" "$h")"
done

say "overlay network 'app' (VNI 4096, 10.0.1.0/24) with one endpoint per host"
for ((h = 1; h <= hosts; h++)); do
  peers=""
  for ((p = 1; p <= hosts; p++)); do
    ((p == h)) && continue
    peers+="${peers:+,}{\"ip\":\"$(endpoint_ip "$p")\",\"vtep\":\"$(scripts/testbed.sh ip "$run" "$p")\"}"
  done
  state="{\"networks\":[{\"id\":\"app\",\"vni\":4096,\"subnet\":\"10.0.1.0/24\",\"gateway\":\"10.0.1.1\",
    \"endpoints\":[{\"id\":\"web$h\",\"ip\":\"$(endpoint_ip "$h")\"}],\"peers\":[$peers]}]}"
  echo "host $h:"
  ip netns exec "shoal-$run-h$h" build/dataplane/shoal-dataplane --tag "${run}h$h" \
    --underlay "$(scripts/testbed.sh ip "$run" "$h")" apply -f - <<<"$state" | sed 's/^/  /'
done

say "ping between every pair of endpoints, across hosts"
for ((from = 1; from <= hosts; from++)); do
  for ((to = 1; to <= hosts; to++)); do
    ((from == to)) && continue
    rtt=$(ip netns exec "shoal-${run}h$from-ep-web$from" ping -c 3 -i 0.2 -q "$(endpoint_ip "$to")" |
      awk -F/ '/^rtt/ {print $5 " ms"}')
    echo "web$from (host $from) -> web$to (host $to) $(endpoint_ip "$to"): avg rtt ${rtt:-FAILED}"
  done
done

say "TCP across the overlay: iperf3 from web1 (host 1) to web3 (host 3), 2 seconds"
ip netns exec "shoal-${run}h3-ep-web3" iperf3 -s -1 -B "$(endpoint_ip 3)" >/dev/null 2>&1 &
sleep 0.5
ip netns exec "shoal-${run}h1-ep-web1" iperf3 -c "$(endpoint_ip 3)" -t 2 -f m | grep -E 'sender|receiver'
wait

cat <<EOT

The overlay is up. Look around:
  ip netns list | grep shoal-$run                          # hosts, sandboxes, endpoints
  ip netns exec shoal-${run}h1-ep-web1 ping $(endpoint_ip 2)           # endpoint to endpoint
  ip -n shoal-${run}h1-net-app -d link show vxlan0         # the VXLAN device (VNI 4096, port 4789)
  bridge -n shoal-${run}h1-net-app fdb show dev vxlan0     # remote MACs and their VTEPs
Tear it down with: scripts/demo.sh down
EOT
