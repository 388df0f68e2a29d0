#pragma once
/// Reading Keras weights files: the safetensors layout written by `Model.save_weights`
/// (python/corten/keras/saving/weights_file.py), alone or as the `model.weights.safetensors`
/// entry of a `.keras` archive written by `Model.save`.
///
/// Layout: 8 bytes N (the header length, little-endian uint64), N bytes of UTF-8 JSON
///   {"<name>": {"dtype": "F32", "shape": [784, 64], "data_offsets": [b, e]}, ...,
///    "__metadata__": {"<key>": "<string>", ...}}
/// then the tensors' bytes (little-endian, C order), [b, e) relative to the end of the header.
/// dtypes: F32, F64, F16, BF16, I32, I64, BOOL. This is the one reader of the format: Python's
/// load_weights and load_model call it too (corten._C.weights_file_load, _parse, _header).
///
/// Nothing in a file is trusted: the header length is checked against the file size and a
/// 100 MiB limit before it is read, a header of more than 1,000,000 tensors is refused, names
/// must be unique (checked in linear time), every shape, dtype and offset is validated (sizes with
/// overflow checks, offsets inside the data section, no overlap) before any tensor is
/// allocated or read. A malformed file throws corten::ValueError naming the file and the
/// problem; I/O failures throw corten::Error.
///
///   auto weights = corten::WeightsFile::load("model.weights.safetensors");
///   const corten::Tensor& kernel = weights.at("dense/kernel");

#include <corten/tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace corten {

/// One tensor of a weights file's header: [begin, end) is relative to the data section.
struct WeightsFileEntry {
  std::string name;
  std::string code;  // the dtype as the file spells it: F32, BF16, ...
  DType dtype = DType::Float32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

/// A weights file's validated header.
struct WeightsFileHeader {
  std::vector<WeightsFileEntry> entries;  // in header order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // where the data section starts: 8 + the header length
};

class WeightsFile {
 public:
  /// The longest header read (as the safetensors reference implementation).
  static constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;
  /// The most tensors a header may list.
  static constexpr size_t kMaxTensors = 1'000'000;
  /// Reads a weights file (any extension) written by save_weights / safetensors.
  static WeightsFile load(const std::string& path);
  /// Reads the weights (and optimizer variables) stored in a `.keras` archive written by
  /// Model.save; the entry must be stored uncompressed (as Model.save writes it).
  static WeightsFile load_keras(const std::string& path);
  /// The bytes of the entry `entry` of a .keras zip written by Model.save, or nullopt when it
  /// has none. ValueError for a damaged archive or an entry over `max_bytes`.
  static std::optional<std::string> read_keras_entry(const std::string& path,
                                                     const std::string& entry,
                                                     uint64_t max_bytes = 256ull << 20);
  /// Parses a weights file held in memory (`source` names it in error messages).
  static WeightsFile parse(const void* data, size_t size, const std::string& source = "<buffer>");
  /// Validates the header of a weights file of `file_size` bytes from its first `size` bytes
  /// (the 8-byte length and the header: fewer is a truncated file), as `load` does before it
  /// reads any tensor.
  static WeightsFileHeader parse_header(const void* data, size_t size, uint64_t file_size,
                                        const std::string& source = "<buffer>");

  /// Tensor names, in header order.
  const std::vector<std::string>& names() const { return names_; }
  /// name -> tensor (owned, contiguous CPU tensors).
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  /// The "__metadata__" strings (e.g. "format", "weight_names" as a JSON list).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  /// The tensor called `name`; ValueError naming it when absent.
  const Tensor& at(const std::string& name) const;
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
  friend struct WeightsFileReader;
};

}  // namespace corten
