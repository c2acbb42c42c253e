#!/usr/bin/env bash
# Wall time of each ceremony kind under SoftHSMv2, natively: runs the end-to-end ceremony test
# (every kind, scripted stand-ins) and prints each run's time. Runs that stop on purpose (missing
# quorum, edited plan) are listed with their exit status.
#   bench/ceremony/run.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
"$root/tests/e2e/ceremony.sh" "$build" 2>&1 >/dev/null | grep '^ceremony-time' | sed 's/^ceremony-time /  /'
