#!/usr/bin/env bash
# Every bad input gets a clear error naming the problem, a non-zero exit, and nothing written.
set -euo pipefail
build=$1
hanko=$build/offline/hanko-offline
ra=$build/relay/hanko-ra
root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/tests/data/csr
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$work/softhsm2.conf" <<CONF
directories.tokendir = $work/tokens
objectstore.backend = file
log.level = ERROR
CONF
mkdir -p "$work/tokens"
export SOFTHSM2_CONF=$work/softhsm2.conf
printf 'SoPin-9876A\nUser-Pin-1234a\n' > "$work/pins"
printf 'User-Pin-1234a\n' > "$work/pin"
printf 'Wrong-Pin-000A\n' > "$work/wrong-pin"
"$hanko" token-init --label bad-input --so-pin-fd 3 --pin-fd 3 3<"$work/pins" >/dev/null
"$hanko" init --state "$work/ca" --token bad-input --key-label ca --key-type p256 \
  --subject "/C=JP/O=Hanko Test/CN=Bad Input CA" --pin-fd 3 3<"$work/pin" >/dev/null

# The CA state as content: configuration files and a dump of the database (page layout may
# change when SQLite checkpoints its journal, content must not).
# Refusals are recorded in the audit log (R40), so the audit table is left out here.
snapshot() {
  sha256sum "$work/ca/ca.conf" "$work/ca/profiles.conf"
  for t in meta generations certificates crl_numbers crls batches ra_keys cross_received; do sqlite3 "$work/ca/ca.db" ".dump $t"; done | sha256sum
}
before=$(snapshot)

# expect_refusal NAME EXPECTED_TEXT COMMAND...: must exit non-zero, say EXPECTED_TEXT, write nothing.
expect_refusal() {
  local name=$1 expected=$2
  shift 2
  rm -f "$work/out.crt"
  if "$@" > "$work/stdout" 2> "$work/stderr"; then fail "$name: accepted"; fi
  grep -qF -- "$expected" "$work/stderr" || fail "$name: message lacks '$expected': $(cat "$work/stderr")"
  [ ! -e "$work/out.crt" ] || fail "$name: wrote a certificate"
  [ "$(snapshot)" = "$before" ] || fail "$name: changed the CA state"
  echo "ok  $name: $(tail -1 "$work/stderr")"
}

jpki=(--jpki-name "山田太郎" --jpki-birth 19800401 --jpki-gender 1 --jpki-address "熊本県熊本市")
issue() { "$hanko" issue --state "$work/ca" --profile subscriber-signature "${jpki[@]}" --out "$work/out.crt" --pin-fd 3 --csr "$@" 3<"$work/pin"; }
expect_refusal "CSR with a bad signature" "bad_signature" issue "$data/bad-signature.der"
expect_refusal "truncated DER" "truncated" issue "$data/truncated.der"
expect_refusal "BER indefinite length" "indefinite_length" issue "$data/indefinite.der"
expect_refusal "BER non-minimal length" "non_minimal_length" issue "$data/nonminimal-length.der"
expect_refusal "trailing garbage" "trailing_bytes" issue "$data/trailing.der"
expect_refusal "RSA key below 2048 bits" "1024 bits" issue "$data/rsa1024.der"
expect_refusal "unknown profile" "unknown profile" "$hanko" issue --state "$work/ca" --profile nope \
  --out "$work/out.crt" --pin-fd 3 --csr "$data/rsa2048.der" 3<"$work/pin"
expect_refusal "basic four missing" "basic four information" "$hanko" issue --state "$work/ca" \
  --profile subscriber-signature --out "$work/out.crt" --pin-fd 3 --csr "$data/rsa2048.der" 3<"$work/pin"
expect_refusal "wrong PIN" "C_Login: CKR_PIN_INCORRECT" "$hanko" issue --state "$work/ca" "${jpki[@]}" \
  --profile subscriber-signature --out "$work/out.crt" --pin-fd 3 --csr "$data/rsa2048.der" 3<"$work/wrong-pin"
revoke() { "$hanko" revoke --state "$work/ca" --pin-fd 3 "$@" 3<"$work/pin"; }
expect_refusal "suspension reason" "no suspension" revoke --serial 01 --reason certificateHold
expect_refusal "unknown serial" "no certificate with serial" revoke --serial 0102 --reason superseded
expect_refusal "PIN on the command line" "unrecognised option" "$hanko" crl --state "$work/ca" --out-dir "$work/lists" --pin User-Pin-1234a
# faketime works by LD_PRELOAD, which AddressSanitizer must be told to accept.
expect_refusal "clock set back" "earlier than" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  faketime "2020-01-01 00:00:00" "$hanko" crl --state "$work/ca" \
  --out-dir "$work/lists" --pin-fd 3 3<"$work/pin"

