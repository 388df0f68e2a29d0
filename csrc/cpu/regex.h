#pragma once
// Regular-expression replacement and matching for the string ops (host only).
//
// Note [String regexes]
// Patterns follow RE2's syntax as far as the common subset goes (TensorFlow's regex ops use
// RE2): literals, ., [classes] with ranges and negation, \d \w \s and their negations, anchors,
// groups, alternation and the greedy and lazy quantifiers. Two shapes that text pipelines use
// on every string get direct kernels: a pattern without metacharacters (find and replace) and
// a single character class such as Keras's punctuation class (a table lookup per character;
// members and input are UTF-8 characters, as in RE2). Everything else runs on std::regex in its
// polynomial (breadth-first) mode where the library offers it, so a long input cannot exhaust
// the stack through backtracking; that engine matches bytes, so there `.` and negated classes
// see a multi-byte character as several bytes. Rewrites use RE2's \0..\9 for groups.

#include <bitset>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cpu/strings.h"

namespace corten::cpu {

class Regex {
 public:
  /// Compiles `pattern`; throws std::regex_error for a pattern it cannot compile.
  explicit Regex(std::string_view pattern);
  /// Replaces the first or every match in each string with `rewrite` (\N names group N).
  void replace(const Strings& x, std::string_view rewrite, bool global, StringBuilder& out) const;
  /// Whether each whole string matches.
  void full_match(const Strings& x, bool* out) const;

 private:
  enum class Kind { Literal, CharClass, General } kind_ = Kind::General;
  std::string literal_;
  std::bitset<128> ascii_;                         // CharClass: the ASCII members
  std::vector<std::pair<int32_t, int32_t>> wide_;  // CharClass: ranges of other code points
  bool negated_ = false;                           // CharClass: [^...]
  std::shared_ptr<std::regex> regex_;
  size_t class_match(std::string_view s, size_t i) const;  // length of a class match at i, or 0
};

}  // namespace corten::cpu
