// Reader of the safetensors-layout weights files written by Model.save_weights / Model.save
// (see <corten/weights_file.h>). Every size and offset read from a file is validated before it
// is used to allocate or read.
#include <corten/errors.h>
#include <corten/weights_file.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/json.h"

namespace corten {

namespace {

constexpr uint64_t kMaxHeaderSize = WeightsFile::kMaxHeaderBytes;
constexpr size_t kMaxRankInFile = 64;
constexpr size_t kMaxTensorsInFile = WeightsFile::kMaxTensors;

Json parse_header(const std::string& text, const std::string& source) {
  return parse_json(
      text,
      detail::str_cat("Cannot read weights file '", source, "': the header is not valid JSON ("),
      "). The file is truncated, corrupted or not a weights file.");
}

// ---------------------------------------------------------------------- byte sources
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at `offset` (offset + n <= size() is checked by the caller).
  virtual void read_at(uint64_t offset, void* dst, size_t n) const = 0;
};

class MemorySource : public Source {
 public:
  MemorySource(const void* data, size_t size) : data_(static_cast<const uint8_t*>(data)), size_(size) {}
  uint64_t size() const override { return size_; }
  void read_at(uint64_t offset, void* dst, size_t n) const override {
    if (n) std::memcpy(dst, data_ + offset, n);
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

class FileSource : public Source {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) {
      throw Error(detail::str_cat("WeightsFile: cannot open '", path, "': ", std::strerror(errno)));
    }
    if (fseeko(file_.get(), 0, SEEK_END) != 0) {
      throw Error(detail::str_cat("WeightsFile: cannot seek in '", path, "'"));
    }
    const off_t end = ftello(file_.get());
    if (end < 0) throw Error(detail::str_cat("WeightsFile: cannot size '", path, "'"));
    size_ = static_cast<uint64_t>(end);
  }
  uint64_t size() const override { return size_; }
  void read_at(uint64_t offset, void* dst, size_t n) const override {
    if (n == 0) return;
    if (offset > static_cast<uint64_t>(std::numeric_limits<off_t>::max()) ||
        fseeko(file_.get(), static_cast<off_t>(offset), SEEK_SET) != 0 ||
        std::fread(dst, 1, n, file_.get()) != n) {
      throw Error(detail::str_cat("WeightsFile: cannot read ", n, " bytes at offset ", offset,
                                  " of '", path_, "' (was it modified while reading?)"));
    }
  }

 private:
  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  uint64_t size_ = 0;
};

// The first `have` bytes of a file of `size` bytes (its header, for parse_header): reading past
// them is a truncated file.
class PrefixSource : public Source {
 public:
  PrefixSource(const void* data, size_t have, uint64_t size, std::string source)
      : data_(static_cast<const uint8_t*>(data)), have_(have), size_(size), source_(std::move(source)) {}
  uint64_t size() const override { return size_; }
  void read_at(uint64_t offset, void* dst, size_t n) const override {
    if (offset > have_ || n > have_ - offset) {
      throw ValueError(detail::str_cat("Cannot read weights file '", source_, "': the header is "
                                       "truncated. The file is truncated, corrupted or not a "
                                       "weights file written by save_weights."));
    }
    if (n) std::memcpy(dst, data_ + offset, n);
  }

 private:
  const uint8_t* data_;
  size_t have_;
  uint64_t size_;
  std::string source_;
};

// A window [base, base + size) of another source.
class SliceSource : public Source {
 public:
  SliceSource(const Source& inner, uint64_t base, uint64_t size) : inner_(inner), base_(base), size_(size) {}
  uint64_t size() const override { return size_; }
  void read_at(uint64_t offset, void* dst, size_t n) const override {
    inner_.read_at(base_ + offset, dst, n);
  }

