#!/usr/bin/env bash
# R42: the CA database encrypted at rest (SQLCipher, key computed by the CA's token). The file, its
# WAL and the backup set's copy hold no readable record; every command that reads the database
# needs the token's PIN; another token's key, a damaged file and a copy from another CA are refused
# with a clear message; backup and restore keep the database encrypted (a new token's key after
# the restore), and a plain CA becomes encrypted by a restore with --encrypt-database.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
echo 'SoPin-1234A' > so
echo 'User-Pin-9Z' > pin
printf 'Frank-back1\nGrace-back2\nHeidi-back3\n' > bpass
printf 'Frank-back1\nHeidi-back3\n' > b2
marker="Yamada-Taro-R42-marker"
bq=(--backup-share backup-shares/Frank.share --backup-share backup-shares/Heidi.share --backup-passphrase-fd 4)

token() { "$hanko" token-init --label "$1" --so-pin-fd 3 --pin-fd 3 3< <(cat so pin) > /dev/null; }
no_record_in_clear() {  # WHAT FILE...
  local what=$1
  shift
  if grep -a -q "$marker\|Encryption Test CA" "$@" 2>/dev/null; then fail "$what: a record is readable in the clear"; fi
  if sqlite3 "$1" "SELECT count(*) FROM certificates" > /dev/null 2> err.txt; then fail "$what: sqlite3 reads it"; fi
  grep -q "not a database" err.txt || fail "$what: sqlite3 says: $(cat err.txt)"
}

token enc
"$hanko" init --state ca --token enc --key-label root --key-type p256 --subject "/C=JP/O=Hanko/CN=Encryption Test CA" \
  --transport-key-label transport --backup --encrypt-database --pin-fd 3 3<pin > init.txt
grep -q "database  encrypted under token key 'root-database' (R42)" init.txt || fail "init: $(cat init.txt)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=$marker" -out a.csr 2>/dev/null
"$hanko" issue --state ca --csr a.csr --profile ocsp-responder --out a.der --pin-fd 3 3<pin > /dev/null
"$hanko" crl --state ca --out-dir lists --pin-fd 3 3<pin > /dev/null
"$hanko" publish --state ca --out-dir repo --pin-fd 3 3<pin > /dev/null
openssl x509 -inform DER -in repo/ca.crt -out ca.pem
no_record_in_clear "the CA database" ca/ca.db ca/ca.db-wal
echo "ok  ca.db and its WAL hold no readable record (sqlite3: $(cat err.txt))"

# The same steps on a plain CA do show the marker: the check above means something.
token plain
"$hanko" init --state plain --token plain --key-label root --key-type p256 --subject "/CN=Plain CA" --backup --pin-fd 3 3<pin > /dev/null
"$hanko" issue --state plain --csr a.csr --profile ocsp-responder --out p.der --pin-fd 3 3<pin > /dev/null
grep -a -q "$marker" plain/ca.db plain/ca.db-wal || fail "control: the plain database does not show the marker"
echo "ok  control: a plain database shows the subject in the clear"

# Reading needs the token.
if "$hanko" list --state ca > /dev/null 2> err.txt < /dev/null; then fail "list without the PIN"; fi
grep -q "encrypted (R42).*--pin-fd" err.txt || fail "list without PIN: $(cat err.txt)"
echo "ok  the database stays closed without the PIN: $(cat err.txt)"
# What is public needs no PIN: status shows the signed public status (R42 still holds).
"$hanko" status --state ca < /dev/null > public.txt 2>&1 || fail "public status: $(cat public.txt)"
grep -q "public status signed by the audit key" public.txt && grep -q "certificates 2, revoked 0" public.txt \
  && grep -q "identity [0-9A-F]\{64\}" public.txt || fail "public status: $(cat public.txt)"
! grep -q "$marker" ca/public-status.json || fail "the public status holds a record (R42)"
"$hanko" status --state ca --public --json < /dev/null | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["database_encrypted"] and j["generations"][0]["certificates"] == 2' \
  || fail "status --public --json"
cp ca/public-status.json keep.json
sed -i 's/"revoked": 0/"revoked": 9/' ca/public-status.json
if "$hanko" status --state ca < /dev/null > out.txt 2>&1; then fail "a changed public status was shown"; fi
grep -q "does not verify with the audit key" out.txt || fail "changed public status: $(cat out.txt)"
cp keep.json ca/public-status.json
echo "ok  status without the PIN: the public status signed by the audit key; a changed one is refused"
"$hanko" status --state ca --pin-fd 3 3<pin > status.txt
grep -q "database encrypted under token key 'root-database' (R42)" status.txt || fail "status: $(cat status.txt)"
grep -q "certificates 2, revoked 0" status.txt || fail "status counts: $(cat status.txt)"
"$hanko" audit-verify --state ca --pin-fd 3 3<pin > /dev/null || fail "audit-verify"
echo "ok  status, audit-verify with the PIN"
if "$hanko" status --state ca --pin-fd 3 3< <(echo Wrong-Pin-1) > /dev/null 2> err.txt; then fail "wrong PIN"; fi
grep -q "PIN_INCORRECT" err.txt || fail "wrong PIN: $(cat err.txt)"