# A CA whose configuration names a key that is not in the token.
cp -a "$work/ca" "$work/ca-badlabel"
sed -i 's/^key_label = .*/key_label = no-such-key/' "$work/ca-badlabel/ca.conf"
sqlite3 "$work/ca-badlabel/ca.db" "UPDATE generations SET key_label = 'no-such-key'"
if "$hanko" crl --state "$work/ca-badlabel" --out-dir "$work/badlists" --pin-fd 3 3<"$work/pin" 2>"$work/stderr"; then fail "unknown key label accepted"; fi
grep -q "no-such-key" "$work/stderr" || fail "unknown key label: $(cat "$work/stderr")"
[ ! -e "$work/badlists" ] || fail "unknown key label: wrote lists"
echo "ok  unknown key label: $(cat "$work/stderr")"

# Module paths: missing, and a library that is not a PKCS#11 module. No state folder appears.
for module in /nonexistent/libpkcs11.so /usr/lib/x86_64-linux-gnu/libz.so.1; do
  if "$hanko" init --module "$module" --state "$work/never" --token bad-input --key-label x \
      --subject "/CN=x" --pin-fd 3 3<"$work/pin" 2>"$work/stderr"; then fail "module $module accepted"; fi
  grep -q "$module" "$work/stderr" || fail "module error does not name $module: $(cat "$work/stderr")"
  [ ! -e "$work/never" ] || fail "module $module: a state folder appeared"
  echo "ok  module $module: $(cat "$work/stderr")"
done

# A key label that already exists: refused, and no second CA appears.
if "$hanko" init --state "$work/ca2" --token bad-input --key-label ca --subject "/CN=Second" \
    --pin-fd 3 3<"$work/pin" 2>"$work/stderr"; then fail "duplicate key label accepted"; fi
grep -q "ca" "$work/stderr" && [ ! -e "$work/ca2/ca.conf" ] || fail "duplicate label: $(cat "$work/stderr")"
echo "ok  duplicate key label: $(cat "$work/stderr")"

# An existing CA is never overwritten.
if "$hanko" init --state "$work/ca" --token bad-input --key-label other --subject "/CN=Again" \
    --pin-fd 3 3<"$work/pin" 2>"$work/stderr"; then fail "init over an existing CA accepted"; fi
[ "$(snapshot)" = "$before" ] || fail "init changed an existing CA"
echo "ok  init over an existing CA: $(cat "$work/stderr")"

# A damaged database: truncated, or its header overwritten. Refused with a pointer to the backup.
for damage in truncate header; do
  rm -rf "$work/ca-damaged"
  cp -a "$work/ca" "$work/ca-damaged"
  sqlite3 "$work/ca-damaged/ca.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  if [ $damage = truncate ]; then truncate -s 8192 "$work/ca-damaged/ca.db"; else printf 'garbage!garbage!' | dd of="$work/ca-damaged/ca.db" conv=notrunc 2>/dev/null; fi
  if "$hanko" status --state "$work/ca-damaged" > /dev/null 2>"$work/stderr"; then fail "$damage database accepted"; fi
  grep -qE "damaged|not a database|malformed" "$work/stderr" || fail "$damage database: $(cat "$work/stderr")"
  echo "ok  database $damage: $(cat "$work/stderr")"
done

