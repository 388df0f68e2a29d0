// Shape ops. Views: indexing, reshape, transpose, expand_dims, squeeze, broadcast_to, split,
// unstack, identity. Copies: concat, stack, tile, gather, pad.
#include <corten/ops.h>
#include <corten/strings.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"
#include "ops/op_attrs.h"

namespace corten {

namespace {

// The replays of a saved plan's nodes (Note [Saved plans]).
struct IndexReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const std::vector<IndexItem>& items) const {
    return index(in[0], items);
  }
};
struct BroadcastToReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const Shape& shape) const {
    return broadcast_to(in[0], shape);
  }
};
struct SplitReplay {
  static constexpr trace::InputCount kInputs{1};
  trace::Tensors operator()(const trace::Tensors& in, const std::vector<int64_t>& sizes,
                            int64_t axis) const {
    return split(in[0], sizes, axis);
  }
};
struct SplitEvenlyReplay {
  static constexpr trace::InputCount kInputs{1};
  trace::Tensors operator()(const trace::Tensors& in, int64_t num_splits, int64_t axis) const {
    return split(in[0], num_splits, axis);
  }
};
struct UnstackReplay {
  static constexpr trace::InputCount kInputs{1};
  trace::Tensors operator()(const trace::Tensors& in, int64_t axis) const {
    return unstack(in[0], axis);
  }
};
struct TileReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const std::vector<int64_t>& multiples) const {
    return tile(in[0], multiples);
  }
};
struct GatherReplay {
  static constexpr trace::InputCount kInputs{2};
  Tensor operator()(const trace::Tensors& in, int64_t axis, int64_t batch_dims) const {
    return gather(in[0], in[1], axis, batch_dims);
  }
};
struct PadReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in,
                    const std::vector<std::pair<int64_t, int64_t>>& paddings, PadMode mode,
                    double constant_value) const {
    return pad(in[0], paddings, mode, constant_value);
  }
};
struct IdentityReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in) const { return identity(in[0]); }
};
struct ShapeOfReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, DType out_type) const {
    return shape_of(in[0], out_type);
  }
};
struct SizeOfReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, DType out_type) const {
    return size_of(in[0], out_type);
  }
};
const trace::ReplayRegistration<IndexReplay, std::vector<IndexItem>> kIndexReplay("index");
const trace::ReplayRegistration<BroadcastToReplay, Shape> kBroadcastToReplay("broadcast_to");
const trace::ReplayRegistration<SplitReplay, std::vector<int64_t>, int64_t> kSplitReplay("split");
const trace::ReplayRegistration<SplitEvenlyReplay, int64_t, int64_t> kSplitEvenlyReplay(
    "split_evenly");
const trace::ReplayRegistration<UnstackReplay, int64_t> kUnstackReplay("unstack");
const trace::ReplayRegistration<TileReplay, std::vector<int64_t>> kTileReplay("tile");
const trace::ReplayRegistration<GatherReplay, int64_t, int64_t> kGatherReplay("gather");
const trace::ReplayRegistration<PadReplay, std::vector<std::pair<int64_t, int64_t>>, PadMode,
                                double>
    kPadReplay("pad");
const trace::ReplayRegistration<IdentityReplay> kIdentityReplay("identity");
const trace::ReplayRegistration<ShapeOfReplay, DType> kShapeOfReplay("shape_of");
const trace::ReplayRegistration<SizeOfReplay, DType> kSizeOfReplay("size_of");

}  // namespace
namespace {

// Strides that let `new_shape` view data laid out as (old_shape, old_strides), if any.
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides,
                                  const Shape& new_shape) {
  if (shape_numel(old_shape) == 0 || old_shape.empty()) return contiguous_strides(new_shape);
  Shape new_strides(new_shape.size(), 1);
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        new_strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

Tensor meta_like(const Shape& shape, const Tensor& x) {
  return Tensor::empty(shape, x.dtype(), Device::Meta);
}

bool dims_compatible(int64_t a, int64_t b) {
  return a == b || a == kUnknownDim || b == kUnknownDim;
}

// The known one of two compatible dimensions.
int64_t merge_dim(int64_t a, int64_t b) { return a == kUnknownDim ? b : a; }

char* byte_at(void* base, int64_t offset, DType dtype) {
  return static_cast<char*>(base) + offset * static_cast<int64_t>(itemsize(dtype));
}

// "(2, 3)" for a vector of integers (sizes, multiples) in error messages.
std::string ints_str(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << (v.size() == 1 ? ",)" : ")");
  return os.str();
}

int64_t checked_mul(int64_t a, int64_t b, const char* op) {
  int64_t r = 0;
  CORTEN_CHECK_VALUE(!__builtin_mul_overflow(a, b, &r), op, ": the output shape is too large");
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const char* op) {
  int64_t r = 0;
  CORTEN_CHECK_VALUE(!__builtin_add_overflow(a, b, &r), op, ": the output shape is too large");
  return r;
}

// Product of shape[begin:end] (all known).
int64_t prod(const Shape& shape, int64_t begin, int64_t end) {
  int64_t p = 1;
  for (int64_t i = begin; i < end; ++i) p *= shape[i];
  return p;
}

// Shared by concat and stack (whose inputs are already expanded); `op` names the caller.
Tensor concat_impl(const std::vector<Tensor>& xs, int64_t axis, const char* op) {
  CORTEN_CHECK_VALUE(!xs.empty(), op, ": expected a non-empty list of tensors");
  for (const Tensor& x : xs) detail::check_defined(x, op, "values");
  const Tensor& first = xs[0];
  const int64_t rank = first.ndim();
  bool meta = false;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    CORTEN_CHECK_TYPE(x.dtype() == first.dtype(), op,
                      ": all inputs must have the same dtype; got ", dtype_name(first.dtype()),
                      " (input 0) and ", dtype_name(x.dtype()), " (input ", i, ")");
    detail::check_same_device(first, x, op);
    CORTEN_CHECK_VALUE(x.ndim() == rank, op, ": all inputs must have the same rank; got shapes ",
                       show(first.shape()), " and ", show(x.shape()));
    meta |= x.is_meta();
  }
  CORTEN_CHECK_VALUE(rank > 0, op, ": cannot concatenate 0-d tensors (scalars); use stack");
  const int64_t a = normalize_axis(axis, rank, op);
  Shape shape = first.shape();
  shape[a] = 0;
  for (const Tensor& x : xs) {
    for (int64_t d = 0; d < rank; ++d) {
      if (d == a) continue;
      CORTEN_CHECK_VALUE(dims_compatible(shape[d], x.dim(d)), op,
                         ": input shapes must match except along axis ", a, "; got shapes ",
                         show(first.shape()), " and ", show(x.shape()));
      shape[d] = merge_dim(shape[d], x.dim(d));
    }
    if (shape[a] != kUnknownDim) {
      shape[a] = x.dim(a) == kUnknownDim ? kUnknownDim : checked_add(shape[a], x.dim(a), op);
    }
  }
  if (meta) return meta_like(shape, first);
  Tensor out = Tensor::empty(shape, first.dtype(), Device::CPU, op);
  const size_t isz = itemsize(first.dtype());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    kernels::copy(out.device())(isz, x.shape(), x.raw_data(), x.strides(),
              byte_at(out.raw_data(), at * out.strides()[a], out.dtype()), out.strides());
    share_string_bytes(out, x);
    at += x.dim(a);
  }
  return out;
}

