#pragma once
// Kernels of the string ops. Strings live on the host (Note [String tensors]), so these kernels
// are called by their entry points directly rather than through the device kernel table. Each
// takes the input elements as string views in C order and appends its results to a
// StringBuilder or writes a plain array; like every kernel, they trust their arguments.

#include <corten/dtype.h>
#include <corten/strings.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corten::cpu {

using Strings = std::vector<std::string_view>;

enum class CaseMap : uint8_t { LowerAscii, UpperAscii, LowerUtf8, UpperUtf8 };
void change_case(const Strings& x, CaseMap map, StringBuilder& out);
void strip(const Strings& x, StringBuilder& out);

/// out = (a == b) != negate over `shape` (C order), a and b read through broadcast strides.
void string_equal(const StringRef* a, const Shape& a_strides, const StringRef* b,
                  const Shape& b_strides, const Shape& shape, bool negate, bool* out);
/// The length of the longest of `rows` rows.
int64_t longest_row(const int64_t* row_splits, int64_t rows);
/// The first position where row_splits (n entries) decreases, or -1.
int64_t first_decreasing(const int64_t* row_splits, int64_t n);

/// Splits each string on `sep` (every occurrence; empty pieces kept) or, when `sep` is empty,
/// on runs of ASCII whitespace (no empty pieces), at most `maxsplit` times (< 0: no limit).
/// row_splits has x.size() + 1 entries.
void split(const Strings& x, std::string_view sep, int64_t maxsplit, StringBuilder& values,
           int64_t* row_splits);

/// The n-grams of every row of (values, row_splits), for each width in order, joined by
/// `separator`; out_splits has rows + 1 entries.
void ngrams(const Strings& values, const int64_t* row_splits, int64_t rows,
            const std::vector<int64_t>& widths, std::string_view separator, StringBuilder& out,
            int64_t* out_splits);

/// Joins along the innermost dimension: `groups` outputs of `width` inputs each.
void reduce_join(const Strings& x, int64_t groups, int64_t width, std::string_view separator,
                 StringBuilder& out);

/// Lengths in bytes, or in UTF-8 characters (a byte that does not start a well-formed
/// sequence counts as one character, as TensorFlow's replacement does).
void length(const Strings& x, bool utf8_chars, int32_t* out);

/// UTF-8 decoding with replacement of ill-formed sequences by U+FFFD: the code points of each
/// string (row_splits has x.size() + 1 entries). With `chars`, each character's bytes as a
/// string instead (unicode_split).
void unicode_decode(const Strings& x, std::vector<int32_t>& codepoints, int64_t* row_splits);
void unicode_split(const Strings& x, StringBuilder& chars, int64_t* row_splits);
/// Encodes code points (invalid ones become U+FFFD) as one UTF-8 string per row.
void unicode_encode(const int32_t* codepoints, const int64_t* row_splits, int64_t rows,
                    StringBuilder& out);

/// Decimal text of numbers: integers as %lld, bools as true/false, floats with `precision`
/// digits after the point (< 0: 6), in scientific notation when `scientific`, or shortest.
void as_string(DType dtype, const void* x, int64_t n, int precision, bool scientific, bool shortest,
               int width, char fill, StringBuilder& out);

/// Parses numbers (TensorFlow's StringToNumber); returns the position of the first string that
/// is not a number of `dtype` (or out of its range), -1 when all parse.
int64_t to_number(const Strings& x, DType dtype, void* out);

/// Positions of x's strings in `keys` (sorted ascending by bytes, no repeats), or -1.
void sorted_lookup_strings(const Strings& x, const Strings& keys, int64_t* out);

/// FarmHash Fingerprint64 (or keyed SipHash-2-4) of each string modulo num_buckets
/// (Note [TensorFlow-compatible hashing]).
void hash_bucket_strings(const Strings& x, uint64_t num_buckets, bool strong, uint64_t k0,
                         uint64_t k1, int64_t* out);

/// Rows of (values, row_splits) as a dense (rows, width) array of `itemsize` elements: each row
/// truncated to width, padded with *fill.
void ragged_to_dense(size_t itemsize, const void* values, const int64_t* row_splits, int64_t rows,
                     int64_t width, const void* fill, void* out);

/// Distinct tokens in order of first appearance, each one's count and (rows given by
/// row_splits) the number of rows holding it.
void token_counts(const Strings& values, const int64_t* row_splits, int64_t rows,
                  StringBuilder& tokens, std::vector<int64_t>& counts,
                  std::vector<int64_t>& doc_counts);

}  // namespace corten::cpu
