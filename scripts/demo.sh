#!/usr/bin/env bash
# Shoal's main job: a swarm of simulated hosts on one machine, one shoald per host, a service
# whose tasks the manager places, published on port 8080 and answering on every host through
# the routing mesh.
#
#   scripts/demo.sh        install what is missing, build, start the swarm, show it answering
#   scripts/demo.sh down   remove everything the demo made
set -euo pipefail
cd "$(dirname "$0")/.."
run=demo
hosts=3 # the swarm; host 4 is a client outside it
client="shoal-$run-h4"
state=/run/shoal-demo
[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root" >&2; exit 1; }

host_ip() { scripts/testbed.sh ip "$run" "$1"; }
shoal() { build/bin/shoal -H "unix://$state/h$1/shoald.sock" "${@:2}"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

down() {
  # A clean leave first (tasks stopped, overlays and programs removed), then whatever is left.
  for ((h = hosts; h >= 1; h--)); do
    [[ -S $state/h$h/shoald.sock ]] && shoal "$h" swarm leave --force >/dev/null 2>&1 || true
  done
  scripts/testbed.sh down "$run"
  rm -rf "$state"
}

if [[ ${1:-} == down ]]; then
  down
  echo "demo removed"
  exit 0
fi

say "installing packages and building"
scripts/install-deps.sh
scripts/build.sh

say "four simulated hosts on one underlay: 1-3 run shoald, 4 is a client outside the swarm"
down
scripts/testbed.sh up "$run" 4
for ((h = 1; h <= hosts; h++)); do
  mkdir -p "$state/h$h"
  setsid ip netns exec "shoal-$run-h$h" build/bin/shoald --state-dir "$state/h$h" \
    --advertise-addr "$(host_ip "$h")" --node-name "host$h" --node-tag "${run}h$h" \
    </dev/null >"$state/h$h.log" 2>&1 &
done
for ((h = 1; h <= hosts; h++)); do
  for _ in $(seq 50); do [[ -S $state/h$h/shoald.sock ]] && break; sleep 0.1; done
  echo "host $h: netns shoal-$run-h$h, address $(host_ip "$h"), shoald log $state/h$h.log"
done

say "shoal swarm init on host 1, shoal swarm join on hosts 2 and 3"
shoal 1 swarm init --advertise-addr "$(host_ip 1)"
token=$(shoal 1 swarm join-token -q worker)
for ((h = 2; h <= hosts; h++)); do shoal "$h" swarm join --token "$token" "$(host_ip 1):2377"; done
sleep 1
shoal 1 node ls

say "an overlay network and a web service: 3 replicas, port 8080 published on every host"
shoal 1 network create -d overlay app
# Each task answers with its host name, which is its task id (as a container's is).
shoal 1 service create --name web --replicas 3 --network app --publish 8080:80 -- /bin/sh -c \
  "exec $PWD/build/bench/shoal-lb-bench http 0.0.0.0 80 \"hello from task \$(hostname)\""
shoal 1 service ps web

say "requests from outside the swarm (host 4) to port 8080 of every host"
sleep 1
for ((h = 1; h <= hosts; h++)); do
  echo "host $h:"
  for i in 1 2 3 4 5 6; do
    echo "  $(ip netns exec "$client" curl -s --max-time 2 "http://$(host_ip "$h"):8080/" || echo FAILED)"
  done
done

cat <<EOT

The service answers on every host, from every task. Drive the swarm with the CLI:
  export SHOAL_HOST=unix://$state/h1/shoald.sock
  build/bin/shoal node ls
  build/bin/shoal service ps web
  build/bin/shoal service scale web=5
  build/bin/shoal node update --availability drain host2
  ip netns exec $client curl http://$(host_ip 3):8080/
Tear it down with: scripts/demo.sh down
EOT
