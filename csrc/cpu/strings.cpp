#include "cpu/strings.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

#include "cpu/convert.h"
#include "cpu/hash_math.h"
#include "cpu/utf8.h"

namespace corten::cpu {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Simple (one-to-one) case mapping of the alphabets whose cases are a fixed offset apart:
// ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic. Other characters are left unchanged.
int32_t to_lower(int32_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x138 && c != 0x149 && c != 0x178) {
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    return ((c & 1) == (odd_upper ? 1 : 0)) ? c + 1 : c;
  }
  if ((c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F)) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

int32_t to_upper(int32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    return ((c & 1) == (odd_upper ? 0 : 1)) ? c - 1 : c;
  }
  if ((c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) || (c >= 0x430 && c <= 0x44F)) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

}  // namespace

void change_case(const Strings& x, CaseMap map, StringBuilder& out) {
  std::string buf;
  for (std::string_view s : x) {
    buf.clear();
    if (map == CaseMap::LowerAscii || map == CaseMap::UpperAscii) {
      buf.assign(s.data(), s.size());
      const bool lower = map == CaseMap::LowerAscii;
      for (char& c : buf) {
        if (lower && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        if (!lower && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      }
    } else {
      for (size_t i = 0; i < s.size();) {
        const Decoded d = decode_utf8(s, i);
        if (!d.valid) {
          buf.append(s.data() + i, d.length);  // ill-formed bytes pass through unchanged
        } else {
          encode_utf8(map == CaseMap::LowerUtf8 ? to_lower(d.codepoint) : to_upper(d.codepoint),
                      buf);
        }
        i += d.length;
      }
    }
    out.append(buf);
  }
}

void strip(const Strings& x, StringBuilder& out) {
  for (std::string_view s : x) {
    size_t b = 0, e = s.size();
    while (b < e && is_ascii_space(s[b])) ++b;
    while (e > b && is_ascii_space(s[e - 1])) --e;
    out.append(s.substr(b, e - b));
  }
}

void string_equal(const StringRef* a, const Shape& a_strides, const StringRef* b,
                  const Shape& b_strides, const Shape& shape, bool negate, bool* out) {
  const int64_t n = shape_numel(shape);
  Shape index(shape.size(), 0);
  int64_t pa = 0, pb = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = (a[pa].view() == b[pb].view()) != negate;
    for (auto d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) {
        pa += a_strides[d], pb += b_strides[d];
        break;
      }
      pa -= (shape[d] - 1) * a_strides[d], pb -= (shape[d] - 1) * b_strides[d];
      index[d] = 0;
    }
  }
}

int64_t longest_row(const int64_t* row_splits, int64_t rows) {
  int64_t w = 0;
  for (int64_t r = 0; r < rows; ++r) w = std::max(w, row_splits[r + 1] - row_splits[r]);
  return w;
}

int64_t first_decreasing(const int64_t* row_splits, int64_t n) {
  for (int64_t i = 1; i < n; ++i) {
    if (row_splits[i] < row_splits[i - 1]) return i;
  }
  return -1;
}

void split(const Strings& x, std::string_view sep, int64_t maxsplit, StringBuilder& values,
           int64_t* row_splits) {
  row_splits[0] = 0;
  for (size_t r = 0; r < x.size(); ++r) {
    const std::string_view s = x[r];
    int64_t splits = 0;
    if (sep.empty()) {
      size_t i = 0;
      while (true) {
        if (maxsplit >= 0 && splits == maxsplit && splits > 0 && i < s.size()) {
          // The rest of the string after the separating whitespace, as it is (TensorFlow
          // keeps it, trailing whitespace included, even when it is empty).
          while (i < s.size() && is_ascii_space(s[i])) ++i;
          values.append(s.substr(i));
          break;
        }
        while (i < s.size() && is_ascii_space(s[i])) ++i;
        if (i == s.size()) break;
        size_t j = i;
        if (maxsplit == 0) {
          values.append(s.substr(i));
          break;
        }
        while (j < s.size() && !is_ascii_space(s[j])) ++j;
        values.append(s.substr(i, j - i));
        ++splits;
        i = j;
      }
    } else {
      size_t i = 0;
      while (true) {
        const size_t j =
            (maxsplit >= 0 && splits == maxsplit) ? std::string_view::npos : s.find(sep, i);
        if (j == std::string_view::npos) {
          values.append(s.substr(i));
          break;
        }
        values.append(s.substr(i, j - i));
        ++splits;
        i = j + sep.size();
      }
    }
    row_splits[r + 1] = static_cast<int64_t>(values.size());
  }
}

