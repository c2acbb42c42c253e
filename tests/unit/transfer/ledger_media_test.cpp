#include <gtest/gtest.h>

#include <fstream>

#include "hanko/transfer/ledger.h"
#include "hanko/transfer/media.h"
#include "transfer_test_support.h"

using namespace hanko;
using namespace hanko::transfer;
using namespace hanko::transfer::testing;

namespace {

std::vector<pki::PublicKey> trusted() { return {relay_key().public_key()}; }

Bundle parsed(const Bytes& der) { return parse_bundle(der).value(); }

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

template <class F>
ErrorId error_of(F&& f) {
  try {
    f();
  } catch (const TransferError& e) {
    return e.id();
  }
  ADD_FAILURE() << "no TransferError";
  return ErrorId::kIo;
}

}  // namespace

TEST(Ledger, AcceptsOnlyTheNextSequenceAndNamesGaps) {
  TempDir state;
  SequenceLedger ledger(state.path());
  const Bundle b1 = parsed(make_signed(1)), b2 = parsed(make_signed(2)), b4 = parsed(make_signed(4)), b5 = parsed(make_signed(5));
  EXPECT_EQ(ledger.next_expected(b1.signer, Direction::kRequest), 1u);
  ledger.record(b1);
  const auto replay = ledger.check(b1);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error(), ErrorId::kReplay);
  const auto gap = ledger.check(b4);
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error(), ErrorId::kOutOfSequence);
  EXPECT_EQ(gap.message(), "expected request sequence 2, got 4: bundles 2 and 3 are missing");
  EXPECT_NE(ledger.check(b5).message().find("bundles 2 to 4 are missing"), std::string::npos);
  ledger.record(b2);
  EXPECT_EQ(ledger.check(b4).message(), "expected request sequence 3, got 4: bundle 3 is missing");

  // Persistent: a new ledger object on the same folder knows it all.
  SequenceLedger again(state.path());
  EXPECT_EQ(again.next_expected(b1.signer, Direction::kRequest), 3u);
  EXPECT_EQ(again.check(b2).error(), ErrorId::kReplay);
  // Directions and signers are counted separately.
  EXPECT_EQ(again.next_expected(b1.signer, Direction::kResult), 1u);
  EXPECT_EQ(error_of([&] { again.record(b4); }), ErrorId::kOutOfSequence);
}

TEST(Ledger, SameSequenceWithAnotherIdIsAReplay) {
  TempDir state;
  SequenceLedger ledger(state.path());
  ledger.record(parsed(make_signed(1)));
  const auto other = ledger.check(parsed(make_signed(1, Direction::kRequest, 300, relay_key(), 99)));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), ErrorId::kReplay) << other.message();
}

TEST(Media, ExportThenImportRoundTrip) {
  TempDir disk, state, inbox;
  const Bytes der = make_signed(1);
  const auto path = export_to_folder(der, disk.path());
  EXPECT_EQ(path.filename().string(), bundle_file_name(parsed(der)));
  EXPECT_EQ(files_in(disk.path()), 1u) << "no temporary file left behind";
  EXPECT_EQ(export_to_folder(der, disk.path()), path) << "exporting the same bundle again is harmless";

  SequenceLedger ledger(state.path());
  const Bundle b = import_next(disk.path(), trusted(), ledger, Direction::kRequest, inbox / "in.hkb");
  EXPECT_EQ(b.sequence, 1u);
  EXPECT_EQ(read_file_capped(inbox / "in.hkb"), der);
  EXPECT_TRUE(std::filesystem::exists(path)) << "import never deletes from the disk";

  const auto entries = scan_folder(disk.path(), trusted(), ledger, Direction::kRequest);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].state, DiskEntry::State::kAlreadyImported);
  EXPECT_EQ(error_of([&] { import_next(disk.path(), trusted(), ledger, Direction::kRequest, inbox / "again.hkb"); }), ErrorId::kReplay);
  EXPECT_FALSE(std::filesystem::exists(inbox / "again.hkb"));
}

TEST(Media, SeveralBundlesWaitOnOneDiskAndComeInOrder) {
  TempDir disk, state, inbox;
  for (std::uint64_t s : {3, 1, 2}) export_to_folder(make_signed(s), disk.path());
  SequenceLedger ledger(state.path());
  const auto entries = scan_folder(disk.path(), trusted(), ledger, Direction::kRequest);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].state, DiskEntry::State::kReady);
  EXPECT_EQ(entries[1].state, DiskEntry::State::kWaiting);
  EXPECT_EQ(entries[2].state, DiskEntry::State::kWaiting);
  for (std::uint64_t s = 1; s <= 3; ++s) {
    EXPECT_EQ(import_next(disk.path(), trusted(), ledger, Direction::kRequest, inbox / ("b" + std::to_string(s))).sequence, s);
  }
  EXPECT_EQ(files_in(disk.path()), 3u);
}