 private:
  const Source& inner_;
  uint64_t base_;
  uint64_t size_;
};

bool dtype_from_code(const std::string& code, DType* out) {
  static const std::pair<const char*, DType> kCodes[] = {
      {"F32", DType::Float32},   {"F64", DType::Float64}, {"F16", DType::Float16},
      {"BF16", DType::BFloat16}, {"I32", DType::Int32},   {"I64", DType::Int64},
      {"BOOL", DType::Bool}};
  for (const auto& [name, dtype] : kCodes) {
    if (code == name) {
      *out = dtype;
      return true;
    }
  }
  return false;
}

bool host_is_little_endian() {
  const uint16_t probe = 1;
  uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

}  // namespace

// CRC-32 (zlib's: the reflected IEEE polynomial 0xEDB88320), the per-tensor checksum the
// Python writer stores under "corten_crc32" in the metadata.
uint32_t crc32(const uint8_t* p, uint64_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (uint64_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

constexpr const char* kChecksumsKey = "corten_crc32";

// ---------------------------------------------------------------------- reader
namespace {

ValueError corrupt_file(const std::string& source, const std::string& why) {
  return ValueError(detail::str_cat("Cannot read weights file '", source, "': ", why,
                                    ". The file is truncated, corrupted or not a weights file "
                                    "written by save_weights."));
}

}  // namespace

struct WeightsFileReader {
  static WeightsFileHeader read_header(const Source& src, const std::string& source) {
    auto corrupt = [&](const std::string& why) { return corrupt_file(source, why); };
    if (!host_is_little_endian()) {
      throw NotImplementedError("WeightsFile: big-endian hosts are not supported");
    }
    const uint64_t size = src.size();
    if (size < 8) throw corrupt(detail::str_cat("the file has ", size, " bytes, fewer than the 8-byte header length"));
    uint8_t head[8];
    src.read_at(0, head, 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | head[i];
    if (n > kMaxHeaderSize || n > size - 8) {
      throw corrupt(detail::str_cat("the header length ", n, " exceeds the file size ", size,
                                    " (or the ", kMaxHeaderSize, "-byte limit)"));
    }
    std::string text(static_cast<size_t>(n), '\0');
    src.read_at(8, text.data(), static_cast<size_t>(n));
    const Json root = parse_header(text, source);
    if (root.kind != Json::Kind::Object) throw corrupt("the header is not a JSON object");

    const uint64_t data_start = 8 + n;
    const uint64_t data_len = size - data_start;
    using Entry = WeightsFileEntry;
    WeightsFileHeader out;
    out.data_start = data_start;
    std::vector<Entry>& entries = out.entries;
    size_t count = 0;
    for (const auto& kv : root.object) count += kv.first != "__metadata__";
    if (count > kMaxTensorsInFile) {
      throw corrupt(detail::str_cat("the header lists ", count, " entries (at most ",
                                    kMaxTensorsInFile, " tensors are read)"));
    }
    std::unordered_set<std::string_view> seen;  // duplicates in linear time
    seen.reserve(root.object.size());
    for (const auto& [name, info] : root.object) {
      if (!seen.insert(name).second) throw corrupt(detail::str_cat("the entry '", name, "' appears twice"));
      if (name == "__metadata__") {
        if (info.kind == Json::Kind::Null) continue;
        if (info.kind != Json::Kind::Object) throw corrupt("__metadata__ is not an object");
        for (const auto& [key, value] : info.object) {
          if (value.kind != Json::Kind::String) throw corrupt(detail::str_cat("__metadata__['", key, "'] is not a string"));
          out.metadata[key] = value.string;
        }
        continue;
      }
      if (info.kind != Json::Kind::Object) throw corrupt(detail::str_cat("the entry '", name, "' is not an object"));
      const Json* dtype_v = nullptr;
      const Json* shape_v = nullptr;
      const Json* offsets_v = nullptr;
      for (const auto& [key, value] : info.object) {
        if (key == "dtype") dtype_v = &value;
        else if (key == "shape") shape_v = &value;
        else if (key == "data_offsets") offsets_v = &value;
      }
      Entry e{name, {}, DType::Float32, {}, 0, 0};
      if (!dtype_v) throw corrupt(detail::str_cat("the entry '", name, "' has no dtype"));
      if (dtype_v->kind != Json::Kind::String) {
        throw corrupt(detail::str_cat("the entry '", name, "' has an unsupported dtype (not a string)"));
      }
      if (!dtype_from_code(dtype_v->string, &e.dtype)) {
        throw corrupt(detail::str_cat("the entry '", name, "' has unsupported dtype '", dtype_v->string,
                                      "' (the format's are F32, F64, F16, BF16, I32, I64 and BOOL)"));
      }
      if (!shape_v || shape_v->kind != Json::Kind::Array || shape_v->array.size() > kMaxRankInFile) {
        throw corrupt(detail::str_cat("the entry '", name, "' has an invalid shape"));
      }
      uint64_t count = 1;
      bool overflow = false;
      for (const Json& d : shape_v->array) {
        if (d.kind != Json::Kind::Int || d.integer < 0) throw corrupt(detail::str_cat("the entry '", name, "' has an invalid shape"));
        e.shape.push_back(d.integer);
        overflow |= __builtin_mul_overflow(count, static_cast<uint64_t>(d.integer), &count);
      }
      uint64_t nbytes = 0;
      overflow |= __builtin_mul_overflow(count, static_cast<uint64_t>(itemsize(e.dtype)), &nbytes);
      if (!offsets_v || offsets_v->kind != Json::Kind::Array || offsets_v->array.size() != 2 ||
          offsets_v->array[0].kind != Json::Kind::Int || offsets_v->array[1].kind != Json::Kind::Int ||
          offsets_v->array[0].integer < 0 || offsets_v->array[1].integer < 0) {
        throw corrupt(detail::str_cat("the entry '", name, "' has invalid data_offsets"));
      }
      e.code = dtype_v->string;
      e.begin = static_cast<uint64_t>(offsets_v->array[0].integer);
      e.end = static_cast<uint64_t>(offsets_v->array[1].integer);
      if (!(e.begin <= e.end && e.end <= data_len)) {
        throw corrupt(detail::str_cat("the entry '", name, "' has data_offsets [", e.begin, ", ", e.end,
                                      "] outside the ", data_len, "-byte data section"));
      }
      if (overflow || nbytes != e.end - e.begin) {
        throw corrupt(detail::str_cat("the entry '", name, "' of shape ", shape_str(e.shape), " and dtype ",
                                      dtype_v->string, " does not match its data_offsets span of ",
                                      e.end - e.begin, " bytes"));
      }
      entries.push_back(std::move(e));
    }
    std::vector<const Entry*> by_offset;
    for (const Entry& e : entries) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      if (by_offset[i]->begin < by_offset[i - 1]->end) {
        throw corrupt(detail::str_cat("the data of '", by_offset[i - 1]->name, "' and '", by_offset[i]->name, "' overlap"));
      }
    }
    return out;
  }

  static WeightsFile read(const Source& src, const std::string& source) {
    auto corrupt = [&](const std::string& why) { return corrupt_file(source, why); };
    const WeightsFileHeader header = read_header(src, source);
    WeightsFile out;
    out.metadata_ = header.metadata;
    // Per-tensor checksums, when the writer stored them (files without them still load).
    std::unordered_map<std::string, uint32_t> checksums;
    if (auto it = out.metadata_.find(kChecksumsKey); it != out.metadata_.end()) {
      const Json sums = parse_header(it->second, source);
      if (sums.kind != Json::Kind::Object) throw corrupt("the corten_crc32 metadata is not an object");
      for (const auto& [name, v] : sums.object) {
        if (v.kind != Json::Kind::Int || v.integer < 0 || v.integer > 0xFFFFFFFFll) {
          throw corrupt(detail::str_cat("the checksum of '", name, "' is not a 32-bit integer"));
        }
        checksums[name] = static_cast<uint32_t>(v.integer);
      }
    }
    // Everything is validated: allocate and read.
    for (const WeightsFileEntry& e : header.entries) {
      Tensor t = Tensor::empty(e.shape, e.dtype, Device::CPU, "WeightsFile::load");
      src.read_at(header.data_start + e.begin, t.raw_data(), static_cast<size_t>(e.end - e.begin));
      if (auto it = checksums.find(e.name); it != checksums.end() &&
          crc32(static_cast<const uint8_t*>(t.raw_data()), e.end - e.begin) != it->second) {
        throw corrupt(detail::str_cat("the data of '", e.name, "' does not match its checksum "
                                      "(the file changed after it was written)"));
      }
      if (e.dtype == DType::Bool) {  // only 0 and 1 are valid bools
        auto* p = static_cast<uint8_t*>(t.raw_data());
        for (uint64_t i = 0; i < e.end - e.begin; ++i) {
          if (p[i] > 1) throw corrupt(detail::str_cat("the bool tensor '", e.name, "' holds a byte other than 0 or 1"));
        }
      }
      out.names_.push_back(e.name);
      out.tensors_.emplace(e.name, std::move(t));
    }
    return out;
  }
};

WeightsFileHeader WeightsFile::parse_header(const void* data, size_t size, uint64_t file_size,
                                           const std::string& source) {
  CORTEN_CHECK_VALUE(data != nullptr || size == 0, "WeightsFile::parse_header: data is null");
  PrefixSource src(data, std::min<uint64_t>(size, file_size), file_size, source);
  return WeightsFileReader::read_header(src, source);
}

WeightsFile WeightsFile::load(const std::string& path) {
  FileSource src(path);
  return WeightsFileReader::read(src, path);
}

WeightsFile WeightsFile::parse(const void* data, size_t size, const std::string& source) {
  CORTEN_CHECK_VALUE(data != nullptr || size == 0, "WeightsFile::parse: data is null");
  MemorySource src(data, size);
  return WeightsFileReader::read(src, source);
}

// Entries of a .keras zip are found through the zip central directory; zip64 and compressed
// entries are refused (Model.save writes neither).
namespace {

// Where the uncompressed entry `entry` of the zip archive `src` lies (offset, size), or size
// UINT64_MAX when the archive has no such entry. Every offset is checked against the file.
std::pair<uint64_t, uint64_t> find_stored_entry(const Source& src, const std::string& path,
                                                const std::string& entry) {
  auto bad = [&](const std::string& why) {
    return ValueError(detail::str_cat("Cannot read model file '", path, "': ", why,
                                      ". The file is truncated, corrupted or not a .keras file "
                                      "written by Model.save."));
  };
  const uint64_t size = src.size();
  if (size < 22) throw bad("it is too small to be a zip archive");
  // End of central directory: 22 bytes + a comment of at most 65535 bytes.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  std::vector<uint8_t> tail(static_cast<size_t>(tail_len));
  src.read_at(size - tail_len, tail.data(), tail.size());
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i) {
    if (le32(&tail[static_cast<size_t>(i)]) == 0x06054b50u) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad("no zip end-of-central-directory record");
  const uint8_t* e = &tail[static_cast<size_t>(eocd)];
  const uint64_t entries = le16(e + 10);
  const uint64_t cd_size = le32(e + 12);
  const uint64_t cd_offset = le32(e + 16);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    throw bad("zip64 archives are not supported by the C++ reader");
  }
  if (cd_offset > size || cd_size > size - cd_offset || cd_size > 64ull * 1024 * 1024) {
    throw bad("the central directory lies outside the file");
  }
  std::vector<uint8_t> cd(static_cast<size_t>(cd_size));
  src.read_at(cd_offset, cd.data(), cd.size());
  size_t pos = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    if (pos + 46 > cd.size() || le32(&cd[pos]) != 0x02014b50u) throw bad("a central directory record is truncated");
    const uint16_t method = le16(&cd[pos + 10]);
    const uint64_t csize = le32(&cd[pos + 20]);
    const uint64_t usize = le32(&cd[pos + 24]);
    const size_t name_len = le16(&cd[pos + 28]);
    const size_t extra_len = le16(&cd[pos + 30]);
    const size_t comment_len = le16(&cd[pos + 32]);
    const uint64_t local = le32(&cd[pos + 42]);
    if (pos + 46 + name_len + extra_len + comment_len > cd.size()) throw bad("a central directory record is truncated");
    const std::string name(reinterpret_cast<const char*>(&cd[pos + 46]), name_len);
    pos += 46 + name_len + extra_len + comment_len;
    if (name != entry) continue;
    if (csize == 0xFFFFFFFFu || usize == 0xFFFFFFFFu || local == 0xFFFFFFFFu) {
      throw bad("zip64 entries are not supported by the C++ reader");
    }
    if (method != 0 || csize != usize)
      throw bad(detail::str_cat("the entry ", entry,
                                " is compressed (Model.save stores entries uncompressed)"));
    if (local > size || size - local < 30)
      throw bad(detail::str_cat("the local header of ", entry, " lies outside the file"));
    uint8_t lh[30];
    src.read_at(local, lh, 30);
    if (le32(lh) != 0x04034b50u)
      throw bad(detail::str_cat("the local header of ", entry, " is invalid"));
    const uint64_t data = local + 30 + le16(lh + 26) + le16(lh + 28);
    if (data > size || usize > size - data)
      throw bad(detail::str_cat("the entry ", entry, " lies outside the file"));
    return {data, usize};
  }
  return {0, UINT64_MAX};
}

}  // namespace

WeightsFile WeightsFile::load_keras(const std::string& path) {
  static const std::string kEntry = "model.weights.safetensors";
  FileSource src(path);
  const auto [offset, size] = find_stored_entry(src, path, kEntry);
  if (size == UINT64_MAX) {
    throw ValueError(detail::str_cat("Cannot read model file '", path, "': it has no ", kEntry,
                                     " entry. The file is truncated, corrupted or not a .keras "
                                     "file written by Model.save."));
  }
  SliceSource slice(src, offset, size);
  return WeightsFileReader::read(slice, path + ":" + kEntry);
}

std::optional<std::string> WeightsFile::read_keras_entry(const std::string& path,
                                                         const std::string& entry,
                                                         uint64_t max_bytes) {
  FileSource src(path);
  const auto [offset, size] = find_stored_entry(src, path, entry);
  if (size == UINT64_MAX) return std::nullopt;
  CORTEN_CHECK_VALUE(size <= max_bytes, "Cannot read model file '", path, "': the entry ", entry,
                     " has ", size, " bytes, more than the ", max_bytes, " allowed");
  std::string out(static_cast<size_t>(size), '\0');
  if (size > 0) src.read_at(offset, out.data(), static_cast<size_t>(size));
  return out;
}

const Tensor& WeightsFile::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    std::string known;
    for (size_t i = 0; i < names_.size() && i < 8; ++i) known += (i ? ", " : "") + names_[i];
    if (names_.size() > 8) known += ", ...";
    throw ValueError(detail::str_cat("WeightsFile: no tensor named '", name, "'; the file has [", known, "]"));
  }
  return it->second;
}

}  // namespace corten