void ngrams(const Strings& values, const int64_t* row_splits, int64_t rows,
            const std::vector<int64_t>& widths, std::string_view separator, StringBuilder& out,
            int64_t* out_splits) {
  out_splits[0] = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t begin = row_splits[r], n = row_splits[r + 1] - begin;
    for (const int64_t w : widths) {
      for (int64_t i = 0; i + w <= n; ++i) {
        for (int64_t k = 0; k < w; ++k) {
          if (k > 0) out.append_bytes(separator);
          out.append_bytes(values[static_cast<size_t>(begin + i + k)]);
        }
        out.end_element();
      }
    }
    out_splits[r + 1] = static_cast<int64_t>(out.size());
  }
}

void reduce_join(const Strings& x, int64_t groups, int64_t width, std::string_view separator,
                 StringBuilder& out) {
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t i = 0; i < width; ++i) {
      if (i > 0) out.append_bytes(separator);
      out.append_bytes(x[static_cast<size_t>(g * width + i)]);
    }
    out.end_element();
  }
}

void length(const Strings& x, bool utf8_chars, int32_t* out) {
  for (size_t i = 0; i < x.size(); ++i) {
    const std::string_view s = x[i];
    if (!utf8_chars) {
      out[i] = static_cast<int32_t>(s.size());
      continue;
    }
    int32_t n = 0;
    for (size_t k = 0; k < s.size(); k += decode_utf8(s, k).length) ++n;
    out[i] = n;
  }
}

void unicode_decode(const Strings& x, std::vector<int32_t>& codepoints, int64_t* row_splits) {
  row_splits[0] = 0;
  for (size_t r = 0; r < x.size(); ++r) {
    const std::string_view s = x[r];
    for (size_t k = 0; k < s.size();) {
      const Decoded d = decode_utf8(s, k);
      codepoints.push_back(d.codepoint);
      k += d.length;
    }
    row_splits[r + 1] = static_cast<int64_t>(codepoints.size());
  }
}

void unicode_split(const Strings& x, StringBuilder& chars, int64_t* row_splits) {
  row_splits[0] = 0;
  std::string buf;
  for (size_t r = 0; r < x.size(); ++r) {
    const std::string_view s = x[r];
    for (size_t k = 0; k < s.size();) {
      const Decoded d = decode_utf8(s, k);
      if (!d.valid) {
        buf.clear();
        encode_utf8(0xFFFD, buf);
        chars.append(buf);
      } else {
        chars.append(s.substr(k, d.length));
      }
      k += d.length;
    }
    row_splits[r + 1] = static_cast<int64_t>(chars.size());
  }
}

void unicode_encode(const int32_t* codepoints, const int64_t* row_splits, int64_t rows,
                    StringBuilder& out) {
  std::string buf;
  for (int64_t r = 0; r < rows; ++r) {
    buf.clear();
    for (int64_t k = row_splits[r]; k < row_splits[r + 1]; ++k) encode_utf8(codepoints[k], buf);
    out.append(buf);
  }
}

void as_string(DType dtype, const void* x, int64_t n, int precision, bool scientific, bool shortest,
               int width, char fill, StringBuilder& out) {
  char buf[512];
  std::string text;
  const int w = std::max(width, 0);
  for (int64_t i = 0; i < n; ++i) {
    int len = 0;
    switch (dtype) {
      case DType::Bool:
        len =
            std::snprintf(buf, sizeof buf, "%s", static_cast<const bool*>(x)[i] ? "true" : "false");
        break;
      case DType::Int32:
        len = std::snprintf(buf, sizeof buf, "%" PRId32, static_cast<const int32_t*>(x)[i]);
        break;
      case DType::Int64:
        len = std::snprintf(buf, sizeof buf, "%" PRId64, static_cast<const int64_t*>(x)[i]);
        break;
      case DType::Float32:
      case DType::Float64:
      case DType::Float16:
      case DType::BFloat16: {
        const double v = visit_storage(dtype, "as_string", [&](auto tag) {
          using T = typename decltype(tag)::type;
          return convert<double>(static_cast<const T*>(x)[i]);
        });
        const int p = precision < 0 ? 6 : std::min(precision, 300);
        if (shortest) {
          // The significant digits that tell every value of the dtype apart.
          const int digits = dtype == DType::Float64   ? 17
                             : dtype == DType::Float32 ? 9
                             : dtype == DType::Float16 ? 5
                                                       : 4;
          len = std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        } else if (scientific) {
          len = std::snprintf(buf, sizeof buf, "%.*e", p, v);
        } else {
          len = std::snprintf(buf, sizeof buf, "%.*f", std::min(p, 100), v);
        }
        break;
      }
      case DType::String:
        break;
    }
    // %f of a large double needs more than the buffer: snprintf reports the full length.
    text.assign(buf, static_cast<size_t>(std::clamp(len, 0, static_cast<int>(sizeof buf) - 1)));
    if (static_cast<int>(text.size()) < w) {
      text.insert(fill == '0' && !text.empty() && text[0] == '-' ? 1 : 0,
                  static_cast<size_t>(w) - text.size(), fill);
    }
    out.append(text);
  }
}

