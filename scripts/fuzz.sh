#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz/ and runs each for SECONDS (default 10).
# Every decoder of bytes from the network has one; a crash or leak fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSHOAL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  $(command -v ninja >/dev/null && [[ ! -f build-fuzz/CMakeCache.txt ]] && echo -G Ninja) >/dev/null
targets=$(cmake --build build-fuzz --target help | sed -n 's/^\(fuzz_[a-z0-9_]*\):.*/\1/p; s/^\.\.\. \(fuzz_[a-z0-9_]*\)$/\1/p' | sort -u)
if [[ -z $targets ]]; then
  echo "fuzz.sh: no fuzz targets"
  exit 0
fi
cmake --build build-fuzz -j "$(nproc)" --target $targets
for t in $targets; do
  bin=$(find build-fuzz -type f -name "$t" -perm -u+x | head -n 1)
  corpus=$(mktemp -d)
  echo "fuzz.sh: $t for ${seconds}s"
  "$bin" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 3
  rm -rf "$corpus"
done
