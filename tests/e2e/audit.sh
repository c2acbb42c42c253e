#!/usr/bin/env bash
# The audit log: every event recorded and chained; checkpoints signed by the audit key; any
# changed byte, deleted, reordered or inserted entry found, and a cut log found against an
# exported checkpoint.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
printf 'SoPin-9876A\nUser-Pin-1234a\n' > pins
printf 'User-Pin-1234a\n' > pin
"$hanko" token-init --label audit --so-pin-fd 3 --pin-fd 3 3<pins > /dev/null
"$hanko" init --state ca --token audit --key-label ca --key-type p256 --subject "/C=JP/CN=Audit CA" --operator "Sato (CA administrator)" --pin-fd 3 3<pin > /dev/null
for i in 1 2 3; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=user$i" -out r$i.csr 2>/dev/null
  "$hanko" issue --state ca --csr r$i.csr --profile ocsp-responder --out c$i.der --operator Tanaka --pin-fd 3 3<pin > /dev/null 2>&1
done
serial=$(openssl x509 -inform DER -in c2.der -noout -serial | cut -d= -f2)
"$hanko" revoke --state ca --serial "$serial" --reason keyCompromise --operator Tanaka --pin-fd 3 3<pin > /dev/null
"$hanko" revoke --state ca --serial "$serial" --reason keyCompromise --operator Tanaka --pin-fd 3 3<pin 2> /dev/null && fail "revoked twice"

"$hanko" audit-verify --state ca --operator Suzuki > verify.txt || fail "a good log does not verify"
echo "ok  $(cat verify.txt)"
"$hanko" audit-export --state ca --out-dir export --operator Suzuki > /dev/null
for type in ca.create key.generate certificate.issue certificate.revoke list.sign command.revoke audit.verify; do
  grep -qP "\t$type\t" export/audit.tsv || fail "no $type event in the log"
done
grep -P "\tcertificate.issue\t" export/audit.tsv | grep "Tanaka" >/dev/null || fail "the actor is not recorded"
grep -P "\tcommand.revoke\trefused\t" export/audit.tsv | grep "already revoked" >/dev/null || fail "the refusal is not recorded"
echo "ok  issuance, revocation, lists, key generation, a refusal and the verification itself are all in the log"
last_checkpoint=$(ls export/checkpoints/*.der | sort -V | tail -1)

# tamper CASE SQL: applied to a copy of the state with the append-only triggers dropped
tamper() {
  rm -rf t && cp -a ca t
  sqlite3 t/ca.db "DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete; $2"
  if "$hanko" audit-verify --state t "${@:3}" > out.txt 2>&1; then fail "$1 not detected"; fi
  echo "ok  $1: $(tail -1 out.txt)"
}
tamper "a changed byte" "UPDATE audit SET details = details || '.' WHERE sequence = 3"
tamper "a changed actor" "UPDATE audit SET actor = 'Mallory' WHERE sequence = 4"
tamper "a deleted entry" "DELETE FROM audit WHERE sequence = 5"
tamper "reordered entries" "UPDATE audit SET sequence = -1 WHERE sequence = 4; UPDATE audit SET sequence = 4 WHERE sequence = 5; UPDATE audit SET sequence = 5 WHERE sequence = -1"
tamper "an inserted entry" "UPDATE audit SET sequence = -(sequence + 1) WHERE sequence >= 6; UPDATE audit SET sequence = -sequence WHERE sequence < 0; INSERT INTO audit SELECT 6, time, type, result, actor, role, system, details, previous_hash, hash FROM audit WHERE sequence = 5"
# A checkpoint whose head was changed (one byte inside the signed content).
rm -rf t && cp -a ca t
python3 - t/ca.db <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
seq, der = db.execute("SELECT sequence, der FROM audit_checkpoints ORDER BY sequence DESC LIMIT 1").fetchone()
der = bytearray(der); der[12] ^= 1
db.execute("UPDATE audit_checkpoints SET der = ? WHERE sequence = ?", (bytes(der), seq)); db.commit()
PY
if "$hanko" audit-verify --state t > out.txt 2>&1; then fail "a forged checkpoint not detected"; fi
echo "ok  a forged checkpoint: $(tail -1 out.txt)"
# A log cut after its last checkpoint, checkpoints and all: consistent in itself, caught by the
# checkpoint that left the signer.
cut="DELETE FROM audit WHERE sequence > 5; DELETE FROM audit_checkpoints WHERE sequence > 5"
rm -rf t && cp -a ca t && sqlite3 t/ca.db "DROP TRIGGER audit_append_only_update; DROP TRIGGER audit_append_only_delete; $cut"
"$hanko" audit-verify --state t > /dev/null 2>&1 || fail "a cut log without an outside checkpoint should still verify in itself"
tamper "a log cut off after its last exported checkpoint" "$cut" --checkpoint "$last_checkpoint"
# The triggers themselves refuse edits through SQLite.
if sqlite3 ca/ca.db "UPDATE audit SET actor = 'x' WHERE sequence = 1" 2> err.txt; then fail "the append-only trigger let an update through"; fi
grep -q "append-only" err.txt || fail "trigger message: $(cat err.txt)"
echo "ok  the database refuses updates and deletes of audit entries"
echo "audit OK"
