#!/usr/bin/env bash
# Disaster recovery that never goes backwards (issue 27), on real SoftHSMv2 tokens. The primary
# issues, backs up, keeps working (issues more, revokes for keyCompromise by batch and by hand,
# publishes), backs up again, and is lost. The backup center restores the OLDER set with the
# evidence the relay keeps (result bundles, published lists): the compromised certificates are
# revoked in the next lists (openssl verify -crl_check says so), every list number is above every
# number ever published, the certificates issued after the backup are known (revoke works on
# them), a batch processed after the backup is refused when offered again, the next result
# bundle continues the relay's sequence, and no list number is ever signed twice with different
# contents. Each refusal: no evidence named, a number skip <= 0, an older set without
# confirmation, an empty evidence folder, forged evidence, a token holding this CA's keys.
#   tests/e2e/disaster_recovery.sh BUILD_DIR
set -euo pipefail
shopt -s nullglob  # a batch that only issues carries no lists
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
echo 'SoPin-1234A' > so
echo 'User-Pin-9Z' > pinfile
printf 'Frank-back1\nGrace-back2\nHeidi-back3\n' > bpass
printf 'Frank-back1\nHeidi-back3\n' > b2
pin=(--pin-fd 3)
bq=(--backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share --backup-passphrase-fd 4)
serial_of() { openssl x509 -inform DER -in "$1" -noout -serial | cut -d= -f2; }
# Every list the primary ever published, kept under a unique name (what relying parties saw).
keep_lists() { for f in "$@"; do cp "$f" "published/$(basename "$f" .crl)-$(sha256sum "$f" | cut -c1-12).crl"; done; }
mkdir published evidence repo

# --- the primary site ---------------------------------------------------------------------------
"$hanko" token-init --label primary --so-pin-fd 3 --pin-fd 4 3<so 4<pinfile > /dev/null
"$hanko" init --state ca --token primary --key-label root-g1 --key-type rsa2048 --subject "/C=JP/O=DR Drill/CN=DR Drill CA" \
  --crl-url 'http://repo.example/{scope}.crl' --transport-key-label transport --backup "${pin[@]}" 3<pinfile > /dev/null 2>&1
"$hanko" backup-setup --state ca --custodian Frank --custodian Grace --custodian Heidi --quorum 2 --shares-dir backup-shares \
  --backup-passphrase-fd 4 --so-pin-fd 5 "${pin[@]}" 3<pinfile 4<bpass 5<so > /dev/null 2>&1
"$ra" keygen --key ra.key --public ra.spki > /dev/null
"$hanko" ra-register --state ca --name "RA 1" --key ra.spki "${pin[@]}" 3<pinfile > /dev/null 2>&1
openssl x509 -inform DER -in <(sqlite3 ca/ca.db "SELECT hex(certificate) FROM generations WHERE number=1" | xxd -r -p) -out ca.pem

