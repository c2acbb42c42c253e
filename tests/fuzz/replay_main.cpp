// Runs a fuzz target's entry point over files, outside libFuzzer: the release and ASan builds link
// every target with this, so a fuzz target that no longer compiles fails the first build, and the
// committed corpora (tests/fuzz/corpus/<target>/) replay as ctest tests under the sanitizers.
//   fuzz_<target> FILE_OR_FOLDER...
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code error;
    if (fs::is_directory(arg, error)) {
      for (const auto& entry : fs::recursive_directory_iterator(arg))
        if (entry.is_regular_file()) inputs.push_back(entry.path());
    } else if (fs::is_regular_file(arg, error)) {
      inputs.push_back(arg);
    } else {
      std::cerr << argv[0] << ": " << arg.string() << " is neither a file nor a folder\n";
      return 2;
    }
  }
  if (inputs.empty()) {
    std::cerr << "usage: " << argv[0] << " FILE_OR_FOLDER... (no input found)\n";
    return 2;
  }
  std::sort(inputs.begin(), inputs.end());  // the same order on every machine
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.eof() && in.fail()) {
      std::cerr << argv[0] << ": cannot read " << path.string() << "\n";
      return 2;
    }
    // A fresh copy of exactly the input's size, so ASan sees a read past its end.
    const std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
    (void)LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  std::cout << argv[0] << ": " << inputs.size() << " inputs replayed\n";
  return 0;
}
