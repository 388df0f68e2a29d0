#include "core/json.h"

#include <corten/errors.h>

#include <cstring>
#include <limits>

namespace corten {
namespace {

constexpr int kMaxJsonDepth = 64;

class JsonParser {
 public:
  JsonParser(const std::string& text, const std::string& prefix, const std::string& suffix)
      : s_(text), prefix_(prefix), suffix_(suffix) {}

  Json parse_document() {
    Json v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("trailing characters after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw ValueError(detail::str_cat(prefix_, why, " at byte ", pos_, suffix_));
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  bool consume(char c) {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect_literal(const char* lit) {
    const size_t n = std::strlen(lit);
    if (s_.compare(pos_, n, lit) != 0) fail("unexpected token");
    pos_ += n;
  }

  Json parse_value(int depth) {
    if (depth > kMaxJsonDepth) fail("nesting too deep");
    skip_ws();
    if (pos_ >= s_.size()) fail("unexpected end");
    Json v;
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.kind = Json::Kind::Object;
      if (consume('}')) return v;
      do {
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string key");
        std::string key = parse_string();
        if (!consume(':')) fail("expected ':'");
        Json value = parse_value(depth + 1);
        v.object.emplace_back(std::move(key), std::move(value));
      } while (consume(','));
      if (!consume('}')) fail("expected ',' or '}'");
    } else if (c == '[') {
      ++pos_;
      v.kind = Json::Kind::Array;
      if (consume(']')) return v;
      do {
        v.array.push_back(parse_value(depth + 1));
      } while (consume(','));
      if (!consume(']')) fail("expected ',' or ']'");
    } else if (c == '"') {
      v.kind = Json::Kind::String;
      v.string = parse_string();
    } else if (c == 't') {
      expect_literal("true");
      v.kind = Json::Kind::Bool;
      v.boolean = true;
    } else if (c == 'f') {
      expect_literal("false");
      v.kind = Json::Kind::Bool;
    } else if (c == 'n') {
      expect_literal("null");
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      parse_number(v);
    } else {
      fail("unexpected character");
    }
    return v;
  }

  void parse_number(Json& v) {
    const size_t start = pos_;
    bool negative = false;
    if (s_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') fail("invalid number");
    uint64_t magnitude = 0;
    bool overflow = false;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(s_[pos_] - '0');
      overflow |= __builtin_mul_overflow(magnitude, uint64_t{10}, &magnitude);
      overflow |= __builtin_add_overflow(magnitude, digit, &magnitude);
      ++pos_;
    }
    bool fractional = false;
    while (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E' ||
                                s_[pos_] == '+' || s_[pos_] == '-' ||
                                (s_[pos_] >= '0' && s_[pos_] <= '9'))) {
      fractional = true;
      ++pos_;
    }
    if (fractional) {  // only integers matter in a weights header; keep it opaque
      v.kind = Json::Kind::Double;
      v.string = s_.substr(start, pos_ - start);
      return;
    }
    if (overflow || magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail("integer out of range");
    }
    v.kind = Json::Kind::Int;
    v.integer = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9') value |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') value |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') value |= static_cast<unsigned>(h - 'A' + 10);
      else fail("invalid \\u escape");
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = parse_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') fail("lone surrogate");
            pos_ += 2;
            const unsigned low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("invalid surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("invalid escape");
      }
    }
  }

  const std::string& s_;
  const std::string& prefix_;
  const std::string& suffix_;
  size_t pos_ = 0;
};

}  // namespace

Json parse_json(const std::string& text, const std::string& prefix, const std::string& suffix) {
  return JsonParser(text, prefix, suffix).parse_document();
}

const Json* json_member(const Json& v, const std::string& key) {
  if (v.kind != Json::Kind::Object) return nullptr;
  for (const auto& [k, value] : v.object) {
    if (k == key) return &value;
  }
  return nullptr;
}

}  // namespace corten
