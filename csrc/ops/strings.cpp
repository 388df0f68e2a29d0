#include "cpu/strings.h"

#include <corten/devices.h>
#include <corten/ops.h>
#include <corten/strings.h>
#include <corten/trace.h>

#include <regex>

#include "cpu/regex.h"
#include "ops/common.h"

namespace corten {
namespace {

using trace::Tensors;

// Strings have no meta shortcut for their values, but shapes still flow through the functional
// API: a symbolic input gives a symbolic output.
void check_strings(const Tensor& x, const char* op, const char* arg = "input") {
  detail::check_defined(x, op, arg);
  CORTEN_CHECK_TYPE(x.dtype() == DType::String, op, ": ", arg, " must be a string tensor; got ",
                    dtype_name(x.dtype()), " of shape ", show(x.shape()));
}

void check_vector(const Tensor& x, const char* op) {
  CORTEN_CHECK_VALUE(x.ndim() <= 1, op, ": input must be a scalar or a 1-D tensor; got shape ",
                     show(x.shape()), " (reshape it to 1-D first)");
}

void check_row_splits(const Tensor& row_splits, int64_t num_values, const char* op) {
  detail::check_defined(row_splits, op, "row_splits");
  CORTEN_CHECK_TYPE(row_splits.dtype() == DType::Int64, op, ": row_splits must be int64; got ",
                    dtype_name(row_splits.dtype()));
  CORTEN_CHECK_VALUE(row_splits.ndim() == 1 && row_splits.dim(0) >= 1, op,
                     ": row_splits must be 1-D with at least one entry; got shape ",
                     show(row_splits.shape()));
  if (row_splits.is_meta()) return;
  const Tensor s = row_splits.contiguous();
  const auto* p = s.data<int64_t>();
  const int64_t n = s.numel();
  CORTEN_CHECK_VALUE(p[0] == 0 && p[n - 1] == num_values, op,
                     ": row_splits must start at 0 and end at the number of values (", num_values,
                     "); got ", p[0], " and ", p[n - 1]);
  const int64_t bad = cpu::first_decreasing(p, n);
  CORTEN_CHECK_VALUE(bad < 0, op, ": row_splits must be non-decreasing; got ",
                     p[bad < 0 ? 0 : bad - 1], " then ", p[bad < 0 ? 0 : bad], " at position ",
                     bad);
}

Tensor ragged_meta_values(DType dtype) {
  return Tensor::empty({kUnknownDim}, dtype, Device::Meta, "ragged");
}

// A kernel that maps each string to one string, over any shape.
template <class K>
Tensor map_strings(const Tensor& x, const char* op, K&& kernel) {
  if (x.is_meta()) return Tensor::empty(x.shape(), DType::String, Device::Meta, op);
  const auto in = string_values(x);
  StringBuilder out(in.size());
  kernel(in, out);
  return out.finish(x.shape(), op);
}

Tensor splits_tensor(const std::vector<int64_t>& splits) {
  Tensor t = Tensor::empty({static_cast<int64_t>(splits.size())}, DType::Int64);
  std::copy(splits.begin(), splits.end(), t.data<int64_t>());
  return t;
}

}  // namespace

Tensor string_constant(const std::vector<std::string>& values, const Shape& shape) {
  StringBuilder b(values.size());
  for (const std::string& v : values) b.append(v);
  return b.finish(shape, "constant");
}

namespace {
struct CaseReplay {
  Tensor operator()(const Tensors& in, bool upper, bool utf8) const {
    return upper ? string_upper(in[0], utf8) : string_lower(in[0], utf8);
  }
};

Tensor change_case(const Tensor& x, bool upper, bool utf8) {
  trace::OpRecord rec;
  const char* op = upper ? "upper" : "lower";
  check_strings(x, op);
  const cpu::CaseMap map = upper ? (utf8 ? cpu::CaseMap::UpperUtf8 : cpu::CaseMap::UpperAscii)
                                 : (utf8 ? cpu::CaseMap::LowerUtf8 : cpu::CaseMap::LowerAscii);
  Tensor out =
      map_strings(x, op, [&](const auto& in, StringBuilder& b) { cpu::change_case(in, map, b); });
  rec.record(op, {x}, {out}, CaseReplay{}, upper, utf8);
  return out;
}
}  // namespace

Tensor string_lower(const Tensor& x, bool utf8) { return change_case(x, false, utf8); }
Tensor string_upper(const Tensor& x, bool utf8) { return change_case(x, true, utf8); }

Tensor string_strip(const Tensor& x) {
  trace::OpRecord rec;
  check_strings(x, "strip");
  Tensor out = map_strings(x, "strip", [](const auto& in, StringBuilder& b) { cpu::strip(in, b); });
  rec.record("strip", {x}, {out}, [](const Tensors& in) { return string_strip(in[0]); });
  return out;
}

namespace {
cpu::Regex compile_regex(const std::string& pattern, const char* op) {
  try {
    return cpu::Regex(pattern);
  } catch (const std::regex_error& e) {
    throw ValueError(
        detail::str_cat(op, ": invalid regular expression '", pattern, "': ", e.what()));
  }
}
}  // namespace

Tensor regex_replace(const Tensor& x, const std::string& pattern, const std::string& rewrite,
                     bool replace_global) {
  trace::OpRecord rec;
  check_strings(x, "regex_replace");
  const cpu::Regex re = compile_regex(pattern, "regex_replace");
  Tensor out = map_strings(x, "regex_replace", [&](const auto& in, StringBuilder& b) {
    re.replace(in, rewrite, replace_global, b);
  });
  rec.record(
      "regex_replace", {x}, {out},
      [](const Tensors& in, const auto& p, const auto& r, const auto& g) {
        return regex_replace(in[0], p, r, g);
      },
      pattern, rewrite, replace_global);
  return out;
}

Tensor regex_full_match(const Tensor& x, const std::string& pattern) {
  trace::OpRecord rec;
  check_strings(x, "regex_full_match");
  const cpu::Regex re = compile_regex(pattern, "regex_full_match");
  Tensor out = Tensor::empty(x.shape(), DType::Bool, x.device(), "regex_full_match");
  if (x.is_meta()) return out;
  re.full_match(string_values(x), out.data<bool>());
  rec.record(
      "regex_full_match", {x}, {out},
      [](const Tensors& in, const auto& p) { return regex_full_match(in[0], p); }, pattern);
  return out;
}

Tensor string_equal(const Tensor& a, const Tensor& b, bool negate) {
  trace::OpRecord rec;
  const char* op = negate ? "not_equal" : "equal";
  check_strings(a, op, "x");
  check_strings(b, op, "y");
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape, DType::Bool,
                             a.is_meta() || b.is_meta() ? Device::Meta : Device::CPU, op);
  if (out.is_meta()) return out;
  cpu::string_equal(a.data<StringRef>(), broadcast_strides(a.shape(), a.strides(), shape),
                    b.data<StringRef>(), broadcast_strides(b.shape(), b.strides(), shape), shape,
                    negate, out.data<bool>());
  // Its own node name: the numeric equal's replay takes other attributes (Note [Saved plans]).
  rec.record(
      negate ? "string_not_equal" : "string_equal", {a, b}, {out},
      [](const Tensors& in, const auto& neg) { return string_equal(in[0], in[1], neg); }, negate);
  return out;
}

