#!/usr/bin/env bash
# Shoal's main job as far as it goes today: a cluster of simulated hosts on one machine, a
# service whose tasks run on some of them, published on port 8080 and answering on every host
# through the routing mesh, including the host that runs none of its tasks.
#
#   scripts/demo.sh        install what is missing, build, set up, show it answering
#   scripts/demo.sh down   remove everything the demo made
#
# Until the swarm manager lands (issue #5), this script plays its part: it places the tasks and
# tells each host's dataplane (shoal-dataplane) and load balancer (shoal-lb) what to do.
set -euo pipefail
cd "$(dirname "$0")/.."
run=demo
hosts=3           # the cluster; host 4 is a client outside it
client="shoal-$run-h4"
bpffs_marker=/run/shoal-demo-mounted-bpffs
[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root" >&2; exit 1; }

# Tasks of the service "web": name, host, address on the ingress network.
tasks=("web.1 1 10.0.0.11" "web.2 2 10.0.0.12" "web.3 2 10.0.0.13")

host_ip() { scripts/testbed.sh ip "$run" "$1"; }
node_ingress_ip() { echo "10.0.0.10$1"; }
mesh_args() {
  echo --node "${run}h$1" --mesh-netns "shoal-$run-h$1" --node-ip "$(host_ip "$1")" \
    --ingress-ip "$(node_ingress_ip "$1")"
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

down() {
  for ((h = 1; h <= hosts; h++)); do
    [[ -x build/ebpf/shoal-lb ]] && ip netns list | grep -qE "^shoal-$run-h$h( |$)" &&
      build/ebpf/shoal-lb $(mesh_args "$h") down >/dev/null 2>&1 || true
  done
  scripts/testbed.sh down "$run"
  if [[ -f $bpffs_marker && ! -e /sys/fs/bpf/shoal ]]; then
    umount /sys/fs/bpf && rm -f "$bpffs_marker"
  fi
}

if [[ ${1:-} == down ]]; then
  down
  echo "demo removed"
  exit 0
fi

say "installing packages and building"
scripts/install-deps.sh
scripts/build.sh

say "four simulated hosts on one underlay: 1-3 form the cluster, 4 is a client outside it"
down
scripts/testbed.sh up "$run" 4
for ((h = 1; h <= 4; h++)); do echo "host $h: netns shoal-$run-h$h, address $(host_ip "$h")"; done
# The load balancer's pins outlive this script, so they need the host's bpffs.
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf && touch "$bpffs_marker"
fi

say "the ingress overlay (VXLAN 4096, 10.0.0.0/24) and the tasks of service 'web'"
peer() { echo "{\"ip\":\"$1\",\"vtep\":\"$(host_ip "$2")\"}"; }
for ((h = 1; h <= hosts; h++)); do
  endpoints=("{\"id\":\"node\",\"ip\":\"$(node_ingress_ip "$h")\",\"netns\":\"shoal-$run-h$h\",
    \"ifname\":\"ingress0\",\"default_route\":false,\"holds_gateway\":true}")
  peers=()
  for ((o = 1; o <= hosts; o++)); do ((o == h)) || peers+=("$(peer "$(node_ingress_ip "$o")" "$o")"); done
  for task in "${tasks[@]}"; do
    read -r name on address <<<"$task"
    if ((on == h)); then endpoints+=("{\"id\":\"$name\",\"ip\":\"$address\"}"); else peers+=("$(peer "$address" "$on")"); fi
  done
  ip netns exec "shoal-$run-h$h" build/dataplane/shoal-dataplane --tag "${run}h$h" \
    --underlay "$(host_ip "$h")" apply -f - <<EOT | sed "s/^/host $h: /"
{"networks":[{"id":"ingress","vni":4096,"subnet":"10.0.0.0/24","gateway":"10.0.0.1",
  "gateway_on_bridge":false,"endpoints":[$(IFS=,; echo "${endpoints[*]}")],
  "peers":[$(IFS=,; echo "${peers[*]}")]}]}
EOT
done
for task in "${tasks[@]}"; do
  read -r name on address <<<"$task"
  setsid ip netns exec "shoal-${run}h$on-ep-$name" build/bench/shoal-lb-bench http "$address" 80 \
    "hello from $name on host $on" </dev/null >/dev/null 2>&1 &
  echo "task $name: on host $on at $address:80"
done

say "publishing port 8080 on every host (routing mesh)"
backends=$(for t in "${tasks[@]}"; do read -r _ _ a <<<"$t"; echo -n "{\"ip\":\"$a\"},"; done)
service="{\"services\":[{\"id\":\"web\",\"published\":[{\"port\":8080,\"target_port\":80}],
  \"ingress_backends\":[${backends%,}]}]}"
for ((h = 1; h <= hosts; h++)); do
  build/ebpf/shoal-lb $(mesh_args "$h") apply <<<"$service" | sed "s/^/host $h: /"
done
sleep 0.5

say "requests from outside the cluster (host 4) to port 8080 of every host"
for ((h = 1; h <= hosts; h++)); do
  note=""
  ((h == 3)) && note=" (runs no task of web)"
  echo "host $h$note:"
  for i in 1 2 3 4 5 6; do
    echo "  $(ip netns exec "$client" curl -s --max-time 2 "http://$(host_ip "$h"):8080/" || echo FAILED)"
  done
done

cat <<EOT

The service answers on every host. Look around:
  ip netns exec $client curl http://$(host_ip 3):8080/        # again, through host 3
  ip netns list | grep shoal-$run                               # hosts, overlay sandboxes, tasks
  tc -n shoal-$run-h3 filter show dev eth0 ingress              # the mesh program on host 3
  bridge -n shoal-${run}h3-net-ingress fdb show dev vxlan0      # where host 3 sends each task's MAC
Tear it down with: scripts/demo.sh down
EOT
