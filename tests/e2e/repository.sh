#!/usr/bin/env bash
# R18 and the .p7c bundle: the fingerprints page signed (CMS, detached) by the signer's transport
# key, certified by the CA as its own equipment (R4), judged by OpenSSL, GnuTLS, NSS and
# python3-cryptography, before and after a key rollover; a changed page is caught by each of them.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$1"
pass() { echo "ok  $*"; }
printf 'SoPin-9876A\nUser-Pin-1234a\n' > pins
printf 'User-Pin-1234a\n' > pin
"$hanko" token-init --label repo --so-pin-fd 3 --pin-fd 3 3<pins > /dev/null
"$hanko" init --state ca --token repo --key-label ca-1 --key-type rsa2048 --subject "/C=JP/O=Hanko Test/CN=Repository CA" \
  --transport-key-label transport --pin-fd 3 3<pin > /dev/null

# Each judge, on PAGE with its signature, trusting only ANCHOR (PEM).
judge_openssl() { openssl cms -verify -binary -inform DER -in "$1.p7s" -content "$1" -CAfile "$2" -out /dev/null 2>"$work/openssl.err"; }
judge_gnutls() { certtool --p7-verify --inder --infile "$1.p7s" --load-data "$1" --load-ca-certificate "$2" > "$work/certtool.out" 2>&1; }
judge_nss() {  # prints NSS's signer status
  rm -rf "$work/nssdb" && mkdir "$work/nssdb"
  certutil -N -d "$work/nssdb" --empty-password
  certutil -A -d "$work/nssdb" -n anchor -t "C,C,C" -i "$2"
  cmsutil -D -i "$1.p7s" -c "$1" -d "$work/nssdb" -u 4 -n -h 1 2>&1 | sed -n 's/.*signer0.status=\([A-Za-z]*\).*/\1/p'
}

echo "-- the signed page and the certificate bundle"
"$hanko" publish --state ca --out-dir repo > unsigned.txt
grep -q "not signed" unsigned.txt || fail "publish without --sign does not say the page is unsigned"
[ ! -e repo/fingerprints.txt.p7s ] || fail "publish without --sign wrote a signature"
"$hanko" publish --state ca --out-dir repo --sign --pin-fd 3 3<pin > /dev/null
for f in fingerprints.txt fingerprints.html fingerprints.txt.p7s fingerprints.html.p7s ca-certs.p7c; do
  [ -s "repo/$f" ] || fail "publish --sign wrote no $f"
done
openssl x509 -inform DER -in repo/ca-g1.crt -out g1.pem
sha256=$(openssl x509 -in g1.pem -noout -fingerprint -sha256 | cut -d= -f2)
grep -q "$sha256" repo/fingerprints.txt || fail "fingerprints.txt lacks the SHA-256 fingerprint openssl computes"
grep -q "$sha256" repo/fingerprints.html || fail "fingerprints.html lacks the SHA-256 fingerprint"
for page in repo/fingerprints.txt repo/fingerprints.html; do
  judge_openssl "$page" g1.pem || fail "openssl cms -verify refuses $page: $(cat "$work/openssl.err")"
  judge_gnutls "$page" g1.pem || fail "certtool --p7-verify refuses $page: $(cat "$work/certtool.out")"
  [ "$(judge_nss "$page" g1.pem)" = GoodSignature ] || fail "NSS cmsutil does not find a good signature on $page"
done
pass "fingerprints page signed: openssl cms -verify, certtool --p7-verify and NSS cmsutil accept both pages"
signer=$(openssl pkcs7 -inform DER -in repo/fingerprints.txt.p7s -print_certs | grep -m1 'subject=.*Repository Signer')
openssl pkcs7 -inform DER -in repo/fingerprints.txt.p7s -print_certs -out signer-chain.pem
openssl x509 -in signer-chain.pem -noout -ext keyUsage | grep "Digital Signature" >/dev/null || fail "repository signer lacks digitalSignature"
openssl x509 -in signer-chain.pem -noout -ext keyUsage | grep -i "Certificate Sign" >/dev/null && fail "repository signer may sign certificates"
n=$(openssl pkcs7 -inform DER -in repo/ca-certs.p7c -print_certs | grep -c '^subject=')
[ "$n" = 1 ] || fail "ca-certs.p7c holds $n certificates, 1 expected"
certtool --p7-info --inder --infile repo/ca-certs.p7c > p7c.txt 2>&1 || fail "certtool cannot read ca-certs.p7c: $(cat p7c.txt)"
python3 - <<'PY' || fail "python3-cryptography cannot read the bundle or the signature"
from cryptography.hazmat.primitives.serialization import pkcs7
certs = pkcs7.load_der_pkcs7_certificates(open("repo/ca-certs.p7c", "rb").read())
assert len(certs) == 1, certs
signed = pkcs7.load_der_pkcs7_certificates(open("repo/fingerprints.txt.p7s", "rb").read())
assert any("Repository Signer" in c.subject.rfc4514_string() for c in signed), signed
PY
pass "ca-certs.p7c: openssl pkcs7, certtool --p7-info and python3-cryptography read it"

