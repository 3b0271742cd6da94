#!/usr/bin/env bash
# The VM runner's failure messages: one clear line when there is no kernel to boot, and when the
# VM gives no sign of life within the timeout. Each case must fail with its own message.
set -uo pipefail
runner="$(dirname "$0")/../../scripts/vm/run.sh"
status=0

expect_failure() {  # NAME EXPECTED-TEXT COMMAND...
  local name=$1 expected=$2
  shift 2
  local output rc
  output=$("$@" 2>&1)
  rc=$?
  if ((rc == 0)); then
    echo "FAIL $name: the runner passed"; status=1
  elif ! grep -q -- "$expected" <<<"$output"; then
    echo "FAIL $name: no '$expected' in:"; echo "$output" | tail -n 5; status=1
  else
    echo "ok   $name: $(grep -- "$expected" <<<"$output" | head -n 1)"
  fi
}

empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
expect_failure no-kernel "cannot boot the VM: no kernel in $empty" \
  env SHOAL_VM_BOOT_DIR="$empty" "$runner" 'true=true'
# Three seconds of emulation cannot reach init: the runner must say it timed out.
expect_failure timeout "within 3s" "$runner" --timeout 3 'true=true'
expect_failure bad-argument "tests are NAME=COMMAND" "$runner" no-equals-sign
exit $status
