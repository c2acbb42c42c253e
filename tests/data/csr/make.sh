#!/bin/sh
# Regenerates the CSR vectors with OpenSSL. Keys are thrown away; only the requests are kept.
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
openssl req -new -newkey rsa:2048 -nodes -keyout "$t/k1" -subj "/C=JP/O=Hanko Test/CN=rsa2048" -outform DER -out rsa2048.der
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/k2" -subj "/C=JP/O=Hanko Test/CN=p256" -outform DER -out p256.der
openssl req -new -newkey rsa:1024 -nodes -keyout "$t/k3" -subj "/C=JP/CN=weak" -outform DER -out rsa1024.der
openssl req -new -newkey rsa:2048 -nodes -keyout "$t/k4" -utf8 -subj "/C=JP/ST=熊本県/CN=山田太郎" \
  -addext "subjectAltName=email:taro@example.jp" -outform DER -out japanese.der
# bad signature: flip the last byte of the signature
python3 - <<'PY'
b = bytearray(open("rsa2048.der", "rb").read())
b[-1] ^= 0x01
open("bad-signature.der", "wb").write(bytes(b))
# trailing garbage after a good request
open("trailing.der", "wb").write(open("rsa2048.der", "rb").read() + b"\x00\x00")
# truncated
open("truncated.der", "wb").write(open("rsa2048.der", "rb").read()[:-10])
# the outer length re-written in BER long form with a leading zero octet (non-minimal)
d = open("rsa2048.der", "rb").read()
assert d[1] == 0x82
open("nonminimal-length.der", "wb").write(bytes([0x30, 0x83, 0x00]) + d[2:])
# indefinite length for the outer SEQUENCE
open("indefinite.der", "wb").write(bytes([0x30, 0x80]) + d[4:] + b"\x00\x00")
PY
