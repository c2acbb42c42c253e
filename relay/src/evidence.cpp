#include "evidence.h"

#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "hanko/common/files.h"

namespace hanko::relay {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxEvidenceFile = 1u << 30;  // a fullCRL of millions of entries stays below

// "repository/g1-full.crl" -> "repository_g1-full.crl": one flat folder, no name met twice.
std::string flat_name(const fs::path& relative) {
  std::string name = relative.generic_string();
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

void copy_checked(const fs::path& from, const fs::path& to, EvidenceCopy& counts) {
  const Bytes data = read_file(from, kMaxEvidenceFile);
  write_new_file(to, data, 0600);
  if (read_file(to, kMaxEvidenceFile) != data) throw std::runtime_error("'" + to.string() + "' reads back different: check the medium");
  counts.bytes += data.size();
}

std::vector<fs::path> files_under(const fs::path& root, const std::string& extension) {
  std::vector<fs::path> out;
  if (!fs::is_directory(root)) return out;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied)) {
    if (e.is_regular_file() && e.path().extension() == extension) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

EvidenceCopy copy_evidence(const Config& config, const fs::path& out) {
  if (fs::exists(out) && !fs::is_empty(out)) throw std::runtime_error("'" + out.string() + "' is not empty; evidence goes to a new folder");
  fs::create_directories(out / "result-bundles");
  fs::create_directories(out / "lists");
  for (const fs::path& d : {out, out / "result-bundles", out / "lists"}) ::chmod(d.c_str(), 0700);
  EvidenceCopy counts;
  for (const fs::path& f : files_under(config.state_dir / "archive", ".hkb")) {
    copy_checked(f, out / "result-bundles" / f.filename(), counts);
    ++counts.bundles;
  }
  // The lists it serves, and any it holds for later release.
  for (const fs::path& root : {config.doc_root, config.state_dir}) {
    for (const fs::path& f : files_under(root, ".crl")) {
      const fs::path name = (root == config.doc_root ? fs::path("repository") : fs::path("state")) / fs::relative(f, root);
      copy_checked(f, out / "lists" / flat_name(name), counts);
      ++counts.lists;
    }
  }
  return counts;
}

}  // namespace hanko::relay
