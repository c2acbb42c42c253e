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

# Video: the frames recorded as an H.264 film (what a camera gives), every tenth frame lost.
mkdir -p "$work/film"
i=0
for f in "$work"/qr/frame-*.png; do
  i=$((i + 1))
  [ $((i % 10)) -eq 0 ] || cp "$f" "$work/film/$(printf '%05d' "$i").png"
done
ffmpeg -loglevel error -framerate 10 -pattern_type glob -i "$work/film/*.png" -vf "pad=ceil(iw/2)*2+64:ceil(ih/2)*2+64:32:32:white" -c:v libx264 -pix_fmt yuv420p "$work/film.mp4"
"$hanko" import --qr-video "$work/film.mp4" --trust "$work/relay.spki" --state "$work/state-video" --out "$work/in/video.hkb" \
  2>"$work/progress" >/dev/null || { cat "$work/progress" >&2; fail "video import"; }
cmp "$work/b1.hkb" "$work/in/video.hkb" || fail "video round trip changed the bundle"
mkdir -p "$work/few" && cp "$work"/film/0000[1-3].png "$work/few/"
ffmpeg -loglevel error -framerate 10 -pattern_type glob -i "$work/few/*.png" -vf "pad=ceil(iw/2)*2:ceil(ih/2)*2" -c:v libx264 -pix_fmt yuv420p "$work/short.mp4"
expect_refusal "more" "$hanko" import --qr-video "$work/short.mp4" --trust "$work/relay.spki" --state "$work/state-video2" --out "$work/in/short.hkb"
head -c 3000 "$work/film.mp4" > "$work/cut.mp4"
expect_refusal "video" "$hanko" import --qr-video "$work/cut.mp4" --trust "$work/relay.spki" --state "$work/state-video3" --out "$work/in/cut.hkb"

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
