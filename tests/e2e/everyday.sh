#!/usr/bin/env bash
# The everyday use of a CA, and the day-two defects each found by hand (issue 14): a certificate
# signed into an existing file, pre-signed lists published early, unchecked basic four, a
# rollover that changed the algorithm, a compromise without confirmation; then the index tools
# (list, find, get) and --version.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
printf 'SoPin-9876A\nUser-Pin-1234a\n' > pins
printf 'User-Pin-1234a\n' > pin
"$hanko" token-init --label day2 --so-pin-fd 3 --pin-fd 3 3<pins > /dev/null
"$hanko" init --state ca --token day2 --key-label day2-g1 --key-type p256 --subject "/C=JP/O=Hanko Test/CN=Day Two CA" \
  --crl-url "http://127.0.0.1/{scope}.crl" --pin-fd 3 3<pin > /dev/null
csr() {  # NAME: a fresh key and request for CN=NAME
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/C=JP/CN=$1" -out "$1.csr" 2>/dev/null
}
issue() {  # NAME OUT [extra options]: issue a subscriber-signature certificate
  local name=$1 out=$2
  shift 2
  "$hanko" issue --state ca --csr "$name.csr" --profile subscriber-signature --out "$out" --jpki-name "$name" \
    --jpki-birth 19800401 --jpki-gender 1 --jpki-address "熊本県熊本市" "$@" --pin-fd 3 3<pin
}
count() { "$hanko" list --state ca --profile subscriber-signature --pin-fd 3 3<pin 2>/dev/null | wc -l; }

echo "-- 1. issue --out onto an existing file: refused before anything is signed"
csr alice
echo "keep me" > taken.der
if issue alice taken.der > out.txt 2>&1; then fail "issue wrote over an existing file"; fi
grep -q "already exists; nothing was signed" out.txt || fail "unclear refusal: $(cat out.txt)"
! grep -q "To be signed" out.txt || fail "the refusal came after the summary: $(cat out.txt)"
[ "$(cat taken.der)" = "keep me" ] || fail "the existing file changed"
[ "$(count)" -eq 0 ] || fail "a certificate was recorded although nothing could be written"
mkdir locked && chmod 500 locked
if [ "$(id -u)" -ne 0 ]; then
  if issue alice locked/a.der > out.txt 2>&1; then fail "issue into a read-only folder succeeded"; fi
  grep -q "nothing was signed" out.txt || fail "unclear refusal: $(cat out.txt)"
fi
issue alice alice.der > /dev/null 2>&1 || fail "issue alice"
[ "$(count)" -eq 1 ] || fail "alice not recorded once"
echo "ok  an existing output file is refused before signing; nothing recorded"

