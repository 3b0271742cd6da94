#!/usr/bin/env bash
# Sets up and runs every test: installs the packages, builds, runs the unit and real-kernel
# (netns) tests through CTest, then each fuzz target briefly. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "test.sh: run as root (the netns tests create namespaces)" >&2; exit 1; }

scripts/install-deps.sh
scripts/build.sh
scripts/testbed.sh clean           # runs of earlier test processes that were killed
trap 'scripts/testbed.sh clean' EXIT

scripts/fuzz.sh "${SHOAL_FUZZ_SECONDS:-10}"
ctest --test-dir build --output-on-failure -j 2 --timeout 600
