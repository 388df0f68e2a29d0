// Entry points of the sliding-window ops (corten/ops/pooling.h): argument checks, output
// shapes (meta included), the five-dimensional geometry of Note [Spatial geometry]
// (cpu/pooling.h), dispatch, and autograd records.

#include <corten/ops.h>
#include <corten/ops/pooling.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

using cpu::SpatialGeom;

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string show_list(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

void check_input(const Tensor& x, const char* op, bool bf16_ok = false) {
  detail::check_defined(x, op, "x");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()) || (bf16_ok && x.dtype() == DType::BFloat16), op,
                    ": expected a floating dtype (float32, float64); got ",
                    dtype_name(x.dtype()));
  CORTEN_CHECK_VALUE(x.ndim() >= 3 && x.ndim() <= 5, op, ": x must have rank 3, 4 or 5 "
                     "(batch, 1 to 3 spatial dimensions, channels); got x.shape=",
                     show(x.shape()));
}

void check_window_arg(const std::vector<int64_t>& v, int rank, const char* op, const char* arg,
                      const Tensor& x) {
  CORTEN_CHECK_VALUE(static_cast<int>(v.size()) == rank, op, ": ", arg, " must have ", rank,
                     " entries (one per spatial dimension of x.shape=", show(x.shape()),
                     "); got ", arg, "=", show_list(v));
  for (int64_t e : v) {
    CORTEN_CHECK_VALUE(e >= 1, op, ": ", arg, " must be positive; got ", arg, "=",
                       show_list(v));
  }
}

bool is_same_padding(const std::string& padding, const char* op) {
  const std::string p = lower(padding);
  CORTEN_CHECK_VALUE(p == "valid" || p == "same", op,
                     ": padding must be 'valid' or 'same'; got padding='", padding, "'");
  return p == "same";
}

int64_t channel_dim(int64_t ndim, bool cf) { return cf ? 1 : ndim - 1; }
int64_t spatial_dim(int64_t ndim, bool cf, int i) { return cf ? 2 + i : 1 + i; }

// Element strides of a contiguous tensor of `shape`, mapped to (n, c, d, h, w): the spatial
// dimensions fill the last of the three slots (Note [Spatial geometry]).
void fill_strides(const Shape& shape, bool cf, int64_t* out) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::vector<int64_t> st(nd, 1);
  for (int64_t i = nd - 2; i >= 0; --i) st[i] = st[i + 1] * shape[i + 1];
  const int rank = static_cast<int>(nd) - 2;
  out[0] = st[0];
  out[1] = st[channel_dim(nd, cf)];
  for (int i = 0; i < 3; ++i) out[2 + i] = 0;
  for (int i = 0; i < rank; ++i) out[2 + 3 - rank + i] = st[spatial_dim(nd, cf, i)];
}

struct Window {
  SpatialGeom g;
  Shape out_shape;
};

// The geometry of a window op on x with `out_channels` output channels.
Window make_window(const char* op, const Tensor& x, const std::vector<int64_t>& k,
                   const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                   const std::string& padding, bool cf, int64_t out_channels) {
  const int rank = static_cast<int>(x.ndim()) - 2;
  check_window_arg(k, rank, op, "the window size", x);
  check_window_arg(strides, rank, op, "strides", x);
  check_window_arg(dilations, rank, op, "dilations", x);
  const bool same = is_same_padding(padding, op);
  Window w;
  SpatialGeom& g = w.g;
  g.n = x.dim(0);
  g.c = x.dim(channel_dim(x.ndim(), cf));
  Shape out = x.shape();
  out[channel_dim(x.ndim(), cf)] = out_channels;
  for (int i = 0; i < rank; ++i) {
    const int slot = 3 - rank + i;
    const int64_t in = x.dim(spatial_dim(x.ndim(), cf, i));
    const int64_t eff = (k[i] - 1) * dilations[i] + 1;
    g.k[slot] = k[i];
    g.stride[slot] = strides[i];
    g.dil[slot] = dilations[i];
    g.in[slot] = in;
    int64_t o = kUnknownDim;
    if (in != kUnknownDim) {
      if (same) {
        o = (in + strides[i] - 1) / strides[i];
        g.pad[slot] = std::max<int64_t>((o - 1) * strides[i] + eff - in, 0) / 2;
      } else {
        CORTEN_CHECK_VALUE(in >= eff, op, ": the window (", eff, " with dilation) is larger "
                           "than spatial dimension ", i, " of the input (", in,
                           ") with padding 'valid'; x.shape=", show(x.shape()),
                           ", window size=", show_list(k));
        o = (in - eff) / strides[i] + 1;
      }
    }
    g.out[slot] = o;
    out[spatial_dim(x.ndim(), cf, i)] = o;
  }
  w.out_shape = out;
  return w;
}