RaggedPair string_split(const Tensor& x, const std::string& sep, int64_t maxsplit) {
  trace::OpRecord rec;
  check_strings(x, "split");
  check_vector(x, "split");
  if (x.is_meta()) {
    return {
        ragged_meta_values(DType::String),
        Tensor::empty({x.ndim() == 0 ? 2 : (x.dim(0) == kUnknownDim ? kUnknownDim : x.dim(0) + 1)},
                      DType::Int64, Device::Meta, "split")};
  }
  const auto in = string_values(x);
  StringBuilder values(in.size() * 8);
  Tensor splits = Tensor::empty({static_cast<int64_t>(in.size()) + 1}, DType::Int64);
  cpu::split(in, sep, maxsplit, values, splits.data<int64_t>());
  Tensor v = values.finish({static_cast<int64_t>(values.size())}, "split");
  rec.record(
      "split", {x}, {v, splits},
      [](const Tensors& in, const auto& s, const auto& m) {
        const auto [a, b] = string_split(in[0], s, m);
        return Tensors{a, b};
      },
      sep, maxsplit);
  return {v, splits};
}

RaggedPair string_ngrams(const Tensor& values, const Tensor& row_splits,
                         const std::vector<int64_t>& widths, const std::string& separator) {
  trace::OpRecord rec;
  check_strings(values, "ngrams", "data");
  CORTEN_CHECK_VALUE(values.ndim() == 1, "ngrams: the ragged values must be 1-D; got shape ",
                     show(values.shape()));
  CORTEN_CHECK_VALUE(!widths.empty(), "ngrams: ngram_width must name at least one width");
  for (const int64_t w : widths) {
    CORTEN_CHECK_VALUE(w >= 1, "ngrams: every ngram_width must be >= 1; got ", w);
  }
  check_row_splits(row_splits, values.dim(0), "ngrams");
  if (values.is_meta() || row_splits.is_meta()) {
    return {ragged_meta_values(DType::String),
            Tensor::empty(row_splits.shape(), DType::Int64, Device::Meta, "ngrams")};
  }
  const Tensor rs = row_splits.contiguous();
  const int64_t rows = rs.numel() - 1;
  const auto in = string_values(values);
  StringBuilder out(in.size() * widths.size());
  Tensor splits = Tensor::empty({rows + 1}, DType::Int64);
  cpu::ngrams(in, rs.data<int64_t>(), rows, widths, separator, out, splits.data<int64_t>());
  Tensor v = out.finish({static_cast<int64_t>(out.size())}, "ngrams");
  rec.record(
      "ngrams", {values, row_splits}, {v, splits},
      [](const Tensors& in, const auto& w, const auto& s) {
        const auto [a, b] = string_ngrams(in[0], in[1], w, s);
        return Tensors{a, b};
      },
      widths, separator);
  return {v, splits};
}

