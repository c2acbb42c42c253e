// Ceremony inputs and transcripts: scripts, plans and site bindings parse strictly and refuse
// secrets; a transcript's chain catches every change; the golden comparison lists differences;
// the report's fingerprint QR reads back through ZXing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hanko/common/files.h"
#include "hanko/offline/ceremony.h"
#include "hanko/offline/people.h"
#include "hanko/offline/profiles.h"
#include "hanko/pki/testing/software_signer.h"
#include "hanko/transfer/qr.h"

namespace hanko::offline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kScript = R"(# a small script
kind   crl-signing
title  CRL signing
state  existing
role   manager 1
needs  schedule_days

step open
  say      Lists for {plan.schedule_days} days.
  confirm  manager

step sign
  activate
  run      crl --state {site.state} --pin-fd {secret:pin} --operator {operator}
  expect   crl {out}/lists/*.crl issuer={out}/ca.crt
)";

TEST(CeremonySettings, RefusesSecretsButNotWordsThatContainPin) {
  EXPECT_THROW(Settings::parse("so_pin = 1234\n", "plan"), CeremonyError);
  EXPECT_THROW(Settings::parse("user.passphrase = x\n", "site"), CeremonyError);
  EXPECT_THROW(Settings::parse("Backup-Password = x\n", "site"), CeremonyError);
  const Settings s = Settings::parse("policy_mapping = 1.2:3.4\npinned = yes\nspinner = no\n", "plan");
  EXPECT_EQ(s.get("policy_mapping"), "1.2:3.4");
  EXPECT_THROW(s.get("missing"), CeremonyError);
}

TEST(CeremonySettings, RefusesDuplicatesAndLinesWithoutValues) {
  EXPECT_THROW(Settings::parse("a = 1\na = 2\n", "plan"), CeremonyError);
  EXPECT_THROW(Settings::parse("just words\n", "plan"), CeremonyError);
  EXPECT_EQ(Settings::parse("# c\n\nlist = A B  C\n", "plan").list("list").size(), 3u);
}

TEST(CeremonyScript, ParsesStepsAndActions) {
  const Script s = Script::parse(kScript);
  EXPECT_EQ(s.kind, "crl-signing");
  ASSERT_EQ(s.steps.size(), 2u);
  EXPECT_EQ(s.steps[1].id, "sign");
  ASSERT_NE(s.steps[1].run(), nullptr);
  EXPECT_EQ(s.steps[1].run()->words[0], "crl");
  EXPECT_EQ(s.roles.at(0).first, Role::kManager);
}

TEST(CeremonyScript, RefusesWhatItDoesNotKnow) {
  const std::string head = "kind k\ntitle t\nstate existing\nstep a\n";
  EXPECT_THROW(Script::parse(head + "  sing hello\n"), CeremonyError);
  EXPECT_THROW(Script::parse(head + "  run a\n  run b\n"), CeremonyError);
  EXPECT_THROW(Script::parse(head + "  confirm king\n"), CeremonyError);
  EXPECT_THROW(Script::parse(head + "  expect poem x\n"), CeremonyError);
  EXPECT_THROW(Script::parse(head + "step a\n"), CeremonyError);
  EXPECT_THROW(Script::parse("title t\nstate new\nstep a\n"), CeremonyError);
  EXPECT_THROW(Script::parse("kind k\ntitle t\nstate maybe\nstep a\n"), CeremonyError);
  EXPECT_THROW(Script::parse(head + "  say \"unclosed\n"), CeremonyError);
}

TEST(CeremonyPlan, PeopleKeepSeparationOfDuties) {
  EXPECT_EQ(plan_people(Settings::parse("person.A = manager\nperson.B = custodian, witness\n", "plan")).size(), 2u);
  EXPECT_THROW(plan_people(Settings::parse("person.A = ca-admin, ra-operator\n", "plan")), PolicyError);
  EXPECT_THROW(plan_people(Settings::parse("person.A = auditor, ca-admin\n", "plan")), PolicyError);
  EXPECT_THROW(plan_people(Settings::parse("person.A = manager, ca-admin\n", "plan")), PolicyError);
  EXPECT_THROW(plan_people(Settings::parse("person.A = king\n", "plan")), CeremonyError);
}

TEST(CeremonyPlan, DigestCoversScriptAndPlan) {
  const Script s = Script::parse(kScript);
  const auto a = plan_digest(s, Settings::parse("schedule_days = 3\n", "plan"));
  EXPECT_NE(a, plan_digest(s, Settings::parse("schedule_days = 4\n", "plan")));
  EXPECT_NE(a, plan_digest(Script::parse(std::string(kScript) + "# edited\n"), Settings::parse("schedule_days = 3\n", "plan")));
  EXPECT_EQ(a, plan_digest(s, Settings::parse("schedule_days = 3\n", "plan")));
}

// Builds a chained transcript the way the runner does.
class Transcript {
 public:
  void add(json r) {
    r["seq"] = static_cast<long long>(m_lines.size() + 1);
    r["prev"] = to_hex(m_head);
    const std::string line = r.dump();
    m_head = pki::digest(pki::HashAlgorithm::kSha256, BytesView(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
    m_lines.push_back(line);
  }
  void sign(pki::Signer& signer) {
    add({{"type", "signature"}, {"algorithm", std::string(pki::signature_algorithm_name(signer.algorithm()))},
         {"spki", to_hex(signer.public_key().spki)}, {"signature", to_hex(signer.sign(transcript_signed_data(m_head)))}});
  }
  std::string text() const {
    std::string t;
    for (const std::string& l : m_lines) t += l + "\n";
    return t;
  }
  std::vector<std::string>& lines() { return m_lines; }

 private:
  std::vector<std::string> m_lines;
  Bytes m_head = Bytes(32, 0);
};

Transcript sample(pki::Signer& signer) {
  Transcript t;
  t.add({{"type", "open"}, {"kind", "crl-signing"}, {"digest", "AB"}});
  t.add({{"type", "step.begin"}, {"step", "open"}});
  t.add({{"type", "confirm"}, {"step", "open"}, {"person", "Yamada"}, {"role", "manager"}});
  t.add({{"type", "output"}, {"step", "open"}, {"kind", "certificate"}, {"path", "ca.crt"}, {"subject", "CN=Root"},
         {"sha256", "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"}, {"validity_days", 3652}, {"primary", true}});
  t.add({{"type", "step.done"}, {"step", "open"}});
  t.add({{"type", "close"}});
  t.sign(signer);
  return t;
}

TEST(CeremonyTranscript, ASignedTranscriptChecks) {
  pki::SoftwareSigner signer(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  const TranscriptCheck c = check_transcript(sample(signer).text());
  ASSERT_TRUE(c.ok) << c.problem;
  EXPECT_TRUE(c.closed);
  EXPECT_TRUE(c.signed_ok);
  EXPECT_EQ(c.kind, "crl-signing");
  EXPECT_EQ(c.signer_spki, signer.public_key().spki);
}

TEST(CeremonyTranscript, EveryChangeBreaksIt) {
  pki::SoftwareSigner signer(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  const Transcript good = sample(signer);
  {  // one changed byte
    std::string text = good.text();
    text[text.find("Yamada")] = 'N';
    const TranscriptCheck c = check_transcript(text);
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.problem.find("does not chain"), std::string::npos) << c.problem;
  }
  {  // a line removed
    Transcript t = good;
    t.lines().erase(t.lines().begin() + 2);
    const TranscriptCheck c = check_transcript(t.text());
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.problem.find("removed"), std::string::npos) << c.problem;
  }
  {  // two lines swapped
    Transcript t = good;
    std::swap(t.lines()[1], t.lines()[2]);
    EXPECT_FALSE(check_transcript(t.text()).ok);
  }
  {  // cut short by a power cut
    std::string text = good.text();
    text.pop_back();
    text.pop_back();
    EXPECT_NE(check_transcript(text).problem.find("cut short"), std::string::npos);
  }
  {  // a line appended after the signature
    Transcript t = good;
    t.add({{"type", "say"}, {"text", "afterwards"}});
    EXPECT_FALSE(check_transcript(t.text()).ok);
  }
  {  // re-signed by another key: checks, but it is another key (verify pins the CA's audit key)
    pki::SoftwareSigner other(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
    const TranscriptCheck c = check_transcript(sample(other).text());
    EXPECT_TRUE(c.ok);
    EXPECT_NE(c.signer_spki, signer.public_key().spki);
  }
  EXPECT_FALSE(check_transcript("").ok);
  EXPECT_FALSE(check_transcript("not json\n").ok);
  EXPECT_FALSE(check_transcript("{\"seq\":1}\n").ok);
}

TEST(CeremonyTranscript, AForgedSignatureFails) {
  pki::SoftwareSigner signer(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  Transcript t = sample(signer);
  json last = json::parse(t.lines().back());
  std::string sig = last["signature"];
  sig[sig.size() - 3] = sig[sig.size() - 3] == '0' ? '1' : '0';
  last["signature"] = sig;
  t.lines().back() = last.dump();
  const TranscriptCheck c = check_transcript(t.text());
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.problem.find("signature"), std::string::npos);
}

TEST(CeremonyGolden, ListsEveryDifference) {
  pki::SoftwareSigner signer(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  const auto golden = check_transcript(sample(signer).text()).records;
  EXPECT_TRUE(compare_with_golden(golden, golden).empty());
  auto now = golden;
  now[2]["person"] = "Kato";          // another manager confirmed
  now[3]["validity_days"] = 1826;     // a shorter certificate
  now[0]["digest"] = "CD";            // another plan
  const auto d = compare_with_golden(golden, now);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_NE(d[0].find("plan differs"), std::string::npos);
  EXPECT_NE(d[1].find("Kato"), std::string::npos);
}

TEST(CeremonyReport, FingerprintQrReadsBack) {
  pki::SoftwareSigner signer(pki::SoftwareKeyType::kEcP256, pki::SignatureAlgorithm::kEcdsaSha256);
  const fs::path dir = fs::temp_directory_path() / ("hanko-report-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string text = sample(signer).text();
  write_file_atomic(dir / "t.transcript", BytesView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  write_report(dir / "t.transcript", dir / "t-report.html");
  const std::string html = read_text_file(dir / "t-report.html");
  EXPECT_NE(html.find("Yamada"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  const auto image = transfer::load_image(dir / "t-report.fingerprint.png");
  ASSERT_TRUE(image);
  const auto codes = transfer::read_qr_codes(*image);
  ASSERT_EQ(codes.size(), 1u);
  EXPECT_EQ(std::string(codes[0].begin(), codes[0].end()), "SHA256:00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF");
  fs::remove_all(dir);
}

TEST(People, PassphraseVerifierAndRoles) {
  const fs::path db_path = fs::temp_directory_path() / ("hanko-people-" + std::to_string(::getpid()) + ".db");
  fs::remove(db_path);
  {
    sql::Database db(db_path.string(), true);
    PeopleRegistry registry(db);
    const Bytes salt(16, 7);
    registry.enrol("Yamada", {Role::kManager}, Credential::make(hsm::Secret(std::string_view("Yamada-Pass1234")), salt), pki::Time{});
    registry.enrol("Sato", {Role::kCustodian}, std::nullopt, pki::Time{});
    EXPECT_TRUE(registry.check_passphrase("Yamada", hsm::Secret(std::string_view("Yamada-Pass1234"))));
    EXPECT_FALSE(registry.check_passphrase("Yamada", hsm::Secret(std::string_view("Yamada-Pass1235"))));
    EXPECT_FALSE(registry.check_passphrase("Sato", hsm::Secret(std::string_view("anything"))));
    EXPECT_FALSE(registry.check_passphrase("Nobody", hsm::Secret(std::string_view("anything"))));
    EXPECT_TRUE(registry.find("Yamada")->holds(Role::kManager));
    EXPECT_FALSE(registry.find("Sato")->has_passphrase);
    EXPECT_EQ(registry.list().size(), 2u);
    EXPECT_THROW(registry.enrol("Mori", {Role::kCaAdministrator, Role::kRaOperator}, std::nullopt, pki::Time{}), PolicyError);
    EXPECT_THROW(registry.enrol("Mori", {}, std::nullopt, pki::Time{}), PolicyError);
  }
  fs::remove(db_path);
}

}  // namespace
}  // namespace hanko::offline