bool any_unknown(const Shape& s) {
  return std::any_of(s.begin(), s.end(), [](int64_t d) { return d == kUnknownDim; });
}

Tensor pool_op(cpu::PoolKind kind, const Tensor& x, const std::vector<int64_t>& pool_size,
               const std::vector<int64_t>& strides, const std::string& padding, bool cf);

struct PoolReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, bool is_max, const std::vector<int64_t>& pool_size,
                    const std::vector<int64_t>& strides, const std::string& padding,
                    bool channels_first) const {
    return pool_op(is_max ? cpu::PoolKind::Max : cpu::PoolKind::Avg, in[0], pool_size, strides,
                   padding, channels_first);
  }
};
const trace::ReplayRegistration<PoolReplay, bool, std::vector<int64_t>, std::vector<int64_t>,
                                std::string, bool>
    kPoolReplay(std::vector<const char*>{"max_pool", "avg_pool"});

// Note [bfloat16 max pooling] (cpu/pooling.h): bfloat16 max pooling on the CPU runs on
// bfloat16, and so does its gradient when no input element lies in two windows.
bool native_bf16_max_pool(cpu::PoolKind kind, const Tensor& x) {
  return kind == cpu::PoolKind::Max && x.defined() && x.dtype() == DType::BFloat16 &&
         x.device() == Device::CPU;
}

bool windows_overlap(const std::vector<int64_t>& pool_size, const std::vector<int64_t>& strides) {
  for (size_t i = 0; i < pool_size.size() && i < strides.size(); ++i) {
    if (strides[i] < pool_size[i]) return true;
  }
  return false;
}

Tensor pool_op(cpu::PoolKind kind, const Tensor& x, const std::vector<int64_t>& pool_size,
               const std::vector<int64_t>& strides, const std::string& padding, bool cf) {
  const bool native_bf16 = native_bf16_max_pool(kind, x);
  if (x.defined() && is_half_precision(x.dtype()) && !native_bf16) {
    // Note [Half-precision compute]
    return detail::narrow_half(
        pool_op(kind, detail::widen_half(x), pool_size, strides, padding, cf), x.dtype());
  }
  trace::OpRecord rec;
  const char* op = kind == cpu::PoolKind::Max ? "max_pool" : "avg_pool";
  check_input(x, op, native_bf16);
  const std::vector<int64_t> ones(pool_size.size(), 1);
  Window w = make_window(op, x, pool_size, strides, ones, padding, cf,
                         x.dim(channel_dim(x.ndim(), cf)));
  Tensor out = Tensor::empty(w.out_shape, x.dtype(), x.device(), op);
  if (x.is_meta() || out.numel() == 0) return out;
  const Tensor xc = x.contiguous();
  fill_strides(xc.shape(), cf, w.g.xs);
  fill_strides(out.shape(), cf, w.g.ys);
  if (native_bf16) {
    cpu::max_pool_bf16(w.g, xc.data<bfloat16>(), out.data<bfloat16>());
  } else {
    kernels::pool(out.device())(x.dtype(), kind, w.g, xc.raw_data(), out.raw_data());
  }
  if (autograd::is_recording()) {
    autograd::record_pool(kind == cpu::PoolKind::Max, x, xc, pool_size, strides, padding, cf,
                          out);
  }
  rec.record(op, {x}, {out}, PoolReplay{}, kind == cpu::PoolKind::Max, pool_size, strides, padding,
             cf);
  return out;
}

cpu::ResizeSpec resize_spec(const char* op, const std::string& method, bool align_corners,
                            bool half_pixel_centers) {
  const std::string m = lower(method);
  CORTEN_CHECK_VALUE(m == "nearest" || m == "bilinear", op,
                     ": method must be 'nearest' or 'bilinear'; got method='", method, "'");
  CORTEN_CHECK_VALUE(!(align_corners && half_pixel_centers), op,
                     ": half_pixel_centers=True requires align_corners=False");
  cpu::ResizeSpec spec;
  spec.linear = m == "bilinear";
  spec.align_corners = align_corners;
  spec.half_pixel_centers = half_pixel_centers;
  return spec;
}

