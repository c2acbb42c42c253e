// An outside judge of revocation status: Java's own PKIX (SUN) or BouncyCastle's, with CRLs only.
//   java -cp /usr/share/java/bcprov.jar tests/judges/PkixJudge.java --provider sun|bc --anchor CA.der
//        [--untrusted CERT.der ...] --crl-dir DIR [--at YYYYMMDDHHMMSSZ] [--sun-checker default|pkix]
//        [--debug] [--shuffle SEED | --orders N] LEAF.der ...
// One line per leaf: "<file> OK|REVOKED|UNDETERMINED|INVALID <reason>"; with --orders N the leaf is
// judged with N orders of the CRLs and "INCONSISTENT <verdicts>" printed unless all agree. See README.md.
import java.io.File;
import java.math.BigInteger;
import java.nio.file.Files;
import java.security.Principal;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.cert.*;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.*;
import javax.security.auth.x500.X500Principal;

public class PkixJudge {
    static boolean debug, pkixChecker;
    static final Map<Object, String> names = new HashMap<>();  // certificate, CRL or key -> file name

    static void log(String s) { if (debug) System.err.println("# " + s); }

    static void usage(String why) {
        System.err.println("PkixJudge: " + why + "\nusage: PkixJudge --provider sun|bc --anchor CA.der"
            + " [--untrusted CERT.der ...] --crl-dir DIR [--at YYYYMMDDHHMMSSZ] [--sun-checker default|pkix]"
            + " [--debug] [--shuffle SEED | --orders N] LEAF.der ...");
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        try { run(args); }
        catch (java.io.IOException | java.security.GeneralSecurityException | ReflectiveOperationException e) {
            System.err.println("PkixJudge: " + e);
            System.exit(1);
        }
    }

    static void run(String[] args) throws Exception {
        String provider = null, anchorFile = null, crlDir = null;
        Long shuffle = null;
        int orders = 0;
        Date at = new Date();
        List<String> untrustedFiles = new ArrayList<>(), leafFiles = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--debug")) { debug = true; continue; }
            if (!a.startsWith("--")) { leafFiles.add(a); continue; }
            if (i + 1 == args.length) usage("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--provider" -> provider = v;
                case "--anchor" -> anchorFile = v;
                case "--untrusted" -> untrustedFiles.add(v);
                case "--crl-dir" -> crlDir = v;
                case "--shuffle" -> {
                    try { shuffle = Long.parseLong(v); } catch (NumberFormatException e) { usage("--shuffle wants a number"); }
                }
                case "--orders" -> {
                    try { orders = Integer.parseInt(v); } catch (NumberFormatException e) { usage("--orders wants a number"); }
                    if (orders < 1) usage("--orders wants a number of at least 1");
                }
                case "--sun-checker" -> {
                    if (!v.equals("pkix") && !v.equals("default")) usage("--sun-checker default|pkix");
                    pkixChecker = v.equals("pkix");
                }
                case "--at" -> {
                    try {
                        at = Date.from(ZonedDateTime.parse(v, DateTimeFormatter.ofPattern("uuuuMMddHHmmss'Z'")
                            .withZone(ZoneOffset.UTC)).toInstant());
                    } catch (java.time.DateTimeException e) { usage("--at wants YYYYMMDDHHMMSSZ"); }
                }
                default -> usage("unknown option " + a);
            }
        }
        if (provider == null || !(provider.equals("sun") || provider.equals("bc"))) usage("--provider sun|bc");
        if (anchorFile == null || crlDir == null || leafFiles.isEmpty()) usage("--anchor, --crl-dir and a leaf are required");

        String prov = "SUN";
        // SUN's default checker with these settings checks CRLs only, of every certificate, and never
        // downloads. A PKIXRevocationChecker (--sun-checker pkix) always fetches from the cRLDistributionPoints
        // URLs when the store's CRLs do not settle a certificate: com.sun.security.enableCRLDP does not apply to it.
        Security.setProperty("ocsp.enable", "false");
        Security.setProperty("com.sun.security.onlyCheckRevocationOfEECert", "false");
        System.setProperty("com.sun.security.enableCRLDP", "false");
        if (provider.equals("bc")) {
            // By reflection, so that the SUN judge runs without bcprov on the class path.
            Security.addProvider((Provider) Class.forName("org.bouncycastle.jce.provider.BouncyCastleProvider")
                .getDeclaredConstructor().newInstance());
            prov = "BC";
        }
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate anchor = readCert(cf, anchorFile);
        List<Object> certs = new ArrayList<>();
        for (String f : untrustedFiles) certs.add(readCert(cf, f));
        File[] crlFiles = new File(crlDir).listFiles((d, n) -> n.endsWith(".crl"));
        if (crlFiles == null) usage("cannot read directory " + crlDir);
        Arrays.sort(crlFiles);
        List<X509CRL> crls = new ArrayList<>();
        for (File f : crlFiles) {
            X509CRL crl = (X509CRL) cf.generateCRL(new java.io.ByteArrayInputStream(Files.readAllBytes(f.toPath())));
            names.put(crl, f.getName());
            crls.add(crl);
        }
        List<X509Certificate> leaves = new ArrayList<>();
        for (String f : leafFiles) leaves.add(readCert(cf, f));

