// Fuzz target of the C++ weights reader (corten::WeightsFile::parse): any bytes must either
// parse or throw corten::ValueError; anything else (another exception, a crash, a sanitizer
// report) is a finding.
//
// With clang and -DCORTEN_LIBFUZZER=ON this is a libFuzzer target:
//   ./corten_fuzz_weights_file -runs=100000 tests/fuzz/corpus/load_weights
// Otherwise it is a plain program that replays the files or folders it is given (ctest runs it
// on the committed corpus, and the sanitizer job under ASan and UBSan).

#include <corten/errors.h>
#include <corten/weights_file.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const corten::WeightsFile wf = corten::WeightsFile::parse(data, size, "fuzz");
    for (const std::string& name : wf.names()) (void)wf.at(name).numel();
  } catch (const corten::ValueError&) {
  }
  return 0;
}

#ifndef CORTEN_LIBFUZZER
namespace {

int replay(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& entry : std::filesystem::directory_iterator(p)) n += replay(entry.path());
    } else {
      n += replay(p);
    }
  }
  std::printf("replayed %d inputs\n", n);
  return n > 0 ? 0 : 1;
}
#endif
