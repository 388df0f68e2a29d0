#pragma once
// A minimal JSON reader for the files corten reads (weights headers, saved plans): every
// depth, number and escape is checked, and errors are ValueErrors with the caller's context.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace corten {

struct Json {
  enum class Kind { Null, Bool, Int, Double, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  int64_t integer = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;
};

/// Parses `text`; a malformed document throws ValueError(prefix + what and where + suffix).
Json parse_json(const std::string& text, const std::string& prefix, const std::string& suffix);
/// The member `key` of an object, or null when absent (or `v` is not an object).
const Json* json_member(const Json& v, const std::string& key);

}  // namespace corten
