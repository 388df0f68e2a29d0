#include <corten/errors.h>
#include <corten/shape.h>

#include <algorithm>

namespace corten {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d == kUnknownDim) return kUnknownDim;
    empty = empty || d == 0;
  }
  if (empty) return 0;
  for (int64_t d : shape) {
    CORTEN_CHECK_VALUE(!__builtin_mul_overflow(n, d, &n), "the shape ", shape_str(shape),
                       " has more elements than fit in int64");
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  // The strides of a zero-size tensor are never used to address memory, but they are still
  // computed, so even (2**20, 0, 2**20, 2**20, 2**20) must not overflow: it is rejected.
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    CORTEN_CHECK_VALUE(!__builtin_mul_overflow(s, std::max<int64_t>(shape[i], 1), &s),
                       "the shape ", shape_str(shape),
                       " is too large: its strides do not fit in int64");
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] == kUnknownDim ? std::string("None") : std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  CORTEN_CHECK_VALUE(axis >= -ndim && axis < ndim, op, ": axis ", axis,
                     " is out of range for a tensor of rank ", ndim, " (expected ", -ndim,
                     " <= axis < ", ndim, ")");
  return axis < 0 ? axis + ndim : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da == kUnknownDim || db == kUnknownDim) {
      out[i] = da == kUnknownDim ? db : da;
    } else {
      throw ValueError(detail::str_cat(op, ": shapes ", shape_str(a), " and ", shape_str(b),
                                       " cannot be broadcast together"));
    }
  }
  return out;
}

Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& out_shape) {
  Shape out(out_shape.size(), 0);
  const size_t lead = out_shape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    out[lead + i] = (shape[i] == 1 && out_shape[lead + i] != 1) ? 0 : strides[i];
  }
  return out;
}

}  // namespace corten