TEST(Media, OutOfSequenceOnDiskNamesTheMissingBundles) {
  TempDir disk, state, inbox;
  export_to_folder(make_signed(3), disk.path());
  SequenceLedger ledger(state.path());
  try {
    import_next(disk.path(), trusted(), ledger, Direction::kRequest, inbox / "x");
    FAIL();
  } catch (const TransferError& e) {
    EXPECT_EQ(e.id(), ErrorId::kOutOfSequence);
    EXPECT_NE(std::string(e.what()).find("expected request sequence 1, got 3: bundles 1 and 2 are missing"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(inbox / "x"));
}

TEST(Media, TruncatedFileOnTheDiskIsRefusedAndKept) {
  TempDir disk, state, inbox;
  const auto path = export_to_folder(make_signed(1), disk.path());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  SequenceLedger ledger(state.path());
  const auto entries = scan_folder(disk.path(), trusted(), ledger, Direction::kRequest);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].state, DiskEntry::State::kRefused);
  EXPECT_EQ(entries[0].error, ErrorId::kPartialFile) << entries[0].message;
  EXPECT_EQ(error_of([&] { import_next(disk.path(), trusted(), ledger, Direction::kRequest, inbox / "x"); }), ErrorId::kPartialFile);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(ledger.next_expected(entries[0].bundle ? entries[0].bundle->signer : key_id_of(relay_key().public_key()), Direction::kRequest), 1u);
}

TEST(Media, RenamedFileIsRefused) {
  TempDir disk, state;
  const Bundle b2 = parsed(make_signed(2));
  const auto path2 = export_to_folder(make_signed(2), disk.path());
  // Bundle 2 put where bundle 1 should be: the name lies about the content.
  std::filesystem::rename(path2, disk / bundle_file_name(parsed(make_signed(1))));
  SequenceLedger ledger(state.path());
  const auto entries = scan_folder(disk.path(), trusted(), ledger, Direction::kRequest);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].state, DiskEntry::State::kRefused);
  EXPECT_EQ(entries[0].error, ErrorId::kBadFileName) << entries[0].message;
}

TEST(Media, ForeignPartialAndUnknownSignerFilesAreReported) {
  TempDir disk, state;
  std::ofstream(disk / "hanko-request-000001-00112233445566778899aabbccddeeff.hkb") << "not a bundle at all";
  std::ofstream(disk / ".hanko-tmp-hanko-request-000001-x.hkb.Ab12Cd") << "half";
  std::ofstream(disk / "holiday.jpg") << "ignored";
  export_to_folder(make_signed(1, Direction::kRequest, 100, other_key()), disk.path());
  SequenceLedger ledger(state.path());
  const auto entries = scan_folder(disk.path(), trusted(), ledger, Direction::kRequest);
  ASSERT_EQ(entries.size(), 3u);
  std::map<ErrorId, int> errors;
  for (const auto& e : entries) errors[e.error]++;
  EXPECT_EQ(errors[ErrorId::kMalformed], 1);
  EXPECT_EQ(errors[ErrorId::kPartialFile], 1);
  EXPECT_EQ(errors[ErrorId::kUnknownSigner], 1);
  EXPECT_EQ(files_in(disk.path()), 4u);
}

TEST(Media, WrongDirectionIsRefused) {
  TempDir disk, state;
  export_to_folder(make_signed(1, Direction::kResult), disk.path());
  SequenceLedger ledger(state.path());
  const auto entries = scan_folder(disk.path(), trusted(), ledger, Direction::kRequest);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].error, ErrorId::kWrongDirection);
}

TEST(Media, ExportRefusesToOverwriteADifferentFile) {
  TempDir disk;
  const Bytes der = make_signed(1);
  const auto path = export_to_folder(der, disk.path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "something else";
  EXPECT_EQ(error_of([&] { export_to_folder(der, disk.path()); }), ErrorId::kIo);
  EXPECT_EQ(to_string(read_file_capped(path)), "something else");
  EXPECT_EQ(error_of([&] { export_to_folder(to_bytes("garbage"), disk.path()); }), ErrorId::kMalformed);
}

TEST(Media, OversizedFileIsNotRead) {
  TempDir disk;
  const auto path = disk / "big";
  std::ofstream(path) << "x";
  std::filesystem::resize_file(path, kMaxBundleSize + 1);
  EXPECT_EQ(error_of([&] { read_file_capped(path); }), ErrorId::kLimitExceeded);
}