# R16: a second certificate for a subject that already holds a valid one.
"$hanko" issue --state "$work/ca" --profile subscriber-signature "${jpki[@]}" --out "$work/first.crt" --pin-fd 3 --csr "$data/rsa2048.der" 3<"$work/pin" 2>/dev/null >/dev/null
serial=$(openssl x509 -inform DER -in "$work/first.crt" -noout -serial | cut -d= -f2)
before=$(snapshot)
expect_refusal "duplicate subject (R16)" "already holds valid certificate" issue "$data/rsa2048.der"
revoke --serial "$serial" --reason superseded > /dev/null
before=$(snapshot)
expect_refusal "revoking twice" "already revoked" revoke --serial "$serial" --reason superseded
# ----- batches -----------------------------------------------------------------------------
"$ra" keygen --key "$work/ra.key" --public "$work/ra.spki" > /dev/null
"$ra" keygen --key "$work/intruder.key" --public "$work/intruder.spki" > /dev/null
"$hanko" ra-register --state "$work/ca" --name "ra-1" --key "$work/ra.spki" > /dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=batch-good" -outform DER -out "$work/good.der" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=batch-dup" -outform DER -out "$work/dup.der" 2>/dev/null
b4=$'\t山田\t19800101\t1\t熊本県'
{
  printf 'issue\t%s\tsubscriber-signature\t-%s\n' "$work/good.der" "$b4"
  printf 'issue\t%s\tno-such-profile\t-%s\n' "$data/p256.der" "$b4"
  printf 'issue\t%s\tsubscriber-signature\t-%s\n' "$data/bad-signature.der" "$b4"
  printf 'issue\t%s\tsubscriber-signature\t-%s\n' "$work/dup.der" "$b4"
  printf 'issue\t%s\tsubscriber-signature\t-%s\n' "$work/dup.der" "$b4"
  printf 'issue\t%s\tsubscriber-signature\t-%s\n' "$data/rsa1024.der" "$b4"
  printf 'revoke\t0A0B0C\tkeyCompromise\n'
  printf 'revoke\t%s\tsuperseded\n' "$serial"
} > "$work/mixed.tsv"
"$ra" batch --key "$work/ra.key" --operator ra-1 --manifest "$work/mixed.tsv" --out "$work/mixed.der" > /dev/null
"$hanko" batch --state "$work/ca" --in "$work/mixed.der" --out "$work/mixed-result.der" --yes --pin-fd 3 3<"$work/pin" > /dev/null 2>&1 \
  || fail "mixed batch: $(cat "$work/stderr")"
"$ra" results --in "$work/mixed-result.der" --out-dir "$work/mixed-out" > "$work/mixed.txt" 2>/dev/null
expect_item() {  # ITEM STATUS TEXT
  grep -P "^$1\t$2\t.*$3" "$work/mixed.txt" > /dev/null || fail "item $1: expected $2 '$3', got: $(grep -P "^$1\t" "$work/mixed.txt")"
  echo "ok  batch item $1 $2: $(grep -P "^$1\t" "$work/mixed.txt" | cut -f3 | cut -c1-110)"
}
expect_item item-1 issued ""
expect_item item-2 refused "unknown profile"
expect_item item-3 refused "bad_signature"
expect_item item-4 issued ""
expect_item item-5 refused "appears twice in this batch"
expect_item item-6 refused "1024 bits"
expect_item item-7 refused "no certificate with serial"
expect_item item-8 refused "already revoked"

# Results lost on the way out (here: a folder that does not exist): the batch stays signed and
# recorded once, and 'batch-results' writes what it produced again.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=batch-lost" -outform DER -out "$work/lost.der" 2>/dev/null
printf 'issue\t%s\tsubscriber-signature\t-%s\n' "$work/lost.der" "$b4" > "$work/lost.tsv"
"$ra" batch --key "$work/ra.key" --operator ra-1 --manifest "$work/lost.tsv" --out "$work/lost-batch.der" > /dev/null
if "$hanko" batch --state "$work/ca" --in "$work/lost-batch.der" --out "$work/no-such-folder/result.der" --yes --pin-fd 3 3<"$work/pin" \
    > /dev/null 2> "$work/stderr"; then
  fail "results written into a folder that does not exist"
fi
grep -q "The batch IS signed and recorded" "$work/stderr" || fail "lost results: unclear error: $(cat "$work/stderr")"
lost_id=$(sed -n 's/.*--batch-id \([0-9A-F]*\).*/\1/p' "$work/stderr" | head -1)
[ -n "$lost_id" ] || fail "the error names no batch id: $(cat "$work/stderr")"
"$hanko" batch-results --state "$work/ca" --batch-id "$lost_id" --out "$work/lost-result.der" > /dev/null || fail "batch-results"
"$ra" results --in "$work/lost-result.der" --out-dir "$work/lost-out" > "$work/lost.txt" 2>/dev/null
grep -qP "^item-1\tissued\t" "$work/lost.txt" || fail "re-exported results: $(cat "$work/lost.txt")"
before=$(snapshot)
expect_refusal "batch whose results were lost, sent again" "replayed batch is refused whole" "$hanko" batch --state "$work/ca" \
  --in "$work/lost-batch.der" --out "$work/lost-again.der" --yes --pin-fd 3 3<"$work/pin"
expect_refusal "results of a batch never processed" "processed no batch 00FF" "$hanko" batch-results --state "$work/ca" \
  --batch-id 00ff --out "$work/none.der"
echo "ok  results lost on the way out: 'batch-results' writes them again ($(cut -f1,2 "$work/lost.txt" | tr '\t\n' ' '))"

