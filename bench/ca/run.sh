#!/usr/bin/env bash
# Signer figures for the note: batch issuance at 10,000 and 100,000 certificates with one and two
# token sessions (as a fraction of the raw C_Sign rate of the same key, measured in the same run),
# and a fullCRL of 1,000,000 entries from the database.
#   bench/ca/run.sh BUILD_DIR
set -euo pipefail
build=$1
for n in 10000 100000; do
  for s in 1 2; do "$build/bench/ca/bench_ca" issue "$n" "$s"; done
done
"$build/bench/ca/bench_ca" crl 1000000
"$build/bench/ca/bench_ca" audit 1000000