Tensor string_reduce_join(const Tensor& x, const std::string& separator) {
  trace::OpRecord rec;
  check_strings(x, "reduce_join");
  CORTEN_CHECK_VALUE(x.ndim() >= 1, "reduce_join: input must have rank >= 1; got shape ",
                     show(x.shape()));
  Shape shape(x.shape().begin(), x.shape().end() - 1);
  if (x.is_meta()) return Tensor::empty(shape, DType::String, Device::Meta, "reduce_join");
  const auto in = string_values(x);
  const int64_t width = x.dim(x.ndim() - 1);
  const int64_t groups = shape_numel(shape);
  StringBuilder out(static_cast<size_t>(groups));
  cpu::reduce_join(in, groups, width, separator, out);
  Tensor o = out.finish(shape, "reduce_join");
  rec.record(
      "reduce_join", {x}, {o},
      [](const Tensors& in, const auto& s) { return string_reduce_join(in[0], s); }, separator);
  return o;
}

Tensor string_length(const Tensor& x, bool utf8_chars) {
  trace::OpRecord rec;
  check_strings(x, "length");
  Tensor out = Tensor::empty(x.shape(), DType::Int32, x.device(), "length");
  if (x.is_meta()) return out;
  cpu::length(string_values(x), utf8_chars, out.data<int32_t>());
  rec.record(
      "length", {x}, {out},
      [](const Tensors& in, const auto& u) { return string_length(in[0], u); }, utf8_chars);
  return out;
}

RaggedPair unicode_decode(const Tensor& x) {
  trace::OpRecord rec;
  check_strings(x, "unicode_decode");
  check_vector(x, "unicode_decode");
  CORTEN_CHECK_VALUE(!x.is_meta(), "unicode_decode: needs concrete strings");
  const auto in = string_values(x);
  std::vector<int32_t> cps;
  Tensor splits = Tensor::empty({static_cast<int64_t>(in.size()) + 1}, DType::Int64);
  cpu::unicode_decode(in, cps, splits.data<int64_t>());
  Tensor v = Tensor::empty({static_cast<int64_t>(cps.size())}, DType::Int32);
  std::copy(cps.begin(), cps.end(), v.data<int32_t>());
  rec.record("unicode_decode", {x}, {v, splits}, [](const Tensors& in) {
    const auto [a, b] = unicode_decode(in[0]);
    return Tensors{a, b};
  });
  return {v, splits};
}

