#!/usr/bin/env bash
# Backup, restore and destruction (R7, R8, R42, R44) on real SoftHSMv2 tokens: a full drill
# (backup -> wipe -> restore at the backup center -> issue -> verify with OpenSSL against the old CA
# certificate), and every bad input refused with nothing written.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
echo 'SoPin-1234A' > so
printf 'Alice-pass1\nBobby-pass2\nCarol-pass3\nDaveX-pass4\nEvely-pass5\n' > pass
printf 'Alice-pass1\nCarol-pass3\nEvely-pass5\n' > p3
printf 'Frank-back1\nGrace-back2\nHeidi-back3\nIvanX-back4\nJudyX-back5\n' > bpass
printf 'Frank-back1\nHeidi-back3\nJudyX-back5\n' > b3
custodians="--custodian Alice --custodian Bob --custodian Carol --custodian Dave --custodian Eve"
pin=(--share shares/Alice.share --share shares/Carol.share --share shares/Eve.share --passphrase-fd 3)
bq=(--backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share --backup-share backup-shares/Judy.share --backup-passphrase-fd 4)

# --- the primary site -------------------------------------------------------------------------
# shellcheck disable=SC2086
"$hanko" token-init --label primary --so-pin-fd 3 $custodians --quorum 3 --shares-dir shares --passphrase-fd 4 3<so 4<pass > /dev/null
"$hanko" init --state ca --token primary --key-label root-g1 --key-type rsa2048 --subject "/C=JP/O=Backup Test/CN=Backup Test CA" \
  --transport-key-label transport --backup "${pin[@]}" 3<p3 > /dev/null 2>&1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=before" -out before.csr 2>/dev/null
"$hanko" issue --state ca --csr before.csr --profile ocsp-responder --out before.der "${pin[@]}" 3<p3 > /dev/null 2>&1
"$hanko" crl --state ca --out-dir lists "${pin[@]}" 3<p3 > /dev/null 2>&1
old_number=$(openssl crl -inform DER -in lists/g1-full.crl -noout -crlnumber | cut -d= -f2)
"$hanko" status --state ca > /dev/null
openssl x509 -inform DER -in <(sqlite3 ca/ca.db "SELECT hex(certificate) FROM generations WHERE number=1" | xxd -r -p) -out ca-g1.pem

# A CA made without --backup cannot be backed up.
"$hanko" token-init --label plain --so-pin-fd 3 --pin-fd 3 3< <(echo SoPin-1234A; echo User-Pin-9Z) > /dev/null
"$hanko" init --state plain --token plain --key-label p1 --key-type p256 --subject "/CN=Plain CA" --pin-fd 3 3< <(echo User-Pin-9Z) > /dev/null
if "$hanko" backup-setup --state plain --custodian A --custodian B --quorum 2 --shares-dir plain-bs --backup-passphrase-fd 4 --so-pin-fd 5 \
    --pin-fd 3 3< <(echo User-Pin-9Z) 4< <(printf 'Aaaa-pass1\nBbbb-pass2\n') 5<so 2> err.txt; then fail "backup set up for unexportable keys"; fi
grep -q "without backup" err.txt || fail "no-backup CA: $(cat err.txt)"
echo "ok  a CA made without --backup keeps its keys unexportable: $(cat err.txt)"

# The security officer installs the backup key, split 3 of 5 among its own custodians.
"$hanko" backup-setup --state ca --custodian Frank --custodian Grace --custodian Heidi --custodian Ivan --custodian Judy --quorum 3 \
  --shares-dir backup-shares --backup-passphrase-fd 4 --so-pin-fd 5 "${pin[@]}" 3<p3 4<bpass 5<so > /dev/null 2>&1
echo "ok  backup-setup: trusted wrapping key in the token, backup key split 3 of 5"

# Daily backup: one command, a dated set inside the folder.
"$hanko" backup --state ca --to media "${pin[@]}" 3<p3 > backup.txt 2>/dev/null
set=$(ls -d media/hanko-backup-*)
[ "$(ls -d media/hanko-backup-* | wc -l)" = 1 ] || fail "not one set"
[ -f "$set/manifest.mac" ] && [ -f "$set/keys/1.wrapped" ] || fail "set incomplete: $(ls -R "$set")"
grep -q "CERTIFICATE\|PRIVATE" -r "$set" && fail "something in clear in the set"
echo "ok  backup: $(cat backup.txt)"
# Monthly copy to external media: one command, checked while copying.
"$hanko" backup-copy --from "$set" --to external > /dev/null
cmp "$set/ca.db" "external/$(basename "$set")/ca.db" || fail "copy differs"
"$hanko" backup-verify --backup "external/$(basename "$set")" "${bq[@]}" 4<b3 > verify.txt 2>/dev/null
echo "ok  backup-copy to external media, re-verified with the backup-key quorum: $(cat verify.txt)"
grep -q "backup.create" <("$hanko" audit-export --state ca --out-dir audit > /dev/null && cat audit/audit.tsv) || fail "backup not audited"
echo "ok  the backup is in the audit log"

