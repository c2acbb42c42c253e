#!/usr/bin/env bash
# The demo's ceremony part (scripts/demo-ceremony) as a test: the outside check runs the demo, so
# a change that breaks it must fail here first.
set -euo pipefail
build=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$(dirname "$0")/../../scripts/demo-ceremony" "$out" "$build" > "$out.log" 2>&1 || { tail -20 "$out.log"; rm -f "$out.log"; exit 1; }
grep -q "deviations from the rehearsal: 0" "$out.log" || { tail -20 "$out.log"; rm -f "$out.log"; exit 1; }
[ "$(grep -c '^transcript OK' "$out/ceremony/verify.txt")" = 3 ] || { cat "$out/ceremony/verify.txt"; rm -f "$out.log"; exit 1; }
rm -f "$out.log"
echo "ok  scripts/demo-ceremony: three transcripts verify on the encrypted CA databases"