// The geometry of a resize from x's spatial sizes to `size`.
SpatialGeom resize_geom(const Shape& in_shape, const std::vector<int64_t>& size, bool cf) {
  SpatialGeom g;
  const int64_t nd = static_cast<int64_t>(in_shape.size());
  const int rank = static_cast<int>(nd) - 2;
  g.n = in_shape[0];
  g.c = in_shape[channel_dim(nd, cf)];
  for (int i = 0; i < rank; ++i) {
    g.in[3 - rank + i] = in_shape[spatial_dim(nd, cf, i)];
    g.out[3 - rank + i] = size[i];
  }
  return g;
}

Shape resized_shape(const Shape& s, const std::vector<int64_t>& size, bool cf) {
  Shape out = s;
  for (size_t i = 0; i < size.size(); ++i) out[spatial_dim(s.size(), cf, static_cast<int>(i))] = size[i];
  return out;
}

struct DepthwiseConvReplay {
  static constexpr trace::InputCount kInputs{3};
  Tensor operator()(const trace::Tensors& in, const std::vector<int64_t>& strides,
                    const std::vector<int64_t>& dilations, const std::string& padding,
                    bool channels_first) const {
    return depthwise_conv(in[0], in[1], in[2], strides, dilations, padding, channels_first);
  }
};
struct ResizeReplay {
  static constexpr trace::InputCount kInputs{1};
  Tensor operator()(const trace::Tensors& in, const std::vector<int64_t>& size,
                    const std::string& method, bool align_corners, bool half_pixel_centers,
                    bool channels_first) const {
    return resize(in[0], size, method, align_corners, half_pixel_centers, channels_first);
  }
};
const trace::ReplayRegistration<DepthwiseConvReplay, std::vector<int64_t>, std::vector<int64_t>,
                                std::string, bool>
    kDepthwiseConvReplay("depthwise_conv");
const trace::ReplayRegistration<ResizeReplay, std::vector<int64_t>, std::string, bool, bool, bool>
    kResizeReplay("resize");

}  // namespace

Tensor max_pool(const Tensor& x, const std::vector<int64_t>& pool_size,
                const std::vector<int64_t>& strides, const std::string& padding,
                bool channels_first) {
  return pool_op(cpu::PoolKind::Max, x, pool_size, strides, padding, channels_first);
}

Tensor avg_pool(const Tensor& x, const std::vector<int64_t>& pool_size,
                const std::vector<int64_t>& strides, const std::string& padding,
                bool channels_first) {
  return pool_op(cpu::PoolKind::Avg, x, pool_size, strides, padding, channels_first);
}

Tensor pool_grad(bool is_max, const Tensor& x, const Tensor& dy,
                 const std::vector<int64_t>& pool_size, const std::vector<int64_t>& strides,
                 const std::string& padding, bool channels_first) {
  const bool native_bf16 =
      native_bf16_max_pool(is_max ? cpu::PoolKind::Max : cpu::PoolKind::Avg, x) &&
      dy.defined() && dy.dtype() == DType::BFloat16 && dy.device() == Device::CPU &&
      !windows_overlap(pool_size, strides);
  if (detail::any_half({&x, &dy}) && !native_bf16) {  // Note [Half-precision compute]
    detail::check_same_dtype(x, dy, is_max ? "max_pool_grad" : "avg_pool_grad");
    return detail::narrow_half(pool_grad(is_max, detail::widen_half(x), detail::widen_half(dy),
                                         pool_size, strides, padding, channels_first),
                               x.dtype());
  }
  trace::OpRecord rec;
  const char* op = is_max ? "max_pool_grad" : "avg_pool_grad";
  check_input(x, op, native_bf16);
  detail::check_defined(dy, op, "dy");
  detail::check_same_dtype(x, dy, op);
  const std::vector<int64_t> ones(pool_size.size(), 1);
  Window w = make_window(op, x, pool_size, strides, ones, padding, channels_first,
                         x.dim(channel_dim(x.ndim(), channels_first)));
  CORTEN_CHECK_VALUE(dy.shape() == w.out_shape, op, ": dy must have the output shape ",
                     show(w.out_shape), "; got dy.shape=", show(dy.shape()));
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), detail::result_device(x, dy), op);
  if (dx.is_meta() || dx.numel() == 0) return dx;
  if (dy.numel() == 0) return zeros(x.shape(), x.dtype());
  const Tensor xc = x.contiguous(), gc = dy.contiguous();
  fill_strides(xc.shape(), channels_first, w.g.xs);
  fill_strides(gc.shape(), channels_first, w.g.ys);
  if (native_bf16) {
    cpu::max_pool_bf16_backward(w.g, xc.data<bfloat16>(), gc.data<bfloat16>(),
                                dx.data<bfloat16>());
  } else {
    kernels::pool_backward(dx.device())(x.dtype(),
                                        is_max ? cpu::PoolKind::Max : cpu::PoolKind::Avg, w.g,
                                        xc.raw_data(), gc.raw_data(), dx.raw_data());
  }
  rec.record(
      op, {x, dy}, {dx},
      [](const trace::Tensors& in, const auto& is_max, const auto& pool_size, const auto& strides,
         const auto& padding, const auto& channels_first) {
        return pool_grad(is_max, in[0], in[1], pool_size, strides, padding, channels_first);
      },
      is_max, pool_size, strides, padding, channels_first);
  return dx;
}