# Another CA's database, encrypted under another token's key with the same label: refused.
token other
"$hanko" init --state other --token other --key-label root --key-type p256 --subject "/CN=Other CA" --encrypt-database \
  --pin-fd 3 3<pin > /dev/null
cp ca/ca.db other/ca.db && rm -f other/ca.db-wal other/ca.db-shm
if "$hanko" status --state other --pin-fd 3 3<pin > /dev/null 2> err.txt; then fail "another CA's database opened"; fi
grep -q "cannot be decrypted with the key of token 'other'" err.txt || fail "other token: $(cat err.txt)"
echo "ok  a database copied onto another CA's state: $(cat err.txt)"
# A token that lacks the key entirely.
sed 's/^token = enc$/token = plain/' ca/ca.conf > conf && cp -r ca nokey && cp conf nokey/ca.conf
if "$hanko" status --state nokey --pin-fd 3 3<pin > /dev/null 2> err.txt; then fail "a token without the database key"; fi
grep -q "has no database key 'root-database'" err.txt || fail "no key: $(cat err.txt)"
echo "ok  a token without the database key: $(cat err.txt)"
# One changed byte in the middle of the file: refused, nothing else touched.
cp -r ca damaged
size=$(stat -c %s damaged/ca.db)
flip_byte damaged/ca.db $((size / 2))
if "$hanko" crl --state damaged --out-dir dlists --pin-fd 3 3<pin > /dev/null 2> err.txt; then fail "damaged database accepted"; fi
grep -q "damaged\|cannot be decrypted" err.txt || fail "damaged: $(cat err.txt)"
[ ! -e dlists ] || fail "damaged: lists written"
echo "ok  one changed byte: $(cat err.txt)"
# Truncated to half (a disk that filled up, a copy cut short): refused the same way.
cp -r ca truncated
truncate -s $((size / 2)) truncated/ca.db && rm -f truncated/ca.db-wal truncated/ca.db-shm
if "$hanko" status --state truncated --pin-fd 3 3<pin > /dev/null 2> err.txt; then fail "truncated database accepted"; fi
grep -q "damaged\|cannot be decrypted" err.txt || fail "truncated: $(cat err.txt)"
echo "ok  truncated to half: $(head -c 200 err.txt)"

# Backup: the set's copy is encrypted under the backup key's derivative; restore onto a fresh token.
"$hanko" backup-setup --state ca --custodian Frank --custodian Grace --custodian Heidi --quorum 2 --shares-dir backup-shares \
  --backup-passphrase-fd 4 --so-pin-fd 5 --pin-fd 3 3<pin 4<bpass 5<so > /dev/null 2>&1
"$hanko" backup --state ca --to media --pin-fd 3 3<pin > /dev/null 2>&1
set=$(ls -d media/hanko-backup-*)
no_record_in_clear "the backup set's database" "$set/ca.db"
echo "ok  the backup set's copy of the database is encrypted too"
"$hanko" backup-verify --backup "$set" "${bq[@]}" 4<b2 > /dev/null 2>&1 || fail "backup-verify"
token center
"$hanko" restore --backup "$set" --state restored --token center --no-evidence --yes --pin-fd 3 "${bq[@]}" 3<pin 4<b2 > restore.txt 2>/dev/null
no_record_in_clear "the restored database" restored/ca.db
cmp -s "$set/ca.db" restored/ca.db && fail "the restored database is still under the backup's key"
"$hanko" status --state restored --pin-fd 3 3<pin | grep "database encrypted under token key 'root-database'" >/dev/null || fail "restored status"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=after" -out b.csr 2>/dev/null
"$hanko" issue --state restored --csr b.csr --profile ocsp-responder --out b.der --pin-fd 3 3<pin > /dev/null
openssl x509 -inform DER -in b.der -out b.pem
openssl verify -x509_strict -CAfile ca.pem b.pem > /dev/null || fail "certificate issued after the restore"
echo "ok  restored onto a fresh token, re-encrypted under its own key; issues, openssl verifies: $(cat restore.txt)"

# A plain CA becomes encrypted through backup and restore --encrypt-database.
"$hanko" backup-setup --state plain --custodian Frank --custodian Grace --custodian Heidi --quorum 2 --shares-dir plain-shares \
  --backup-passphrase-fd 4 --so-pin-fd 5 --pin-fd 3 3<pin 4<bpass 5<so > /dev/null 2>&1
"$hanko" backup --state plain --to plain-media --pin-fd 3 3<pin > /dev/null 2>&1
token center2
"$hanko" restore --backup "$(ls -d plain-media/hanko-backup-*)" --state plain-restored --token center2 --encrypt-database --no-evidence --yes --pin-fd 3 \
  --backup-share plain-shares/Frank.share --backup-share plain-shares/Heidi.share --backup-passphrase-fd 4 3<pin 4<b2 > /dev/null 2>&1
no_record_in_clear "the plain CA restored with --encrypt-database" plain-restored/ca.db
"$hanko" status --state plain-restored --pin-fd 3 3<pin | grep "certificates 2," >/dev/null || fail "plain restored: status"
echo "ok  a plain CA restored with --encrypt-database is encrypted and complete"
