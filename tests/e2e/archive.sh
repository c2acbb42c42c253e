#!/usr/bin/env bash
# Archive volumes (R43): a signed volume with every certificate, list, decision, key record and
# the audit log; verified, copied to new media and verified there; outside readers (openssl,
# python) read its contents; every kind of damage is named and never accepted.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
printf 'SoPin-9876A\nUser-Pin-1234a\n' > pins
printf 'User-Pin-1234a\n' > pin
"$hanko" token-init --label archive --so-pin-fd 3 --pin-fd 3 3<pins > /dev/null
"$hanko" init --state ca --token archive --key-label ca --key-type p256 --subject "/C=JP/O=Archive/CN=Archive CA" \
  --crl-url "http://repo.invalid/{scope}.crl" --pin-fd 3 3<pin > /dev/null
for i in 1 2 3 4; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=user$i" -out r$i.csr 2>/dev/null
  "$hanko" issue --state ca --csr r$i.csr --profile ocsp-responder --out c$i.der --operator Tanaka --pin-fd 3 3<pin > /dev/null 2>&1
done
serial=$(openssl x509 -inform DER -in c2.der -noout -serial | cut -d= -f2)
"$hanko" revoke --state ca --serial "$serial" --reason keyCompromise --operator Tanaka --pin-fd 3 3<pin > /dev/null
"$hanko" rollover --state ca --new-key-label ca-g2 --key-type p256 --pin-fd 3 3<pin > /dev/null 2>&1
"$hanko" crl --state ca --out-dir lists --pin-fd 3 3<pin > /dev/null

"$hanko" archive create --state ca --out media/volume-1 --pin-fd 3 3<pin 2>/dev/null
"$hanko" archive verify media/volume-1 --audit-key ca/audit.spki
grep -q "archive.create" <(sqlite3 ca/ca.db "SELECT type FROM audit") || fail "the archive is not in the audit log"
echo "ok  volume written and verified"

# Outside readers: the TSV index names the revocation, openssl reads the first certificate,
# python walks every DER object and checks the audit chain's JSON.
grep -P "^$serial\t.*\tkeyCompromise\t" media/volume-1/certificates.tsv > /dev/null || fail "the revocation is not in the index"
openssl x509 -inform DER -in media/volume-1/generations.der -noout -subject | grep "Archive CA" >/dev/null || fail "openssl cannot read generations.der"
python3 - media/volume-1 <<'PY'
import sys, json, hashlib
from cryptography import x509
v = sys.argv[1]
def objects(path):
    data, at, out = open(path, 'rb').read(), 0, []
    while at < len(data):
        n = data[at + 1]
        head, length = (2, n) if n < 0x80 else (2 + (n & 0x7f), int.from_bytes(data[at + 2:at + 2 + (n & 0x7f)], 'big'))
        out.append(data[at:at + head + length]); at += head + length
    return out
certs = [x509.load_der_x509_certificate(d) for d in objects(v + '/certificates.der')]
crls = [x509.load_der_x509_crl(d) for d in objects(v + '/lists.der')]
entries = [json.loads(l) for l in open(v + '/audit.jsonl')]
assert len(certs) >= 7 and len(crls) >= 4 and len(entries) >= 10, (len(certs), len(crls), len(entries))
print(f"ok  python3-cryptography reads {len(certs)} certificates and {len(crls)} lists; {len(entries)} audit entries")
PY

"$hanko" archive copy media/volume-1 --to new-media/volume-1 > copy.txt
grep -q "verified there" copy.txt || fail "copy not verified"
echo "ok  copied to new media and verified there"

damaged() {  # NAME EXPECTED-MESSAGE COMMAND...: on a fresh copy of the volume
  rm -rf d && cp -a media/volume-1 d
  (eval "$3")
  if "$hanko" archive verify d --audit-key ca/audit.spki > out.txt 2>&1; then fail "$1 accepted"; fi
  grep -q "$2" out.txt || { cat out.txt; fail "$1: unexpected message"; }
  echo "ok  $1: $(tail -1 out.txt | cut -c1-150)"
}
damaged "one flipped byte in certificates.der" "'certificates.der' differs" 'flip_byte d/certificates.der 200'
damaged "a missing file" "'lists.der' is missing" 'rm d/lists.der'
damaged "an added file" "'extra.txt' is in the volume but not in its MANIFEST" 'echo x > d/extra.txt'
damaged "an edited MANIFEST" "signature does not verify" 'sed -i "s/^created .*/created 2020-01-01 00:00:00 UTC/" d/MANIFEST'
damaged "a MANIFEST cut short" "not signed" 'head -n 5 d/MANIFEST > m && mv m d/MANIFEST'
damaged "an empty folder" "cannot be read" 'rm -f d/*'
rm -rf other && mkdir other && cp -a media/volume-1 other/v
"$hanko" token-init --label other --so-pin-fd 3 --pin-fd 3 3<pins > /dev/null
"$hanko" init --state other-ca --token other --key-label o --key-type p256 --subject "/C=JP/CN=Other CA" --pin-fd 3 3<pin > /dev/null
if "$hanko" archive verify media/volume-1 --audit-key other-ca/audit.spki > out.txt 2>&1; then fail "another CA's audit key accepted"; fi
grep -q "other than this CA's audit key" out.txt || { cat out.txt; fail "foreign key message"; }
echo "ok  a volume is refused against another CA's audit key"
if "$hanko" archive create --state ca --out media/volume-1 --pin-fd 3 3<pin > out.txt 2>&1; then fail "a volume was overwritten"; fi
grep -q "never overwritten" out.txt || { cat out.txt; fail "overwrite message"; }
echo "archive: PASS"