Tensor depthwise_conv(const Tensor& x, const Tensor& w, const Tensor& bias,
                      const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                      const std::string& padding, bool channels_first) {
  if (detail::any_half({&x, &w, &bias})) {  // Note [Half-precision compute]
    detail::check_same_dtype(x, w, "depthwise_conv");
    if (bias.defined()) detail::check_same_dtype(x, bias, "depthwise_conv");
    return detail::narrow_half(
        depthwise_conv(detail::widen_half(x), detail::widen_half(w), detail::widen_half(bias),
                       strides, dilations, padding, channels_first),
        x.dtype());
  }
  trace::OpRecord rec;
  const char* op = "depthwise_conv";
  check_input(x, op);
  detail::check_defined(w, op, "w");
  detail::check_same_dtype(x, w, op);
  const int64_t rank = x.ndim() - 2;
  const int64_t c = x.dim(channel_dim(x.ndim(), channels_first));
  CORTEN_CHECK_VALUE(w.ndim() == rank + 2, op, ": the filter must have rank ", rank + 2,
                     " (*kernel_size, in_channels, depth_multiplier) for x.shape=",
                     show(x.shape()), "; got filter.shape=", show(w.shape()));
  CORTEN_CHECK_VALUE(c != kUnknownDim, op, ": the channel dimension of x must be known; got "
                     "x.shape=", show(x.shape()));
  CORTEN_CHECK_VALUE(w.dim(rank) == c, op, ": filter.shape[", rank, "] must equal the ",
                     "input channels ", c, "; got x.shape=", show(x.shape()),
                     ", filter.shape=", show(w.shape()));
  CORTEN_CHECK_VALUE(!any_unknown(w.shape()), op, ": the filter shape must be known; got ",
                     show(w.shape()));
  const int64_t m = w.dim(rank + 1);
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, op);
    CORTEN_CHECK_VALUE(bias.ndim() == 1 && bias.dim(0) == c * m, op, ": bias must have shape (",
                       c * m, ",); got bias.shape=", show(bias.shape()));
  }
  std::vector<int64_t> k(w.shape().begin(), w.shape().begin() + rank);
  Window win = make_window(op, x, k, strides, dilations, padding, channels_first, c * m);
  win.g.m = m;
  const bool meta = x.is_meta() || w.is_meta() || (bias.defined() && bias.is_meta());
  Tensor out = Tensor::empty(win.out_shape, x.dtype(), meta ? Device::Meta : x.device(), op);
  if (meta) return out;
  detail::check_same_device(x, w, op);
  if (out.numel() != 0) {
    const Tensor xc = x.contiguous(), wc = w.contiguous();
    const Tensor bc = bias.defined() ? bias.contiguous() : bias;
    fill_strides(xc.shape(), channels_first, win.g.xs);
    fill_strides(out.shape(), channels_first, win.g.ys);
    kernels::depthwise_conv(out.device())(x.dtype(), win.g, xc.raw_data(), wc.raw_data(),
                                          bc.defined() ? bc.raw_data() : nullptr,
                                          out.raw_data());
  }
  if (autograd::is_recording()) {
    autograd::record_depthwise_conv(x, w, bias, strides, dilations, padding, channels_first,
                                    out);
  }
  rec.record("depthwise_conv", {x, w, bias}, {out}, DepthwiseConvReplay{}, strides, dilations,
             padding, channels_first);
  return out;
}

