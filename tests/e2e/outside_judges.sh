#!/usr/bin/env bash
# Runs the demo flow, then asks OpenSSL, GnuTLS, NSS and python3-cryptography about every
# certificate and the CRL. Any judge that disagrees fails the test.
set -euo pipefail
hanko=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/scripts/demo-flow" "$out" "$hanko" > "$out.log" 2>&1 || { cat "$out.log"; exit 1; }
rm -f "$out.log"
work=$out/work
revoked=$(cat "$out/revoked.txt")
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "-- openssl asn1parse: every object parses as DER with nothing odd"
for f in "$out"/repository/ca.crt "$out"/repository/ca.crl "$out"/issued/*.crt; do
  openssl asn1parse -inform DER -in "$f" > "$work/asn1.txt" 2>&1 || fail "asn1parse $f"
  ! grep -qiE 'error|BAD|indefinite' "$work/asn1.txt" || fail "asn1parse complains about $f"
done

echo "-- openssl: Japanese subject prints right with -nameopt utf8"
good=$(ls "$out"/issued/*.crt | grep -v "$revoked")
subject=$(openssl x509 -inform DER -in "$good" -noout -subject -nameopt utf8)
[ "$subject" = "subject=C=JP, ST=熊本県, CN=山田太郎" ] || fail "subject printed as '$subject'"

echo "-- GnuTLS certtool --verify-chain"
openssl x509 -inform DER -in "$out/repository/ca.crt" -out "$work/ca.pem"
openssl crl -inform DER -in "$out/repository/ca.crl" -out "$work/crl.pem"
for crt in "$out"/issued/*.crt; do
  openssl x509 -inform DER -in "$crt" -out "$work/leaf.pem"
  cat "$work/leaf.pem" "$work/ca.pem" > "$work/chain.pem"
  certtool --verify-chain --infile "$work/chain.pem" > "$work/certtool.txt" 2>&1 || fail "certtool chain $crt: $(cat "$work/certtool.txt")"
  grep -q "Chain verification output: Verified" "$work/certtool.txt" || fail "certtool did not verify $crt"
  # With the CRL as a revocation source: the revoked one must fail.
  if certtool --verify --load-ca-certificate "$work/ca.pem" --load-crl "$work/crl.pem" --infile "$work/leaf.pem" > "$work/certtool.txt" 2>&1; then
    [ "$(basename "$crt" .crt)" != "$revoked" ] || fail "certtool accepts the revoked certificate"
  else
    [ "$(basename "$crt" .crt)" = "$revoked" ] || fail "certtool refuses $crt: $(cat "$work/certtool.txt")"
  fi
done
certtool --crl-info --infile "$work/crl.pem" --load-ca-certificate "$work/ca.pem" > "$work/crlinfo.txt" 2>&1 || fail "certtool --crl-info"
grep -qi "$revoked" "$work/crlinfo.txt" || fail "certtool does not list $revoked in the CRL"

echo "-- NSS vfychain and crlutil"
nss=$work/nss
mkdir -p "$nss"
certutil -N -d "sql:$nss" --empty-password
certutil -A -n hanko-root -t "CT,C,C" -i "$out/repository/ca.crt" -d "sql:$nss"
crlutil -I -i "$out/repository/ca.crl" -d "sql:$nss" -B || fail "crlutil refused the CRL"
crlutil -L -d "sql:$nss" | grep -q hanko-root || fail "crlutil does not list the CRL"
for crt in "$out"/issued/*.crt; do
  # usage 4 = email signer: digitalSignature + nonRepudiation certificates
  if vfychain -d "sql:$nss" -pp -u 4 -g leaf -m crl "$crt" > "$work/vfy.txt" 2>&1 && grep -q "Chain is good" "$work/vfy.txt"; then
    [ "$(basename "$crt" .crt)" != "$revoked" ] || fail "vfychain accepts the revoked certificate"
  else
    [ "$(basename "$crt" .crt)" = "$revoked" ] || fail "vfychain refuses $crt: $(cat "$work/vfy.txt")"
  fi
done
derdump -i "$out/repository/ca.crl" > /dev/null || fail "derdump"

echo "-- python3-cryptography"
python3 - "$out" "$revoked" <<'PY' || fail "python3-cryptography"
import sys, glob
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
out, revoked = sys.argv[1], int(sys.argv[2], 16)
ca = x509.load_der_x509_certificate(open(f"{out}/repository/ca.crt", "rb").read())
assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
crl = x509.load_der_x509_crl(open(f"{out}/repository/ca.crl", "rb").read())
assert crl.is_signature_valid(ca.public_key()), "CRL signature"
assert crl.get_revoked_certificate_by_serial_number(revoked) is not None
for path in glob.glob(f"{out}/issued/*.crt"):
    c = x509.load_der_x509_certificate(open(path, "rb").read())
    c.verify_directly_issued_by(ca)
    _ = [e.value for e in c.extensions]
    print(path.rsplit("/", 1)[1], c.subject.rfc4514_string())
PY
echo "all outside judges accept"
