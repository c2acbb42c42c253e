#!/usr/bin/env bash
# Every ceremony kind end to end on SoftHSMv2 with scripted stand-in custodians (issue 8): root key
# generation (rehearsed first, then compared with the golden transcript), CRL signing with a
# schedule, batch signing, cross-certification, rollover, backup, share re-issue, restore on a
# second fresh token at the "backup center", key destruction, compromise and termination. Each
# transcript verifies and chains to the previous ceremony and the audit log. Bad input: a wrong
# role, a quorum missing midway, a plan edited after review, a power cut after a signing command,
# a changed byte and a missing line in a transcript.
#   tests/e2e/ceremony.sh BUILD_DIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/lib.sh" "$1"
scripts=$repo/ceremony/scripts
plans=$work/plans
cp -r "$repo/ceremony/plans/demo" "$plans"
module=/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so

# Stand-ins: everyone's passphrase is derived from their name (never like this for real).
me() { printf '%s\n%s-Pass1234\n' "$1" "$1"; }         # a person confirms with the enrolment passphrase
share() { printf '%s\n%s-Share1234\n' "$1" "$1"; }     # a custodian presents their token share
bshare() { printf '%s\n%s-Backup1234\n' "$1" "$1"; }   # a backup-key custodian
enrol() { for p in Fujita Ishikawa Kimura Mori Ogawa Yamada; do echo "$p-Pass1234"; done; }
new_shares() { for c in Sato Suzuki Takahashi Tanaka Watanabe; do echo "$c-${1:-Share}1234"; done; }
activate() { share Sato; share Takahashi; share Watanabe; }

site() {  # NAME STATE TOKEN SHARES: writes $work/NAME.site (and times the ceremonies run with it)
  cat > "$work/$1.site" <<SITE
module         = $module
state          = $2
token          = $3
shares         = $4
out            = $work/out/$1
backup_shares  = $work/backup-shares
backup_set     = $work/backup-media/set-1
evidence       = $work/out
new_shares     = $work/new-shares
request_bundle = $work/request-1.hkb
relay_key      = $work/relay-transport.spki
bridge_request = $work/bridge.csr
SITE
}
run() {  # SITE KIND ANSWERS [more args]: runs a ceremony with scripted answers
  local s=$1 kind=$2 answers=$3 start=$EPOCHREALTIME status=0; shift 3
  "$hanko" ceremony run "$scripts/$kind.ceremony" --plan "$plans/$kind.plan" --site "$work/$s.site" --answers-fd 3 "$@" 3<"$answers" || status=$?
  # Wall time of each run, for bench/ceremony/run.sh (stderr: the logs keep stdout).
  echo "ceremony-time $kind $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s (exit $status)" >&2
  return $status
}
# The CA database is encrypted (R42): whatever reads it needs the token, opened here by three
# custodians' shares. unlock DIR WORD NAME...: sets P (the options) and pp (passphrases, fd 9).
unlock() {
  local dir=$1 word=$2 n
  shift 2
  P=()
  : > "$work/pp"
  for n in "$@"; do P+=(--share "$dir/$n.share"); echo "$n-${word}1234" >> "$work/pp"; done
  P+=(--passphrase-fd 9)
}
verify() {  # SITE KIND STATE [more args]
  "$hanko" ceremony verify "$work/out/$1/$2.transcript" --state "$3" --script "$scripts/$2.ceremony" "${@:4}" "${P[@]}" 9<"$work/pp"
}
inspect_audit() {  # STATE FOLDER: the log inspector exports the audit log
  "$hanko" audit-export --state "$1" --out-dir "$2" --as Fujita --as-passphrase-fd 3 "${P[@]}" 3<<<"Fujita-Pass1234" 9<"$work/pp" > /dev/null
}