before=$(snapshot)
expect_refusal "replayed batch" "replayed batch is refused whole" "$hanko" batch --state "$work/ca" --in "$work/mixed.der" \
  --out "$work/replay.der" --yes --pin-fd 3 3<"$work/pin"
head -c 600 "$work/mixed.der" > "$work/truncated-batch.der"
expect_refusal "truncated batch" "nor a bare request batch [truncated" "$hanko" batch --state "$work/ca" --in "$work/truncated-batch.der" \
  --out "$work/t.der" --yes --pin-fd 3 3<"$work/pin"

# Items signed by a key the signer does not know, or by an operator it never registered.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/C=JP/CN=intruder" -outform DER -out "$work/intr.der" 2>/dev/null
printf 'issue\t%s\tsubscriber-signature\t-%s\n' "$work/intr.der" "$b4" > "$work/intr.tsv"
"$ra" batch --key "$work/intruder.key" --operator ra-1 --manifest "$work/intr.tsv" --out "$work/intr1.der" > /dev/null
"$ra" batch --key "$work/intruder.key" --operator ra-unknown --manifest "$work/intr.tsv" --out "$work/intr2.der" > /dev/null
for b in intr1 intr2; do
  "$hanko" batch --state "$work/ca" --in "$work/$b.der" --out "$work/$b-result.der" --yes --pin-fd 3 3<"$work/pin" > /dev/null 2>&1
  "$ra" results --in "$work/$b-result.der" --out-dir "$work/$b-out" > "$work/mixed.txt" 2>/dev/null
  [ -z "$(ls -A "$work/$b-out")" ] || fail "$b: a certificate was issued"
done
"$ra" results --in "$work/intr1-result.der" --out-dir "$work/x1" > "$work/mixed.txt" 2>/dev/null
expect_item item-1 refused "does not verify"
"$ra" results --in "$work/intr2-result.der" --out-dir "$work/x2" > "$work/mixed.txt" 2>/dev/null
expect_item item-1 refused "not registered"

# Request bundles: one flipped byte, and a bundle signed by a key the signer does not trust.
"$hanko" bundle-key --token bad-input --key-label relay-key --key-type p256 --out "$work/relay.spki" --pin-fd 3 3<"$work/pin" > /dev/null
"$hanko" bundle-key --token bad-input --key-label rogue-key --key-type p256 --out "$work/rogue.spki" --pin-fd 3 3<"$work/pin" > /dev/null
"$ra" batch --key "$work/ra.key" --operator ra-1 --manifest "$work/intr.tsv" --out "$work/inner.der" > /dev/null
for k in relay rogue; do
  "$hanko" bundle-sign --token bad-input --key-label $k-key --direction request --sequence 1 \
    --part "request-batch.der=application/vnd.hanko.request-batch:$work/inner.der" --out "$work/$k.hkb" --pin-fd 3 3<"$work/pin" > /dev/null
done
cp "$work/relay.hkb" "$work/flipped.hkb"
# The byte's complement: a fixed value would leave it unchanged when it was already there.
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f: f.seek(200); b = f.read(1); f.seek(200); f.write(bytes([b[0] ^ 0xFF]))' "$work/flipped.hkb"
before=$(snapshot)
expect_refusal "bundle with a flipped byte" "neither a request bundle" "$hanko" batch --state "$work/ca" --in "$work/flipped.hkb" \
  --trust "$work/relay.spki" --out "$work/r.der" --yes --pin-fd 3 3<"$work/pin"
expect_refusal "bundle from an untrusted key" "unknown-signer" "$hanko" batch --state "$work/ca" --in "$work/rogue.hkb" \
  --trust "$work/relay.spki" --out "$work/r.der" --yes --pin-fd 3 3<"$work/pin"
expect_refusal "bundle without --trust" "name the relay's transport key" "$hanko" batch --state "$work/ca" --in "$work/relay.hkb" \
  --out "$work/r.der" --yes --pin-fd 3 3<"$work/pin"

# A rollover whose old key is missing from the token: refused before a new key is made.
cp -a "$work/ca" "$work/ca-nokey"
sqlite3 "$work/ca-nokey/ca.db" "UPDATE generations SET key_label = 'gone'"
if "$hanko" rollover --state "$work/ca-nokey" --new-key-label fresh --key-type p256 --pin-fd 3 3<"$work/pin" 2>"$work/stderr"; then fail "rollover without the old key accepted"; fi
grep -q "no key labelled 'gone'" "$work/stderr" || fail "rollover without old key: $(cat "$work/stderr")"
echo "ok  rollover without the old key: $(cat "$work/stderr")"
echo "all bad input refused"