# batch N of COUNT certificates -> evidence/result-N.hkb (the relay's archive keeps every one)
issue_batch() {
  local n=$1 count=$2 i
  : > "b$n.tsv"
  for i in $(seq "$count"); do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=batch$n-$i" \
      -outform DER -out "b$n-$i.csr" 2>/dev/null
    printf 'issue\t%s\tocsp-responder\t-\n' "b$n-$i.csr" >> "b$n.tsv"
  done
  "$ra" batch --key ra.key --operator "RA 1" --manifest "b$n.tsv" --out "req-$n.der" > /dev/null
  "$hanko" batch --state ca --in "req-$n.der" --out-bundle "evidence/result-$n.hkb" --yes "${pin[@]}" 3<pinfile > /dev/null 2>&1
  "$hanko" unpack --bundle "evidence/result-$n.hkb" --trust ca/transport.spki --out-dir "unpacked-$n" > /dev/null
  "$ra" results --in "unpacked-$n/result-batch.der" --out-dir "certs-$n" > "results-$n.tsv"
  keep_lists "unpacked-$n"/*.crl
}
issue_batch 1 3
early=$(sed -n 1p results-1.tsv | cut -f3)           # issued before the backup, compromised after it
"$hanko" crl --state ca --out-dir repo "${pin[@]}" 3<pinfile > /dev/null 2>&1
keep_lists repo/*.crl

"$hanko" backup --state ca --to media "${pin[@]}" 3<pinfile > /dev/null 2>&1
older=$(ls -d media/hanko-backup-*)
grep -qP '^backup-key\t[0-9A-F]{16,}$' "$older/manifest.txt" || fail "the manifest does not name the backup key's share set: $(grep backup-key "$older/manifest.txt")"
echo "ok  primary: 3 certificates by batch, lists published, backup set $(basename "$older")"
# On a terminal (a pty from script(1)), a mistyped share passphrase may be typed again. Each line
# waits until the prompt is up: the prompt flushes input typed ahead of it.
{ sleep 1; echo 'Frank-wrong-1'; sleep 1; echo 'Frank-back1'; sleep 1; echo 'Heidi-back3'; sleep 1; } \
  | script -qec "'$hanko' backup-verify --backup '$older' --backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share" \
    /dev/null > tty.txt 2>&1 || { cat tty.txt; fail "backup-verify on a terminal"; }
grep -q "type it again (2 more tries)" tty.txt && grep -q "verifies: MAC" tty.txt || fail "no second try on a terminal: $(cat tty.txt)"
echo "ok  on a terminal a mistyped backup-key passphrase is typed again, not the end of the command"

# After the backup: more certificates, a keyCompromise by batch (of a certificate the set knows)
# and by hand (of one issued by hand after the backup: no result bundle holds it), lists published.
issue_batch 2 3
late=$(sed -n 1p results-2.tsv | cut -f3)
printf 'revoke\t%s\tkeyCompromise\n' "$early" > b3.tsv
"$ra" batch --key ra.key --operator "RA 1" --manifest b3.tsv --out req-3.der > /dev/null
"$hanko" batch --state ca --in req-3.der --out-bundle evidence/result-3.hkb --yes "${pin[@]}" 3<pinfile > /dev/null 2>&1
"$hanko" unpack --bundle evidence/result-3.hkb --trust ca/transport.spki --out-dir unpacked-3 > /dev/null
keep_lists unpacked-3/*.crl
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=by hand" -out hand.csr 2>/dev/null
"$hanko" issue --state ca --csr hand.csr --profile ocsp-responder --out hand.der "${pin[@]}" 3<pinfile > /dev/null 2>&1
hand=$(serial_of hand.der)
"$hanko" revoke --state ca --serial "$hand" --reason keyCompromise --out-dir repo "${pin[@]}" 3<pinfile > /dev/null 2>&1
"$hanko" crl --state ca --out-dir repo "${pin[@]}" 3<pinfile > /dev/null 2>&1
keep_lists repo/*.crl
cp repo/*.crl evidence/
openssl crl -inform DER -in repo/g1-full.crl -noout -text | grep "$early" > /dev/null || fail "the primary's list lacks the compromised certificate"
# The monthly archive volume (R43) is evidence too: every certificate and list, signed by the audit key.
"$hanko" archive create --state ca --out archive-volume "${pin[@]}" 3<pinfile > /dev/null 2>&1
sleep 1  # the newer set must be newer by its manifest's time, which counts seconds
"$hanko" backup --state ca --to media "${pin[@]}" 3<pinfile > /dev/null 2>&1
[ "$(ls -d media/hanko-backup-* | wc -l)" = 2 ] || fail "not two sets"
echo "ok  after the backup: 3 more certificates, 2 keyCompromise revocations, lists published, a newer set written"

# --- disaster: the primary is lost ---------------------------------------------------------------
rm -rf tokens/* ca
mkdir -p center/tokens && cd center
printf 'directories.tokendir = %s/center/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
export SOFTHSM2_CONF=$work/center/softhsm2.conf
cp -r ../backup-shares ../media ../archive-volume .
older=$work/center/$older
"$hanko" token-init --label center --so-pin-fd 3 --pin-fd 4 3<../so 4<../pinfile > /dev/null

refused() {  # NAME EXPECTED STATUS [restore args...]
  local name=$1 expected=$2 status=$3 rc=0 st=${STATE:-restored}
  shift 3
  "$hanko" restore --state "$st" --token center "${pin[@]}" "${bq[@]}" "$@" 3<../pinfile 4<../b2 > out.txt 2> err.txt || rc=$?
  [ "$rc" = "$status" ] || fail "$name: exit $rc, not $status: $(cat err.txt)"
  grep -qF -- "$expected" err.txt || fail "$name: message lacks '$expected': $(cat err.txt)"
  [ ! -e "$st" ] || fail "$name: a state was written"
  echo "ok  refused, $name: $(tail -1 err.txt)"
}
refused "no evidence named" "--evidence DIR" 2 --backup "$older" --older-set --yes
refused "a CRL number skip of 0" "at least 1" 2 --backup "$older" --older-set --no-evidence --yes --crl-number-skip 0
refused "a CRL number skip of -5" "at least 1" 2 --backup "$older" --older-set --no-evidence --yes --crl-number-skip -5
refused "a CRL number skip of 10^13" "at most 10^12" 2 --backup "$older" --older-set --no-evidence --yes --crl-number-skip 10000000000000
refused "an older set with a newer one beside it" "newer backup set" 1 --backup "$older" --evidence ../evidence --yes
grep -q "taken .* old" err.txt || fail "the set's date and age are not shown before the quorum: $(cat err.txt)"
# A backup share with one changed byte: the error names the file and says it may be damaged.
cp backup-shares/Heidi.share heidi-bad.share
flip_byte heidi-bad.share 20
if "$hanko" restore --backup "$older" --older-set --state restored --token center --no-evidence --yes "${pin[@]}" \
    --backup-share backup-shares/Frank.share --backup-share heidi-bad.share --backup-passphrase-fd 4 3<../pinfile 4<../b2 \
    > /dev/null 2> err.txt; then fail "a damaged share was accepted"; fi
grep -q "share file 'heidi-bad.share': .*damaged" err.txt || fail "damaged share: $(tail -1 err.txt)"
echo "ok  refused, a backup share with one changed byte: $(tail -1 err.txt)"
mkdir empty
refused "an evidence folder without evidence" "no result bundle" 1 --backup "$older" --older-set --evidence empty --yes

# Forged evidence beside the real: a result bundle with one changed byte, a list signed by
# another CA. Neither is taken in; both are named.
mkdir -p forged
cp ../evidence/result-2.hkb forged/result-2-changed.hkb
flip_byte forged/result-2-changed.hkb 200
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -subj "/CN=Other CA" -days 1 -out other.pem 2>/dev/null
printf 'V\t300101000000Z\t\t%s\tunknown\t/CN=x\n' "$early" > index.txt
printf 'unique_subject = no\n[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=1\n' > other.cnf
echo 7FFFFFFF > crlnumber
openssl ca -config other.cnf -gencrl -keyfile other.key -cert other.pem -out forged/other.crl 2>/dev/null

# --- the drill: the older set, with the relay's evidence ----------------------------------------
"$hanko" restore --backup "$older" --older-set --state restored --token center --evidence ../evidence --evidence forged --yes \
  "${pin[@]}" "${bq[@]}" 3<../pinfile 4<../b2 > restore.txt 2> summary.txt || { cat summary.txt; fail "restore"; }
grep -q "certificates issued after the backup, taken in: 3" summary.txt || fail "certificates not taken in: $(cat summary.txt)"
grep -q "batches processed after the backup, taken in: 2" summary.txt || fail "batches not taken in: $(cat summary.txt)"
grep -q "revocations taken in: 1 .*1 of certificates no evidence holds" summary.txt || fail "revocations: $(cat summary.txt)"
grep -q "result bundles after the backup: 2-3, none missing in between" summary.txt || fail "sequence: $(cat summary.txt)"
grep -q "result-2-changed.hkb: not a result bundle of this signer" summary.txt || fail "forged bundle not named: $(cat summary.txt)"
grep -q "other.crl: a list of another issuer" summary.txt || fail "foreign list not named: $(cat summary.txt)"
echo "ok  restore of the older set with evidence: $(cat restore.txt)"
sed 's/^/      /' summary.txt

"$hanko" crl --state restored --out-dir after "${pin[@]}" 3<../pinfile > /dev/null 2>&1
openssl x509 -inform DER -in "../certs-1/$early.crt" -out early.pem
openssl crl -inform DER -in after/g1-CRL1.crl -out crl1.pem
if openssl verify -x509_strict -crl_check -CAfile ../ca.pem -CRLfile crl1.pem early.pem > verify.txt 2>&1; then
  fail "the compromised certificate verifies after the restore: $(cat verify.txt)"
fi
grep -q "certificate revoked" verify.txt || fail "not revoked: $(cat verify.txt)"
echo "ok  openssl verify -crl_check: the certificate compromised after the backup is revoked in the next list"
openssl crl -inform DER -in after/g1-full.crl -noout -text | grep "$hand" > /dev/null || fail "the hand-issued revocation is not on the fullCRL"
echo "ok  the revocation of a certificate no evidence holds stays on the fullCRL"

python3 - ../published after <<'EOF' || fail "list numbers"
import os, subprocess, sys
def number(path):
    out = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-noout", "-crlnumber"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().split("=")[1], 16)
published = {}
for f in os.listdir(sys.argv[1]):
    scope = f.rsplit("-", 1)[0]
    n = number(os.path.join(sys.argv[1], f))
    body = open(os.path.join(sys.argv[1], f), "rb").read()
    if published.get((scope, n), body) != body:
        sys.exit(f"{scope} #{n} was signed twice with different contents")
    published[(scope, n)] = body
highest = max(n for _, n in published)
for f in os.listdir(sys.argv[2]):
    n = number(os.path.join(sys.argv[2], f))
    if n <= highest:
        sys.exit(f"{f} #{n} is not above the highest number ever published ({highest})")
print(f"ok  every list after the restore is numbered above every number ever published ({highest}); none signed twice")
EOF

"$hanko" revoke --state restored --serial "$late" --reason superseded --out-dir after2 "${pin[@]}" 3<../pinfile > /dev/null 2> err.txt \
  || fail "revoke of a certificate issued after the backup: $(cat err.txt)"
echo "ok  a certificate issued after the backup is known: revoke works on it"
if "$hanko" batch --state restored --in ../req-2.der --out-bundle again.hkb --yes "${pin[@]}" 3<../pinfile > /dev/null 2> err.txt; then
  fail "a batch processed after the backup was signed again"
fi
grep -qi "already\|processed" err.txt || fail "replayed batch: $(cat err.txt)"
echo "ok  a batch processed after the backup is refused when offered again: $(tail -1 err.txt)"
"$ra" batch --key ../ra.key --operator "RA 1" --manifest <(printf 'issue\t%s\tocsp-responder\t-\n' ../hand.csr) --out req-4.der > /dev/null
"$hanko" batch --state restored --in req-4.der --out-bundle result-4.hkb --yes "${pin[@]}" 3<../pinfile > /dev/null 2>&1
"$hanko" inspect result-4.hkb --trust restored/transport.spki > inspect.txt
grep -qi "sequence *:\? *4\b" inspect.txt || fail "the next result bundle does not continue the relay's sequence: $(cat inspect.txt)"
echo "ok  the next result bundle has sequence 4: the relay's ledger takes it"

# What the restore left to do is said, and 'status' (which writes nothing) keeps saying it.
grep -q "still to do at this site" restore.txt && grep -q "holds no backup key yet" restore.txt || fail "restore does not say what is missing: $(cat restore.txt)"
sum_before=$(sha256sum restored/ca.db)
"$hanko" status --state restored > status.txt
[ "$sum_before" = "$(sha256sum restored/ca.db)" ] || fail "status wrote to the database"
grep -q "WARNING: restored on .*holds no backup key yet" status.txt || fail "status does not warn of the missing backup key: $(cat status.txt)"
grep -q "list g1-full #[0-9]* (the next is #1000[0-9]*)" status.txt || fail "status does not show the next list numbers: $(cat status.txt)"
if "$hanko" backup --state restored --to media2 "${pin[@]}" 3<../pinfile > /dev/null 2> err.txt; then fail "backup without a backup key"; fi
"$hanko" backup-setup --state restored "${bq[@]}" --so-pin-fd 5 "${pin[@]}" 3<../pinfile 4<../b2 5<../so > /dev/null 2>&1
"$hanko" status --state restored > status.txt
grep -q "no backup key" status.txt && fail "the warning outlives backup-setup: $(cat status.txt)"
"$hanko" backup --state restored --to media2 "${pin[@]}" 3<../pinfile > /dev/null 2>&1 || fail "backup after backup-setup"
echo "ok  restore and status say the backup key is missing until backup-setup; status shows the next list numbers and writes nothing"

STATE=r2 refused "a token that already holds this CA's keys" "of this very CA" 1 --backup "$older" --older-set --evidence ../evidence --yes
"$hanko" audit-verify --state restored > /dev/null || fail "restored audit log"

# The same older set with only the archive volume as evidence: every certificate after the backup
# is taken in, the one issued by hand too, so no revocation is left without its certificate.
"$hanko" token-init --label center-archive --so-pin-fd 3 --pin-fd 4 3<../so 4<../pinfile > /dev/null
"$hanko" restore --backup "$older" --older-set --state from-archive --token center-archive --evidence archive-volume --yes \
  "${pin[@]}" "${bq[@]}" 3<../pinfile 4<../b2 > archive-restore.txt 2> archive-summary.txt || { cat archive-summary.txt; fail "restore with an archive volume"; }
grep -q "1 archive volume(s)" archive-summary.txt || fail "the volume was not read: $(cat archive-summary.txt)"
grep -q "certificates issued after the backup, taken in: 4 " archive-summary.txt || fail "volume certificates: $(cat archive-summary.txt)"
grep -q "revocations taken in: 2 " archive-summary.txt || fail "volume revocations: $(cat archive-summary.txt)"
"$hanko" revoke --state from-archive --serial "$hand" --reason keyCompromise "${pin[@]}" 3<../pinfile > /dev/null 2> err.txt && fail "re-revoked"
grep -q "already revoked" err.txt || fail "the hand-issued certificate is not known as revoked: $(cat err.txt)"
echo "ok  an archive volume as the only evidence: every certificate after the backup taken in, both revocations with them"

# Evidence with a result bundle withheld: the gap is named, and status keeps saying so.
mkdir gap && cp ../evidence/result-1.hkb ../evidence/result-3.hkb gap/
"$hanko" token-init --label center-gap --so-pin-fd 3 --pin-fd 4 3<../so 4<../pinfile > /dev/null
"$hanko" restore --backup "$older" --older-set --state from-gap --token center-gap --evidence gap --yes \
  "${pin[@]}" "${bq[@]}" 3<../pinfile 4<../b2 > gap-restore.txt 2> gap-summary.txt || { cat gap-summary.txt; fail "restore with a gap"; }
grep -q "MISSING 2 (withheld or lost" gap-summary.txt || fail "the gap is not named: $(cat gap-summary.txt)"
"$hanko" status --state from-gap > status.txt
grep -q "WARNING: .*result bundles 2 of the lost signer missing" status.txt || fail "status forgets the gap: $(cat status.txt)"
echo "ok  a withheld result bundle: named in the summary ($(grep -o 'MISSING [^(]*' gap-summary.txt)) and kept by status"
# The withheld bundle turns up later: reconcile takes it in on the running CA, signs every list,
# and the warning goes.
"$hanko" reconcile --state from-gap --evidence ../evidence --yes --out-dir gap-lists "${pin[@]}" 3<../pinfile \
  > reconcile.txt 2> reconcile-summary.txt || { cat reconcile-summary.txt; fail "reconcile"; }
grep -q "certificates issued after the backup, taken in: 3 " reconcile-summary.txt || fail "late certificates: $(cat reconcile-summary.txt)"
"$hanko" status --state from-gap > status.txt
grep -q "result bundles 2 of the lost signer missing" status.txt && fail "the warning outlives the late evidence: $(cat status.txt)"
"$hanko" revoke --state from-gap --serial "$late" --reason superseded "${pin[@]}" 3<../pinfile > /dev/null 2> err.txt \
  || fail "revoke after reconcile: $(cat err.txt)"
[ -s gap-lists/g1-full.crl ] || fail "reconcile wrote no lists"
echo "ok  late evidence: reconcile takes the withheld bundle in, signs every list, and status stops warning"

# A role nobody holds is enrolled under the custodians' quorum (here: a CA made by hand, so the
# quorum alone), and the log inspector can then read the log.
echo 'Ito-Inspect-2026' > ito
"$hanko" role-enrol --state restored --person Ito --role auditor --new-passphrase-fd 5 "${pin[@]}" 3<../pinfile 5<ito > enrol.txt 2>&1 \
  || fail "role-enrol: $(cat enrol.txt)"
"$hanko" audit-verify --state restored --as Ito --as-passphrase-fd 5 5<ito > /dev/null 2> err.txt || fail "the new log inspector: $(cat err.txt)"
"$hanko" status --state restored > status.txt
grep -q "nobody holds the role of CA administrator" status.txt || fail "status does not name the roles nobody holds: $(cat status.txt)"
echo "ok  role-enrol: $(tail -1 enrol.txt); audit-verify runs as the log inspector; status names the roles nobody holds"
"$hanko" audit-export --state restored --out-dir audit --as Ito --as-passphrase-fd 5 5<ito > /dev/null 2>&1
grep -P "\tbackup\.restore\tsuccess\tbackup-key custodians Frank, Heidi\t" audit/audit.tsv > /dev/null \
  || fail "the restore's audit entry does not name the backup-key custodians: $(grep backup.restore audit/audit.tsv)"
echo "ok  the restore's audit entry names the custodians whose shares opened the backup key (R40)"
echo "disaster_recovery OK"