RaggedPair unicode_split(const Tensor& x) {
  trace::OpRecord rec;
  check_strings(x, "unicode_split");
  check_vector(x, "unicode_split");
  CORTEN_CHECK_VALUE(!x.is_meta(), "unicode_split: needs concrete strings");
  const auto in = string_values(x);
  StringBuilder chars(in.size() * 16);
  Tensor splits = Tensor::empty({static_cast<int64_t>(in.size()) + 1}, DType::Int64);
  cpu::unicode_split(in, chars, splits.data<int64_t>());
  Tensor v = chars.finish({static_cast<int64_t>(chars.size())}, "unicode_split");
  rec.record("unicode_split", {x}, {v, splits}, [](const Tensors& in) {
    const auto [a, b] = unicode_split(in[0]);
    return Tensors{a, b};
  });
  return {v, splits};
}

Tensor unicode_encode(const Tensor& codepoints, const Tensor& row_splits) {
  trace::OpRecord rec;
  detail::check_defined(codepoints, "unicode_encode", "input");
  CORTEN_CHECK_TYPE(codepoints.dtype() == DType::Int32,
                    "unicode_encode: code points must be int32; got ",
                    dtype_name(codepoints.dtype()));
  CORTEN_CHECK_VALUE(codepoints.ndim() == 1,
                     "unicode_encode: the ragged values must be 1-D; got shape ",
                     show(codepoints.shape()));
  CORTEN_CHECK_VALUE(!codepoints.is_meta(), "unicode_encode: needs concrete code points");
  check_row_splits(row_splits, codepoints.dim(0), "unicode_encode");
  const Tensor rs = row_splits.contiguous(), cp = codepoints.contiguous();
  const int64_t rows = rs.numel() - 1;
  StringBuilder out(static_cast<size_t>(rows));
  cpu::unicode_encode(cp.data<int32_t>(), rs.data<int64_t>(), rows, out);
  Tensor o = out.finish({rows}, "unicode_encode");
  rec.record("unicode_encode", {codepoints, row_splits}, {o},
             [](const Tensors& in) { return unicode_encode(in[0], in[1]); });
  return o;
}

