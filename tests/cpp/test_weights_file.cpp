// Tests of <corten/weights_file.h>, without Python: well-formed and malformed weights files
// built in memory, then (optionally) a file written from Python:
//   corten_test_weights_file                      in-memory cases only
//   corten_test_weights_file FILE [--dump]        also load FILE (.keras archive or a weights
//                                                 file); --dump prints every tensor's values
// Prints each failed check and exits nonzero if any failed.
#include <corten/errors.h>
#include <corten/tensor.h>
#include <corten/weights_file.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

namespace {

// `expr` must throw corten::ValueError whose message contains `needle`.
#define CHECK_VALUE_ERROR(expr, needle)                                                            \
  do {                                                                                             \
    ++corten_test::g_checks;                                                                       \
    bool ok_ = false;                                                                              \
    std::string msg_ = "no exception";                                                             \
    try {                                                                                          \
      (void)(expr);                                                                                \
    } catch (const corten::ValueError& e_) {                                                       \
      msg_ = e_.what();                                                                            \
      ok_ = msg_.find(needle) != std::string::npos;                                                \
    } catch (const std::exception& e_) {                                                           \
      msg_ = std::string("other exception: ") + e_.what();                                         \
    }                                                                                              \
    if (!ok_) {                                                                                    \
      ++corten_test::g_failures;                                                                   \
      std::printf("%s:%d: %s: expected ValueError containing '%s', got: %s\n", __FILE__, __LINE__, \
                  #expr, needle, msg_.c_str());                                                    \
    }                                                                                              \
  } while (0)

// A safetensors file: 8-byte little-endian header length, header, data.
std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data,
                               int64_t declared = -1) {
  std::vector<uint8_t> out(8);
  uint64_t n = declared < 0 ? header.size() : static_cast<uint64_t>(declared);
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

corten::WeightsFile parse(const std::vector<uint8_t>& file) {
  return corten::WeightsFile::parse(file.data(), file.size(), "test");
}

void test_well_formed() {
  std::vector<uint8_t> data = bytes_of(std::vector<float>{1.5f, -2.f, 3.25f, 4.f, 5.f, 6.f});
  auto ints = bytes_of(std::vector<int64_t>{7, -8});
  data.insert(data.end(), ints.begin(), ints.end());
  data.push_back(1);
  const std::string header =
      R"({"__metadata__":{"format":"corten.keras.weights","note":"a \"quoted\" \u00e9"},)"
      R"("dense/kernel":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("step":{"dtype":"I64","shape":[2],"data_offsets":[24,40]},)"
      R"("flag":{"dtype":"BOOL","shape":[],"data_offsets":[40,41]},)"
      R"("empty":{"dtype":"F64","shape":[0,4],"data_offsets":[41,41]}}   )";
  const auto wf = parse(make_file(header, data));
  CHECK(wf.size() == 4);
  CHECK(wf.names()[0] == "dense/kernel" && wf.names()[3] == "empty");
  CHECK(wf.metadata().at("format") == "corten.keras.weights");
  CHECK(wf.metadata().at("note") == "a \"quoted\" \xc3\xa9");
  const corten::Tensor& k = wf.at("dense/kernel");
  CHECK(k.dtype() == corten::DType::Float32);
  CHECK((k.shape() == corten::Shape{2, 3}));
  CHECK(k.data<float>()[0] == 1.5f && k.data<float>()[5] == 6.f);
  CHECK(wf.at("step").data<int64_t>()[1] == -8);
  CHECK(wf.at("flag").ndim() == 0 && wf.at("flag").data<bool>()[0]);
  CHECK(wf.at("empty").numel() == 0);
  CHECK(wf.contains("step") && !wf.contains("nope"));
  CHECK_VALUE_ERROR(wf.at("nope"), "no tensor named 'nope'");
}

