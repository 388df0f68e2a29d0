#include <corten/ops.h>
#include <corten/strings.h>

#include "bindings/bindings.h"

namespace corten::py_bind {
namespace {

Tensor strings_arg(py::handle x) { return to_tensor(x, DType::String); }

py::tuple ragged(const RaggedPair& p) { return py::make_tuple(p.first, p.second); }

}  // namespace

void bind_strings(py::module_& m) {
  // numpy has no variable-length byte-string dtype: like TensorFlow, string tensors become
  // object arrays of bytes.
  m.def("string_to_numpy", [](const Tensor& t) {
    CORTEN_CHECK_TYPE(t.dtype() == DType::String, "string_to_numpy: expected a string tensor; got ",
                      dtype_name(t.dtype()));
    CORTEN_CHECK_VALUE(!t.is_meta(), "a meta tensor of shape ", show(t.shape()),
                       " has no data to convert to numpy");
    const auto values = string_values(t);
    py::list items(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      items[i] = py::bytes(values[i].data(), values[i].size());
    }
    py::array out = py::module_::import("numpy").attr("empty")(py::tuple(py::cast(t.shape())),
                                                               py::arg("dtype") = "O");
    if (!values.empty())
      out.attr("reshape")(-1).attr("__setitem__")(py::slice(0, values.size(), 1), items);
    return out;
  });
  m.def(
      "string_lower", [](py::handle x, bool utf8) { return string_lower(strings_arg(x), utf8); },
      py::arg("input"), py::arg("utf8") = false);
  m.def(
      "string_upper", [](py::handle x, bool utf8) { return string_upper(strings_arg(x), utf8); },
      py::arg("input"), py::arg("utf8") = false);
  m.def(
      "string_strip", [](py::handle x) { return string_strip(strings_arg(x)); }, py::arg("input"));
  m.def(
      "regex_replace",
      [](py::handle x, const std::string& pattern, const std::string& rewrite, bool global) {
        return regex_replace(strings_arg(x), pattern, rewrite, global);
      },
      py::arg("input"), py::arg("pattern"), py::arg("rewrite"), py::arg("replace_global") = true);
  m.def(
      "regex_full_match",
      [](py::handle x, const std::string& pattern) {
        return regex_full_match(strings_arg(x), pattern);
      },
      py::arg("input"), py::arg("pattern"));
  m.def(
      "string_split",
      [](py::handle x, const std::string& sep, int64_t maxsplit) {
        return ragged(string_split(strings_arg(x), sep, maxsplit));
      },
      py::arg("input"), py::arg("sep") = "", py::arg("maxsplit") = -1);
  m.def(
      "string_ngrams",
      [](py::handle values, py::handle row_splits, const std::vector<int64_t>& widths,
         const std::string& separator) {
        return ragged(string_ngrams(strings_arg(values), to_tensor(row_splits, DType::Int64),
                                    widths, separator));
      },
      py::arg("values"), py::arg("row_splits"), py::arg("widths"), py::arg("separator") = " ");
  m.def(
      "string_reduce_join",
      [](py::handle x, const std::string& separator) {
        return string_reduce_join(strings_arg(x), separator);
      },
      py::arg("input"), py::arg("separator") = "");
  m.def(
      "string_length", [](py::handle x, bool utf8) { return string_length(strings_arg(x), utf8); },
      py::arg("input"), py::arg("utf8_chars") = false);
  m.def(
      "unicode_decode", [](py::handle x) { return ragged(unicode_decode(strings_arg(x))); },
      py::arg("input"));
  m.def(
      "unicode_split", [](py::handle x) { return ragged(unicode_split(strings_arg(x))); },
      py::arg("input"));
  m.def(
      "unicode_encode",
      [](py::handle cp, py::handle splits) {
        return unicode_encode(to_tensor(cp, DType::Int32), to_tensor(splits, DType::Int64));
      },
      py::arg("codepoints"), py::arg("row_splits"));
  m.def(
      "as_string",
      [](py::handle x, int precision, bool scientific, bool shortest, int width,
         const std::string& fill) {
        return as_string(to_tensor(x), precision, scientific, shortest, width, fill);
      },
      py::arg("input"), py::arg("precision") = -1, py::arg("scientific") = false,
      py::arg("shortest") = false, py::arg("width") = -1, py::arg("fill") = "");
  m.def(
      "string_to_number",
      [](py::handle x, py::handle out_type) {
        return string_to_number(strings_arg(x), to_dtype(out_type));
      },
      py::arg("input"), py::arg("out_type") = "float32");
  m.def(
      "ragged_to_dense",
      [](const Tensor& values, py::handle row_splits, int64_t width, py::handle default_value) {
        return ragged_to_dense(values, to_tensor(row_splits, DType::Int64), width,
                               to_tensor(default_value, values.dtype()));
      },
      py::arg("values"), py::arg("row_splits"), py::arg("width"), py::arg("default_value"));
  m.def(
      "token_counts",
      [](py::handle values, py::handle row_splits) {
        return token_counts(strings_arg(values), to_tensor(row_splits, DType::Int64));
      },
      py::arg("values"), py::arg("row_splits"));
}

}  // namespace corten::py_bind