Tensor as_string(const Tensor& x, int precision, bool scientific, bool shortest, int width,
                 const std::string& fill) {
  trace::OpRecord rec;
  detail::check_defined(x, "as_string", "input");
  CORTEN_CHECK_TYPE(x.dtype() != DType::String, "as_string: input is already a string tensor");
  CORTEN_CHECK_VALUE(fill.size() <= 1, "as_string: fill must be at most one character; got '", fill,
                     "'");
  CORTEN_CHECK_VALUE(!(scientific && shortest),
                     "as_string: cannot select both scientific and shortest notation");
  CORTEN_CHECK_VALUE(precision < 0 || is_floating_point(x.dtype()),
                     "as_string: precision applies to floating-point input only; got ",
                     dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(width <= 1024, "as_string: width must be <= 1024; got ", width);
  if (x.is_meta()) return Tensor::empty(x.shape(), DType::String, Device::Meta, "as_string");
  const Tensor host = readable_on_host(x, "as_string").contiguous();
  StringBuilder out(static_cast<size_t>(x.numel()));
  cpu::as_string(x.dtype(), host.raw_data(), x.numel(), precision, scientific, shortest, width,
                 fill.empty() ? ' ' : fill[0], out);
  Tensor o = out.finish(x.shape(), "as_string");
  rec.record(
      "as_string", {x}, {o},
      [](const Tensors& in, const auto& p, const auto& sc, const auto& sh, const auto& w,
         const auto& f) { return as_string(in[0], p, sc, sh, w, f); },
      precision, scientific, shortest, width, fill);
  return o;
}

Tensor string_to_number(const Tensor& x, DType out_type) {
  trace::OpRecord rec;
  check_strings(x, "string_to_number");
  CORTEN_CHECK_TYPE(is_floating(out_type) || is_integral(out_type),
                    "string_to_number: out_type must be float32, float64, int32 or int64; got ",
                    dtype_name(out_type));
  Tensor out = Tensor::empty(x.shape(), out_type, x.device(), "string_to_number");
  if (x.is_meta()) return out;
  const auto in = string_values(x);
  const int64_t bad = cpu::to_number(in, out_type, out.raw_data());
  if (bad >= 0) {
    throw ValueError(detail::str_cat("string_to_number: could not convert the string '",
                                     std::string(in[static_cast<size_t>(bad)].substr(0, 64)),
                                     "' (element ", bad, " of shape ", show(x.shape()), ") to ",
                                     dtype_name(out_type)));
  }
  rec.record(
      "string_to_number", {x}, {out},
      [](const Tensors& in, const auto& t) { return string_to_number(in[0], t); }, out_type);
  return out;
}

Tensor ragged_to_dense(const Tensor& values, const Tensor& row_splits, int64_t width,
                       const Tensor& default_value) {
  trace::OpRecord rec;
  const char* op = "ragged_to_dense";
  detail::check_defined(values, op, "values");
  detail::check_defined(default_value, op, "default_value");
  CORTEN_CHECK_VALUE(values.ndim() == 1, op, ": values must be 1-D; got shape ",
                     show(values.shape()));
  CORTEN_CHECK_TYPE(default_value.dtype() == values.dtype(), op,
                    ": default_value must have the values' dtype ", dtype_name(values.dtype()),
                    "; got ", dtype_name(default_value.dtype()));
  CORTEN_CHECK_VALUE(default_value.ndim() == 0, op, ": default_value must be a scalar; got shape ",
                     show(default_value.shape()));
  CORTEN_CHECK_VALUE(width >= -1, op, ": width must be >= 0, or -1 for the longest row; got ",
                     width);
  if (values.is_meta() || row_splits.is_meta()) {
    detail::check_defined(row_splits, op, "row_splits");
    const int64_t n = row_splits.ndim() == 1 ? row_splits.dim(0) : kUnknownDim;
    return Tensor::empty({n == kUnknownDim ? kUnknownDim : n - 1, width < 0 ? kUnknownDim : width},
                         values.dtype(), Device::Meta, op);
  }
  check_row_splits(row_splits, values.dim(0), op);
  const Tensor rs = readable_on_host(row_splits, op).contiguous();
  const Tensor v = readable_on_host(values, op).contiguous();
  const Tensor fill = readable_on_host(default_value, op).contiguous();
  const int64_t rows = rs.numel() - 1;
  const auto* sp = rs.data<int64_t>();
  const int64_t w = width < 0 ? cpu::longest_row(sp, rows) : width;
  Tensor out = Tensor::empty({rows, w}, values.dtype(), Device::CPU, op);
  cpu::ragged_to_dense(itemsize(values.dtype()), v.raw_data(), sp, rows, w, fill.raw_data(),
                       out.raw_data());
  share_string_bytes(out, v);
  share_string_bytes(out, fill);
  rec.record(
      op, {values, row_splits, default_value}, {out},
      [](const Tensors& in, const auto& w) { return ragged_to_dense(in[0], in[1], w, in[2]); },
      width);
  return out;
}

std::vector<Tensor> token_counts(const Tensor& values, const Tensor& row_splits) {
  check_strings(values, "token_counts", "values");
  CORTEN_CHECK_VALUE(values.ndim() == 1, "token_counts: values must be 1-D; got shape ",
                     show(values.shape()));
  CORTEN_CHECK_VALUE(!values.is_meta(), "token_counts: needs concrete tokens");
  check_row_splits(row_splits, values.dim(0), "token_counts");
  const Tensor rs = row_splits.contiguous();
  StringBuilder tokens;
  std::vector<int64_t> counts, docs;
  cpu::token_counts(string_values(values), rs.data<int64_t>(), rs.numel() - 1, tokens, counts,
                    docs);
  return {tokens.finish({static_cast<int64_t>(tokens.size())}, "token_counts"),
          splits_tensor(counts), splits_tensor(docs)};
}

}  // namespace corten
