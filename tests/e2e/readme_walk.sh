#!/usr/bin/env bash
# The README's step-by-step block, copied out of README.md and run as written (so the two cannot
# drift), with the build's programs on PATH, in an empty folder; then every artefact is checked
# by OpenSSL as a relying party would at the time of publication.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh" "$(realpath "$1")"
# walk MARKER FOLDER: cuts the README's block between <!-- MARKER begin/end --> and runs it as
# written in FOLDER (new and empty, as a reader's would be: the block makes its own token folder),
# with the build's programs on PATH; its output goes to FOLDER/walk.out.
walk() {
  local marker=$1 folder=$2
  mkdir "$work/$folder"
  sed -n "/<!-- $marker begin -->/,/<!-- $marker end -->/p" "$root/README.md" | sed '1,2d;$d' | sed '$d' > "$work/$folder/walk.sh"
  [ "$(wc -l < "$work/$folder/walk.sh")" -gt 10 ] || fail "no $marker block in README.md"
  grep -q '^```' "$work/$folder/walk.sh" && fail "the $marker block was not cut out cleanly: $(cat "$work/$folder/walk.sh")"
  cd "$work/$folder"
  PATH=$build/offline:$build/relay:$PATH bash -euo pipefail walk.sh > walk.out 2>&1 || { cat walk.out; fail "the README's $marker block fails as written"; }
}
walk readme-walk walk

# Published before the revocation: the certificate verified (the block's own openssl verify).
grep -q "yamada.pem: OK" walk.out || fail "the block's openssl verify did not say OK: $(cat walk.out)"
# After: the republished lists refuse it, and every list verifies under the CA certificate.
for f in repo/*.crl; do
  openssl crl -inform DER -in "$f" -CAfile ca.pem -noout 2>&1 | grep "verify OK" >/dev/null || fail "$f does not verify"
  t=$(date -u -d "$(openssl crl -inform DER -in "$f" -noout -lastupdate | cut -d= -f2)" +%s)
  [ "$t" -le "$(date -u +%s)" ] || fail "$f published before its thisUpdate"
done
for f in repo/*.crl; do openssl crl -inform DER -in "$f"; done > lists-after.pem
if openssl verify -x509_strict -crl_check_all -CAfile ca.pem -CRLfile lists-after.pem yamada.pem > v.txt 2>&1; then
  fail "the revoked certificate still verifies with the republished lists"
fi
grep -q "certificate revoked" v.txt || fail "refused for another reason: $(cat v.txt)"
openssl verify -x509_strict -check_ss_sig -CAfile ca.pem ca.pem > /dev/null || fail "the CA certificate"
grep -qE "^[0-9A-F]+  g1  revoked \(keyCompromise\)" walk.out || fail "find --status revoked does not show it: $(cat walk.out)"
echo "ok  the README's block runs as written; openssl accepts what it publishes and refuses the revoked certificate"

# The README's Python reader of the basic four, on the walk's certificate.
sed -n '/<!-- readme-basic-four begin -->/,/<!-- readme-basic-four end -->/p' "$root/README.md" | sed '1,2d;$d' | sed '$d' > basic_four.py
python3 basic_four.py yamada.pem > basic_four.txt 2>&1 || fail "the README's basic-four reader: $(cat basic_four.txt)"
printf 'name: 山田太郎\nbirth: 19800401\ngender: 1\naddress: 熊本県熊本市中央区水前寺6-18-1\n' | cmp -s - basic_four.txt \
  || fail "the README's basic-four reader prints: $(cat basic_four.txt)"
echo "ok  the README's Python reader gives the basic four in the documented order"

# The disaster-recovery drill block, in a folder of its own: the primary revokes after its backup,
# is lost, and the backup center's restore with the published repository as evidence keeps the
# certificate revoked; every list after the restore is numbered above every one before it.
walk readme-walk-dr dr
grep -q "suzuki.pem: revoked, as before the loss" walk.out || fail "the certificate revoked after the backup verifies after the restore: $(cat walk.out)"
grep -q "certificate revoked" walk.out || fail "refused for another reason: $(cat walk.out)"
before=0
for f in repo/*.crl; do n=$(openssl crl -inform DER -in "$f" -noout -crlnumber | cut -d= -f2); n=${n#0x}; [ $((16#$n)) -gt "$before" ] && before=$((16#$n)); done
for f in repo-after/*.crl; do
  n=$(openssl crl -inform DER -in "$f" -noout -crlnumber | cut -d= -f2); n=${n#0x}
  [ $((16#$n)) -gt "$before" ] || fail "$f #$((16#$n)) is not above the highest number published before the loss ($before)"
done
grep -q "WARNING: .*holds no backup key yet" walk.out || fail "status after the restore does not say the backup key is missing: $(cat walk.out)"
echo "ok  the README's DR block runs as written: the revocation made after the backup survives the restore, numbers only rise"