echo "== rehearsal of the root key generation (its own token folder and state: the golden transcript)"
mkdir rehearsal-tokens
printf 'directories.tokendir = %s/rehearsal-tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > rehearsal.conf
{ enrol; me Yamada; me Ogawa; me Ishikawa; echo SoPin-1234x; new_shares; activate; me Mori; me Yamada; me Ogawa; me Yamada; } > a-root
site rehearsal "$work/rehearsal-ca" hanko-root "$work/rehearsal-shares"
SOFTHSM2_CONF=$work/rehearsal.conf run rehearsal root-key-generation a-root --rehearsal > rehearsal.log
unlock "$work/rehearsal-shares" Share Sato Takahashi Watanabe
SOFTHSM2_CONF=$work/rehearsal.conf verify rehearsal root-key-generation "$work/rehearsal-ca" > /dev/null
rehearsal_id=$(SOFTHSM2_CONF=$work/rehearsal.conf "$hanko" status --state rehearsal-ca "${P[@]}" 9<pp | sed -n 's/^  identity \([0-9A-F]*\).*/\1/p')
grep -q "database encrypted under token key" <(SOFTHSM2_CONF=$work/rehearsal.conf "$hanko" status --state rehearsal-ca "${P[@]}" 9<pp) \
  || fail "the ceremony made a CA whose database is not encrypted (R42)"
if sqlite3 rehearsal-ca/ca.db "SELECT count(*) FROM audit" > /dev/null 2>&1; then fail "the ceremony's CA database reads without its key"; fi

echo "== a plan that names no log inspector: warned at the rehearsal's start, and in its transcript"
grep -v '^person.Fujita' "$plans/root-key-generation.plan" > no-auditor.plan
site noaudit "$work/noaudit-ca" hanko-noaudit "$work/noaudit-shares"
if "$hanko" ceremony run "$scripts/root-key-generation.ceremony" --plan no-auditor.plan --site "$work/noaudit.site" --rehearsal \
    --answers-fd 3 3</dev/null > noaudit.log 2>&1; then fail "a ceremony without answers ran"; fi
grep -q "WARNING: the plan names no log inspector (auditor)" noaudit.log || { cat noaudit.log; fail "no warning of the empty role"; }
grep 'names no log inspector' "$work/out/noaudit/root-key-generation.transcript" | grep '"type":"deviation"' > /dev/null \
  || fail "the warning is not in the transcript"

echo "== the real root key generation; Sato first tries to confirm as the manager (wrong role)"
{ enrol; echo Sato; me Yamada; me Ogawa; me Ishikawa; echo SoPin-1234x; new_shares; activate; me Mori; me Yamada; me Ogawa; me Yamada; } > a-root-real
# (Sato's name only: the refusal comes before any credential is asked.)
site main "$work/ca" hanko-root "$work/shares"
run main root-key-generation a-root-real --golden "$work/out/rehearsal/root-key-generation.transcript" > root.log
grep -q "refused: Sato is custodian, but this step needs a operations manager" root.log || fail "wrong role not refused"
unlock "$work/shares" Share Sato Takahashi Watanabe
verify main root-key-generation "$work/ca"
grep -q '"text":"not in the rehearsal: step open: refused Sato"' "$work/out/main/root-key-generation.transcript" \
  || fail "the refusal is not a deviation from the golden transcript"
grep -q 'class="dev">not in the rehearsal' "$work/out/main/root-key-generation-report.html" || fail "deviation missing from the report"
grep -q '<svg' "$work/out/main/root-key-generation-report.html" || fail "no fingerprint QR in the report"
pem() { openssl x509 -inform DER -in "$1" -out "$2"; }
pem "$work/out/main/repository/ca-g1.crt" root.pem
openssl verify -x509_strict -CAfile root.pem root.pem > /dev/null
"$hanko" people --state ca "${P[@]}" 9<pp | grep "^Mori  ca-admin" >/dev/null || fail "people not registered"
cp "$work/out/main/root-key-generation.transcript" root.transcript

echo "== CRL signing: the quorum goes missing midway (only two custodians come)"
site crl "$work/ca" hanko-root "$work/shares"
# A custodian first types her passphrase at the name prompt: refused, and never written anywhere.
{ me Yamada; echo 'Kuma-Secret-Phrase-77'; share Sato; share Takahashi; } > a-crl-1
if run crl crl-signing a-crl-1 > crl-1.log 2>&1; then fail "ran without a quorum"; fi
grep -q "quorum missing: 2 of 3 custodians present; 1 more needed" crl-1.log || { cat crl-1.log; fail "quorum message"; }
grep -q "a name that is not in the plan (not recorded" crl-1.log || { cat crl-1.log; fail "unknown name message"; }
# (the screen, crl-1.log, shows what was typed, as a terminal does)
if grep -rl 'Kuma-Secret-Phrase-77' "$work/out" "$work/ca"; then fail "a secret typed at a name prompt was written"; fi

