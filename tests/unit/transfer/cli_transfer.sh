#!/usr/bin/env bash
# hanko-offline's transfer commands end to end with a real SoftHSMv2 token: a relay key signs
# request bundles, they cross as QR PNG images and on a folder, and every refusal is checked.
#   cli_transfer.sh HANKO_OFFLINE
set -euo pipefail
hanko=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cat > "$work/softhsm2.conf" <<CONF
directories.tokendir = $work/tokens
objectstore.backend = file
log.level = ERROR
CONF
mkdir -p "$work/tokens" "$work/items" "$work/usb" "$work/in"
export SOFTHSM2_CONF=$work/softhsm2.conf
printf 'SoPin-9876A\nUser-Pin-1234a\n' > "$work/pins"
printf 'User-Pin-1234a\n' > "$work/pin"
"$hanko" token-init --label relay --so-pin-fd 3 --pin-fd 3 3<"$work/pins" >/dev/null
"$hanko" bundle-key --token relay --key-label transport-1 --out "$work/relay.spki" --pin-fd 3 3<"$work/pin" >/dev/null
head -c 30000 /dev/urandom > "$work/items/requests.der"
echo "two requests" > "$work/items/note.txt"
for seq in 1 2 3; do
  "$hanko" bundle-sign --token relay --key-label transport-1 --sequence $seq \
    --part "requests.der=application/octet-stream:$work/items/requests.der" --part "note.txt=text/plain:$work/items/note.txt" \
    --out "$work/b$seq.hkb" --pin-fd 3 3<"$work/pin" >/dev/null
done
"$hanko" inspect "$work/b1.hkb" --trust "$work/relay.spki" | grep -q "read aloud" || fail "inspect"

# QR: PNG frames, rebuilt from the images, verified, recorded.
"$hanko" export --bundle "$work/b1.hkb" --qr-png "$work/qr" --pixels 3 >/dev/null 2>&1
"$hanko" export --bundle "$work/b1.hkb" --qr-html "$work/b1.html" --fps 12 >/dev/null 2>&1
grep -q "data:image/png;base64," "$work/b1.html" || fail "html"
"$hanko" import --qr-images "$work/qr" --trust "$work/relay.spki" --state "$work/state" --out "$work/in/b1.hkb" 2>"$work/progress" >/dev/null
grep -q "100%" "$work/progress" || fail "no progress line"
cmp "$work/b1.hkb" "$work/in/b1.hkb" || fail "QR round trip changed the bundle"

# expect_refusal TEXT COMMAND...: non-zero exit, TEXT in the message.
expect_refusal() {
  local expected=$1
  shift
  if "$@" >"$work/out" 2>&1; then fail "accepted: $*"; fi
  grep -q -- "$expected" "$work/out" || { cat "$work/out" >&2; fail "message lacks '$expected'"; }
}
expect_refusal "replay" "$hanko" import --qr-images "$work/qr" --trust "$work/relay.spki" --state "$work/state" --out "$work/in/again.hkb"
[ ! -e "$work/in/again.hkb" ] || fail "replay wrote a file"

# Disk: 3 before 2 is a gap; 2 then 3 go in; a flipped byte is refused; nothing is deleted.
"$hanko" export --bundle "$work/b3.hkb" --to "$work/usb" >/dev/null 2>&1
expect_refusal "expected request sequence 2, got 3: bundle 2 is missing" \
  "$hanko" import --from "$work/usb" --trust "$work/relay.spki" --state "$work/state" --out "$work/in/b3.hkb"
"$hanko" export --bundle "$work/b2.hkb" --to "$work/usb" >/dev/null 2>&1
"$hanko" import --from "$work/usb" --trust "$work/relay.spki" --state "$work/state" --out "$work/in/b2.hkb" >/dev/null 2>&1
"$hanko" import --from "$work/usb" --trust "$work/relay.spki" --state "$work/state" --out "$work/in/b3.hkb" >/dev/null 2>&1
[ "$(ls "$work/usb" | wc -l)" = 2 ] || fail "import changed the disk"
cp "$work/b1.hkb" "$work/flipped.hkb"
printf '\x55' | dd of="$work/flipped.hkb" bs=1 seek=200 conv=notrunc status=none
expect_refusal "not a bundle hanko accepts" "$hanko" inspect "$work/flipped.hkb" --trust "$work/relay.spki"
echo "cli transfer OK"
