#!/usr/bin/env bash
# Runs the transfer benchmark (one core; needs ImageMagick's convert for the degraded images).
#   bench/transfer/run.sh BUILD_DIR [--trials N] [--no-degraded]
set -euo pipefail
build=$1
shift
exec "$build/bench/transfer/bench_transfer" "$@"