// The pieces of x along axis a with the given (known or unknown) sizes, as views.
std::vector<Tensor> split_views(const Tensor& x, int64_t a, const std::vector<int64_t>& sizes) {
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  int64_t start = 0;
  for (int64_t size : sizes) {
    Shape shape = x.shape();
    shape[a] = size;
    if (x.is_meta()) {
      out.push_back(meta_like(shape, x));
    } else {
      out.push_back(x.as_strided(shape, x.strides(), x.offset() + start * x.strides()[a]));
      start += size;
    }
  }
  return out;
}

}  // namespace

Tensor index(const Tensor& x, const std::vector<IndexItem>& items) {
  trace::OpRecord rec;
  detail::check_defined(x, "getitem");
  int64_t consumed = 0, ellipses = 0;
  for (const IndexItem& it : items) {
    if (it.kind == IndexItem::Int || it.kind == IndexItem::Slice) ++consumed;
    if (it.kind == IndexItem::Ellipsis) ++ellipses;
  }
  CORTEN_CHECK_VALUE(ellipses <= 1, "getitem: an index can only have a single ellipsis (...)");
  CORTEN_CHECK_INDEX(consumed <= x.ndim(), "getitem: too many indices for a tensor of shape ",
                     show(x.shape()), ": ", consumed, " were given");
  Shape shape, strides;
  int64_t offset = x.offset();
  int64_t d = 0;
  for (const IndexItem& it : items) {
    switch (it.kind) {
      case IndexItem::NewAxis:
        shape.push_back(1);
        strides.push_back(0);
        break;
      case IndexItem::Ellipsis:
        for (int64_t n = x.ndim() - consumed; n > 0; --n, ++d) {
          shape.push_back(x.dim(d));
          strides.push_back(x.strides()[d]);
        }
        break;
      case IndexItem::Int: {
        const int64_t size = x.dim(d);
        int64_t i = it.index;
        if (size != kUnknownDim) {
          CORTEN_CHECK_INDEX(i >= -size && i < size, "getitem: index ", i,
                             " is out of bounds for axis ", d, " with size ", size,
                             " (shape ", show(x.shape()), ")");
          if (i < 0) i += size;
          offset += i * x.strides()[d];
        }
        ++d;
        break;
      }
      case IndexItem::Slice: {
        CORTEN_CHECK_VALUE(it.step != 0, "getitem: slice step cannot be zero");
        CORTEN_CHECK_VALUE(it.step != std::numeric_limits<int64_t>::min(),
                           "getitem: slice step is out of range");
        const int64_t size = x.dim(d);
        const int64_t step = it.step;
        if (size == kUnknownDim) {
          shape.push_back(kUnknownDim);
          strides.push_back(0);
          ++d;
          break;
        }
        auto adjust = [&](bool has, int64_t v, int64_t dflt) {
          if (!has) return dflt;
          if (v < 0) {
            v += size;
            if (v < 0) v = step < 0 ? -1 : 0;
          } else if (v >= size) {
            v = step < 0 ? size - 1 : size;
          }
          return v;
        };
        const int64_t start = adjust(it.has_start, it.start, step < 0 ? size - 1 : 0);
        const int64_t stop = adjust(it.has_stop, it.stop, step < 0 ? -1 : size);
        int64_t len = 0;
        if (step < 0) {
          if (stop < start) len = (start - stop - 1) / (-step) + 1;
        } else if (start < stop) {
          len = (stop - start - 1) / step + 1;
        }
        if (len > 0) offset += start * x.strides()[d];
        shape.push_back(len);
        strides.push_back(x.strides()[d] * step);
        ++d;
        break;
      }
    }
  }
  for (; d < x.ndim(); ++d) {
    shape.push_back(x.dim(d));
    strides.push_back(x.strides()[d]);
  }
  if (x.is_meta()) return meta_like(shape, x);
  Tensor out = x.as_strided(shape, strides, offset);
  if (autograd::is_recording()) autograd::record_index(x, items, out);
  rec.record("index", {x}, {out}, IndexReplay{}, items);
  return out;
}