void test_malformed() {
  const std::vector<uint8_t> four = bytes_of(std::vector<float>{1.f, 2.f, 3.f, 4.f});
  auto entry = [](const std::string& body) { return "{\"w\":" + body + "}"; };
  CHECK_VALUE_ERROR(parse({1, 2, 3}), "fewer than the 8-byte header length");
  // Header lengths larger than the file or absurd: refused before allocating.
  CHECK_VALUE_ERROR(parse(make_file("{}", {}, 1000)), "exceeds the file size");
  CHECK_VALUE_ERROR(parse(make_file("{}", {}, INT64_MAX)), "exceeds the file size");
  CHECK_VALUE_ERROR(parse(make_file("{\"w\": [", four)), "not valid JSON");
  CHECK_VALUE_ERROR(parse(make_file("[1, 2]", four)), "not a JSON object");
  CHECK_VALUE_ERROR(parse(make_file(std::string(100, '[') + std::string(100, ']'), {})),
                    "nesting too deep");
  CHECK_VALUE_ERROR(
      parse(make_file(entry(R"({"dtype":"U16","shape":[4],"data_offsets":[0,8]})"), four)),
      "unsupported dtype 'U16'");
  CHECK_VALUE_ERROR(parse(make_file(entry(R"({"shape":[4],"data_offsets":[0,8]})"), four)),
                    "has no dtype");
  {  // The 16-bit floats: four F16 values in eight bytes, and two BF16 values.
    const std::vector<unsigned char> halves = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x01, 0x00};
    corten::WeightsFile f16 =
        parse(make_file(entry(R"({"dtype":"F16","shape":[4],"data_offsets":[0,8]})"), halves));
    const corten::Tensor& h = f16.at("w");
    CHECK(h.dtype() == corten::DType::Float16);
    CHECK(h.data<corten::float16>()[0].to_float() == 1.0f);
    CHECK(h.data<corten::float16>()[1].to_float() == -2.0f);
    CHECK(std::isinf(h.data<corten::float16>()[2].to_float()));
    CHECK(h.data<corten::float16>()[3].to_float() == 0x1p-24f);
    const std::vector<unsigned char> bf = {0x80, 0x3f, 0x40, 0xc0};
    corten::WeightsFile b16 =
        parse(make_file(entry(R"({"dtype":"BF16","shape":[2],"data_offsets":[0,4]})"), bf));
    CHECK(b16.at("w").dtype() == corten::DType::BFloat16);
    CHECK(b16.at("w").data<corten::bfloat16>()[0].to_float() == 1.0f);
    CHECK(b16.at("w").data<corten::bfloat16>()[1].to_float() == -3.0f);
  }
  CHECK_VALUE_ERROR(parse(make_file(entry(R"({"dtype":"F32","shape":[-4],"data_offsets":[0,16]})"), four)),
                    "invalid shape");
  CHECK_VALUE_ERROR(parse(make_file(entry(R"({"dtype":"F32","shape":[4],"data_offsets":[0,32]})"), four)),
                    "outside the 16-byte data section");
  CHECK_VALUE_ERROR(parse(make_file(entry(R"({"dtype":"F32","shape":[5],"data_offsets":[0,16]})"), four)),
                    "does not match its data_offsets");
  // A shape whose byte count overflows 64 bits.
  CHECK_VALUE_ERROR(parse(make_file(entry(R"({"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,16]})"), four)),
                    "does not match its data_offsets");
  CHECK_VALUE_ERROR(parse(make_file(entry(R"({"dtype":"F32","shape":[4],"data_offsets":[0,99999999999999999999]})"), four)),
                    "integer out of range");
  CHECK_VALUE_ERROR(parse(make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", four)),
                    "overlap");
  CHECK_VALUE_ERROR(parse(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                    R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", four)),
                    "appears twice");
  CHECK_VALUE_ERROR(parse(make_file(R"({"__metadata__":{"k":1}})", {})), "is not a string");
  CHECK_VALUE_ERROR(parse(make_file(entry(R"({"dtype":"BOOL","shape":[1],"data_offsets":[0,1]})"), {7})),
                    "other than 0 or 1");
}

// Many entries: duplicate names are found in linear time (this file took 34 s when each name
// was compared with every earlier one), and more than the documented 1,000,000 are refused.
// The per-tensor CRC-32 the Python writer stores (zlib's crc32 of the tensor's bytes).
void test_checksums() {
  const std::vector<uint8_t> four = bytes_of(std::vector<float>{1.f, 2.f, 3.f, 4.f});
  auto header = [](const std::string& crc) {
    return R"({"__metadata__":{"corten_crc32":"{\"w\":)" + crc + R"(}"},)"
           R"("w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  };
  CHECK(parse(make_file(header("2342982740"), four)).at("w").data<float>()[3] == 4.f);
  std::vector<uint8_t> flipped = four;
  flipped[5] ^= 0x10;
  CHECK_VALUE_ERROR(parse(make_file(header("2342982740"), flipped)),
                    "'w' does not match its checksum");
  CHECK_VALUE_ERROR(parse(make_file(header("-1"), four)), "not a 32-bit integer");
}

