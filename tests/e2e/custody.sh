#!/usr/bin/env bash
# Custodian quorum: 3 of 5 open the token; every way of getting it wrong is named and audited.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
echo 'SoPin-1234A' > so
printf 'Alice-pass1\nBobby-pass2\nCarol-pass3\nDaveX-pass4\nEvely-pass5\n' > pass
custodians="--custodian Alice --custodian Bob --custodian Carol --custodian Dave --custodian Eve"
# shellcheck disable=SC2086
"$hanko" token-init --label main --so-pin-fd 3 $custodians --quorum 3 --shares-dir shares --passphrase-fd 4 3<so 4<pass > /dev/null
# shellcheck disable=SC2086
"$hanko" token-init --label other --so-pin-fd 3 $custodians --quorum 3 --shares-dir other-shares --passphrase-fd 4 3<so 4<pass > /dev/null
printf 'Alice-pass1\nCarol-pass3\nEvely-pass5\n' > p3
"$hanko" init --state ca --token main --key-label k --key-type p256 --subject "/CN=Custody CA" \
  --share shares/Alice.share --share shares/Carol.share --share shares/Eve.share --passphrase-fd 3 3<p3 > /dev/null
echo "ok  3 of 5 custodians (Alice, Carol, Eve) open the token; nobody ever saw its PIN"
printf 'Bobby-pass2\nDaveX-pass4\nEvely-pass5\n' > p3b
"$hanko" crl --state ca --out-dir l --share shares/Bob.share --share shares/Dave.share --share shares/Eve.share --passphrase-fd 3 3<p3b > /dev/null
echo "ok  another 3 of 5 (Bob, Dave, Eve) open it too"

refuse() {  # NAME EXPECTED SHARE... (passphrases from the file named by $PASS)
  local name=$1 expected=$2
  shift 2
  local args=()
  for s in "$@"; do args+=(--share "$s"); done
  if "$hanko" crl --state ca --out-dir never "${args[@]}" --passphrase-fd 3 3<"$PASS" > /dev/null 2> err.txt; then fail "$name: accepted"; fi
  grep -qF "$expected" err.txt || fail "$name: message lacks '$expected': $(cat err.txt)"
  [ ! -e never ] || fail "$name: lists were written"
  echo "ok  $name: $(tail -1 err.txt)"
}
printf 'Alice-pass1\nCarol-pass3\n' > p2; PASS=p2
refuse "fewer than M shares" "1 more needed" shares/Alice.share shares/Carol.share
printf 'Alice-pass1\nAlice-pass1\nCarol-pass3\n' > pdup; PASS=pdup
refuse "the same custodian twice" "has already presented a share" shares/Alice.share shares/Alice.share shares/Carol.share
printf 'Alice-pass1\nCarol-pass3\nEvely-pass5\n' > p3; PASS=p3
refuse "a share from another CA" "belongs to another set" shares/Alice.share shares/Carol.share other-shares/Eve.share
printf 'Alice-pass1\nCarol-WRONG3\nEvely-pass5\n' > pw; PASS=pw
refuse "a wrong passphrase" "does not open their share" shares/Alice.share shares/Carol.share shares/Eve.share
cp shares/Carol.share flipped.share
flip_byte flipped.share $(( $(stat -c %s flipped.share) - 5 ))
PASS=p3
refuse "a share with one flipped byte" "damaged" shares/Alice.share flipped.share shares/Eve.share
head -c 40 shares/Carol.share > truncated.share
refuse "a truncated share" "not a share file" shares/Alice.share truncated.share shares/Eve.share
grep -c "command.crl" <("$hanko" audit-export --state ca --out-dir audit > /dev/null && cat audit/audit.tsv) | grep 6 >/dev/null \
  || fail "the refusals are not all in the audit log"
echo "ok  each refusal is in the audit log"

printf 'short1A\nBobby-pass2\nCarol-pass3\n' > weak
if "$hanko" token-init --label weak --so-pin-fd 3 --custodian A --custodian B --custodian C --quorum 2 --shares-dir weak-shares \
    --passphrase-fd 4 3<so 4<weak 2> err.txt; then fail "a weak passphrase was accepted"; fi
grep -q "R6" err.txt || fail "weak passphrase: $(cat err.txt)"
[ ! -e weak-shares ] || fail "shares written despite a weak passphrase"
echo "ok  a passphrase breaking R6 is refused before anything is written: $(cat err.txt)"
printf 'Alice-pass1\nBobby-pass2\n' > two
if "$hanko" token-init --label x --so-pin-fd 3 --custodian A --custodian B --quorum 3 --shares-dir x --passphrase-fd 4 3<so 4<two 2> err.txt; then fail "3 of 2 accepted"; fi
echo "ok  an impossible quorum is refused: $(cat err.txt)"
# Paper backup: a share printed as a page with its QR code, then a photo of it (scaled, JPEG,
# slightly rotated, as a phone would take it) given where the share file is asked for.
"$hanko" share-print shares/Carol.share --out Carol-page.html > /dev/null
grep -q "Key share of Carol" Carol-page.html || fail "the share page does not name its custodian"
convert Carol-page.png -resize 170% -rotate 3 -quality 85 Carol-photo.jpg
"$hanko" crl --state ca --out-dir l2 --share shares/Alice.share --share Carol-photo.jpg --share shares/Eve.share --passphrase-fd 3 3<p3 > /dev/null
echo "ok  a photographed share page (JPEG, rotated) opens the token with the others"
convert -size 200x200 xc:white blank.png
refuse "an image without a QR code" "0 QR codes found" shares/Alice.share blank.png shares/Eve.share
echo "custody OK"