Tensor index_grad(const Tensor& grad, const Shape& input_shape,
                  const std::vector<IndexItem>& items) {
  trace::OpRecord rec;
  detail::check_defined(grad, "index_grad", "grad");
  for (int64_t d : input_shape) {
    CORTEN_CHECK_VALUE(d >= 0 || (grad.is_meta() && d == kUnknownDim),
                       "index_grad: input_shape must have dimensions >= 0; got ",
                       ints_str(input_shape));
  }
  Tensor out = grad.is_meta() ? Tensor::empty(input_shape, grad.dtype(), Device::Meta, "index_grad")
                              : zeros(input_shape, grad.dtype());
  Tensor view;
  {
    autograd::PauseRecording pause;  // the view of a fresh buffer is not part of any graph
    view = index(out, items);
  }
  bool same = view.ndim() == grad.ndim();
  for (int64_t d = 0; same && d < grad.ndim(); ++d) {
    same = dims_compatible(view.dim(d), grad.dim(d));
  }
  CORTEN_CHECK_VALUE(same, "index_grad: grad has shape ", show(grad.shape()),
                     " but indexing a tensor of shape ", show(input_shape), " gives shape ",
                     show(view.shape()));
  if (grad.is_meta()) return out;
  kernels::copy(out.device())(itemsize(grad.dtype()), grad.shape(), grad.raw_data(), grad.strides(),
            view.raw_data(), view.strides());
  if (autograd::is_recording()) autograd::record_index_grad(grad, items, out);
  rec.record(
      "index_grad", {grad}, {out},
      [](const trace::Tensors& in, const auto& input_shape, const auto& items) {
        return index_grad(in[0], input_shape, items);
      },
      input_shape, items);
  return out;
}

namespace {

// The replays of the shape ops (Note [Saved plans]).
struct ReshapeReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const Shape& requested) const {
    return reshape(in[0], requested);
  }
};
struct TransposeReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const std::vector<int64_t>& perm) const {
    return transpose(in[0], perm);
  }
};
struct ExpandDimsReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, int64_t axis) const {
    return expand_dims(in[0], axis);
  }
};
struct SqueezeReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const std::vector<int64_t>& axes) const {
    return squeeze(in[0], axes);
  }
};
struct ConcatReplay {
  static constexpr trace::InputCount kInputs{1, trace::InputCount::kAny};
  Tensor operator()(const trace::Tensors& in, int64_t axis) const { return concat(in, axis); }
};
struct StackReplay {
  static constexpr trace::InputCount kInputs{1, trace::InputCount::kAny};
  Tensor operator()(const trace::Tensors& in, int64_t axis) const { return stack(in, axis); }
};
const trace::ReplayRegistration<ReshapeReplay, Shape> kReshapeReplay("reshape");
const trace::ReplayRegistration<TransposeReplay, std::vector<int64_t>> kTransposeReplay(
    "transpose");
const trace::ReplayRegistration<ExpandDimsReplay, int64_t> kExpandDimsReplay("expand_dims");
const trace::ReplayRegistration<SqueezeReplay, std::vector<int64_t>> kSqueezeReplay("squeeze");
const trace::ReplayRegistration<ConcatReplay, int64_t> kConcatReplay("concat");
const trace::ReplayRegistration<StackReplay, int64_t> kStackReplay("stack");

}  // namespace

Tensor reshape(const Tensor& x, const Shape& requested) {
  trace::OpRecord rec;
  detail::check_defined(x, "reshape", "tensor");
  Shape shape = requested;
  int64_t infer = -1, known = 1;
  // A meta tensor with unknown dimensions (Keras None) can take several unknown (-1)
  // dimensions: they stay unknown, as Flatten and Reshape of (None, None, 4) in Keras.
  const bool unknown_input = x.is_meta() && x.numel() == kUnknownDim;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      CORTEN_CHECK_VALUE(infer < 0 || unknown_input,
                         "reshape: only one dimension can be -1; got shape ", show(requested));
      infer = static_cast<int64_t>(i);
    } else {
      CORTEN_CHECK_VALUE(shape[i] >= 0, "reshape: dimensions must be >= 0 or -1; got shape ",
                         show(requested));
      CORTEN_CHECK_VALUE(!__builtin_mul_overflow(known, shape[i], &known),
                         "reshape: the shape ", show(requested), " has too many elements");
    }
  }
  const int64_t numel = x.numel();
  if (numel == kUnknownDim) {  // meta tensor with unknown dimensions
    return meta_like(shape, x);
  }
  if (infer >= 0) {
    CORTEN_CHECK_VALUE(known != 0 && numel % known == 0, "reshape: cannot reshape a tensor of shape ",
                       show(x.shape()), " (", numel, " elements) into shape ", show(requested));
    shape[infer] = numel / known;
  }
  CORTEN_CHECK_VALUE(shape_numel(shape) == numel, "reshape: cannot reshape a tensor of shape ",
                     show(x.shape()), " (", numel, " elements) into shape ", show(requested),
                     " (", shape_numel(shape), " elements)");
  if (x.is_meta()) return meta_like(shape, x);
  Tensor out;
  if (auto st = view_strides(x.shape(), x.strides(), shape)) {
    out = x.as_strided(shape, *st, x.offset());
  } else {
    out = clone(x).as_strided(shape, contiguous_strides(shape), 0);
  }
  if (autograd::is_recording()) autograd::record_reshape(x, out);
  rec.record("reshape", {x}, {out}, ReshapeReplay{}, requested);
  return out;
}

