#!/usr/bin/env bash
# Runs the demo flow (two generations, a revocation, link certificates), then asks OpenSSL,
# GnuTLS, NSS and python3-cryptography about every certificate and list. Any judge that
# disagrees fails the test.
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/scripts/demo-flow" "$out" "$build" > "$out.log" 2>&1 || { cat "$out.log"; rm -f "$out.log"; exit 1; }
rm -f "$out.log"
work=$out/work
repo=$out/repository
fail() { echo "FAIL: $*" >&2; exit 1; }
pem() { openssl x509 -inform DER -in "$1" -out "$2"; }

# generation_of CERT: g1 or g2, by the issuer's key identifier
generation_of() {
  local aki
  aki=$(openssl x509 -inform DER -in "$1" -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' :')
  for g in g1 g2; do
    [ "$aki" = "$(openssl x509 -inform DER -in "$repo/ca-$g.crt" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :')" ] && { echo $g; return; }
  done
  fail "no generation issued $1"
}

echo "-- openssl asn1parse: every object parses with nothing odd"
for f in "$repo"/*.crt "$repo"/*.crl "$out"/issued/*.crt; do
  openssl asn1parse -inform DER -in "$f" > "$work/asn1.txt" 2>&1 || fail "asn1parse $f"
  ! grep -qE '^Error|error:|Error in encoding|BAD (TAG|BOOLEAN|INTEGER)' "$work/asn1.txt" || fail "asn1parse complains about $f"
done

echo "-- openssl verify -crl_check_all across the rollover"
for g in g1 g2; do
  pem "$repo/ca-$g.crt" "$work/ca-$g.pem"
  for f in "$repo/$g"-*.crl; do openssl crl -inform DER -in "$f"; done > "$work/$g-lists.pem"
done
cat "$work/g1-lists.pem" "$work/g2-lists.pem" > "$work/all-lists.pem"
pem "$repo/g2-NewWithOld.crt" "$work/nwo.pem"
pem "$repo/g2-OldWithNew.crt" "$work/own.pem"
for crt in "$out"/issued/*.crt; do
  serial=$(basename "$crt" .crt)
  g=$(generation_of "$crt")
  pem "$crt" "$work/leaf.pem"
  if [ "$g" = g2 ]; then other=g1; link=nwo; else other=g2; link=own; fi
  direct="-CAfile $work/ca-$g.pem"
  across="-CAfile $work/ca-$other.pem -untrusted $work/$link.pem"
  for path in "$direct" "$across"; do
    # shellcheck disable=SC2086
    if openssl verify -x509_strict -crl_check_all $path -CRLfile "$work/all-lists.pem" "$work/leaf.pem" > "$work/v.txt" 2>&1; then
      ! grep -qx "$serial" "$out/revoked.txt" || fail "openssl accepts revoked $serial ($path)"
    else
      grep -qx "$serial" "$out/revoked.txt" || fail "openssl refuses $serial ($path): $(cat "$work/v.txt")"
    fi
  done
done
for good in "$out"/issued/*.crt; do grep -qx "$(basename "$good" .crt)" "$out/revoked.txt" || break; done
subject=$(openssl x509 -inform DER -in "$good" -noout -subject -nameopt utf8)
case "$subject" in "subject=C=JP, ST=熊本県, CN="*) ;; *) fail "subject printed as '$subject'" ;; esac

echo "-- every fullCRL (no IDP: complete for the name) lists the revocations of every generation"
numbers=()
for g in g1 g2; do
  openssl crl -inform DER -in "$repo/$g-full.crl" -noout -text > "$work/full.txt"
  while read -r serial; do grep -q "Serial Number: $serial" "$work/full.txt" || fail "$g-full.crl does not list revoked $serial"; done < "$out/revoked.txt"
  numbers+=("$(openssl crl -inform DER -in "$repo/$g-full.crl" -noout -crlnumber)")
done
[ "${numbers[0]}" != "${numbers[1]}" ] || fail "g1-full and g2-full carry the same CRL number (${numbers[0]}): one sequence for the name"

echo "-- GnuTLS certtool"
for crt in "$out"/issued/*.crt; do
  g=$(generation_of "$crt")
  pem "$crt" "$work/leaf.pem"
  cat "$work/leaf.pem" "$work/ca-$g.pem" > "$work/chain.pem"
  certtool --verify-chain --infile "$work/chain.pem" > "$work/certtool.txt" 2>&1 || fail "certtool chain $crt: $(cat "$work/certtool.txt")"
  if certtool --verify --load-ca-certificate "$work/ca-$g.pem" --load-crl "$work/$g-lists.pem" --infile "$work/leaf.pem" > "$work/certtool.txt" 2>&1; then
    ! grep -qx "$(basename "$crt" .crt)" "$out/revoked.txt" || fail "certtool accepts the revoked certificate"
  else
    grep -qx "$(basename "$crt" .crt)" "$out/revoked.txt" || fail "certtool refuses $crt: $(cat "$work/certtool.txt")"
  fi
done
for f in "$repo"/*.crl; do
  g=$(basename "$f" | cut -d- -f1)
  openssl crl -inform DER -in "$f" -out "$work/one.pem"
  certtool --verify-crl --load-ca-certificate "$work/ca-$g.pem" --infile "$work/one.pem" > "$work/crlinfo.txt" 2>&1 || fail "certtool --verify-crl $f"
  grep -q "Verified" "$work/crlinfo.txt" || fail "certtool does not verify $f: $(cat "$work/crlinfo.txt")"
done

echo "-- NSS vfychain, crlutil, derdump"
# NSS keeps one CRL per issuer name, and both generations share the CA's name (a same-name
# rollover), so each generation gets its own NSS database.
for g in g1 g2; do
  nss=$work/nss-$g
  mkdir -p "$nss"
  certutil -N -d "sql:$nss" --empty-password
  certutil -A -n "hanko-$g" -t "CT,C,C" -i "$repo/ca-$g.crt" -d "sql:$nss"
  crlutil -I -i "$repo/$g-full.crl" -d "sql:$nss" -B || fail "crlutil refused $g-full.crl"
done
for crt in "$out"/issued/*.crt; do
  nss=$work/nss-$(generation_of "$crt")
  if vfychain -d "sql:$nss" -pp -u 4 -g leaf -m crl "$crt" > "$work/vfy.txt" 2>&1 && grep -q "Chain is good" "$work/vfy.txt"; then
    ! grep -qx "$(basename "$crt" .crt)" "$out/revoked.txt" || fail "vfychain accepts the revoked certificate"
  else
    grep -qx "$(basename "$crt" .crt)" "$out/revoked.txt" || fail "vfychain refuses $crt: $(cat "$work/vfy.txt")"
  fi
done
# One database holding both generations keeps only one list for the name (the newest), whose
# signature NSS checks with the issuing key: the other generation's certificates have no usable
# list. With failIfNoInfo (the README's advice) NSS then refuses them instead of accepting them.
nss=$work/nss-both
mkdir -p "$nss"
certutil -N -d "sql:$nss" --empty-password
for g in g1 g2; do certutil -A -n "hanko-$g" -t "CT,C,C" -i "$repo/ca-$g.crt" -d "sql:$nss"; done
crlutil -I -i "$repo/g2-full.crl" -d "sql:$nss" -B || fail "crlutil refused g2-full.crl"
for crt in "$out"/issued/*.crt; do
  if vfychain -d "sql:$nss" -pp -u 4 -g leaf -m crl -s failIfNoInfo "$crt" > "$work/vfy.txt" 2>&1 && grep -q "Chain is good" "$work/vfy.txt"; then
    ! grep -qx "$(basename "$crt" .crt)" "$out/revoked.txt" || fail "vfychain (both generations, failIfNoInfo) accepts revoked $crt"
  elif [ "$(generation_of "$crt")" = g2 ]; then
    grep -qx "$(basename "$crt" .crt)" "$out/revoked.txt" || fail "vfychain (both generations) refuses current $crt: $(cat "$work/vfy.txt")"
  fi
done
for f in "$repo"/*.crl "$repo"/*.crt; do derdump -i "$f" > /dev/null || fail "derdump $f"; done

echo "-- the README's relying-party recipes, run as written, fail closed for every revoked certificate"
mkdir "$work/rp" && ln -s "$repo" "$work/rp/repo"
sed -n '/<!-- rp-guide begin -->/,/<!-- rp-guide end -->/p' "$root/README.md" | sed '1,2d;$d' | sed '$d' > "$work/rp/guide.sh"
[ "$(grep -c '^rp_' "$work/rp/guide.sh")" -ge 4 ] || fail "no rp-guide block in README.md"
(
  cd "$work/rp"
  # shellcheck disable=SC1091
  source ./guide.sh
  rp_setup
  for crt in "$out"/issued/*.crt; do
    serial=$(basename "$crt" .crt) g=$(generation_of "$crt")
    revoked=no; grep -qx "$serial" "$out/revoked.txt" && revoked=yes
    for how in "rp_openssl $crt ca-g1.pem" "rp_openssl $crt ca-g2.pem" "rp_gnutls $crt ${g#g}" "rp_nss $crt ${g#g}"; do
      # shellcheck disable=SC2086
      if $how > out.txt 2>&1; then verdict=good; else verdict=refused; fi
      if [ $revoked = yes ] && [ $verdict = good ]; then fail "the README's '${how%% *}' accepts revoked $serial ($g): $(cat out.txt)"; fi
      if [ $revoked = no ] && [ $verdict = refused ]; then fail "the README's '${how%% *}' refuses good $serial ($g): $(cat out.txt)"; fi
    done
  done
)
echo "ok  the README's OpenSSL (either root, across the rollover), GnuTLS and NSS recipes: every good certificate good, every revoked one refused"
sed -n '/<!-- rp-guide-java begin -->/,/<!-- rp-guide-java end -->/p' "$root/README.md" | sed '1,2d;$d' | sed '$d' > "$work/rp/RpCheck.java"
(cd "$work/rp" && java RpCheck.java "$repo" "$out"/issued/*.crt) > "$work/rp/java.txt" 2>&1 || fail "the README's Java recipe: $(tail -5 "$work/rp/java.txt")"
[ "$(grep -c ' good$' "$work/rp/java.txt")" -eq "$(( $(ls "$out"/issued/*.crt | wc -l) - $(wc -l < "$out/revoked.txt") ))" ] \
  || fail "the README's Java recipe: $(grep -v ' good$' "$work/rp/java.txt" | head -5)"
while read -r serial; do
  grep "/$serial.crt refused: Certificate has been revoked" "$work/rp/java.txt" > /dev/null || fail "the README's Java recipe does not refuse revoked $serial"
done < "$out/revoked.txt"
echo "ok  the README's Java recipe (every root an anchor, links and lists in the store): good ones good, revoked ones refused as revoked"

echo "-- Java PKIX (JDK's SUN provider and BouncyCastle) across the rollover, every CRL in the store"
# Both providers take the first CRL in hash order that claims to cover a certificate, so every
# leaf is judged under several CRL orders; a list that claims a scope it does not cover shows up
# as INCONSISTENT (see tests/judges/README.md).
javac -d "$work/pj" "$root/tests/judges/PkixJudge.java"
judge_java() {  # judge_java exact|fail-safe LABEL PROVIDER ANCHOR UNTRUSTED... -- LEAF...
  local mode=$1 label=$2 provider=$3 anchor=$4 args=() leaves=()
  shift 4
  while [ "$1" != -- ]; do args+=(--untrusted "$1"); shift; done
  shift
  leaves=("$@")
  java -cp "$work/pj:/usr/share/java/bcprov.jar" PkixJudge --provider "$provider" --anchor "$anchor" "${args[@]}" \
    --crl-dir "$repo" --orders 6 "${leaves[@]}" > "$work/java.txt" 2>&1 || fail "PkixJudge $label: $(cat "$work/java.txt")"
  [ "$(wc -l < "$work/java.txt")" -eq ${#leaves[@]} ] || fail "PkixJudge $label: $(cat "$work/java.txt")"
  while read -r file verdict rest; do
    if grep -qx "${file%.crt}" "$out/revoked.txt"; then want=REVOKED; else want=OK; fi
    [ "$verdict" = "$want" ] && continue
    # Without the link certificates SUN cannot check the other generation's signature on a list
    # of the same name and then answers UNDETERMINED: safe, but never OK for a revoked one.
    if [ "$mode" = fail-safe ]; then
      [ "$want" = REVOKED ] && [[ "$verdict" = UNDETERMINED || ("$verdict" = INCONSISTENT && "$rest" != *OKx*) ]] && continue
      [ "$want" = OK ] && [[ "$verdict" = UNDETERMINED || ("$verdict" = INCONSISTENT && "$rest" != *REVOKEDx*) ]] && continue
    fi
    fail "Java $provider, $label: $file is $verdict, not $want: $rest"
  done < "$work/java.txt"
}
g1_leaves=() g2_leaves=()
for crt in "$out"/issued/*.crt; do
  if [ "$(generation_of "$crt")" = g1 ]; then g1_leaves+=("$crt"); else g2_leaves+=("$crt"); fi
done
for provider in sun bc; do
  judge_java exact "old root + NewWithOld" $provider "$repo/ca-g1.crt" "$repo/g2-NewWithOld.crt" -- "${g1_leaves[@]}" "${g2_leaves[@]}"
  judge_java exact "new root + OldWithNew" $provider "$repo/ca-g2.crt" "$repo/g2-OldWithNew.crt" -- "${g1_leaves[@]}" "${g2_leaves[@]}"
  # (Not the other generation's self-signed certificate as well: JDK 17's builder then recurses
  # between the two link certificates until the stack overflows.)
  judge_java exact "g1's own root + both links" $provider "$repo/ca-g1.crt" "$repo/g2-NewWithOld.crt" "$repo/g2-OldWithNew.crt" -- "${g1_leaves[@]}"
  judge_java exact "g2's own root + both links" $provider "$repo/ca-g2.crt" "$repo/g2-NewWithOld.crt" "$repo/g2-OldWithNew.crt" -- "${g2_leaves[@]}"
  judge_java fail-safe "g1's own root alone" $provider "$repo/ca-g1.crt" -- "${g1_leaves[@]}"
  judge_java fail-safe "g2's own root alone" $provider "$repo/ca-g2.crt" -- "${g2_leaves[@]}"
done

echo "-- python3-cryptography (and the JPKI otherName values decode to the original text)"
python3 - "$out" <<'PY' || fail "python3-cryptography"
import sys, glob
from cryptography import x509
out = sys.argv[1]
repo = f"{out}/repository"
roots = {g: x509.load_der_x509_certificate(open(f"{repo}/ca-{g}.crt", "rb").read()) for g in ("g1", "g2")}
ski = {r.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest: g for g, r in roots.items()}
for path in glob.glob(f"{repo}/*.crl"):
    crl = x509.load_der_x509_crl(open(path, "rb").read())
    g = path.rsplit("/", 1)[1].split("-")[0]
    assert crl.is_signature_valid(roots[g].public_key()), path
    _ = [e.value for e in crl.extensions]
for path in glob.glob(f"{repo}/*.crt"):
    c = x509.load_der_x509_certificate(open(path, "rb").read())
    _ = [e.value for e in c.extensions]
def utf8(der):
    assert der[0] == 0x0C and der[1] < 0x80, der
    return der[2:2 + der[1]].decode("utf-8")
for path in glob.glob(f"{out}/issued/*.crt"):
    c = x509.load_der_x509_certificate(open(path, "rb").read())
    aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    c.verify_directly_issued_by(roots[ski[aki]])
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    values = {o.type_id.dotted_string: utf8(o.value) for o in san.get_values_for_type(x509.OtherName)}
    cn = c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert values["1.2.392.200149.8.5.5.1"] == cn, (values, cn)
    print(path.rsplit("/", 1)[1], ski[aki], values["1.2.392.200149.8.5.5.1"], values["1.2.392.200149.8.5.5.5"])
PY
echo "all outside judges accept"
