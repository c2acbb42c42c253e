#!/usr/bin/env bash
# hanko-offline's air-gap check with the real binary: --require-air-gap refuses next to this
# machine's interfaces (naming them), passes in a network namespace with loopback only (when
# unshare works here), and is off without the flag and without /etc/hanko/air-gap.
#   tests/e2e/air_gap.sh BUILD_DIR
set -euo pipefail
hanko=$(realpath "$1")/offline/hanko-offline
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "air_gap: FAIL: $*" >&2; exit 1; }

others=$(ls /sys/class/net | grep -vx lo | tr '\n' ' ' || true)
if [ -n "$others" ] && [ ! -e /etc/hanko/air-gap ]; then
  # Without the flag the check is off: the command gets as far as the missing state.
  "$hanko" status --state "$tmp/none" 2>"$tmp/err" && fail "status on a missing state succeeded"
  grep -q 'air-gapped' "$tmp/err" && fail "the check ran without --require-air-gap: $(cat "$tmp/err")"
  set +e
  "$hanko" status --require-air-gap --state "$tmp/none" 2>"$tmp/err"
  rc=$?
  set -e
  [ $rc = 1 ] || fail "--require-air-gap next to $others exited $rc"
  for i in $others; do grep -q "$i" "$tmp/err" || fail "the refusal does not name $i: $(cat "$tmp/err")"; done
  grep -q 'must run air-gapped' "$tmp/err" || fail "the refusal does not say why: $(cat "$tmp/err")"
  echo "air_gap: refused next to $others"
else
  echo "air_gap: this machine has no interface besides lo (or is an appliance); refusal half skipped"
fi

# Loopback only: a new network namespace, with sysfs mounted again so that it shows that namespace.
if unshare --net --mount true 2>/dev/null; then
  unshare --net --mount sh -c 'mount -t sysfs sysfs /sys && exec "$0" status --require-air-gap --state "$1"' \
    "$hanko" "$tmp/none" 2>"$tmp/err" && fail "status on a missing state succeeded"
  grep -q 'air-gapped' "$tmp/err" && fail "refused with loopback only: $(cat "$tmp/err")"
  echo "air_gap: loopback only passes the check"
else
  echo "air_gap: unshare --net not permitted here; loopback-only half skipped"
fi
echo "air_gap: PASS"
