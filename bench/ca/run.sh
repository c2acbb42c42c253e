#!/usr/bin/env bash
# Signer figures for the note: batch issuance at 10,000 and 100,000 certificates with one and two
# token sessions (as a fraction of the raw C_Sign rate of the same key, measured in the same run),
# and a fullCRL of 1,000,000 entries from the database; each with the database plain and
# encrypted (R42, SQLCipher), in the same run.
#   bench/ca/run.sh BUILD_DIR
set -euo pipefail
build=$1
for db in plain encrypted; do
  for n in 10000 100000; do
    for s in 1 2; do "$build/bench/ca/bench_ca" issue "$n" "$s" "$db"; done
  done
  "$build/bench/ca/bench_ca" crl 1000000 "$db"
  "$build/bench/ca/bench_ca" audit 1000000 "$db"
done