std::vector<Tensor> depthwise_conv_backward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                            const std::vector<int64_t>& strides,
                                            const std::vector<int64_t>& dilations,
                                            const std::string& padding, bool channels_first,
                                            bool need_dx, bool need_dw, bool need_dbias) {
  if (detail::any_half({&x, &w, &dy})) {  // Note [Half-precision compute]
    detail::check_same_dtype(x, w, "depthwise_conv_grad");
    detail::check_same_dtype(x, dy, "depthwise_conv_grad");
    std::vector<Tensor> grads = depthwise_conv_backward(
        detail::widen_half(x), detail::widen_half(w), detail::widen_half(dy), strides, dilations,
        padding, channels_first, need_dx, need_dw, need_dbias);
    for (Tensor& g : grads)
      if (g.defined()) g = detail::narrow_half(g, x.dtype());
    return grads;
  }
  trace::OpRecord rec;
  const char* op = "depthwise_conv_grad";
  check_input(x, op);
  detail::check_defined(w, op, "w");
  detail::check_defined(dy, op, "dy");
  detail::check_same_dtype(x, w, op);
  detail::check_same_dtype(x, dy, op);
  const int64_t rank = x.ndim() - 2;
  CORTEN_CHECK_VALUE(w.ndim() == rank + 2, op, ": bad filter shape ", show(w.shape()));
  const int64_t c = x.dim(channel_dim(x.ndim(), channels_first)), m = w.dim(rank + 1);
  CORTEN_CHECK_VALUE(w.dim(rank) == c, op, ": filter.shape=", show(w.shape()),
                     " does not match x.shape=", show(x.shape()));
  std::vector<int64_t> k(w.shape().begin(), w.shape().begin() + rank);
  Window win = make_window(op, x, k, strides, dilations, padding, channels_first, c * m);
  win.g.m = m;
  CORTEN_CHECK_VALUE(dy.shape() == win.out_shape, op, ": dy must have the output shape ",
                     show(win.out_shape), "; got dy.shape=", show(dy.shape()));
  std::vector<Tensor> out(3);
  const bool meta = x.is_meta() || w.is_meta() || dy.is_meta();
  const Device dev = meta ? Device::Meta : x.device();
  if (need_dx) out[0] = Tensor::empty(x.shape(), x.dtype(), dev, op);
  if (need_dw) out[1] = Tensor::empty(w.shape(), x.dtype(), dev, op);
  if (need_dbias) out[2] = Tensor::empty({c * m}, x.dtype(), dev, op);
  if (meta) return out;
  const Tensor xc = x.contiguous(), wc = w.contiguous(), gc = dy.contiguous();
  fill_strides(xc.shape(), channels_first, win.g.xs);
  fill_strides(gc.shape(), channels_first, win.g.ys);
  if (dy.numel() == 0 || x.numel() == 0) {
    for (Tensor& t : out) {
      if (t.defined()) t = zeros(t.shape(), t.dtype());
    }
    return out;
  }
  if (need_dx) {
    kernels::depthwise_conv_backward_input(x.device())(x.dtype(), win.g, wc.raw_data(),
                                                       gc.raw_data(), out[0].raw_data());
  }
  if (need_dw || need_dbias) {
    Tensor dw = need_dw ? out[1] : Tensor::empty(w.shape(), x.dtype(), x.device(), op);
    kernels::depthwise_conv_backward_filter(x.device())(
        x.dtype(), win.g, xc.raw_data(), gc.raw_data(), dw.raw_data(),
        need_dbias ? out[2].raw_data() : nullptr);
  }
  rec.record(
      "depthwise_conv_backward", {x, w, dy}, out,
      [](const trace::Tensors& in, const auto& strides, const auto& dilations, const auto& padding,
         const auto& channels_first, const auto& need_dx, const auto& need_dw,
         const auto& need_dbias) {
        return depthwise_conv_backward(in[0], in[1], in[2], strides, dilations, padding,
                                       channels_first, need_dx, need_dw, need_dbias);
      },
      strides, dilations, padding, channels_first, need_dx, need_dw, need_dbias);
  return out;
}