int64_t to_number(const Strings& x, DType dtype, void* out) {
  std::string buf;
  for (size_t i = 0; i < x.size(); ++i) {
    std::string_view s = x[i];
    while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
    buf.assign(s.data(), s.size());
    if (buf.empty()) return static_cast<int64_t>(i);
    const char* begin = buf.c_str();
    char* end = nullptr;
    errno = 0;
    if (is_floating(dtype)) {
      const double v = std::strtod(begin, &end);
      if (end != begin + buf.size()) return static_cast<int64_t>(i);
      if (dtype == DType::Float32) {
        static_cast<float*>(out)[i] = static_cast<float>(v);
      } else {
        static_cast<double*>(out)[i] = v;
      }
    } else {
      const long long v = std::strtoll(begin, &end, 10);
      if (end != begin + buf.size() || errno == ERANGE) return static_cast<int64_t>(i);
      if (dtype == DType::Int32) {
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
          return static_cast<int64_t>(i);
        }
        static_cast<int32_t*>(out)[i] = static_cast<int32_t>(v);
      } else {
        static_cast<int64_t*>(out)[i] = static_cast<int64_t>(v);
      }
    }
  }
  return -1;
}

void sorted_lookup_strings(const Strings& x, const Strings& keys, int64_t* out) {
  if (x.size() < 4 * keys.size()) {
    // Few inputs: binary search beats building a table.
    for (size_t i = 0; i < x.size(); ++i) {
      const auto it = std::lower_bound(keys.begin(), keys.end(), x[i]);
      out[i] = (it != keys.end() && *it == x[i]) ? static_cast<int64_t>(it - keys.begin()) : -1;
    }
    return;
  }
  // Many inputs (a batch of tokens against a vocabulary): one hash table, then a probe each,
  // with no string comparisons on the way down a search tree.
  std::unordered_map<std::string_view, int64_t> table(keys.size() * 2);
  for (size_t k = 0; k < keys.size(); ++k) table.emplace(keys[k], static_cast<int64_t>(k));
  for (size_t i = 0; i < x.size(); ++i) {
    const auto it = table.find(x[i]);
    out[i] = it == table.end() ? -1 : it->second;
  }
}

void hash_bucket_strings(const Strings& x, uint64_t num_buckets, bool strong, uint64_t k0,
                         uint64_t k1, int64_t* out) {
  for (size_t i = 0; i < x.size(); ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(x[i].data());
    const uint64_t h = strong ? hashing::siphash24(k0, k1, p, x[i].size())
                              : hashing::fingerprint64(p, x[i].size());
    out[i] = static_cast<int64_t>(h % num_buckets);
  }
}

void ragged_to_dense(size_t itemsize, const void* values, const int64_t* row_splits, int64_t rows,
                     int64_t width, const void* fill, void* out) {
  const auto* v = static_cast<const char*>(values);
  auto* o = static_cast<char*>(out);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = std::min(row_splits[r + 1] - row_splits[r], width);
    char* row = o + static_cast<size_t>(r * width) * itemsize;
    if (n > 0)
      std::memcpy(row, v + static_cast<size_t>(row_splits[r]) * itemsize,
                  static_cast<size_t>(n) * itemsize);
    for (int64_t j = n; j < width; ++j)
      std::memcpy(row + static_cast<size_t>(j) * itemsize, fill, itemsize);
  }
}

void token_counts(const Strings& values, const int64_t* row_splits, int64_t rows,
                  StringBuilder& tokens, std::vector<int64_t>& counts,
                  std::vector<int64_t>& doc_counts) {
  std::unordered_map<std::string_view, size_t> slot;
  std::vector<int64_t> last_row;
  slot.reserve(values.size() / 4 + 16);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = row_splits[r]; k < row_splits[r + 1]; ++k) {
      const std::string_view t = values[static_cast<size_t>(k)];
      const auto [it, inserted] = slot.emplace(t, counts.size());
      if (inserted) {
        tokens.append(t);
        counts.push_back(0);
        doc_counts.push_back(0);
        last_row.push_back(-1);
      }
      const size_t s = it->second;
      ++counts[s];
      if (last_row[s] != r) {
        last_row[s] = r;
        ++doc_counts[s];
      }
    }
  }
}

}  // namespace corten::cpu
