#!/usr/bin/env bash
# CRL build+sign+verify: hanko (bench_crl, RSA-2048 in SoftHSMv2) versus `openssl ca -gencrl`
# over an index with the same number of revoked entries, in the same run.
#   bench/crl/run.sh BUILD_DIR [ENTRIES...]   (default 100000 1000000)
set -euo pipefail
build=$1
shift
counts=("${@:-100000 1000000}")
[ $# -gt 0 ] || counts=(100000 1000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -subj "/C=JP/O=Hanko Bench/CN=Bench CA" \
  -days 3650 -out "$work/ca.pem" 2>/dev/null
for n in "${counts[@]}"; do
  python3 - "$n" "$work/index.txt" <<'PY'
import os, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for _ in range(n):
        serial = bytearray(os.urandom(16)); serial[0] = (serial[0] & 0x7F) | 0x40
        f.write(f"R\t301122000000Z\t261121230000Z\t{serial.hex().upper()}\tunknown\t/CN=x\n")
PY
  cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
database = $work/index.txt
crlnumber = $work/crlnumber
certificate = $work/ca.pem
private_key = $work/ca.key
default_md = sha256
default_crl_hours = 72
unique_subject = no
CNF
  echo 01 > "$work/crlnumber"
  /usr/bin/time -f "openssl entries=$n seconds=%e peak_rss_mb=%M" openssl ca -config "$work/ca.cnf" -gencrl \
    -out "$work/openssl.crl" 2>&1 | grep '^openssl' | awk '{ split($4, m, "="); printf "%s %s %s peak_rss_mb=%.1f\n", $1, $2, $3, m[2]/1024 }'
  "$build/bench/crl/bench_crl" "$n"
done