echo "== the plan is edited after review: the runner refuses to resume"
cp "$plans/crl-signing.plan" crl.plan.reviewed
sed -i 's/schedule_days = 3/schedule_days = 30/' "$plans/crl-signing.plan"
if run crl crl-signing a-crl-1 > crl-2.log 2>&1; then fail "an edited plan was accepted"; fi
grep -q "the plan or script changed since the interrupted run began" crl-2.log || { cat crl-2.log; fail "edited plan message"; }
cp crl.plan.reviewed "$plans/crl-signing.plan"

echo "== resumed; then a power cut right after the signing command committed"
{ activate; me Mori; } > a-crl-3
if run crl crl-signing a-crl-3 > crl-3.log 2>&1; then fail "closed without the manager"; fi
t=$work/out/crl/crl-signing.transcript
lists_before=$(cat "$work"/out/crl/lists/*.crl | sha256sum)
inspect_audit ca audit-before
signed_before=$(grep -c "list.sign" audit-before/audit.tsv)
line=$(grep -n '"step":"sign".*"type":"run.begin"' "$t" | tail -1 | cut -d: -f1)
head -n "$line" "$t" > cut && printf '{"seq":99,"type":"run.e' >> cut && cat cut > "$t"   # the cut record is torn
# Resuming, the runner reads the audit log for evidence of the interrupted command; the database
# is encrypted (R42), so the custodians activate the token before the manager closes.
{ me Mori; activate; me Yamada; } > a-crl-4
run crl crl-signing a-crl-4 > crl-4.log
grep -q '"step":"sign".*"type":"recovered"' "$t" || fail "the interrupted step was not recovered"
[ "$(cat "$work"/out/crl/lists/*.crl | sha256sum)" = "$lists_before" ] || fail "lists were signed again after the power cut"
inspect_audit ca audit-after
[ "$(grep -c "list.sign" audit-after/audit.tsv)" = "$signed_before" ] || fail "signed twice"
verify crl crl-signing "$work/ca" --previous root.transcript

echo "== a transcript with one changed byte, a missing line, a line after the signature"
cp "$t" bad && sed -i '5s/"step":"open"/"step":"opEn"/' bad
if "$hanko" ceremony verify bad > v.log 2>&1; then fail "changed byte accepted"; fi; grep -q "does not chain" v.log
cp "$t" bad && sed -i '7d' bad
if "$hanko" ceremony verify bad > v.log 2>&1; then fail "missing line accepted"; fi; grep -q "a line was removed" v.log
cp "$t" bad && tail -1 "$t" >> bad
if "$hanko" ceremony verify bad > v.log 2>&1; then fail "extra line accepted"; fi
if "$hanko" ceremony verify "$t" --state rehearsal-ca "${P[@]}" 9<pp > v.log 2>&1; then fail "another CA's audit key accepted"; fi
grep -q "other than this CA's audit key" v.log

echo "== batch signing: the summary first, then approval and signing"
"$ra" keygen --key ra.key --public ra.spki
"$hanko" ra-register --state ca --name Kimura --key ra.spki --as Ishikawa --as-passphrase-fd 3 --approved-by Yamada \
  --approver-passphrase-fd 4 "${P[@]}" 3<<<"Ishikawa-Pass1234" 4<<<"Yamada-Pass1234" 9<pp > /dev/null
for i in 1 2 3; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -utf8 \
    -subj "/C=JP/CN=Ceremony Subscriber $i" -outform DER -out "csr-$i.der" 2>/dev/null
  printf 'issue\t%s\tsubscriber-signature\t-\t熊本太郎%s\t1990010%s\t1\t熊本県熊本市%s番地\n' "$work/csr-$i.der" "$i" "$i" "$i"
done > batch.tsv
"$ra" batch --key ra.key --operator Kimura --manifest batch.tsv --out request-1.der
printf 'Relay-So-1234\nRelay-User-1234\n' > relay-pins
"$hanko" token-init --label relay --so-pin-fd 3 --pin-fd 4 3<<<"Relay-So-1234" 4<<<"Relay-User-1234" > /dev/null
"$hanko" bundle-key --token relay --key-label relay-transport-1 --key-type p256 --out relay-transport.spki --pin-fd 3 3<<<"Relay-User-1234"
"$hanko" bundle-sign --token relay --key-label relay-transport-1 --direction request --sequence 1 \
  --part "request-batch.der=application/vnd.hanko.request-batch:$work/request-1.der" --out request-1.hkb --pin-fd 3 3<<<"Relay-User-1234"
site batch "$work/ca" hanko-root "$work/shares"
{ me Yamada; me Mori; me Yamada; activate; me Yamada; } > a-batch
run batch batch-signing a-batch > batch.log
verify batch batch-signing "$work/ca" --previous "$work/out/crl/crl-signing.transcript"

echo "== the database is encrypted (R42): what is checked before the activation is checked again after it"
site wrongpass "$work/ca" hanko-root "$work/shares"
{ printf 'Yamada\nYamada-Wrong1234\n'; activate; } > a-wrongpass
if run wrongpass crl-signing a-wrongpass > wrongpass.log 2>&1; then fail "a wrong passphrase before the activation was accepted"; fi
grep -q "wrong passphrase for Yamada (confirmed at step 'open')" wrongpass.log || { cat wrongpass.log; fail "deferred check message"; }
[ ! -e "$work/out/wrongpass/lists" ] || fail "lists signed after a wrong passphrase"
cp ca/last-ceremony last-ceremony.saved
echo 0000000000000000000000000000000000000000000000000000000000000000 > ca/last-ceremony
site tampered "$work/ca" hanko-root "$work/shares"
{ me Yamada; activate; } > a-tampered
if run tampered crl-signing a-tampered > tampered.log 2>&1; then fail "a changed last-ceremony file was accepted"; fi
grep -q "the state folder was changed" tampered.log || { cat tampered.log; fail "last-ceremony message"; }
cp last-ceremony.saved ca/last-ceremony

echo "== a site pinning another CA: refused before any step"
site cross "$work/ca" hanko-root "$work/shares"
our_id=$("$hanko" status --state ca "${P[@]}" 9<pp | sed -n 's/^  identity \([0-9A-F]*\).*/\1/p')
[ -n "$our_id" ] && [ "$our_id" != "$rehearsal_id" ] || fail "no CA identity in status"
echo "expect_ca = $rehearsal_id" >> "$work/cross.site"
if run cross cross-certification /dev/null > pin.log 2>&1; then fail "a foreign CA state was accepted"; fi
grep -q "belongs to another CA" pin.log || { cat pin.log; fail "foreign CA message"; }
[ ! -e "$work/out/cross/cross-certification.transcript" ] || fail "a transcript was started for the wrong CA"
if "$hanko" status --state ca --expect-ca "$rehearsal_id" "${P[@]}" 9<pp > pin.log 2>&1; then fail "--expect-ca accepted another CA"; fi

echo "== cross-certification with a Bridge CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout bridge.key -subj "/C=JP/O=Bridge/CN=Hanko Demo Bridge CA" -out bridge.csr 2>/dev/null
site cross "$work/ca" hanko-root "$work/shares"
echo "expect_ca = $our_id" >> "$work/cross.site"
{ me Yamada; activate; me Mori; me Yamada; me Yamada; } > a-cross
run cross cross-certification a-cross > cross.log
verify cross cross-certification "$work/ca"
pem "$work/out/cross/cross-certificate.crt" cross.pem
openssl verify -x509_strict -CAfile root.pem -partial_chain cross.pem > /dev/null

echo "== key rollover with link certificates"
site rollover "$work/ca" hanko-root "$work/shares"
{ me Yamada; me Ogawa; activate; me Mori; me Yamada; me Ogawa; me Yamada; } > a-rollover
run rollover key-rollover a-rollover > rollover.log
verify rollover key-rollover "$work/ca"

echo "== roles: an RA operator cannot run a key operation, nobody approves their own, a CA administrator holds no RA key"
if "$hanko" rollover --state ca --new-key-label x --as Kimura --as-passphrase-fd 3 "${P[@]}" 3<<<"Kimura-Pass1234" 9<pp > r.log 2>&1; then
  fail "an RA operator rolled the key over"
fi
grep -q "needs the CA administrator role (held by Mori); Kimura is ra-operator" r.log || { cat r.log; fail "RA operator message"; }
if "$hanko" rollover --state ca --new-key-label x --as Mori --as-passphrase-fd 3 --approved-by Mori "${P[@]}" 3<<<"Mori-Pass1234" 9<pp > r.log 2>&1; then
  fail "a CA administrator approved their own key operation"
fi
grep -q "nobody approves their own work" r.log || { cat r.log; fail "self-approval message"; }
if "$hanko" rollover --state ca --new-key-label x --as Mori --as-passphrase-fd 3 "${P[@]}" 3<<<"Mori-Pass1234" 9<pp > r.log 2>&1; then
  fail "a key operation ran without a manager's approval"
fi
grep -q "needs a supervising operations manager's approval (Yamada)" r.log || { cat r.log; fail "approval message"; }
if "$hanko" ra-register --state ca --name Mori --key ra.spki "${P[@]}" 9<pp > r.log 2>&1; then fail "a CA administrator got an RA key"; fi
grep -q "'Mori' is ca-admin; only a registered RA operator's key" r.log || { cat r.log; fail "CA admin as RA message"; }

echo "== backup: backup key installed and split, a set written and checked with the backup quorum"
site backup "$work/ca" hanko-root "$work/shares"
{ me Yamada; activate; me Ishikawa; me Yamada; echo SoPin-1234x; for c in Ito Yamamoto Nakamura Tanaka Watanabe; do echo "$c-Backup1234"; done
  me Mori; me Yamada; bshare Ito; bshare Nakamura; me Yamada; } > a-backup
run backup backup a-backup > backup.log
verify backup backup "$work/ca"

echo "== share re-issue: new shares, old shares dead"
site reissue "$work/ca" hanko-root "$work/shares"
{ me Yamada; me Ishikawa; activate; me Ishikawa; me Yamada; new_shares New; printf 'Sato\nSato-New1234\nTanaka\nTanaka-New1234\nWatanabe\nWatanabe-New1234\n'; me Yamada; } > a-reissue
run reissue share-reissue a-reissue > reissue.log
unlock "$work/new-shares" New Sato Tanaka Watanabe
verify reissue share-reissue "$work/ca"
if "$hanko" crl --state ca --out-dir old-shares-lists --share shares/Sato.share --share shares/Takahashi.share \
     --share shares/Watanabe.share --passphrase-fd 3 3< <(printf 'Sato-Share1234\nTakahashi-Share1234\nWatanabe-Share1234\n') > old.log 2>&1; then
  fail "an old share still opens the token"
fi
grep -q "CKR_PIN_INCORRECT" old.log || { cat old.log; fail "old shares: unexpected error"; }

echo "== after the backup the primary revokes a certificate for keyCompromise and publishes its lists"
late=$("$hanko" list --state ca --json --status valid "${P[@]}" 9<"$work/pp" | python3 -c '
import json, sys
for line in sys.stdin:
    c = json.loads(line)
    if c["kind"] == "subscriber":
        print(c["serial"]); break')
[ -n "$late" ] || fail "no valid subscriber certificate to revoke"
"$hanko" revoke --state ca --serial "$late" --reason keyCompromise --out-dir "$work/out/primary-after-backup" "${P[@]}" 9<"$work/pp" > /dev/null 2>&1
highest_before=$(for f in $(find "$work/out" -name '*.crl' -not -path '*/rehearsal/*'); do
  n=$(openssl crl -inform DER -in "$f" -noout -crlnumber | cut -d= -f2); echo $((16#${n#0x})); done | sort -n | tail -1)

echo "== restore at the backup center: a second, fresh token folder and state"
mkdir center-tokens
printf 'directories.tokendir = %s/center-tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > center.conf
site center "$work/center-ca" hanko-center "$work/center-shares"
# A passphrase typed at the manager's name prompt and at the backup-key custodian's: refused, never written.
{ enrol; echo 'Secret-AtConfirm-55'; me Yamada; me Ogawa; me Ishikawa; echo SoPin-1234x; new_shares Center; share_c() { printf '%s\n%s-Center1234\n' "$1" "$1"; }
  share_c Suzuki; share_c Tanaka; share_c Watanabe; me Yamada; echo 'Secret-AtBackup-66'; bshare Yamamoto; bshare Tanaka; me Yamada; me Ogawa; me Ogawa; me Yamada; } > a-restore
SOFTHSM2_CONF=$work/center.conf run center restore a-restore > restore.log
unlock "$work/center-shares" Center Suzuki Tanaka Watanabe
SOFTHSM2_CONF=$work/center.conf verify center restore "$work/center-ca"
pem "$work/out/center/repository/ca-g1.crt" center.pem
cmp root.pem center.pem || fail "the restored CA has another certificate"
# The restore ceremony took the primary's published lists (the site's evidence) in: the certificate
# revoked after the backup is on the next lists, numbered above every list published before.
openssl crl -inform DER -in "$work/out/center/lists/g1-full.crl" -noout -text | grep "Serial Number: $late" > /dev/null \
  || fail "the revocation made after the backup is lost by the restore ceremony"
for f in "$work"/out/center/lists/*.crl; do
  n=$(openssl crl -inform DER -in "$f" -noout -crlnumber | cut -d= -f2)
  [ $((16#${n#0x})) -gt "$highest_before" ] || fail "$f is numbered $((16#${n#0x})), not above $highest_before"
done
grep -q "revocations taken in: 1" "$work/out/center/restore.transcript" || fail "the transcript does not show what was taken in"
if grep -rl 'Secret-AtConfirm-55\|Secret-AtBackup-66' "$work/out" "$work/center-ca"; then fail "a secret typed at a name prompt was written"; fi
[ "$(grep -c 'not in the plan (not recorded' "$work/out/center/restore.transcript")" = 2 ] || fail "the two refused names are not in the transcript"

echo "== compromise of generation 2 at the backup center's CA"
site compromise "$work/center-ca" hanko-center "$work/center-shares"
{ me Yamada; me Ogawa; printf 'Suzuki\nSuzuki-Center1234\nTanaka\nTanaka-Center1234\nWatanabe\nWatanabe-Center1234\n'; me Mori; me Yamada; me Ogawa; } > a-compromise
SOFTHSM2_CONF=$work/center.conf run compromise compromise a-compromise > compromise.log
SOFTHSM2_CONF=$work/center.conf verify compromise compromise "$work/center-ca" --previous "$work/out/center/restore.transcript"

echo "== key destruction of generation 1 and termination, on the original CA (new shares)"
site destroy "$work/ca" hanko-root "$work/new-shares"
new_activate() { printf 'Sato\nSato-New1234\nTanaka\nTanaka-New1234\nWatanabe\nWatanabe-New1234\n'; }
{ me Yamada; me Ogawa; new_activate; me Mori; me Yamada; me Ogawa; } > a-destroy
run destroy key-destruction a-destroy > destroy.log
unlock "$work/new-shares" New Sato Tanaka Watanabe
verify destroy key-destruction "$work/ca" --previous "$work/out/reissue/share-reissue.transcript"
site terminate "$work/ca" hanko-root "$work/new-shares"
{ me Yamada; me Ogawa; new_activate; me Mori; me Yamada; me Ogawa; } > a-terminate
run terminate termination a-terminate > terminate.log
verify terminate termination "$work/ca" --previous "$work/out/destroy/key-destruction.transcript"
[ -z "$(find "$work/out" -name '*-report.html' -perm /o+r)" ] || fail "a report is world-readable: $(find "$work/out" -name '*-report.html' -perm /o+r)"
echo "== only the log inspector reads the audit log (R50)"
if "$hanko" audit-verify --state ca "${P[@]}" 9<pp > v.log 2>&1; then fail "the audit log was verified by nobody in particular"; fi
grep -q "needs the log inspector role (held by Fujita); name yourself with --as" v.log || { cat v.log; fail "role message"; }
if "$hanko" audit-export --state ca --out-dir audit-out --as Mori --as-passphrase-fd 3 "${P[@]}" 3<<<"Mori-Pass1234" 9<pp > v.log 2>&1; then
  fail "the CA administrator read the audit log"
fi
grep -q "Mori is ca-admin" v.log || { cat v.log; fail "wrong-role message"; }
if "$hanko" audit-verify --state ca --as Fujita --as-passphrase-fd 3 "${P[@]}" 3<<<"Fujita-Pass9999" 9<pp > v.log 2>&1; then fail "a wrong passphrase was accepted"; fi
"$hanko" audit-verify --state ca --as Fujita --as-passphrase-fd 3 "${P[@]}" 3<<<"Fujita-Pass1234" 9<pp
inspect_audit ca audit-end
grep "audit.verify" audit-end/audit.tsv | grep "Fujita (log inspector)" >/dev/null || fail "the inspector is not in the log"
echo "ceremony: all eleven kinds ran and verified"
