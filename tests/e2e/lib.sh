# Shared by the end-to-end tests (sourced): a fresh work folder removed on exit, a private
# SoftHSMv2 token folder inside it, and the failure helper. Sets $hanko, $ra and $work and makes
# $work the current folder.
#   source "$(dirname "$0")/lib.sh" BUILD_DIR
build=$1
hanko=$build/offline/hanko-offline
ra=$build/relay/hanko-ra
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > softhsm2.conf
export SOFTHSM2_CONF=$work/softhsm2.conf
# Changes the byte of FILE at OFFSET to another value (its complement): writing a fixed byte leaves
# the file as it was whenever that byte was already there (1 run in 256).
flip_byte() {
  python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))' "$1" "$2"
}