# --- disaster: the primary token and state are gone --------------------------------------------
rm -rf tokens/* ca
mkdir -p center && cd center
printf 'directories.tokendir = %s/center/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
mkdir tokens
export SOFTHSM2_CONF=$work/center/softhsm2.conf
cp -r ../backup-shares ../"$set" . ; set=$(basename "$set")
printf 'Kenji-pass1\nLaura-pass2\nMikeX-pass3\n' > cpass
printf 'Kenji-pass1\nLaura-pass2\n' > c2
"$hanko" token-init --label center --so-pin-fd 3 --custodian Kenji --custodian Laura --custodian Mike --quorum 2 --shares-dir cshares \
  --passphrase-fd 4 3<../so 4<cpass > /dev/null
cpin=(--share cshares/Kenji.share --share cshares/Laura.share --passphrase-fd 3)

restore_refused() {  # NAME EXPECTED SET TOKEN [extra args]; backup passphrases from $BP
  local name=$1 expected=$2 s=$3 token=$4
  shift 4
  if "$hanko" restore --backup "$s" --state restored --token "$token" --no-evidence --yes "${cpin[@]}" "$@" --backup-passphrase-fd 4 3<c2 4<"$BP" \
      > /dev/null 2> err.txt; then fail "$name: accepted"; fi
  grep -qF "$expected" err.txt || fail "$name: message lacks '$expected': $(cat err.txt)"
  [ ! -e restored ] || fail "$name: a state was written"
  echo "ok  $name: $(tail -1 err.txt)"
}
bq=(--backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share --backup-share backup-shares/Judy.share)
BP=../b3
# One changed byte anywhere: in the database, in a wrapped key, in the manifest.
for f in ca.db keys/1.wrapped manifest.txt ca.conf; do
  rm -rf bad; cp -r "$set" bad
  size=$(stat -c %s "bad/$f")
  printf '\x01' | dd of="bad/$f" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
  if cmp -s "bad/$f" "$set/$f"; then printf '\x02' | dd of="bad/$f" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null; fi
  restore_refused "a set with one changed byte in $f" "nothing was restored" bad center "${bq[@]}"
done
printf 'Frank-back1\nHeidi-back3\n' > b2
BP=b2
restore_refused "too few backup-key shares" "1 more" "$set" center --backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share
BP=../b3
restore_refused "the PIN shares instead of the backup key's" "another set" "$set" center --backup-share backup-shares/Frank.share \
  --backup-share backup-shares/Heidi.share --backup-share ../shares/Eve.share
# A token that already holds another CA's keys.
"$hanko" token-init --label occupied --so-pin-fd 3 --pin-fd 3 3< <(echo SoPin-1234A; echo User-Pin-9Z) > /dev/null
"$hanko" init --state other --token occupied --key-label root-g1 --key-type rsa2048 --subject "/CN=Other CA" --pin-fd 3 3< <(echo User-Pin-9Z) > /dev/null
if "$hanko" restore --backup "$set" --state restored --token occupied --no-evidence --yes --pin-fd 3 "${bq[@]}" --backup-passphrase-fd 4 \
    3< <(echo User-Pin-9Z) 4<../b3 > /dev/null 2> err.txt; then fail "restored onto another CA's token"; fi
grep -q "belongs to another CA" err.txt || fail "occupied token: $(cat err.txt)"
[ ! -e restored ] || fail "occupied token: state written"
echo "ok  a token holding another CA's keys is refused: $(tail -1 err.txt)"

# The drill: restore, then the CA continues.
# The lists the primary published are its evidence (tests/e2e/disaster_recovery.sh drills the rest).
"$hanko" restore --backup "$set" --state restored --token center --evidence ../lists --yes "${cpin[@]}" "${bq[@]}" --backup-passphrase-fd 4 3<c2 4<../b3 > restore.txt 2>/dev/null
echo "ok  restore: $(cat restore.txt)"
"$hanko" audit-verify --state restored > /dev/null || fail "restored audit log"
grep -q "backup.restore" <("$hanko" audit-export --state restored --out-dir audit > /dev/null && cat audit/audit.tsv) || fail "no restore event"
echo "ok  the audit chain continues with a backup.restore event and verifies"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=after" -out after.csr 2>/dev/null
"$hanko" issue --state restored --csr after.csr --profile ocsp-responder --out after.der "${cpin[@]}" 3<c2 > /dev/null 2>&1
openssl x509 -inform DER -in after.der -out after.pem
openssl verify -CAfile ../ca-g1.pem after.pem > /dev/null || fail "certificate from the restored key does not verify against the old CA certificate"
echo "ok  a certificate issued after the restore verifies against the old CA certificate"
"$hanko" revoke --state restored --serial "$(openssl x509 -in after.pem -noout -serial | cut -d= -f2)" --reason superseded --out-dir lists \
  "${cpin[@]}" 3<c2 > /dev/null 2>&1
openssl crl -inform DER -in lists/g1-full.crl -CAfile ../ca-g1.pem -noout -verify 2>/dev/null || fail "list does not verify"
new_number=$(openssl crl -inform DER -in lists/g1-full.crl -noout -crlnumber | cut -d= -f2)
[ $((new_number)) -gt $((old_number + 1000000)) ] || fail "CRL number $new_number not beyond $old_number + skip"
echo "ok  the next list verifies against the old CA certificate (openssl crl -verify); CRL number $old_number -> $new_number"

# --- destruction (R8) ---------------------------------------------------------------------------
"$hanko" rollover --state restored --new-key-label root-g2 "${cpin[@]}" 3<c2 > /dev/null 2>&1
if "$hanko" destroy-key --state restored --generation 2 --confirm destroy "${cpin[@]}" 3<c2 2> err.txt; then fail "destroyed the current key"; fi
echo "ok  the current key is not destroyed: $(tail -1 err.txt)"
"$hanko" backup-setup --state restored "${bq[@]}" --backup-passphrase-fd 4 --so-pin-fd 5 "${cpin[@]}" 3<c2 4<../b3 5<../so > /dev/null 2>&1
"$hanko" backup --state restored --to media2 "${cpin[@]}" 3<c2 > /dev/null
set2=$(ls -d media2/hanko-backup-*)
"$hanko" destroy-key --state restored --generation 1 --confirm destroy --notice-to media2 "${cpin[@]}" 3<c2 > destroy.txt 2>/dev/null
"$hanko" status --state restored | grep "generation 1 \[destroyed\]" >/dev/null || fail "generation 1 not marked destroyed"
echo "ok  destroy-key: $(head -1 destroy.txt)"
"$hanko" crl --state restored --out-dir lists2 "${cpin[@]}" 3<c2 > /dev/null 2>&1 || fail "lists after destruction"
[ ! -e lists2/g1-full.crl ] || fail "the destroyed key signed a list"
"$hanko" token-init --label center2 --so-pin-fd 3 --pin-fd 3 3< <(echo SoPin-1234A; echo User-Pin-9Z) > /dev/null
"$hanko" restore --backup "$set2" --state r2 --token center2 --no-evidence --yes --pin-fd 3 "${bq[@]}" --backup-passphrase-fd 4 3< <(echo User-Pin-9Z) 4<../b3 \
  > r2.txt 2>/dev/null
grep -q "1 destroyed key(s) refused" r2.txt || fail "destroyed key restored: $(cat r2.txt)"
"$hanko" status --state r2 | grep "generation 1 \[destroyed\]" >/dev/null || fail "restored state forgets the destruction"
echo "ok  a set taken before the destruction brings back every key but the destroyed one: $(cat r2.txt)"
mkdir old && cp -r "$set" old/ && cp media2/*.destroyed old/
"$hanko" token-init --label center3 --so-pin-fd 3 --pin-fd 3 3< <(echo SoPin-1234A; echo User-Pin-9Z) > /dev/null
if "$hanko" restore --backup "old/$set" --state r3 --token center3 --no-evidence --yes --pin-fd 3 "${bq[@]}" --backup-passphrase-fd 4 3< <(echo User-Pin-9Z) \
    4<../b3 > /dev/null 2> err.txt; then fail "restored a destroyed key as the current one"; fi
grep -q "destroyed" err.txt || fail "destroyed current: $(cat err.txt)"
[ ! -e r3 ] || fail "state written"
echo "ok  an older set whose current key was destroyed is refused: $(tail -1 err.txt)"
echo "backup OK"