Tensor transpose(const Tensor& x) {
  detail::check_defined(x, "transpose", "a");
  std::vector<int64_t> perm;
  for (int64_t i = x.ndim() - 1; i >= 0; --i) perm.push_back(i);
  return transpose(x, perm);
}

Tensor transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  trace::OpRecord rec;
  detail::check_defined(x, "transpose", "a");
  const int64_t n = x.ndim();
  CORTEN_CHECK_VALUE(static_cast<int64_t>(perm.size()) == n, "transpose: perm has ", perm.size(),
                     " entries but the tensor of shape ", show(x.shape()), " has rank ", n);
  std::vector<bool> seen(static_cast<size_t>(n), false);
  Shape shape(n), strides(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = normalize_axis(perm[i], n, "transpose");
    CORTEN_CHECK_VALUE(!seen[p], "transpose: perm is not a permutation (axis ", p,
                       " appears twice)");
    seen[p] = true;
    shape[i] = x.dim(p);
    strides[i] = x.strides()[p];
  }
  if (x.is_meta()) return meta_like(shape, x);
  Tensor out = x.as_strided(shape, strides, x.offset());
  if (autograd::is_recording()) autograd::record_transpose(x, perm, out);
  rec.record("transpose", {x}, {out}, TransposeReplay{}, perm);
  return out;
}

Tensor expand_dims(const Tensor& x, int64_t axis) {
  trace::OpRecord rec;
  detail::check_defined(x, "expand_dims", "input");
  const int64_t n = x.ndim();
  CORTEN_CHECK_VALUE(axis >= -n - 1 && axis <= n, "expand_dims: axis ", axis,
                     " is out of range for a tensor of rank ", n, " (expected ", -n - 1,
                     " <= axis <= ", n, ")");
  const int64_t a = axis < 0 ? axis + n + 1 : axis;
  Shape shape = x.shape(), strides = x.strides();
  const int64_t stride = a < n ? strides[a] * std::max<int64_t>(shape[a], 1) : 1;
  shape.insert(shape.begin() + a, 1);
  strides.insert(strides.begin() + a, stride);
  if (x.is_meta()) return meta_like(shape, x);
  Tensor out = x.as_strided(shape, strides, x.offset());
  if (autograd::is_recording()) autograd::record_reshape(x, out);
  rec.record("expand_dims", {x}, {out}, ExpandDimsReplay{}, axis);
  return out;
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes) {
  trace::OpRecord rec;
  detail::check_defined(x, "squeeze", "input");
  const int64_t n = x.ndim();
  std::vector<bool> drop(static_cast<size_t>(n), false);
  if (axes.empty()) {
    for (int64_t i = 0; i < n; ++i) drop[i] = x.dim(i) == 1;
  } else {
    for (int64_t a : axes) {
      const int64_t i = normalize_axis(a, n, "squeeze");
      CORTEN_CHECK_VALUE(x.dim(i) == 1 || x.dim(i) == kUnknownDim, "squeeze: cannot squeeze axis ",
                         a, " of a tensor of shape ", show(x.shape()), ": its size is ", x.dim(i),
                         ", not 1");
      drop[i] = true;
    }
  }
  Shape shape, strides;
  for (int64_t i = 0; i < n; ++i) {
    if (drop[i]) continue;
    shape.push_back(x.dim(i));
    strides.push_back(x.strides()[i]);
  }
  if (x.is_meta()) return meta_like(shape, x);
  Tensor out = x.as_strided(shape, strides, x.offset());
  if (autograd::is_recording()) autograd::record_reshape(x, out);
  rec.record("squeeze", {x}, {out}, SqueezeReplay{}, axes);
  return out;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  trace::OpRecord rec;
  detail::check_defined(x, "broadcast_to", "input");
  const Shape out = broadcast_shapes(x.shape(), shape, "broadcast_to");
  CORTEN_CHECK_VALUE(out == shape, "broadcast_to: a tensor of shape ", show(x.shape()),
                     " cannot be broadcast to shape ", show(shape));
  if (x.is_meta()) return meta_like(shape, x);
  Tensor result = x.as_strided(shape, broadcast_strides(x.shape(), x.strides(), shape), x.offset());
  if (autograd::is_recording()) autograd::record_broadcast_to(x, result);
  rec.record("broadcast_to", {x}, {result}, BroadcastToReplay{}, shape);
  return result;
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  trace::OpRecord rec;
  Tensor out = concat_impl(xs, axis, "concat");
  if (autograd::is_recording() && !out.is_meta()) {
    autograd::record_concat(xs, normalize_axis(axis, out.ndim(), "concat"), out);
  }
  rec.record("concat", xs, {out}, ConcatReplay{}, axis);
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  trace::OpRecord rec;
  CORTEN_CHECK_VALUE(!xs.empty(), "stack: expected a non-empty list of tensors");
  for (const Tensor& x : xs) detail::check_defined(x, "stack", "values");
  const Shape& shape = xs[0].shape();
  for (size_t i = 1; i < xs.size(); ++i) {
    bool same = xs[i].ndim() == xs[0].ndim();
    for (int64_t d = 0; same && d < xs[0].ndim(); ++d) same = dims_compatible(shape[d], xs[i].dim(d));
    CORTEN_CHECK_VALUE(same, "stack: all inputs must have the same shape; got shapes ", show(shape),
                       " (input 0) and ", show(xs[i].shape()), " (input ", i, ")");
  }
  const int64_t rank = xs[0].ndim();
  CORTEN_CHECK_VALUE(axis >= -rank - 1 && axis <= rank, "stack: axis ", axis,
                     " is out of range for inputs of rank ", rank, " (expected ", -rank - 1,
                     " <= axis <= ", rank, ")");
  const int64_t a = axis < 0 ? axis + rank + 1 : axis;
  std::vector<Tensor> expanded;
  expanded.reserve(xs.size());
  {
    autograd::PauseRecording pause;  // stack is recorded as one op below
    for (const Tensor& x : xs) expanded.push_back(expand_dims(x, a));
  }
  Tensor out = concat_impl(expanded, a, "stack");
  if (autograd::is_recording() && !out.is_meta()) autograd::record_stack(xs, a, out);
  rec.record("stack", xs, {out}, StackReplay{}, axis);
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes_in, int64_t axis) {
  trace::OpRecord rec;
  detail::check_defined(x, "split", "value");
  CORTEN_CHECK_VALUE(x.ndim() > 0, "split: cannot split a 0-d tensor");
  const int64_t a = normalize_axis(axis, x.ndim(), "split");
  CORTEN_CHECK_VALUE(!sizes_in.empty(), "split: size_splits must not be empty");
  std::vector<int64_t> sizes = sizes_in;
  int64_t infer = -1, total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == -1) {
      CORTEN_CHECK_VALUE(infer < 0, "split: at most one size can be -1; got sizes ",
                         ints_str(sizes_in));
      infer = static_cast<int64_t>(i);
    } else {
      CORTEN_CHECK_VALUE(sizes[i] >= 0, "split: sizes must be >= 0 or -1; got sizes ",
                         ints_str(sizes_in));
      total = checked_add(total, sizes[i], "split");
    }
  }
  const int64_t dim = x.dim(a);
  if (dim == kUnknownDim) return split_views(x, a, sizes);  // meta: -1 stays unknown
  if (infer >= 0) {
    CORTEN_CHECK_VALUE(total <= dim, "split: the sizes ", ints_str(sizes_in), " add up to ", total,
                       ", more than the size ", dim, " of axis ", a, " (shape ", show(x.shape()),
                       ")");
    sizes[infer] = dim - total;
  } else {
    CORTEN_CHECK_VALUE(total == dim, "split: the sizes ", ints_str(sizes_in), " add up to ", total,
                       ", but axis ", a, " of the tensor of shape ", show(x.shape()), " has size ",
                       dim);
  }
  std::vector<Tensor> out = split_views(x, a, sizes);
  if (autograd::is_recording() && !x.is_meta()) autograd::record_split(x, a, out);
  rec.record("split", {x}, out, SplitReplay{}, sizes_in, axis);
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t num_splits, int64_t axis) {
  trace::OpRecord rec;
  detail::check_defined(x, "split", "value");
  CORTEN_CHECK_VALUE(x.ndim() > 0, "split: cannot split a 0-d tensor");
  const int64_t a = normalize_axis(axis, x.ndim(), "split");
  CORTEN_CHECK_VALUE(num_splits > 0, "split: num_or_size_splits must be >= 1; got ", num_splits);
  const int64_t dim = x.dim(a);
  if (dim == kUnknownDim) {
    return split_views(x, a, std::vector<int64_t>(static_cast<size_t>(num_splits), kUnknownDim));
  }
  CORTEN_CHECK_VALUE(dim % num_splits == 0, "split: axis ", a, " of size ", dim, " (shape ",
                     show(x.shape()), ") cannot be split into ", num_splits, " equal pieces");
  std::vector<Tensor> out =
      split_views(x, a, std::vector<int64_t>(static_cast<size_t>(num_splits), dim / num_splits));
  if (autograd::is_recording() && !x.is_meta()) autograd::record_split(x, a, out);
  rec.record("split_evenly", {x}, out, SplitEvenlyReplay{}, num_splits, axis);
  return out;
}

