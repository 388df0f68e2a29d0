#include "cpu/regex.h"

#include <algorithm>
#include <cstring>

#include "cpu/utf8.h"

namespace corten::cpu {
namespace {

constexpr const char* kMeta = "\\^$.|?*+()[]{}";

bool is_word_byte(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// An escaped character that stands for itself: punctuation, and the control-character escapes.
bool escaped_literal(char e, char& out) {
  switch (e) {
    case 'n':
      out = '\n';
      return true;
    case 't':
      out = '\t';
      return true;
    case 'r':
      out = '\r';
      return true;
    case 'f':
      out = '\f';
      return true;
    case 'v':
      out = '\v';
      return true;
    default:
      break;
  }
  const auto u = static_cast<unsigned char>(e);
  if (u < 0x80 && !is_word_byte(u) && u > 0x20) {
    out = e;
    return true;
  }
  return false;
}

// The pattern as a plain string when it has no metacharacters (escaped punctuation allowed).
bool parse_literal(std::string_view p, std::string& out) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      char c = 0;
      if (i + 1 == p.size() || !escaped_literal(p[i + 1], c)) return false;
      out.push_back(c);
      ++i;
    } else if (std::strchr(kMeta, p[i]) != nullptr) {
      return false;
    } else {
      out.push_back(p[i]);
    }
  }
  return !out.empty();
}

// A pattern that is exactly one bracket expression: ASCII members in `ascii`, other code points
// as ranges in `wide`.
bool parse_class(std::string_view p, std::bitset<128>& ascii,
                 std::vector<std::pair<int32_t, int32_t>>& wide, bool& negated) {
  if (p.size() < 3 || p.front() != '[' || p.back() != ']') return false;
  size_t i = 1;
  const size_t end = p.size() - 1;
  negated = p[i] == '^';
  if (negated) ++i;
  if (i == end) return false;
  const auto add = [&](int32_t lo, int32_t hi) {
    for (int32_t c = lo; c <= std::min(hi, 127); ++c) ascii.set(static_cast<size_t>(c));
    if (hi >= 128) wide.emplace_back(std::max(lo, 128), hi);
  };
  // One member at i: a code point (escapes resolved), or -1 for a class escape (added here).
  const auto member = [&](size_t& at) -> int32_t {
    const char ch = p[at];
    if (ch == '\\') {
      if (at + 1 >= end) return -2;
      const char e = p[at + 1];
      at += 2;
      if (e == 'd' || e == 'w' || e == 's') {
        for (int b = 0; b < 128; ++b) {
          const bool in = e == 'd'   ? (b >= '0' && b <= '9')
                          : e == 'w' ? is_word_byte(b)
                                     : (b == ' ' || (b >= '\t' && b <= '\r'));
          if (in) ascii.set(static_cast<size_t>(b));
        }
        return -1;
      }
      char lit = 0;
      if (!escaped_literal(e, lit)) return -2;
      return static_cast<unsigned char>(lit);
    }
    if (ch == '[' || ch == ']') return -2;  // nested classes, or not a single class
    const Decoded d = decode_utf8(p.substr(0, end), at);
    if (!d.valid) return -2;
    at += d.length;
    return d.codepoint;
  };
  while (i < end) {
    const int32_t lo = member(i);
    if (lo == -2) return false;
    if (lo == -1) continue;
    if (i + 1 < end && p[i] == '-') {
      size_t at = i + 1;
      const int32_t hi = member(at);
      if (hi < 0 || hi < lo) return false;
      add(lo, hi);
      i = at;
    } else {
      add(lo, lo);
    }
  }
  return true;
}

// RE2's rewrite (\0..\9 groups, \\ a backslash) as std::regex's format ($N, $$).
std::string ecma_format(std::string_view rewrite) {
  std::string f;
  for (size_t i = 0; i < rewrite.size(); ++i) {
    const char c = rewrite[i];
    if (c == '\\' && i + 1 < rewrite.size()) {
      const char n = rewrite[++i];
      if (n >= '0' && n <= '9') {
        f.push_back('$');
        if (n == '0') {
          f.push_back('&');
        } else {
          f.push_back(n);
        }
      } else {
        f.push_back(n);
      }
    } else if (c == '$') {
      f += "$$";
    } else {
      f.push_back(c);
    }
  }
  return f;
}

// The rewrite of one match for the fast paths, which have no groups besides \0.
void expand(std::string_view rewrite, std::string_view match, std::string& out) {
  for (size_t i = 0; i < rewrite.size(); ++i) {
    if (rewrite[i] == '\\' && i + 1 < rewrite.size()) {
      const char n = rewrite[++i];
      if (n == '0') {
        out.append(match.data(), match.size());
      } else if (n < '1' || n > '9') {
        out.push_back(n);
      }
    } else {
      out.push_back(rewrite[i]);
    }
  }
}

}  // namespace

Regex::Regex(std::string_view pattern) {
  if (parse_literal(pattern, literal_)) {
    kind_ = Kind::Literal;
    return;
  }
  literal_.clear();
  if (parse_class(pattern, ascii_, wide_, negated_)) {
    kind_ = Kind::CharClass;
    return;
  }
  auto flags = std::regex::ECMAScript;
#ifdef __GLIBCXX__
  flags |= std::regex_constants::__polynomial;
#endif
  regex_ = std::make_shared<std::regex>(std::string(pattern), flags);
}

size_t Regex::class_match(std::string_view s, size_t i) const {
  const Decoded d = decode_utf8(s, i);
  bool in = false;
  if (d.valid && d.codepoint < 128) {
    in = ascii_.test(static_cast<size_t>(d.codepoint));
  } else if (d.valid) {
    for (const auto& [lo, hi] : wide_) in |= d.codepoint >= lo && d.codepoint <= hi;
  }
  return in != negated_ ? d.length : 0;
}

void Regex::replace(const Strings& x, std::string_view rewrite, bool global,
                    StringBuilder& out) const {
  std::string buf;
  const std::string format = kind_ == Kind::General ? ecma_format(rewrite) : std::string();
  for (std::string_view s : x) {
    buf.clear();
    if (kind_ == Kind::General) {
      const auto flags =
          global ? std::regex_constants::format_default : std::regex_constants::format_first_only;
      std::regex_replace(std::back_inserter(buf), s.begin(), s.end(), *regex_, format, flags);
    } else {
      bool replaced = false;
      size_t i = 0;
      while (i < s.size()) {
        size_t at = std::string_view::npos, len = 0;
        if (!(replaced && !global)) {
          if (kind_ == Kind::Literal) {
            at = s.find(literal_, i);
            len = literal_.size();
          } else {
            for (size_t k = i; k < s.size(); k += decode_utf8(s, k).length) {
              if ((len = class_match(s, k)) > 0) {
                at = k;
                break;
              }
            }
          }
        }
        if (at == std::string_view::npos) {
          buf.append(s.data() + i, s.size() - i);
          break;
        }
        buf.append(s.data() + i, at - i);
        expand(rewrite, s.substr(at, len), buf);
        replaced = true;
        i = at + len;
      }
    }
    out.append(buf);
  }
}

void Regex::full_match(const Strings& x, bool* out) const {
  for (size_t i = 0; i < x.size(); ++i) {
    const std::string_view s = x[i];
    switch (kind_) {
      case Kind::Literal:
        out[i] = s == literal_;
        break;
      case Kind::CharClass:
        out[i] = !s.empty() && class_match(s, 0) == s.size();
        break;
      case Kind::General:
        out[i] = std::regex_match(s.begin(), s.end(), *regex_);
        break;
    }
  }
}

}  // namespace corten::cpu