void test_many_entries() {
  auto header_of = [](size_t n, bool duplicate_last) {
    std::string h = "{";
    for (size_t i = 0; i < n; ++i) {
      const size_t id = duplicate_last && i + 1 == n ? 0 : i;
      h += (i ? ",\"t" : "\"t") + std::to_string(id) +
           R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
    }
    return h + "}";
  };
  CHECK(parse(make_file(header_of(200000, false), {})).size() == 200000);
  CHECK_VALUE_ERROR(parse(make_file(header_of(200000, true), {})), "'t0' appears twice");
  CHECK_VALUE_ERROR(parse(make_file(header_of(1000002, false), {})),
                    "at most 1000000 tensors are read");
}

void test_missing_file() {
  ++corten_test::g_checks;
  try {
    corten::WeightsFile::load("/nonexistent/model.weights.safetensors");
    ++corten_test::g_failures;
    std::printf("loading a missing file did not throw\n");
  } catch (const corten::ValueError&) {
    ++corten_test::g_failures;
    std::printf("a missing file should be an I/O error, not a ValueError\n");
  } catch (const corten::Error& e) {
    CHECK(std::string(e.what()).find("cannot open") != std::string::npos);
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void dump(const corten::WeightsFile& wf) {
  for (const std::string& name : wf.names()) {
    const corten::Tensor& t = wf.at(name);
    std::printf("tensor %s %s %s", name.c_str(), corten::dtype_name(t.dtype()),
                corten::shape_str(t.shape()).c_str());
    for (int64_t i = 0; i < t.numel(); ++i) {
      switch (t.dtype()) {
        case corten::DType::Float32: std::printf(" %.9g", static_cast<double>(t.data<float>()[i])); break;
        case corten::DType::Float64: std::printf(" %.17g", t.data<double>()[i]); break;
        case corten::DType::Int32: std::printf(" %d", t.data<int32_t>()[i]); break;
        case corten::DType::Int64: std::printf(" %lld", static_cast<long long>(t.data<int64_t>()[i])); break;
        case corten::DType::Bool: std::printf(" %d", t.data<bool>()[i] ? 1 : 0); break;
        case corten::DType::Float16:
          std::printf(" %.9g", static_cast<double>(t.data<corten::float16>()[i].to_float()));
          break;
        case corten::DType::BFloat16:
          std::printf(" %.9g", static_cast<double>(t.data<corten::bfloat16>()[i].to_float()));
          break;
        case corten::DType::String: break;  // weights files hold no strings
      }
    }
    std::printf("\n");
  }
  for (const auto& [key, value] : wf.metadata()) std::printf("metadata %s %s\n", key.c_str(), value.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  test_well_formed();
  test_malformed();
  test_many_entries();
  test_checksums();
  test_missing_file();
  if (argc > 1) {
    const std::string path = argv[1];
    try {
      const auto wf = ends_with(path, ".keras") ? corten::WeightsFile::load_keras(path)
                                                : corten::WeightsFile::load(path);
      CHECK(wf.size() > 0);
      CHECK(wf.metadata().count("weight_names") == 1);
      // Every model weight listed in the metadata is present.
      const std::string& listed = wf.metadata().at("weight_names");
      for (const std::string& name : wf.names()) {
        if (name.rfind("__optimizer__/", 0) == 0) continue;
        CHECK(listed.find("\"" + name + "\"") != std::string::npos);
      }
      if (argc > 2 && std::string(argv[2]) == "--dump") dump(wf);
    } catch (const std::exception& e) {
      ++corten_test::g_failures;
      std::printf("loading %s failed: %s\n", path.c_str(), e.what());
    }
  }
  return corten_test::check_summary();
}
