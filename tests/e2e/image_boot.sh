#!/usr/bin/env bash
# The appliance image in CI: built twice from the same commit (the image hashes must be equal),
# then both boot tests under QEMU (qemu-image/boot-test: self-test and bad input, then the copy
# with a network card). scripts/test's image phase, after the release ctest; not a ctest, because
# it needs the image build (no video input), Debian's kernel package and about two minutes.
#   tests/e2e/image_boot.sh [--reuse-first] [BUILD_DIR]   (--reuse-first: BUILD_DIR/image is the first build)
set -euo pipefail
cd "$(dirname "$0")/../.."
reuse=0
[ "${1:-}" != --reuse-first ] || { reuse=1; shift; }
build=${1:-build}

# scripts/test builds the first image in its build phase, where a moved file breaks it early.
if [ "$reuse" = 1 ] && [ -f "$build/image/SHA256SUMS" ]; then
  echo "image_boot: the image in $build/image is the first build"
else
  qemu-image/build "$build/image" "$build"
fi
qemu-image/build "$build/image-again" "$build" >/dev/null
first=$(qemu-image/hash "$build/image" | sed -n 1p)
second=$(qemu-image/hash "$build/image-again" | sed -n 1p)
if [ "$first" != "$second" ] || ! cmp -s "$build/image/initramfs.cpio.gz" "$build/image-again/initramfs.cpio.gz"; then
  echo "image_boot: two builds of the same commit differ: $first / $second" >&2
  diff <(cd "$build/image" && cat SHA256SUMS) <(cd "$build/image-again" && cat SHA256SUMS) >&2 || true
  exit 1
fi
echo "image_boot: two builds are byte-identical ($first)"
rm -rf "$build/image-again"
qemu-image/boot-test --selftest "$build/image" "$build"
qemu-image/boot-test --network "$build/image" "$build"
echo "image_boot: PASS"