std::vector<Tensor> unstack(const Tensor& x, int64_t axis) {
  trace::OpRecord rec;
  detail::check_defined(x, "unstack", "value");
  CORTEN_CHECK_VALUE(x.ndim() > 0, "unstack: cannot unstack a 0-d tensor");
  const int64_t a = normalize_axis(axis, x.ndim(), "unstack");
  const int64_t dim = x.dim(a);
  CORTEN_CHECK_VALUE(dim != kUnknownDim, "unstack: cannot unstack along axis ", a,
                     " of unknown size (shape ", show(x.shape()), ")");
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + a);
  strides.erase(strides.begin() + a);
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(dim));
  for (int64_t i = 0; i < dim; ++i) {
    out.push_back(x.is_meta() ? meta_like(shape, x)
                              : x.as_strided(shape, strides, x.offset() + i * x.strides()[a]));
  }
  if (autograd::is_recording() && !x.is_meta()) autograd::record_unstack(x, a, out);
  rec.record("unstack", {x}, out, UnstackReplay{}, axis);
  return out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& multiples) {
  trace::OpRecord rec;
  detail::check_defined(x, "tile", "input");
  CORTEN_CHECK_VALUE(static_cast<int64_t>(multiples.size()) == x.ndim(),
                     "tile: multiples must have one entry per dimension of input; got ",
                     multiples.size(), " multiples ", ints_str(multiples), " for shape ",
                     show(x.shape()));
  Shape shape(multiples.size());
  for (size_t d = 0; d < multiples.size(); ++d) {
    CORTEN_CHECK_VALUE(multiples[d] >= 0, "tile: multiples must be >= 0; got ",
                       ints_str(multiples));
    shape[d] = x.dim(d) == kUnknownDim ? (multiples[d] == 0 ? 0 : kUnknownDim)
                                       : checked_mul(x.dim(d), multiples[d], "tile");
  }
  if (x.is_meta()) return meta_like(shape, x);
  Tensor out = Tensor::empty(shape, x.dtype(), Device::CPU, "tile");
  kernels::tile(out.device())(itemsize(x.dtype()), x.shape(), x.raw_data(), x.strides(), multiples, out.raw_data());
  share_string_bytes(out, x);
  if (autograd::is_recording()) autograd::record_tile(x, multiples, out);
  rec.record("tile", {x}, {out}, TileReplay{}, multiples);
  return out;
}