echo "-- get: the recorded certificate, DER and PEM, also in OpenSSL's serial form"
serial=$(openssl x509 -inform DER -in alice.der -noout -serial | cut -d= -f2)
colons=$(echo "$serial" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//')
"$hanko" get --state ca --serial "$colons" --out again.der --pin-fd 3 3<pin > /dev/null || fail "get --serial $colons"
cmp -s alice.der again.der || fail "get returned other bytes"
"$hanko" get --state ca --serial "$serial" --pem --pin-fd 3 3<pin > again.pem || fail "get --pem"
openssl x509 -in again.pem -noout -serial | grep "$serial" >/dev/null || fail "get --pem is not the certificate"
if "$hanko" get --state ca --serial "$serial" --out again.der --pin-fd 3 3<pin > out.txt 2>&1; then fail "get overwrote a file"; fi
if "$hanko" get --state ca --serial 0BADC0DE --out none.der --pin-fd 3 3<pin > out.txt 2>&1; then fail "get of an unknown serial"; fi
grep -q "no certificate 0BADC0DE" out.txt || fail "unclear: $(cat out.txt)"
echo "ok  get writes the recorded certificate (DER, PEM; 58:1b:... serials)"

echo "-- 3. the basic four are checked (R14) and documented"
csr bob
for bad in "--jpki-birth 19801341" "--jpki-birth 1980-04-01" "--jpki-birth 19810229" "--jpki-birth 29991231" \
           "--jpki-gender M" "--jpki-gender 9" "--jpki-name-substituted yes"; do
  # shellcheck disable=SC2086
  if issue bob bob.der $bad > out.txt 2>&1; then fail "accepted $bad"; fi
  grep -q -- "${bad%% *}" out.txt || fail "$bad: the message does not name the option: $(cat out.txt)"
  [ ! -e bob.der ] || fail "$bad: a file was written"
done
if "$hanko" issue --state ca --csr bob.csr --profile subscriber-signature --out bob.der --jpki-name "　 " --jpki-birth 19800401 \
     --jpki-gender 2 --jpki-address "熊本県" --pin-fd 3 3<pin > out.txt 2>&1; then fail "accepted a blank name"; fi
grep -q -- "--jpki-name is empty" out.txt || fail "blank name: $(cat out.txt)"
if "$hanko" issue --state ca --csr bob.csr --profile subscriber-signature --out bob.der --jpki-name "Bob" --jpki-birth 19800401 \
     --jpki-gender 2 --pin-fd 3 3<pin > out.txt 2>&1; then fail "accepted a missing address"; fi
grep -q -- "--jpki-address is missing" out.txt || fail "missing address: $(cat out.txt)"
[ "$(count)" -eq 1 ] || fail "a refused request was recorded"
"$hanko" issue --state ca --csr bob.csr --profile subscriber-signature --out bob.der --jpki-name "bob" --jpki-birth 20000229 \
  --jpki-gender 2 --jpki-address "熊本県" --jpki-name-substituted 1 --pin-fd 3 3<pin > out.txt 2>&1 || fail "a leap-day birth and a flag refused: $(cat out.txt)"
"$hanko" issue --help | grep "YYYYMMDD" >/dev/null || fail "issue --help does not give the date format"
"$hanko" issue --help | grep "1 = male" >/dev/null || fail "issue --help does not give the gender codes"
echo "ok  impossible dates, other formats, unknown gender codes, bad flags and blank text are refused by option name"

echo "-- 2. pre-signed lists wait for their time: publish and status use only lists that have begun"
"$hanko" crl --state ca --out-dir lists --schedule 3 --pin-fd 3 3<pin > /dev/null
"$hanko" publish --state ca --out-dir repo > /dev/null
openssl x509 -inform DER -in repo/ca.crt -out ca.pem
for f in repo/*.crl; do openssl crl -inform DER -in "$f"; done > lists.pem
openssl x509 -inform DER -in alice.der -out alice.pem
openssl verify -x509_strict -crl_check_all -CAfile ca.pem -CRLfile lists.pem alice.pem > out.txt 2>&1 ||
  fail "openssl refuses the published lists: $(cat out.txt)"
now=$(date -u +%s)
for f in repo/*.crl; do
  t=$(date -u -d "$(openssl crl -inform DER -in "$f" -noout -lastupdate | cut -d= -f2)" +%s)
  [ "$t" -le "$now" ] || fail "$f is published before its thisUpdate"
done
"$hanko" status --state ca --pin-fd 3 3<pin > status.txt
due=$(grep -m1 "list g1-full" status.txt | sed 's/.*next due \(.*\), expires.*/\1/')
[ "$(date -u -d "$due" +%s)" -le $((now + 25 * 3600)) ] || fail "status reports a due date from a pre-signed list: $due"
"$hanko" status --state ca --json --pin-fd 3 3<pin > status.json
python3 - "$now" <<'PY' || fail "status --json: $(cat status.json)"
import json, sys, datetime
j = json.load(open("status.json"))
assert {"state", "terminated", "identity", "database_encrypted", "generations", "lists", "warnings"} <= set(j), j.keys()
g = j["generations"][0]
assert g["number"] == 1 and g["key"] == "ECDSA P-256" and g["certificates"] >= 2, g
now = int(sys.argv[1])
for l in j["lists"]:
    t = datetime.datetime.strptime(l["this_update"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    assert t <= now + 1, l
PY
echo "ok  publish writes lists whose time has come; status does not count the schedule"

echo "-- list / find / --json"
[ "$(count)" -eq 2 ] || fail "list shows $(count) certificates, not 2"
"$hanko" find --state ca --subject bob --pin-fd 3 3<pin 2>/dev/null | grep "CN=bob" >/dev/null || fail "find --subject"
"$hanko" find --state ca --profile subscriber-signature --status valid --json --pin-fd 3 3<pin > found.json
python3 - <<'PY' || fail "list --json"
import json
rows = [json.loads(l) for l in open("found.json")]
assert len(rows) == 2, rows
for r in rows:
    assert set(["serial", "generation", "kind", "profile", "subject", "not_before", "not_after", "status"]) <= set(r), r
    assert r["status"] == "valid" and r["generation"] == 1, r
PY
if "$hanko" find --state ca --pin-fd 3 3<pin > out.txt 2>&1; then fail "find without a filter"; fi
echo "ok  list, find (subject, profile, status), --json"

echo "-- issue --dry-run, and renewal with --replaces (no gap, R16 holds)"
csr carol
issue carol carol.der --dry-run > dry.txt 2>&1 || fail "issue --dry-run: $(cat dry.txt)"
grep -q "Would be signed" dry.txt && grep -q "CN=carol" dry.txt && grep -q "nothing was signed" dry.txt || fail "dry run: $(cat dry.txt)"
[ ! -e carol.der ] && [ "$(count)" -eq 2 ] || fail "--dry-run signed or recorded something"
csr alice   # a new key for the same subject
if issue alice alice2.der > out.txt 2>&1; then fail "a second valid certificate for alice (R16)"; fi
grep -q -- "--replaces $serial" out.txt || fail "the R16 refusal does not offer --replaces: $(cat out.txt)"
issue alice alice2.der --replaces "$serial" > out.txt 2>&1 || fail "renewal: $(cat out.txt)"
grep -q "replaces $serial" out.txt && grep -q "replaced $serial (revoked: superseded)" out.txt || fail "renewal output: $(cat out.txt)"
"$hanko" find --state ca --serial "$serial" --pin-fd 3 3<pin 2>/dev/null | grep "revoked (superseded)" >/dev/null || fail "the old one is not revoked"
"$hanko" find --state ca --subject alice --status valid --pin-fd 3 3<pin 2>/dev/null > valid.txt
[ "$(wc -l < valid.txt)" -eq 1 ] || fail "alice holds $(wc -l < valid.txt) valid certificates"
if issue bob bob2.der --replaces "$(openssl x509 -inform DER -in alice2.der -noout -serial | cut -d= -f2)" > out.txt 2>&1; then
  fail "bob renewed alice's certificate"
fi
grep -q "a renewal keeps the subject" out.txt || fail "unclear: $(cat out.txt)"
echo "ok  --dry-run signs nothing; --replaces issues the new one and revokes the old as superseded at once"

echo "-- 4. rollover keeps the key algorithm unless told"
"$hanko" rollover --state ca --new-key-label day2-g2 --dry-run --pin-fd 3 3<pin > dry.txt
grep -q "ECDSA P-256 'day2-g1' -> generation 2 p256" dry.txt || fail "rollover --dry-run: $(cat dry.txt)"
"$hanko" rollover --state ca --new-key-label day2-g2 --pin-fd 3 3<pin > roll.txt
grep -q "ECDSA P-256" roll.txt || fail "rollover does not print the new key: $(cat roll.txt)"
"$hanko" publish --state ca --out-dir repo > /dev/null
openssl x509 -inform DER -in repo/ca-g2.crt -noout -text | grep "Public Key Algorithm: id-ecPublicKey" >/dev/null || fail "the new key is not EC"
echo "ok  a P-256 CA rolls over to P-256 and says so"

echo "-- 5. compromise needs --confirm compromise"
if "$hanko" compromise --state ca --generation 1 --out-dir final --pin-fd 3 3<pin > out.txt 2>&1; then fail "compromise without --confirm"; fi
grep -q -- "--confirm compromise" out.txt || fail "unclear: $(cat out.txt)"
"$hanko" compromise --state ca --generation 1 --dry-run --out-dir final --pin-fd 3 3<pin > dry.txt
grep -qE "would revoke [0-9]+ valid certificates of generation 1" dry.txt || fail "compromise --dry-run: $(cat dry.txt)"
[ "$("$hanko" find --state ca --status revoked --pin-fd 3 3<pin 2>/dev/null | wc -l)" -eq 1 ] || fail "the dry run revoked something"
echo "ok  compromise refuses without --confirm; --dry-run shows what it would revoke"

echo "-- a new PIN typed on a terminal is asked twice"
# script(1) is util-linux (Debian's essential bsdutils): the terminal the prompts need.
( for line in SoPin-9876A SoPin-9876A User-Pin-1234a User-Pin-1234b User-Pin-1234a User-Pin-1234a; do sleep 0.3; echo "$line"; done; sleep 1 ) |
  timeout 30 script -qec "$hanko token-init --label twice" /dev/null > tty.txt 2>&1 || fail "token-init on a terminal: $(cat tty.txt)"
grep -q "The two entries differ" tty.txt && grep -q "token 'twice' initialised" tty.txt || fail "PIN not asked twice: $(cat tty.txt)"
echo "ok  new PINs are asked twice on a terminal; a mismatch asks again"

echo "-- profiles: every extension, from the clear configuration (no token, no PIN)"
"$hanko" profiles --state ca > profiles.txt < /dev/null || fail "profiles without a PIN"
grep -q "subscriber-signature: 3 years" profiles.txt && grep -q "ocsp-responder: 1 year$" profiles.txt || fail "profiles: $(cat profiles.txt)"
grep -q "keyUsage       critical, digitalSignature, nonRepudiation" profiles.txt && grep -q "extKeyUsage    OCSPSigning" profiles.txt \
  && grep -q "ocspNoCheck" profiles.txt && grep -q "cRLDistributionPoints" profiles.txt || fail "profiles lacks extensions: $(cat profiles.txt)"
echo "ok  profiles prints every extension without the token"

echo "-- show decodes every extension we write, the list's scope, the link role and .p7c bundles"
"$hanko" show bob.der > show.txt
for want in "keyUsage (critical): digitalSignature, nonRepudiation" "date of birth \"20000229\"" "gender \"2\"" \
            "substitute characters in the name \"1\"" "cRLDistributionPoints: URI:http://127.0.0.1/g1-CRL" "authorityKeyIdentifier: keyid"; do
  grep -qF "$want" show.txt || fail "show lacks '$want': $(cat show.txt)"
done
"$hanko" show repo/g1-full.crl | grep "complete for every certificate of the name" >/dev/null || fail "show of the fullCRL"
"$hanko" show repo/g1-CRL1.crl | grep "only end-entity certificates (a partition)" >/dev/null || fail "show of a partition"
"$hanko" show repo/g2-NewWithOld.crt | grep "role        link certificate" >/dev/null || fail "show of a link certificate"
"$hanko" show repo/ca-certs.p7c | grep "^CMS SignedData: [0-9]* certificates, 0 signers (a certificate bundle, .p7c)" >/dev/null || fail "show of ca-certs.p7c"
"$hanko" show --json bob.der | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["type"] == "certificate" and j["role"] == "", j
names = {e["name"]: e for e in j["extensions"]}
assert names["keyUsage"]["critical"] and "nonRepudiation" in names["keyUsage"]["value"], names
assert "date of birth" in names["subjectAltName"]["value"], names' || fail "show --json of a certificate"
"$hanko" show --json repo/g1-full.crl | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["type"] == "crl" and j["full"] and j["number"] >= 1, j' \
  || fail "show --json of a list"
echo "ok  show: extensions, basic four, list scope, link role, .p7c"

echo "-- ceremony --help and archive --help list their subcommands"
"$hanko" ceremony --help | grep "^  run " >/dev/null || fail "ceremony --help"
"$hanko" archive --help | grep "^  verify " >/dev/null || fail "archive --help"
echo "ok"

echo "-- R6: a long passphrase of words is accepted for custodians, a short simple one is not"
printf 'correct horse battery staple\nAnother-Pass-123\nthree longer wordings\n' > words
if "$hanko" token-init --label words --custodian A --custodian B --custodian C --quorum 2 --shares-dir words-shares \
     --passphrase-fd 3 3<words --so-pin-fd 4 4<<<"SoPin-9876A" > out.txt 2>&1; then fail "a passphrase of 3 words was accepted"; fi
grep -q "at least 4 words and 20 characters" out.txt || fail "the rule is not stated: $(cat out.txt)"
printf 'correct horse battery staple\nAnother-Pass-123\nfour words are enough here\n' > words
"$hanko" token-init --label words --custodian A --custodian B --custodian C --quorum 2 --shares-dir words-shares \
  --passphrase-fd 3 3<words --so-pin-fd 4 4<<<"SoPin-9876A" > out.txt 2>&1 || fail "passphrases of words refused: $(cat out.txt)"
echo "ok  passphrases of 4 words and 20 characters are accepted; the rule is stated"

echo "-- --version"
"$hanko" --version | grep -E "^hanko-offline [0-9]+\.[0-9]+\.[0-9]+" >/dev/null || fail "hanko-offline --version"
echo "ok"