        List<Long> seeds = new ArrayList<>();
        if (orders > 0) for (long k = 1; k <= orders; k++) seeds.add(k);
        else seeds.add(shuffle);
        Map<X509Certificate, List<String>> verdicts = new LinkedHashMap<>();
        for (Long seed : seeds) {
            List<Object> store = new ArrayList<>(certs);
            store.addAll(traced(crls, seed, seed == seeds.get(0)));
            for (X509Certificate leaf : leaves) {
                List<Object> withLeaf = new ArrayList<>(store);
                withLeaf.add(leaf);  // the builder looks for its target in the stores
                verdicts.computeIfAbsent(leaf, k -> new ArrayList<>()).add(judge(prov, anchor, leaf, withLeaf, at));
            }
        }
        for (var e : verdicts.entrySet()) System.out.println(names.get(e.getKey()) + " " + agreed(e.getValue()));
    }

    // Wrapped (see TracedCRL) only under --debug or another order than the CRLs' own.
    static List<X509CRL> traced(List<X509CRL> crls, Long seed, boolean describe) {
        if (!debug && seed == null) return crls;
        List<X509CRL> out = new ArrayList<>();
        for (X509CRL raw : crls) {
            String name = names.get(raw);
            X509CRL crl = new TracedCRL(raw, name, seed == null ? null : new SplittableRandom(seed ^ name.hashCode()).nextInt());
            if (describe) {
                Set<? extends X509CRLEntry> listed = Objects.requireNonNullElse(crl.getRevokedCertificates(), Set.of());
                log("CRL " + name + ": AKI " + keyId(crl.getExtensionValue("2.5.29.35")) + ", "
                    + idp(crl.getExtensionValue("2.5.29.28")) + ", lists " + listed.stream()
                        .map(e -> e.getSerialNumber().toString(16).toUpperCase()).toList());
            }
            names.put(crl, name);
            out.add(crl);
        }
        return out;
    }

    // One verdict when every order gave it (the first reason shown), else each verdict with its count.
    static String agreed(List<String> results) {
        Map<String, Integer> count = new TreeMap<>();
        for (String r : results) count.merge(r.split(" ", 2)[0], 1, Integer::sum);
        if (count.size() == 1) return results.get(0);
        StringBuilder s = new StringBuilder("INCONSISTENT");
        count.forEach((v, n) -> s.append(' ').append(v).append('x').append(n));
        for (String r : results) if (!r.startsWith("OK")) return s.append(" (e.g. ").append(r).append(')').toString();
        return s.toString();
    }

    static X509Certificate readCert(CertificateFactory cf, String file) throws Exception {
        File f = new File(file);
        X509Certificate c = (X509Certificate) cf.generateCertificate(new java.io.ByteArrayInputStream(Files.readAllBytes(f.toPath())));
        names.putIfAbsent(c, f.getName());
        names.putIfAbsent(c.getPublicKey(), "key of " + f.getName());
        names.putIfAbsent(c.getSerialNumber(), f.getName());
        return c;
    }

    static String judge(String prov, X509Certificate anchor, X509Certificate leaf, List<Object> store, Date at)
            throws Exception {
        Set<TrustAnchor> anchors = Set.of(new TrustAnchor(anchor, null));
        CertStore certStore = CertStore.getInstance("Collection", new CollectionCertStoreParameters(store));
        log("---- " + names.get(leaf) + " (" + prov + ")");

        // Build without revocation checking: a builder that meets a revoked certificate only says
        // "no path", and the validator below gives the reason.
        X509CertSelector target = new X509CertSelector();
        target.setCertificate(leaf);
        PKIXBuilderParameters bp = new PKIXBuilderParameters(anchors, target);
        bp.addCertStore(certStore);
        bp.setDate(at);
        bp.setRevocationEnabled(false);
        CertPath path;
        try {
            path = CertPathBuilder.getInstance("PKIX", prov).build(bp).getCertPath();
        } catch (CertPathBuilderException e) {
            return "INVALID no path: " + firstLine(e);
        }
        StringBuilder chain = new StringBuilder("path");
        for (Certificate c : path.getCertificates()) chain.append(' ').append(names.getOrDefault(c, "?")).append(" <-");
        chain.append(" anchor ").append(names.get(anchor));
        for (Certificate c : path.getCertificates()) log(describe((X509Certificate) c));
        log(describe(anchor) + " (anchor)");

        PKIXParameters vp = new PKIXParameters(anchors);
        vp.addCertStore(certStore);
        vp.setDate(at);
        vp.setRevocationEnabled(true);  // BC: its own CRL checker (BC 1.72 has no PKIXRevocationChecker)
        CertPathValidator cpv = CertPathValidator.getInstance("PKIX", prov);
        if (prov.equals("SUN") && pkixChecker) {
            PKIXRevocationChecker rc = (PKIXRevocationChecker) cpv.getRevocationChecker();
            rc.setOptions(EnumSet.of(PKIXRevocationChecker.Option.PREFER_CRLS, PKIXRevocationChecker.Option.NO_FALLBACK));
            vp.addCertPathChecker(rc);
        }
        // Both providers call the checkers after their revocation check of a certificate: the
        // CRL lines above each "checked" line are about that certificate.
        if (debug) vp.addCertPathChecker(new PKIXCertPathChecker() {
            @Override public void init(boolean forward) {}
            @Override public boolean isForwardCheckingSupported() { return false; }
            @Override public Set<String> getSupportedExtensions() { return null; }
            @Override public void check(Certificate c, Collection<String> unresolved) {
                // BC validates the paths of CRL signers with these same parameters: say so.
                long depth = Arrays.stream(new Throwable().getStackTrace())
                    .filter(f -> f.getMethodName().equals("engineValidate")).count();
                log("  ^ checked " + names.getOrDefault(c, "?") + (depth > 1 ? " (path of a CRL signer)" : ""));
            }
        });
        try {
            cpv.validate(path, vp);
            return "OK " + chain.substring(5);
        } catch (CertPathValidatorException e) {
            String where = e.getIndex() >= 0 ? " [at " + names.getOrDefault(path.getCertificates().get(e.getIndex()), "?") + "]" : "";
            return verdict(e) + " " + firstLine(e) + where;
        }
    }

    static String verdict(CertPathValidatorException e) {
        if (e.getReason() == CertPathValidatorException.BasicReason.REVOKED) return "REVOKED";
        if (e.getReason() == CertPathValidatorException.BasicReason.UNDETERMINED_REVOCATION_STATUS) return "UNDETERMINED";
        // BC gives no reason code: whatever its CRL checker throws is about revocation, and only
        // "Certificate revocation after <date>, reason: ..." means a listed certificate; the rest
        // ("No CRLs found for issuer", "Cannot verify CRL.", "End CRL only contains CA certificates.",
        // "Certificate status could not be determined.", ...) means no usable CRL.
        boolean fromBcCrlCheck = false;
        for (StackTraceElement f : e.getStackTrace())
            fromBcCrlCheck |= f.getClassName().equals("org.bouncycastle.jce.provider.ProvCrlRevocationChecker");
        if (!fromBcCrlCheck) return "INVALID";
        return String.valueOf(e.getMessage()).startsWith("Certificate revocation after") ? "REVOKED" : "UNDETERMINED";
    }

    static String firstLine(Exception e) {
        String m = String.valueOf(e.getMessage()).trim();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl).trim();
    }

    @SuppressWarnings("unchecked")
    static <E extends Exception> E rethrow(Exception e) throws E { throw (E) e; }

    static String describe(X509Certificate c) {
        return names.getOrDefault(c, "?") + ": serial " + c.getSerialNumber().toString(16).toUpperCase()
            + ", SKI " + keyId(c.getExtensionValue("2.5.29.14")) + ", AKI " + keyId(c.getExtensionValue("2.5.29.35"))
            + (c.getBasicConstraints() >= 0 ? ", CA" : "");
    }

    // Just enough DER for the debug lines: the elements inside a TLV.
    static List<byte[]> inside(byte[] tlv) {
        List<byte[]> out = new ArrayList<>();
        int i = headerLength(tlv, 0), end = tlv.length;
        while (i < end) {
            int h = headerLength(tlv, i), n = h + bodyLength(tlv, i);
            out.add(Arrays.copyOfRange(tlv, i, i + n));
            i += n;
        }
        return out;
    }
    static int headerLength(byte[] d, int i) { return (d[i + 1] & 0x80) == 0 ? 2 : 2 + (d[i + 1] & 0x7f); }
    static int bodyLength(byte[] d, int i) {
        if ((d[i + 1] & 0x80) == 0) return d[i + 1];
        int n = 0;
        for (int k = 0; k < (d[i + 1] & 0x7f); k++) n = n << 8 | (d[i + 2 + k] & 0xff);
        return n;
    }

    // SKI: OCTET STRING { OCTET STRING keyid }; AKI: OCTET STRING { SEQUENCE { [0] keyid ... } }
    static String keyId(byte[] ext) {
        if (ext == null) return "-";
        byte[] v = inside(ext).get(0);
        if (v[0] == 0x30) v = inside(v).get(0);
        byte[] id = Arrays.copyOfRange(v, headerLength(v, 0), v.length);
        return HexFormat.of().withUpperCase().formatHex(id, 0, Math.min(4, id.length)) + "..";
    }

    static String idp(byte[] ext) {
        if (ext == null) return "no IDP";
        StringBuilder s = new StringBuilder("IDP");
        for (byte[] e : inside(inside(ext).get(0))) {
            switch (e[0] & 0xff) {
                case 0xa0 -> s.append(" distributionPoint");
                case 0x81 -> s.append(e[2] != 0 ? " onlyContainsUserCerts" : "");
                case 0x82 -> s.append(e[2] != 0 ? " onlyContainsCACerts" : "");
                case 0xa3 -> s.append(" onlySomeReasons");
                case 0x84 -> s.append(e[2] != 0 ? " indirectCRL" : "");
                default -> s.append(" other");
            }
        }
        return s.toString();
    }

    static String keyName(PublicKey k) {
        return names.getOrDefault(k, "key " + Integer.toHexString(k.hashCode()));
    }

    // Delegates everything; logs the signature checks (which CRLs got past a provider's scope checks)
    // and the serial look-ups (which CRLs it relied on for a certificate). Both providers keep the
    // CRLs they find in a HashSet and stop at the first CRLs that cover all reasons, so the CRLs'
    // hash codes decide which CRL is used; --shuffle replaces them to try other orders.
    static final class TracedCRL extends X509CRL {
        final X509CRL c;
        final String name;
        final Integer hash;
        TracedCRL(X509CRL c, String name, Integer hash) { this.c = c; this.name = name; this.hash = hash; }
        @Override public int hashCode() { return hash != null ? hash : c.hashCode(); }
        @Override public boolean equals(Object o) { return o == this; }

        interface Check { void run() throws Exception; }
        void traced(PublicKey k, Check r) {
            try { r.run(); log("CRL " + name + " signature verifies with " + keyName(k)); }
            catch (Exception e) { log("CRL " + name + " signature does not verify with " + keyName(k)); throw PkixJudge.<RuntimeException>rethrow(e); }
        }
        X509CRLEntry looked(String what, X509CRLEntry e) {
            log("CRL " + name + " looked up for " + what + ": " + (e == null ? "not listed" : "LISTED"));
            return e;
        }

        // The checked exceptions of the wrapped verify pass through unchanged.
        @Override public void verify(PublicKey k) { traced(k, () -> c.verify(k)); }
        @Override public void verify(PublicKey k, String p) { traced(k, () -> c.verify(k, p)); }
        @Override public void verify(PublicKey k, Provider p) { traced(k, () -> c.verify(k, p)); }
        @Override public X509CRLEntry getRevokedCertificate(BigInteger s) { return looked(names.getOrDefault(s, s.toString(16).toUpperCase()), c.getRevokedCertificate(s)); }
        @Override public X509CRLEntry getRevokedCertificate(X509Certificate x) { return looked(names.getOrDefault(x, "?"), c.getRevokedCertificate(x)); }
        @Override public boolean isRevoked(Certificate x) { return c.isRevoked(x); }
        @Override public byte[] getEncoded() throws CRLException { return c.getEncoded(); }
        @Override public int getVersion() { return c.getVersion(); }
        @SuppressWarnings("deprecation") @Override public Principal getIssuerDN() { return c.getIssuerDN(); }
        @Override public X500Principal getIssuerX500Principal() { return c.getIssuerX500Principal(); }
        @Override public Date getThisUpdate() { return c.getThisUpdate(); }
        @Override public Date getNextUpdate() { return c.getNextUpdate(); }
        @Override public Set<? extends X509CRLEntry> getRevokedCertificates() { return c.getRevokedCertificates(); }
        @Override public byte[] getTBSCertList() throws CRLException { return c.getTBSCertList(); }
        @Override public byte[] getSignature() { return c.getSignature(); }
        @Override public String getSigAlgName() { return c.getSigAlgName(); }
        @Override public String getSigAlgOID() { return c.getSigAlgOID(); }
        @Override public byte[] getSigAlgParams() { return c.getSigAlgParams(); }
        @Override public boolean hasUnsupportedCriticalExtension() { return c.hasUnsupportedCriticalExtension(); }
        @Override public Set<String> getCriticalExtensionOIDs() { return c.getCriticalExtensionOIDs(); }
        @Override public Set<String> getNonCriticalExtensionOIDs() { return c.getNonCriticalExtensionOIDs(); }
        @Override public byte[] getExtensionValue(String oid) { return c.getExtensionValue(oid); }
        @Override public String toString() { return name; }
    }
}