namespace {

// Normalised axis and batch_dims of a gather and its output shape; `op` names the caller.
struct GatherGeometry {
  int64_t axis = 0, batch_dims = 0;
  Shape out_shape;
};

GatherGeometry gather_geometry(const Shape& ps, const Tensor& indices, int64_t axis,
                               int64_t batch_dims, const char* op) {
  CORTEN_CHECK_TYPE(is_integral(indices.dtype()), op, ": indices must be int32 or int64; got ",
                    dtype_name(indices.dtype()));
  const int64_t prank = static_cast<int64_t>(ps.size());
  CORTEN_CHECK_VALUE(prank > 0, op, ": params must have rank >= 1; got shape ", show(ps));
  const int64_t irank = indices.ndim();
  CORTEN_CHECK_VALUE(batch_dims >= -irank && batch_dims <= irank, op, ": batch_dims=",
                     batch_dims, " must be in [", -irank, ", ", irank,
                     "] for indices of shape ", show(indices.shape()));
  GatherGeometry g;
  g.batch_dims = batch_dims < 0 ? batch_dims + irank : batch_dims;
  g.axis = normalize_axis(axis, prank, op);
  CORTEN_CHECK_VALUE(g.batch_dims <= g.axis, op, ": batch_dims (", g.batch_dims,
                     ") must be <= axis (", g.axis, ") for params of shape ", show(ps));
  for (int64_t d = 0; d < g.batch_dims; ++d) {
    CORTEN_CHECK_VALUE(dims_compatible(ps[d], indices.dim(d)), op, ": the first ", g.batch_dims,
                       " dimensions (batch_dims) of params and indices must be equal; got params "
                       "shape ", show(ps), " and indices shape ", show(indices.shape()));
  }
  g.out_shape.assign(ps.begin(), ps.begin() + g.axis);
  for (int64_t d = 0; d < g.batch_dims; ++d) {
    g.out_shape[d] = merge_dim(g.out_shape[d], indices.dim(d));
  }
  g.out_shape.insert(g.out_shape.end(), indices.shape().begin() + g.batch_dims,
                     indices.shape().end());
  g.out_shape.insert(g.out_shape.end(), ps.begin() + g.axis + 1, ps.end());
  return g;
}

// IndexError naming the first bad index (its multi-index in `indices`) and the axis size.
[[noreturn]] void throw_bad_index(const cpu::BadIndex& bad, const Tensor& indices, const Shape& ps,
                                  int64_t a, const char* op) {
  const int64_t irank = indices.ndim();
  std::vector<int64_t> where(static_cast<size_t>(irank));
  int64_t rem = bad.position;
  for (int64_t d = irank; d-- > 0;) {
    where[d] = rem % indices.dim(d);
    rem /= indices.dim(d);
  }
  std::ostringstream pos;
  for (int64_t d = 0; d < irank; ++d) pos << (d ? ", " : "[") << where[d];
  if (irank > 0) pos << "]";
  const int64_t n = ps[a];
  throw IndexError(detail::str_cat(op, ": indices", pos.str(), " = ", bad.value, " is not in [0, ",
                                   n, "): axis ", a, " of params (shape ", show(ps),
                                   ") has size ", n));
}

}  // namespace

Tensor gather(const Tensor& params, const Tensor& indices, int64_t axis, int64_t batch_dims) {
  trace::OpRecord rec;
  detail::check_defined(params, "gather", "params");
  detail::check_defined(indices, "gather", "indices");
  detail::check_same_device(params, indices, "gather");
  const Shape& ps = params.shape();
  const GatherGeometry geo = gather_geometry(ps, indices, axis, batch_dims, "gather");
  if (params.is_meta() || indices.is_meta()) return meta_like(geo.out_shape, params);
  const int64_t a = geo.axis, bd = geo.batch_dims;
  Tensor out = Tensor::empty(geo.out_shape, params.dtype(), Device::CPU, "gather");
  const Tensor p = params.contiguous();
  const Tensor idx = indices.contiguous();
  const cpu::BadIndex bad =
      kernels::gather(out.device())(itemsize(params.dtype()), indices.dtype(), p.raw_data(), prod(ps, 0, bd),
                  prod(ps, bd, a), ps[a], prod(ps, a + 1, params.ndim()), idx.raw_data(),
                  prod(indices.shape(), bd, indices.ndim()), out.raw_data());
  if (bad.position >= 0) throw_bad_index(bad, indices, ps, a, "gather");
  share_string_bytes(out, params);
  if (autograd::is_recording()) autograd::record_gather(params, indices, a, bd, out);
  rec.record("gather", {params, indices}, {out}, GatherReplay{}, axis, batch_dims);
  return out;
}

