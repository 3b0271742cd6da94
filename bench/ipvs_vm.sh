#!/usr/bin/env bash
# The eBPF and IPVS load balancers on the same emulated kernel (Debian's, in the VM of
# scripts/vm/run.sh), one boot: bulk load of 10k services, one backend change with 1k and 10k
# services present, TCP connection rate through a VIP. Emulation makes absolute numbers
# meaningless, so it prints ratios (IPVS / eBPF; connection rates also against direct
# connections measured in the same run).
#   bench/ipvs_vm.sh [BUILD_DIR]     (default: build; run as root)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
log=$(mktemp /tmp/shoal-ipvs-vm-bench.XXXXXX)
trap 'rm -f "$log"' EXIT
bench=$PWD/$build/tests/conformance/shoal-lb-vm-bench
for kind in ebpf ipvs; do
  [[ -x $bench-$kind ]] || { echo "ipvs_vm.sh: $bench-$kind missing (build it)" >&2; exit 1; }
done
SHOAL_VM_LOG=$log scripts/vm/run.sh --timeout 1500 --memory 2048 \
  "ebpf=$bench-ebpf" "ipvs=$bench-ipvs" --file "$PWD/$build/tests/support/shoal-lb-probe"

awk '/^METRIC/ {v[$2" "$3] = $4}
END {
  printf "%-18s %12s %12s %10s\n", "metric", "ebpf", "ipvs", "ipvs/ebpf"
  n = split("load_1k_ms load_10k_ms change_at_1k_us change_at_10k_us direct_conns_per_s vip_conns_per_s", m, " ")
  for (i = 1; i <= n; i++)
    printf "%-18s %12s %12s %10.2f\n", m[i], v["ebpf " m[i]], v["ipvs " m[i]], v["ipvs " m[i]] / v["ebpf " m[i]]
  printf "vip/direct conns: ebpf %.2f, ipvs %.2f\n", v["ebpf vip_conns_per_s"] / v["ebpf direct_conns_per_s"], v["ipvs vip_conns_per_s"] / v["ipvs direct_conns_per_s"]
}' "$log"
