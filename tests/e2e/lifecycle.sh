#!/usr/bin/env bash
# The rest of a CA's life: cross-certification with a Bridge CA (both directions, policy
# mapping, the crossCertificatePair), a CRL schedule, CA key compromise and termination.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
printf 'SoPin-9876A\nUser-Pin-1234a\n' > pins
printf 'User-Pin-1234a\n' > pin
"$hanko" token-init --label life --so-pin-fd 3 --pin-fd 3 3<pins > /dev/null
init() {  # STATE LABEL
  "$hanko" init --state "$1" --token life --key-label "$2" --key-type p256 --subject "/C=JP/O=Hanko Test/CN=Life CA $2" \
    --crl-url "http://127.0.0.1/{scope}.crl" --policy-oid 1.2.392.200149.8.5.1.1.10 --pin-fd 3 3<pin > /dev/null
}
init ca ca-life
der2pem() { openssl x509 -inform DER -in "$1" -out "$2"; }
der2pem ca/../ca.crt ca.pem 2>/dev/null || true
"$hanko" publish --state ca --out-dir repo > /dev/null
der2pem repo/ca.crt ca.pem

echo "-- cross-certification with a Bridge CA (R13)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout bridge.key -subj "/C=JP/O=Bridge/CN=Test Bridge CA" \
  -days 3650 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out bridge.pem 2>/dev/null
openssl req -new -key bridge.key -subj "/C=JP/O=Bridge/CN=Test Bridge CA" -out bridge.csr 2>/dev/null
"$hanko" cross-certify --state ca --csr bridge.csr --out cross.der \
  --policy-mapping 1.2.392.100.1.1:1.2.392.200149.8.5.1.1.10 --pin-fd 3 3<pin 2>/dev/null > /dev/null
der2pem cross.der cross.pem
openssl x509 -in cross.pem -noout -ext policyMappings,basicConstraints | grep "1.2.392.100.1.1" >/dev/null || fail "no policy mapping"
# A certificate the Bridge issued verifies for a relying party that trusts only our root.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/C=JP/CN=Bridge Leaf" -out leaf.csr 2>/dev/null
openssl x509 -req -in leaf.csr -CA bridge.pem -CAkey bridge.key -CAcreateserial -days 30 -out bridge-leaf.pem 2>/dev/null
openssl verify -x509_strict -CAfile ca.pem -untrusted cross.pem bridge-leaf.pem > /dev/null || fail "bridge leaf does not verify through the cross-certificate"
# GnuTLS does not implement policy mapping, so it refuses the critical policyMappings (RFC 5280
# wants it critical): it judges the encoding only.
certtool -i --infile cross.pem > certtool.txt 2>&1 || fail "certtool cannot parse the cross-certificate: $(cat certtool.txt)"
python3 -c "from cryptography import x509; c = x509.load_pem_x509_certificate(open('cross.pem','rb').read()); [e.value for e in c.extensions]" \
  || fail "python3-cryptography cannot parse the cross-certificate"
echo "ok  a Bridge-issued certificate verifies from our root through the cross-certificate (openssl)"

# The Bridge certifies our key; we take it in and publish the pair.
python3 - <<'PY'
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
ours = x509.load_pem_x509_certificate(open("ca.pem", "rb").read())
bridge = x509.load_pem_x509_certificate(open("bridge.pem", "rb").read())
key = serialization.load_pem_private_key(open("bridge.key", "rb").read(), None)
now = datetime.datetime.utcnow()
cert = (x509.CertificateBuilder().subject_name(ours.subject).issuer_name(bridge.subject)
        .public_key(ours.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365 * 5))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
open("to-us.der", "wb").write(cert.public_bytes(serialization.Encoding.DER))
PY
"$hanko" cross-import --state ca --certificate to-us.der > /dev/null
"$hanko" publish --state ca --out-dir repo > /dev/null
pair=$(ls repo/crossCertificatePair-*.der)
python3 - "$pair" <<'PY' || fail "crossCertificatePair does not decode"
import sys
from cryptography import x509
d = open(sys.argv[1], "rb").read()
def element(b, i):
    tag, n = b[i], b[i + 1]; i += 2
    if n & 0x80:
        k = n & 0x7F; n = int.from_bytes(b[i:i + k], "big"); i += k
    return tag, b[i:i + n], i + n
