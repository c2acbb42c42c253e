#!/usr/bin/env bash
# Disaster recovery with evidence, for the note (issue 27): a CA is backed up, then issues N
# certificates in real batches (default 100,000, in result bundles of 10,000) and signs a fullCRL
# of M entries (default 1,000,000: rows put straight into its database, revoked), and is lost.
# Timed: empty token at the backup center -> restore reconciling all of that evidence (it signs
# every list itself: that is the next CRL) -> one more 'crl'. The anchor in the same run is the
# same restore with --no-evidence (nothing reconciled).
#   bench/backup/reconcile.sh BUILD_DIR [N] [M]
set -euo pipefail
trap 'echo "FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR
build=$(cd "$1" && pwd)
n=${2:-100000}
m=${3:-1000000}
per_batch=10000
hanko=$build/offline/hanko-offline
ra=$build/relay/hanko-ra
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
mkdir tokens evidence
export SOFTHSM2_CONF=$work/softhsm2.conf
echo 'SoPin-1234A' > so
echo 'User-Pin-9Z' > pinfile
printf 'Frank-back1\nGrace-back2\nHeidi-back3\n' > bpass
printf 'Frank-back1\nHeidi-back3\n' > b2
pin=(--pin-fd 3)
bq=(--backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share --backup-passphrase-fd 4)
t() { date +%s.%N; }
step() { printf '  %-58s %7.2f s\n' "$1" "$(echo "$3 - $2" | bc)"; }

"$hanko" token-init --label primary --so-pin-fd 3 --pin-fd 4 3<so 4<pinfile > /dev/null
"$hanko" init --state ca --token primary --key-label root-g1 --key-type rsa2048 --subject "/C=JP/O=Drill/CN=Drill CA" \
  --crl-url 'http://repo.example/{scope}.crl' --transport-key-label transport --backup "${pin[@]}" 3<pinfile > /dev/null 2>&1
"$hanko" backup-setup --state ca --custodian Frank --custodian Grace --custodian Heidi --quorum 2 --shares-dir backup-shares \
  --backup-passphrase-fd 4 --so-pin-fd 5 "${pin[@]}" 3<pinfile 4<bpass 5<so > /dev/null 2>&1
"$ra" keygen --key ra.key --public ra.spki > /dev/null
"$hanko" ra-register --state ca --name "RA 1" --key ra.spki "${pin[@]}" 3<pinfile > /dev/null 2>&1
"$hanko" backup --state ca --to media "${pin[@]}" 3<pinfile > /dev/null 2>&1
set=$(ls -d media/hanko-backup-*)

# After the backup: N certificates in batches, each result bundle kept (the relay's archive).
ta=$(t)
python3 - "$n" <<'EOF'
import os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
os.makedirs("csr", exist_ok=True)
key = ec.generate_private_key(ec.SECP256R1())
for i in range(int(sys.argv[1])):
    if i % 500 == 0:
        key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"), x509.NameAttribute(NameOID.COMMON_NAME, f"after {i}")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    open(f"csr/{i}.der", "wb").write(csr.public_bytes(serialization.Encoding.DER))
EOF
for ((b = 0; b * per_batch < n; ++b)); do
  for ((i = b * per_batch; i < (b + 1) * per_batch && i < n; ++i)); do printf 'issue\tcsr/%d.der\tocsp-responder\t-\n' "$i"; done > b.tsv
  rm -f req.der
  "$ra" batch --key ra.key --operator "RA 1" --manifest b.tsv --out req.der > /dev/null
  "$hanko" batch --state ca --in req.der --out-bundle "evidence/result-$b.hkb" --yes "${pin[@]}" 3<pinfile > /dev/null 2> batch.err \
    || { tail -3 batch.err; exit 1; }
done
tb=$(t)
# M more revoked certificates straight into the database (no evidence holds them), then the
# fullCRL that lists them all.
sqlite3 ca/ca.db "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $m)
  INSERT INTO certificates SELECT x'4A' || randomblob(15), generation, kind, profile, 'CN=revoked ' || i, subject_der || randomblob(4),
    not_before, not_after, partition, der, requested_by, batch_id, decision, not_before + 60, 1, NULL
  FROM c, (SELECT * FROM certificates WHERE kind = 'subscriber' LIMIT 1);"
"$hanko" crl --state ca --scope g1-full --out-dir evidence "${pin[@]}" 3<pinfile > /dev/null 2>&1
tc=$(t)
echo "evidence: $(ls evidence/*.hkb | wc -l) result bundles ($(du -ch evidence/*.hkb | tail -1 | cut -f1)), fullCRL of" \
  "$(openssl crl -inform DER -in evidence/g1-full.crl -noout -text | grep -c 'Serial Number') entries ($(du -h evidence/g1-full.crl | cut -f1))"
step "primary: $n certificates in batches of $per_batch (CSRs included)" "$ta" "$tb"
step "primary: $m revocations into the database, fullCRL signed" "$tb" "$tc"

rm -rf tokens/* ca
restore() {  # TOKEN STATE [args]
  local token=$1 state=$2
  shift 2
  "$hanko" token-init --label "$token" --so-pin-fd 3 --pin-fd 4 3<so 4<pinfile > /dev/null
  local t0 t1 t2
  t0=$(t)
  "$hanko" restore --backup "$set" --state "$state" --token "$token" --yes "$@" "${pin[@]}" "${bq[@]}" 3<pinfile 4<b2 \
    > "$state.txt" 2> "$state.err" || { cat "$state.err"; exit 1; }
  t1=$(t)
  "$hanko" crl --state "$state" --out-dir "$state-lists" "${pin[@]}" 3<pinfile > /dev/null 2>&1
  t2=$(t)
  step "$state: restore (reconciles, then signs every list)" "$t0" "$t1"
  step "$state: 'crl' once more (every list)" "$t1" "$t2"
  step "$state: empty token -> restore -> crl" "$t0" "$t2"
}
echo "anchor, nothing reconciled (--no-evidence):"
restore anchor anchor --no-evidence
echo "with the evidence:"
restore center reconciled --evidence evidence
grep "taken in\|continues" reconciled.err | sed 's/^/  /'
echo "  fullCRL after the restore: $(openssl crl -inform DER -in reconciled-lists/g1-full.crl -noout -text | grep -c 'Serial Number') entries, " \
  "number $(openssl crl -inform DER -in reconciled-lists/g1-full.crl -noout -crlnumber | cut -d= -f2)"