Tensor resize(const Tensor& x, const std::vector<int64_t>& size, const std::string& method,
              bool align_corners, bool half_pixel_centers, bool channels_first) {
  trace::OpRecord rec;
  const char* op = "resize";
  check_input(x, op);
  const cpu::ResizeSpec spec = resize_spec(op, method, align_corners, half_pixel_centers);
  const int rank = static_cast<int>(x.ndim()) - 2;
  CORTEN_CHECK_VALUE(static_cast<int>(size.size()) == rank, op, ": size must have ", rank,
                     " entries (one per spatial dimension of x.shape=", show(x.shape()),
                     "); got size=", show_list(size));
  for (int i = 0; i < rank; ++i) {
    // An unknown size is admitted where the input's dimension is unknown (shape inference).
    const bool unknown_ok =
        size[i] == kUnknownDim && x.dim(spatial_dim(x.ndim(), channels_first, i)) == kUnknownDim;
    CORTEN_CHECK_VALUE(size[i] >= 1 || unknown_ok, op, ": size must be positive; got size=",
                       show_list(size), " for x.shape=", show(x.shape()));
  }
  Tensor out = Tensor::empty(resized_shape(x.shape(), size, channels_first), x.dtype(),
                             x.device(), op);
  if (x.is_meta() || out.numel() == 0) return out;
  CORTEN_CHECK_VALUE(x.numel() != 0, op, ": cannot resize an empty input; got x.shape=",
                     show(x.shape()));
  const Tensor xc = x.contiguous();
  SpatialGeom g = resize_geom(x.shape(), size, channels_first);
  fill_strides(xc.shape(), channels_first, g.xs);
  fill_strides(out.shape(), channels_first, g.ys);
  kernels::resize(out.device())(x.dtype(), spec, g, xc.raw_data(), out.raw_data());
  if (autograd::is_recording()) {
    std::vector<int64_t> in_size;
    for (int64_t i = 0; i < x.ndim() - 2; ++i) {
      in_size.push_back(x.dim(spatial_dim(x.ndim(), channels_first, static_cast<int>(i))));
    }
    autograd::record_resize(x, in_size, method, align_corners, half_pixel_centers,
                            channels_first, out);
  }
  rec.record("resize", {x}, {out}, ResizeReplay{}, size, method, align_corners, half_pixel_centers,
             channels_first);
  return out;
}

Tensor resize_grad(const Tensor& dy, const std::vector<int64_t>& input_size,
                   const std::string& method, bool align_corners, bool half_pixel_centers,
                   bool channels_first) {
  trace::OpRecord rec;
  const char* op = "resize_grad";
  check_input(dy, op);
  const cpu::ResizeSpec spec = resize_spec(op, method, align_corners, half_pixel_centers);
  check_window_arg(input_size, static_cast<int>(dy.ndim()) - 2, op, "input_size", dy);
  const Shape in_shape = resized_shape(dy.shape(), input_size, channels_first);
  Tensor dx = Tensor::empty(in_shape, dy.dtype(), dy.device(), op);
  if (dy.is_meta() || dx.numel() == 0) return dx;
  if (dy.numel() == 0) return zeros(in_shape, dy.dtype());
  const Tensor gc = dy.contiguous();
  std::vector<int64_t> out_size;
  for (int64_t i = 0; i < dy.ndim() - 2; ++i) {
    out_size.push_back(dy.dim(spatial_dim(dy.ndim(), channels_first, static_cast<int>(i))));
  }
  SpatialGeom g = resize_geom(in_shape, out_size, channels_first);
  fill_strides(in_shape, channels_first, g.xs);
  fill_strides(gc.shape(), channels_first, g.ys);
  kernels::resize_backward(dx.device())(dy.dtype(), spec, g, gc.raw_data(), dx.raw_data());
  rec.record(
      "resize_grad", {dy}, {dx},
      [](const trace::Tensors& in, const auto& input_size, const auto& method,
         const auto& align_corners, const auto& half_pixel_centers, const auto& channels_first) {
        return resize_grad(in[0], input_size, method, align_corners, half_pixel_centers,
                           channels_first);
      },
      input_size, method, align_corners, half_pixel_centers, channels_first);
  return dx;
}

}  // namespace corten