Tensor gather_grad(const Tensor& grad, const Tensor& indices, const Shape& params_shape,
                   int64_t axis, int64_t batch_dims) {
  detail::check_defined(grad, "gather_grad", "grad");
  if (is_half_precision(grad.dtype())) {  // Note [Half-precision compute]: sums in float32
    return detail::narrow_half(
        gather_grad(detail::widen_half(grad), indices, params_shape, axis, batch_dims),
        grad.dtype());
  }
  trace::OpRecord rec;
  detail::check_defined(indices, "gather_grad", "indices");
  detail::check_same_device(grad, indices, "gather_grad");
  CORTEN_CHECK_TYPE(is_floating(grad.dtype()), "gather_grad: grad must be float32 or float64; got ",
                    dtype_name(grad.dtype()));
  const Shape& ps = params_shape;
  for (int64_t d : ps) {
    CORTEN_CHECK_VALUE(d >= 0 || (grad.is_meta() && d == kUnknownDim),
                       "gather_grad: params_shape must have dimensions >= 0; got ", ints_str(ps));
  }
  const GatherGeometry geo = gather_geometry(ps, indices, axis, batch_dims, "gather_grad");
  bool same = grad.ndim() == static_cast<int64_t>(geo.out_shape.size());
  for (int64_t d = 0; same && d < grad.ndim(); ++d) {
    same = dims_compatible(grad.dim(d), geo.out_shape[d]);
  }
  CORTEN_CHECK_VALUE(same, "gather_grad: grad has shape ", show(grad.shape()),
                     " but gather gives shape ", show(geo.out_shape), " for params of shape ",
                     show(ps), " and indices of shape ", show(indices.shape()));
  if (grad.is_meta() || indices.is_meta()) {
    return Tensor::empty(ps, grad.dtype(), Device::Meta, "gather_grad");
  }
  const int64_t a = geo.axis, bd = geo.batch_dims;
  Tensor out = zeros(ps, grad.dtype());
  const Tensor g = grad.contiguous();
  const Tensor idx = indices.contiguous();
  const cpu::BadIndex bad = kernels::gather_backward(out.device())(
      grad.dtype(), indices.dtype(), g.raw_data(), prod(ps, 0, bd), prod(ps, bd, a), ps[a],
      prod(ps, a + 1, static_cast<int64_t>(ps.size())), idx.raw_data(),
      prod(indices.shape(), bd, indices.ndim()), out.raw_data());
  if (bad.position >= 0) throw_bad_index(bad, indices, ps, a, "gather_grad");
  if (autograd::is_recording()) autograd::record_gather_grad(grad, indices, a, bd, out);
  rec.record(
      "gather_grad", {grad, indices}, {out},
      [](const trace::Tensors& in, const auto& params_shape, const auto& axis,
         const auto& batch_dims) {
        return gather_grad(in[0], in[1], params_shape, axis, batch_dims);
      },
      params_shape, axis, batch_dims);
  return out;
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& paddings,
           PadMode mode, double constant_value) {
  trace::OpRecord rec;
  detail::check_defined(x, "pad", "tensor");
  const int64_t rank = x.ndim();
  CORTEN_CHECK_VALUE(static_cast<int64_t>(paddings.size()) == rank,
                     "pad: paddings must have one (before, after) pair per dimension; got ",
                     paddings.size(), " pairs for a tensor of shape ", show(x.shape()));
  const char* mode_name = mode == PadMode::Reflect ? "REFLECT" : "SYMMETRIC";
  Shape shape(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    const auto [before, after] = paddings[d];
    CORTEN_CHECK_VALUE(before >= 0 && after >= 0, "pad: paddings must be >= 0; got (", before,
                       ", ", after, ") for axis ", d);
    const int64_t dim = x.dim(d);
    // A zero padding needs no data, so it is accepted even on an empty axis (TensorFlow
    // rejects REFLECT there).
    if (dim != kUnknownDim && mode != PadMode::Constant && (before > 0 || after > 0)) {
      const int64_t limit = mode == PadMode::Reflect ? dim - 1 : dim;
      CORTEN_CHECK_VALUE(before <= limit && after <= limit, "pad: ", mode_name,
                         " paddings must be ", mode == PadMode::Reflect ? "less than" : "at most",
                         " the dimension size; got (", before, ", ", after, ") for axis ", d,
                         " of size ", dim, " (shape ", show(x.shape()), ")");
    }
    shape[d] = dim == kUnknownDim
                   ? kUnknownDim
                   : checked_add(checked_add(dim, before, "pad"), after, "pad");
  }
  if (x.is_meta()) return meta_like(shape, x);
  Tensor out = Tensor::empty(shape, x.dtype(), Device::CPU, "pad");
  CORTEN_CHECK_TYPE(x.dtype() != DType::String || constant_value == 0.0,
                    "pad: a string tensor pads with empty strings; got constant_values ",
                    constant_value);
  // A zero-filled string element is the empty string (Note [String tensors]).
  const Tensor value = x.dtype() == DType::String
                           ? Tensor::empty({}, DType::String, Device::CPU, "pad")
                           : full({}, constant_value, x.dtype(), "pad");
  kernels::pad(out.device())(itemsize(x.dtype()), x.shape(), x.raw_data(), x.strides(), paddings, mode,
           value.raw_data(), out.raw_data());
  share_string_bytes(out, x);
  if (autograd::is_recording()) autograd::record_pad(x, paddings, mode, out);
  rec.record("pad", {x}, {out}, PadReplay{}, paddings, mode, constant_value);
  return out;
}