tag, body, end = element(d, 0)
assert tag == 0x30 and end == len(d)
t0, c0, i = element(body, 0)
t1, c1, j = element(body, i)
assert (t0, t1) == (0xA0, 0xA1) and j == len(body)
fwd, rev = x509.load_der_x509_certificate(c0), x509.load_der_x509_certificate(c1)
assert "Bridge" in fwd.issuer.rfc4514_string() and "Bridge" in rev.subject.rfc4514_string()
PY
openssl asn1parse -inform DER -in "$pair" > /dev/null || fail "asn1parse of the pair"
echo "ok  crossCertificatePair published: [0] issued to this CA, [1] issued by this CA"
openssl x509 -in bridge.pem -outform DER -out bridge-self.der
if "$hanko" cross-import --state ca --certificate bridge-self.der 2> err.txt; then fail "foreign certificate taken as ours"; fi
echo "ok  a certificate that is not for us is refused: $(cat err.txt)"

echo "-- a CRL schedule: the next days pre-signed, numbers rising"
"$hanko" crl --state ca --out-dir lists --schedule 3 --pin-fd 3 3<pin > schedule.txt
numbers=$(for f in lists/schedule/g1-full-*.crl; do openssl crl -inform DER -in "$f" -noout -crlnumber | cut -d= -f2; done | sort)
[ "$(echo "$numbers" | wc -l)" = 3 ] || fail "expected 3 scheduled fullCRLs, got: $numbers"
for f in lists/schedule/*.crl; do openssl crl -inform DER -in "$f" -CAfile ca.pem -noout -verify 2>/dev/null || fail "$f does not verify"; done
last=$(ls lists/schedule/g1-full-*.crl | sort -V | tail -1)
openssl crl -inform DER -in "$last" -noout -lastupdate | grep "$(date -u -d '+3 days' '+%b %e')" >/dev/null || fail "the last scheduled list is not dated three days ahead"
echo "ok  $(ls lists/schedule | wc -l) lists pre-signed for 3 days; the last one is dated $(openssl crl -inform DER -in "$last" -noout -lastupdate)"

echo "-- CA key compromise (R25)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=victim" -out victim.csr 2>/dev/null
"$hanko" issue --state ca --csr victim.csr --profile ocsp-responder --out victim.der --pin-fd 3 3<pin > /dev/null 2>&1
"$hanko" compromise --state ca --generation 1 --confirm compromise --out-dir final --pin-fd 3 3<pin > compromise.txt
victim=$(openssl x509 -inform DER -in victim.der -noout -serial | cut -d= -f2)
openssl crl -inform DER -in final/g1-full.crl -noout -text | grep -A4 "$victim" | grep "CA Compromise" >/dev/null || fail "victim not revoked with cACompromise"
cross_serial=$(openssl x509 -in cross.pem -noout -serial | cut -d= -f2)
openssl crl -inform DER -in final/g1-arl.crl -noout -text | grep "$cross_serial" >/dev/null || fail "the cross-certificate is not on the ARL"
if "$hanko" issue --state ca --csr leaf.csr --profile ocsp-responder --out never.der --pin-fd 3 3<pin 2> err.txt; then fail "issued after compromise"; fi
grep -q "no active key" err.txt || fail "issuance after compromise: $(cat err.txt)"
if "$hanko" crl --state ca --out-dir after --scope g1-full --pin-fd 3 3<pin 2> err.txt; then fail "compromised key signed a list"; fi
grep -q "compromised" err.txt || fail "list after compromise: $(cat err.txt)"
echo "ok  every certificate revoked with cACompromise, final lists signed, the key refused afterwards"

echo "-- termination (R26)"
init term term-key
"$hanko" issue --state term --csr leaf.csr --profile ocsp-responder --out term-leaf.der --pin-fd 3 3<pin > /dev/null 2>&1
if "$hanko" terminate --state term --confirm yes --out-dir tl --pin-fd 3 3<pin 2> err.txt; then fail "terminated without the confirmation word"; fi
"$hanko" terminate --state term --confirm terminate --out-dir tl --pin-fd 3 3<pin > /dev/null
leaf=$(openssl x509 -inform DER -in term-leaf.der -noout -serial | cut -d= -f2)
openssl crl -inform DER -in tl/g1-full.crl -noout -text | grep -A4 "$leaf" | grep "Cessation Of Operation" >/dev/null || fail "not revoked at termination"
if "$hanko" issue --state term --csr victim.csr --profile ocsp-responder --out never2.der --pin-fd 3 3<pin 2> err.txt; then fail "issued after termination"; fi
grep -q "terminated" err.txt || fail "issuance after termination: $(cat err.txt)"
"$hanko" crl --state term --out-dir tl2 --pin-fd 3 3<pin > /dev/null || fail "no lists after termination"
"$hanko" status --state term | grep TERMINATED >/dev/null || fail "status does not say terminated"
echo "ok  termination revokes everything, refuses issuance, and lists continue"
echo "lifecycle OK"
