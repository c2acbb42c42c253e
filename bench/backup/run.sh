#!/usr/bin/env bash
# The backup drill for the note (issue 4, R44): a CA with N issued certificates in its database
# (default 100,000), then backup -> wipe (token folder and state deleted) -> fresh token at the
# backup center -> restore -> issue -> verify (openssl verify and openssl crl -verify against the
# old CA certificate), each step timed, on SoftHSMv2 with the 3-of-5 custodian quorums.
#   bench/backup/run.sh BUILD_DIR [N]
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-100000}
hanko=$build/offline/hanko-offline
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
mkdir tokens
export SOFTHSM2_CONF=$work/softhsm2.conf
echo 'SoPin-1234A' > so
printf 'Alice-pass1\nBobby-pass2\nCarol-pass3\nDaveX-pass4\nEvely-pass5\n' > pass
printf 'Alice-pass1\nCarol-pass3\nEvely-pass5\n' > p3
printf 'Frank-back1\nGrace-back2\nHeidi-back3\nIvanX-back4\nJudyX-back5\n' > bpass
printf 'Frank-back1\nHeidi-back3\nJudyX-back5\n' > b3
c5=(--custodian Alice --custodian Bob --custodian Carol --custodian Dave --custodian Eve)
pin=(--share shares/Alice.share --share shares/Carol.share --share shares/Eve.share --passphrase-fd 3)
bq=(--backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share --backup-share backup-shares/Judy.share
    --backup-passphrase-fd 4)
"$hanko" token-init --label primary --so-pin-fd 3 "${c5[@]}" --quorum 3 --shares-dir shares --passphrase-fd 4 3<so 4<pass > /dev/null
"$hanko" init --state ca --token primary --key-label root-g1 --key-type rsa2048 --subject "/C=JP/O=Drill/CN=Drill CA" \
  --transport-key-label transport --backup "${pin[@]}" 3<p3 > /dev/null 2>&1
"$hanko" backup-setup --state ca --custodian Frank --custodian Grace --custodian Heidi --custodian Ivan --custodian Judy --quorum 3 \
  --shares-dir backup-shares --backup-passphrase-fd 4 --so-pin-fd 5 "${pin[@]}" 3<p3 4<bpass 5<so > /dev/null 2>&1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=one" -out one.csr 2>/dev/null
"$hanko" issue --state ca --csr one.csr --profile ocsp-responder --out one.der "${pin[@]}" 3<p3 > /dev/null 2>&1
# N more certificates straight into the database, each row as large as a real one (its DER is
# the issued certificate's), in one transaction.
sqlite3 ca/ca.db "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
  INSERT INTO certificates SELECT x'4A' || randomblob(15), generation, kind, profile, 'CN=drill ' || i, subject_der || randomblob(4),
    not_before, not_after, partition, der, requested_by, batch_id, decision, NULL, NULL, NULL
  FROM c, (SELECT * FROM certificates WHERE kind = 'subscriber' LIMIT 1);"
sqlite3 ca/ca.db "SELECT hex(certificate) FROM generations WHERE number = 1" | xxd -r -p | openssl x509 -inform DER -out ca-g1.pem
echo "CA with $(sqlite3 ca/ca.db 'SELECT COUNT(*) FROM certificates') certificates, database $(du -h ca/ca.db | cut -f1)"

t() { date +%s.%N; }
step() { printf '  %-44s %6.2f s\n' "$1" "$(echo "$3 - $2" | bc)"; }
t0=$(t)
"$hanko" backup --state ca --to media "${pin[@]}" 3<p3 > /dev/null 2>&1
t1=$(t)
set=$(ls -d media/hanko-backup-*)
rm -rf tokens/* ca
t2=$(t)
printf 'Kenji-pass1\nLaura-pass2\nMikeX-pass3\n' > cpass
printf 'Kenji-pass1\nLaura-pass2\n' > c2
"$hanko" token-init --label center --so-pin-fd 3 --custodian Kenji --custodian Laura --custodian Mike --quorum 2 --shares-dir cshares \
  --passphrase-fd 4 3<so 4<cpass > /dev/null
cpin=(--share cshares/Kenji.share --share cshares/Laura.share --passphrase-fd 3)
t3=$(t)
"$hanko" restore --backup "$set" --state restored --token center "${cpin[@]}" "${bq[@]}" 3<c2 4<b3 > /dev/null 2>&1
t4=$(t)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=after" -out after.csr 2>/dev/null
"$hanko" issue --state restored --csr after.csr --profile ocsp-responder --out after.der "${cpin[@]}" 3<c2 > /dev/null 2>&1
"$hanko" crl --state restored --out-dir lists --scope g1-full "${cpin[@]}" 3<c2 > /dev/null 2>&1
t5=$(t)
openssl x509 -inform DER -in after.der -out after.pem
openssl verify -CAfile ca-g1.pem after.pem > /dev/null
openssl crl -inform DER -in lists/g1-full.crl -CAfile ca-g1.pem -noout -verify 2> /dev/null
"$hanko" audit-verify --state restored > /dev/null
t6=$(t)
echo "drill with $n certificates (set: $(du -sh "$set" | cut -f1)):"
step "backup (PIN quorum, snapshot, 3 keys wrapped)" "$t0" "$t1"
step "wipe (token folder and state deleted)" "$t1" "$t2"
step "fresh token, 2 of 3 custodians (scrypt)" "$t2" "$t3"
step "restore (both quorums, verify, unwrap)" "$t3" "$t4"
step "issue one certificate and sign the fullCRL" "$t4" "$t5"
step "verify (openssl verify, crl -verify, audit)" "$t5" "$t6"
step "total" "$t0" "$t6"

# The archive volume of the same CA (R43): written, verified years later, copied to new media.
a0=$(t)
"$hanko" archive create --state restored --out archive/volume-1 "${cpin[@]}" 3<c2 > /dev/null 2>&1
a1=$(t)
"$hanko" archive verify archive/volume-1 --audit-key restored/audit.spki > /dev/null
a2=$(t)
"$hanko" archive copy archive/volume-1 --to archive-copy/volume-1 > /dev/null
a3=$(t)
echo "archive volume ($(du -sh archive/volume-1 | cut -f1)):"
step "archive create" "$a0" "$a1"
step "archive verify (every object parsed and verified)" "$a1" "$a2"
step "archive copy (read back, verify the copy)" "$a2" "$a3"
