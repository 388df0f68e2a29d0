#pragma once
/// String ops (tf.strings). Inputs and outputs are CPU string tensors (Note [String tensors]);
/// none is differentiable. Ragged results come as (values, row_splits): values 1-D, row_splits
/// int64 with one more entry than there are rows, as tf.RaggedTensor's.

#include <corten/tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace corten {

using RaggedPair = std::pair<Tensor, Tensor>;

/// Builds a string tensor of `shape` from byte strings in C order.
Tensor string_constant(const std::vector<std::string>& values, const Shape& shape);

/// tf.strings.lower / upper: ASCII letters, or with `utf8` the simple case mappings of Latin,
/// Greek and Cyrillic letters.
Tensor string_lower(const Tensor& x, bool utf8 = false);
Tensor string_upper(const Tensor& x, bool utf8 = false);
/// tf.strings.strip: leading and trailing ASCII whitespace removed.
Tensor string_strip(const Tensor& x);
/// tf.strings.regex_replace and regex_full_match (Note [String regexes]).
Tensor regex_replace(const Tensor& x, const std::string& pattern, const std::string& rewrite,
                     bool replace_global = true);
Tensor regex_full_match(const Tensor& x, const std::string& pattern);
/// Elementwise (broadcasting) string equality; the string path of equal and not_equal.
Tensor string_equal(const Tensor& a, const Tensor& b, bool negate = false);
/// tf.strings.split of a 0-D or 1-D tensor: on `sep`, or on whitespace runs when `sep` is
/// empty; at most `maxsplit` splits per string (< 0: no limit).
RaggedPair string_split(const Tensor& x, const std::string& sep, int64_t maxsplit = -1);
/// tf.strings.ngrams of ragged (values, row_splits) rows, the widths in order.
RaggedPair string_ngrams(const Tensor& values, const Tensor& row_splits,
                         const std::vector<int64_t>& widths, const std::string& separator);
/// tf.strings.reduce_join over the last axis.
Tensor string_reduce_join(const Tensor& x, const std::string& separator);
/// tf.strings.length in "BYTE" or "UTF8_CHAR" units (int32).
Tensor string_length(const Tensor& x, bool utf8_chars = false);
/// tf.strings.unicode_decode / unicode_split of a 0-D or 1-D tensor ("UTF-8", errors replaced
/// by U+FFFD), and unicode_encode of ragged int32 code points.
RaggedPair unicode_decode(const Tensor& x);
RaggedPair unicode_split(const Tensor& x);
Tensor unicode_encode(const Tensor& codepoints, const Tensor& row_splits);
/// tf.strings.as_string of a numeric or bool tensor.
Tensor as_string(const Tensor& x, int precision = -1, bool scientific = false,
                 bool shortest = false, int width = -1, const std::string& fill = "");
/// tf.strings.to_number: ValueError naming the first string that is not a number.
Tensor string_to_number(const Tensor& x, DType out_type = DType::Float32);
/// Ragged rows (values, row_splits) as a dense (rows, width) tensor, each row truncated to
/// `width` (< 0: the longest row) and padded with the scalar `default_value` (values' dtype).
/// Host only; not differentiable.
Tensor ragged_to_dense(const Tensor& values, const Tensor& row_splits, int64_t width,
                       const Tensor& default_value);
/// Distinct tokens of ragged rows (first-appearance order), their counts, and the number of
/// rows that hold each (int64): the vocabulary statistics of the lookup layers' adapt.
std::vector<Tensor> token_counts(const Tensor& values, const Tensor& row_splits);

}  // namespace corten