echo "-- a changed page"
cp repo/fingerprints.txt forged.txt && cp repo/fingerprints.txt.p7s forged.txt.p7s
sed -i '0,/SHA-256 ../s//SHA-256 00/' forged.txt
cmp -s forged.txt repo/fingerprints.txt && fail "the forgery changed nothing"
judge_openssl forged.txt g1.pem && fail "openssl accepts a changed page"
grep -q "content verify error" "$work/openssl.err" || fail "openssl refuses for another reason: $(cat "$work/openssl.err")"
judge_gnutls forged.txt g1.pem && fail "certtool accepts a changed page"
[ "$(judge_nss forged.txt g1.pem)" = DigestMismatch ] || fail "NSS does not see the digest mismatch"
pass "a changed page is refused by openssl (content verify error), certtool and NSS (DigestMismatch)"

echo "-- the certificate is reused, then the key rolls over"
"$hanko" publish --state ca --out-dir repo-again --sign --pin-fd 3 3<pin > /dev/null
again=$(openssl pkcs7 -inform DER -in repo-again/fingerprints.txt.p7s -print_certs | grep -m1 'subject=.*Repository Signer')
[ "$again" = "$signer" ] || fail "a second publish issued another repository-signer certificate ($again)"
"$hanko" rollover --state ca --new-key-label ca-2 --pin-fd 3 3<pin > /dev/null
"$hanko" publish --state ca --out-dir repo2 --sign --pin-fd 3 3<pin > /dev/null
openssl x509 -inform DER -in repo2/ca-g2.crt -out g2.pem
after=$(openssl pkcs7 -inform DER -in repo2/fingerprints.txt.p7s -print_certs | grep -m1 'subject=.*Repository Signer')
[ "$after" != "$signer" ] || fail "after the rollover the page is still signed under generation 1"
grep -q "g2-NewWithOld.crt" repo2/fingerprints.txt && grep -q "g2-OldWithNew.crt" repo2/fingerprints.txt || fail "link certificates missing from the page"
judge_openssl repo2/fingerprints.txt g2.pem || fail "openssl (new root) refuses the page: $(cat "$work/openssl.err")"
judge_openssl repo2/fingerprints.txt g1.pem || fail "openssl (old root, through NewWithOld) refuses the page: $(cat "$work/openssl.err")"
judge_gnutls repo2/fingerprints.txt g2.pem || fail "certtool (new root) refuses the page"
[ "$(judge_nss repo2/fingerprints.txt g1.pem)" = GoodSignature ] || fail "NSS (old root) refuses the page"
n=$(openssl pkcs7 -inform DER -in repo2/ca-certs.p7c -print_certs | grep -c '^subject=')
[ "$n" = 4 ] || fail "ca-certs.p7c after the rollover holds $n certificates, 4 expected (2 self-signed, 2 links)"
pass "after the rollover: signed under generation 2; openssl verifies from the new root and from the old one through NewWithOld, NSS from the old one"

echo "-- after the rollover the old generation certifies its OCSP responder, and nothing else"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ocsp.key -subj "/C=JP/O=Hanko Test/CN=OCSP g1" -out ocsp-g1.csr 2>/dev/null
"$hanko" issue --state ca --csr ocsp-g1.csr --profile ocsp-responder --generation 1 --out ocsp-g1.der --pin-fd 3 3<pin > /dev/null 2>&1 \
  || fail "generation 1 does not certify its OCSP responder"
openssl x509 -inform DER -in ocsp-g1.der -out ocsp-g1.pem
openssl verify -x509_strict -CAfile g1.pem ocsp-g1.pem > /dev/null || fail "the generation-1 responder certificate does not verify from the old root"
openssl verify -x509_strict -CAfile g2.pem ocsp-g1.pem > /dev/null 2>&1 && fail "the generation-1 responder certificate verifies from the new root"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout vs.key -subj "/C=JP/O=Hanko Test/CN=Verifier g1" -out vs.csr 2>/dev/null
if "$hanko" issue --state ca --csr vs.csr --profile verification-server --generation 1 --out vs.der --pin-fd 3 3<pin > /dev/null 2> err.txt; then
  fail "generation 1 signed a verification-server certificate after the rollover"
fi
grep -q "only an OCSP responder" err.txt || fail "unclear refusal: $(cat err.txt)"
if "$hanko" issue --state ca --csr vs.csr --profile ocsp-responder --generation 7 --out vs.der --pin-fd 3 3<pin > /dev/null 2> err.txt; then
  fail "a certificate from key generation 7, which does not exist"
fi
grep -q "no key generation 7" err.txt || fail "unclear refusal: $(cat err.txt)"
pass "generation 1 certifies its OCSP responder (verifies from the old root only); anything else, or a generation that does not exist, is refused"

echo "-- a CA whose profiles lack the repository signer"
sed -i '/^\[repository-signer\]/,/^$/d' ca/profiles.conf
if "$hanko" publish --state ca --out-dir repo3 --sign --pin-fd 3 3<pin > /dev/null 2> err.txt; then fail "signed without the profile"; fi
grep -q "repository-signer" err.txt || fail "unclear error: $(cat err.txt)"
"$hanko" publish --state ca --out-dir repo3 > /dev/null || fail "unsigned publish fails without the profile"
pass "without the profile: '$(sed 's/^hanko-offline publish: //' err.txt | cut -c1-90)...'"
