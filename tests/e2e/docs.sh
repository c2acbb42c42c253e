#!/usr/bin/env bash
# Man pages and bash completion come from the programs' own --help (scripts/make-docs): a page
# for every program and command, completion of commands and options; --help and --version on
# every program.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$root/tests/e2e/lib.sh" "$(realpath "$1")"
out=$work
"$root/scripts/make-docs" "$build" "$out" > "$out/log" 2>&1 || fail "make-docs: $(cat "$out/log")"
for page in hanko-offline hanko-offline-issue hanko-offline-ceremony-run hanko-offline-list hanko-relay hanko-relay-retry hanko-ra-items; do
  [ -s "$out/man/man1/$page.1" ] && grep -q '^\.TH' "$out/man/man1/$page.1" || fail "no man page $page"
done
grep -q "YYYYMMDD" "$out/man/man1/hanko-offline-issue.1" || fail "the issue page lacks the basic four formats"
complete_at() {  # PROGRAM WORD... : completions of the last word
  local program=$1
  shift
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); "_${COMP_WORDS[0]//-/_}"; echo "${COMPREPLY[*]}"' _ \
    "$out/bash-completion/completions/$program" "$program" "$@"
}
[ "$(complete_at hanko-offline iss)" = issue ] || fail "completion of 'iss': $(complete_at hanko-offline iss)"
complete_at hanko-offline issue --jpki-b | grep -- --jpki-birth >/dev/null || fail "completion of issue options"
complete_at hanko-offline ceremony run --pl | grep -- --plan >/dev/null || fail "completion of ceremony run options"
complete_at hanko-relay ret | grep retry >/dev/null || fail "completion of hanko-relay commands"
for program in "$build/offline/hanko-offline" "$build/relay/hanko-relay" "$build/relay/hanko-ra"; do
  "$program" --help > "$out/help.txt" || fail "$program --help exits non-zero"
  "$program" --version | grep -E '^hanko-[a-z]+ [0-9]+\.[0-9]+' >/dev/null || fail "$program --version"
done
echo "ok  $(ls "$out/man/man1" | wc -l) man pages; bash completion of commands and options; --help and --version everywhere"
