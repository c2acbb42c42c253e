#!/usr/bin/env bash
# Every bad input gets a clear error naming the problem, a non-zero exit, and nothing written.
set -euo pipefail
hanko=$1
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

snapshot() { (cd "$work/ca" && find . -type f ! -name lock -print0 | sort -z | xargs -0 sha256sum); }
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

issue() { "$hanko" issue --state "$work/ca" --profile subscriber-signature --out "$work/out.crt" --pin-fd 3 --csr "$@" 3<"$work/pin"; }
expect_refusal "CSR with a bad signature" "bad_signature" issue "$data/bad-signature.der"
expect_refusal "truncated DER" "truncated" issue "$data/truncated.der"
expect_refusal "BER indefinite length" "indefinite_length" issue "$data/indefinite.der"
expect_refusal "BER non-minimal length" "non_minimal_length" issue "$data/nonminimal-length.der"
expect_refusal "trailing garbage" "trailing_bytes" issue "$data/trailing.der"
expect_refusal "RSA key below 2048 bits" "1024 bits" issue "$data/rsa1024.der"
expect_refusal "unknown profile" "unknown profile" "$hanko" issue --state "$work/ca" --profile nope \
  --out "$work/out.crt" --pin-fd 3 --csr "$data/rsa2048.der" 3<"$work/pin"
expect_refusal "wrong PIN" "C_Login: CKR_PIN_INCORRECT" "$hanko" issue --state "$work/ca" \
  --profile subscriber-signature --out "$work/out.crt" --pin-fd 3 --csr "$data/rsa2048.der" 3<"$work/wrong-pin"
expect_refusal "suspension reason" "no suspension" "$hanko" revoke --state "$work/ca" --serial 01 --reason certificateHold
expect_refusal "unknown serial" "no certificate with serial" "$hanko" revoke --state "$work/ca" --serial 0102 --reason superseded
expect_refusal "PIN on the command line" "unrecognised option" "$hanko" crl --state "$work/ca" --out "$work/out.crt" --pin User-Pin-1234a

# A CA whose configuration names a key that is not in the token.
cp -a "$work/ca" "$work/ca-badlabel"
sed -i 's/^key_label = .*/key_label = no-such-key/' "$work/ca-badlabel/ca.conf"
if "$hanko" crl --state "$work/ca-badlabel" --out "$work/out.crl" --pin-fd 3 3<"$work/pin" 2>"$work/stderr"; then fail "unknown key label accepted"; fi
grep -q "no-such-key" "$work/stderr" || fail "unknown key label: $(cat "$work/stderr")"
[ ! -e "$work/out.crl" ] || fail "unknown key label: wrote a CRL"
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

# R16: a second certificate for a subject that already holds a valid one.
"$hanko" issue --state "$work/ca" --profile subscriber-signature --out "$work/first.crt" --pin-fd 3 --csr "$data/rsa2048.der" 3<"$work/pin" 2>/dev/null >/dev/null
before=$(snapshot)
expect_refusal "duplicate subject (R16)" "already holds valid certificate" issue "$data/rsa2048.der"
echo "all bad input refused"