Tensor pad_grad(const Tensor& grad, const std::vector<std::pair<int64_t, int64_t>>& paddings,
                PadMode mode) {
  detail::check_defined(grad, "pad_grad", "grad");
  if (is_half_precision(grad.dtype())) {  // Note [Half-precision compute]
    return detail::narrow_half(pad_grad(detail::widen_half(grad), paddings, mode), grad.dtype());
  }
  trace::OpRecord rec;
  CORTEN_CHECK_TYPE(is_floating(grad.dtype()), "pad_grad: grad must be float32 or float64; got ",
                    dtype_name(grad.dtype()));
  const int64_t rank = grad.ndim();
  CORTEN_CHECK_VALUE(static_cast<int64_t>(paddings.size()) == rank,
                     "pad_grad: paddings must have one (before, after) pair per dimension; got ",
                     paddings.size(), " pairs for a gradient of shape ", show(grad.shape()));
  const char* mode_name = mode == PadMode::Reflect ? "REFLECT" : "SYMMETRIC";
  Shape shape(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    const auto [before, after] = paddings[d];
    CORTEN_CHECK_VALUE(before >= 0 && after >= 0, "pad_grad: paddings must be >= 0; got (",
                       before, ", ", after, ") for axis ", d);
    const int64_t dim = grad.dim(d);
    if (dim == kUnknownDim) {
      shape[d] = kUnknownDim;
      continue;
    }
    CORTEN_CHECK_VALUE(before <= dim && after <= dim - before, "pad_grad: paddings (", before,
                       ", ", after, ") are larger than axis ", d, " of the gradient of shape ",
                       show(grad.shape()));
    shape[d] = dim - before - after;
    if (mode != PadMode::Constant && (before > 0 || after > 0)) {
      const int64_t limit = mode == PadMode::Reflect ? shape[d] - 1 : shape[d];
      CORTEN_CHECK_VALUE(before <= limit && after <= limit, "pad_grad: ", mode_name,
                         " paddings must be ", mode == PadMode::Reflect ? "less than" : "at most",
                         " the dimension size; got (", before, ", ", after, ") for axis ", d,
                         " of size ", shape[d], " (gradient shape ", show(grad.shape()), ")");
    }
  }
  if (grad.is_meta()) return meta_like(shape, grad);
  Tensor out = Tensor::empty(shape, grad.dtype(), Device::CPU, "pad_grad");
  // The fold-back accumulates in place, so it works on a private copy of grad.
  Tensor work = mode == PadMode::Constant ? grad : clone(grad);
  kernels::pad_backward(out.device())(grad.dtype(), shape, paddings, mode, work.raw_data(), work.strides(),
                    out.raw_data());
  if (autograd::is_recording()) autograd::record_pad_grad(grad, paddings, mode, out);
  rec.record(
      "pad_grad", {grad}, {out},
      [](const trace::Tensors& in, const auto& paddings, const auto& mode) {
        return pad_grad(in[0], paddings, mode);
      },
      paddings, mode);
  return out;
}

Tensor identity(const Tensor& x) {
  trace::OpRecord rec;
  detail::check_defined(x, "identity", "input");
  if (x.is_meta()) return meta_like(x.shape(), x);
  Tensor out = x.as_strided(x.shape(), x.strides(), x.offset());
  if (autograd::is_recording()) autograd::record_identity(x, out);
  rec.record("identity", {x}, {out}, IdentityReplay{});
  return out;
}

Tensor shape_of(const Tensor& x, DType out_type) {
  trace::OpRecord rec;
  detail::check_defined(x, "shape", "input");
  CORTEN_CHECK_TYPE(is_integral(out_type), "shape: out_type must be int32 or int64; got ",
                    dtype_name(out_type));
  const Shape rank_shape{x.ndim()};
  if (x.is_meta()) return Tensor::empty(rank_shape, out_type, Device::Meta, "shape");
  if (out_type == DType::Int32) {
    for (int64_t d : x.shape()) {
      CORTEN_CHECK_VALUE(d <= std::numeric_limits<int32_t>::max(), "shape: dimension ", d,
                         " of shape ", show(x.shape()), " does not fit in int32; use int64");
    }
  }
  Tensor out = Tensor::empty(rank_shape, out_type, Device::CPU, "shape");
  kernels::cast(out.device())(DType::Int64, out_type, rank_shape, x.shape().data(), Shape{1}, out.raw_data(),
            out.strides());
  rec.record("shape_of", {x}, {out}, ShapeOfReplay{}, out_type);
  return out;
}

Tensor rank_of(const Tensor& x) {
  detail::check_defined(x, "rank", "input");
  if (x.is_meta()) return Tensor::empty({}, DType::Int32, Device::Meta, "rank");
  return full({}, static_cast<double>(x.ndim()), DType::Int32, "rank");
}

Tensor size_of(const Tensor& x, DType out_type) {
  trace::OpRecord rec;
  detail::check_defined(x, "size", "input");
  CORTEN_CHECK_TYPE(is_integral(out_type), "size: out_type must be int32 or int64; got ",
                    dtype_name(out_type));
  if (x.is_meta()) return Tensor::empty({}, out_type, Device::Meta, "size");
  const int64_t n = x.numel();
  CORTEN_CHECK_VALUE(out_type == DType::Int64 || n <= std::numeric_limits<int32_t>::max(),
                     "size: ", n, " elements (shape ", show(x.shape()),
                     ") do not fit in int32; use int64");
  Tensor out = Tensor::empty({}, out_type, Device::CPU, "size");
  kernels::cast(out.device())(DType::Int64, out_type, {}, &n, {}, out.raw_data(), out.strides());
  rec.record("size_of", {x}, {out}, SizeOfReplay{}, out_type);
  return out;
}

}  // namespace corten
