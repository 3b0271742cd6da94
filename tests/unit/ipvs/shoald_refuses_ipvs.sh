#!/usr/bin/env bash
# shoald --lb-backend ipvs on a kernel without IPVS: it stops at start with one clear line (and
# starts nothing). Passes without checking on a kernel that has IPVS (there shoald would run).
set -uo pipefail
shoald=$1
if [[ -e /proc/net/ip_vs ]]; then
  echo "skipped: this kernel has IPVS"
  exit 0
fi
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
err=$(timeout 20 "$shoald" --lb-backend ipvs --state-dir "$state" 2>&1 >/dev/null)
rc=$?
if [[ -e /proc/net/ip_vs ]]; then  # shoald's probe loaded the module after all
  echo "skipped: the ip_vs module loaded"
  exit 0
fi
lines=$(printf '%s\n' "$err" | grep -c .)
if ((rc != 1)); then echo "FAIL: exit code $rc, want 1; stderr: $err"; exit 1; fi
if ((lines != 1)); then echo "FAIL: $lines lines on stderr, want 1: $err"; exit 1; fi
if ! grep -q "^shoald: .*IPVS is not available" <<<"$err"; then echo "FAIL: unclear: $err"; exit 1; fi
if [[ -e $state/shoald.sock ]]; then echo "FAIL: it served the CLI socket"; exit 1; fi
echo "ok: $err"
