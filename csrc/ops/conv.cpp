// Convolution entry points: argument checks, output shapes (meta included), the
// channels_first <-> channels_last transposes, kernel dispatch and autograd recording.
// The kernels (csrc/cpu/conv.cpp) see contiguous channels_last data only.

#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <string>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"
#include "ops/op_attrs.h"

namespace corten {
namespace {

std::string list_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// The checked geometry of one convolution in "forward" terms: `in` is the convolution's
// input (conv's x, conv_transpose's result), `out` its output.
struct Geometry {
  int64_t nd = 0;
  int64_t n = 0, c = 0, f = 0;
  Shape in, out, k;
};

void check_floating(const Tensor& t, const char* op) {
  CORTEN_CHECK_TYPE(is_floating(t.dtype()) || detail::bfloat16_gemm(t), op,
                    ": expected float32, float64 or bfloat16 operands; got ",
                    dtype_name(t.dtype()));
}

// float16, and bfloat16 off the CPU, convolve in float32 (Note [Half-precision compute]); the
// CPU's bfloat16 has kernels of its own (Note [bfloat16 convolution] in cpu/conv_bf16.cpp).
bool widened(const Tensor& x, const Tensor& w, const Tensor& bias) {
  return detail::any_half({&x, &w, &bias}) && !detail::bfloat16_gemm(x);
}

// Spatial sizes, batch and channels of a rank nd + 2 tensor.
void split_dims(const Shape& s, int64_t nd, bool channels_last, int64_t* n, int64_t* ch,
                Shape* spatial) {
  *n = s[0];
  *ch = channels_last ? s[nd + 1] : s[1];
  spatial->assign(s.begin() + (channels_last ? 1 : 2), s.begin() + (channels_last ? 1 : 2) + nd);
}

Shape join_dims(int64_t n, int64_t ch, const Shape& spatial, bool channels_last) {
  Shape s{n};
  if (!channels_last) s.push_back(ch);
  s.insert(s.end(), spatial.begin(), spatial.end());
  if (channels_last) s.push_back(ch);
  return s;
}

// Checks the options and the kernel shape; returns nd.
int64_t check_options(const char* op, const Shape& w_shape, const ConvOptions& o) {
  const int64_t nd = static_cast<int64_t>(w_shape.size()) - 2;
  CORTEN_CHECK_VALUE(nd >= 1 && nd <= 3, op,
                     ": the kernel must have rank 3, 4 or 5 (*kernel_size, in_channels / groups, "
                     "filters); got w.shape=", show(w_shape));
  for (int64_t d : w_shape)
    CORTEN_CHECK_VALUE(d >= 0, op, ": the kernel's shape must be known; got w.shape=",
                       show(w_shape));
  for (int64_t i = 0; i < nd; ++i)
    CORTEN_CHECK_VALUE(w_shape[i] >= 1, op, ": kernel sizes must be >= 1; got w.shape=",
                       show(w_shape));
  CORTEN_CHECK_VALUE(static_cast<int64_t>(o.strides.size()) == nd, op, ": expected ", nd,
                     " strides for a ", nd, "-D convolution; got strides=", list_str(o.strides));
  CORTEN_CHECK_VALUE(static_cast<int64_t>(o.dilations.size()) == nd, op, ": expected ", nd,
                     " dilations for a ", nd, "-D convolution; got dilations=",
                     list_str(o.dilations));
  CORTEN_CHECK_VALUE(static_cast<int64_t>(o.padding.size()) == 2 * nd, op, ": expected ",
                     2 * nd, " padding values (before, after per dimension) for a ", nd,
                     "-D convolution; got padding=", list_str(o.padding));
  for (int64_t s : o.strides)
    CORTEN_CHECK_VALUE(s >= 1, op, ": strides must be >= 1; got strides=", list_str(o.strides));
  for (int64_t d : o.dilations)
    CORTEN_CHECK_VALUE(d >= 1, op, ": dilations must be >= 1; got dilations=",
                       list_str(o.dilations));
  for (int64_t p : o.padding)
    CORTEN_CHECK_VALUE(p >= 0, op, ": padding must be >= 0; got padding=", list_str(o.padding));
  const int64_t f = w_shape[nd + 1];
  CORTEN_CHECK_VALUE(o.groups >= 1, op, ": groups must be >= 1; got groups=", o.groups);
  CORTEN_CHECK_VALUE(f % o.groups == 0, op, ": the number of filters (w.shape[-1]=", f,
                     ") must be divisible by groups=", o.groups, "; got w.shape=",
                     show(w_shape));
  return nd;
}

// The output size of one spatial dimension, or kUnknownDim.
int64_t out_size(const char* op, int64_t i, int64_t in, const Shape& w_shape,
                 const ConvOptions& o, const Shape& x_shape) {
  if (in == kUnknownDim) return kUnknownDim;
  const int64_t span = o.dilations[i] * (w_shape[i] - 1) + 1;
  const int64_t padded = in + o.padding[2 * i] + o.padding[2 * i + 1];
  CORTEN_CHECK_VALUE(span <= padded, op, ": the kernel (size ", span, " with dilation ",
                     o.dilations[i], ") is larger than the padded input (size ", padded,
                     ") along spatial dimension ", i, "; got input shape ", show(x_shape),
                     ", w.shape=", show(w_shape));
  return (padded - span) / o.strides[i] + 1;
}

void check_channels(const char* op, int64_t c, const Shape& w_shape, int64_t nd,
                    const ConvOptions& o, const Shape& x_shape) {
  if (c == kUnknownDim) return;
  CORTEN_CHECK_VALUE(c == w_shape[nd] * o.groups, op, ": the input channels (", c,
                     ") must equal w.shape[-2] * groups (", w_shape[nd], " * ", o.groups,
                     "); got input shape ", show(x_shape), ", w.shape=", show(w_shape));
}

cpu::ConvGeom make_geom(const Geometry& g, const ConvOptions& o) {
  cpu::ConvGeom k{};
  k.n = g.n;
  k.c = g.c;
  k.f = g.f;
  k.groups = o.groups;
  k.reference = o.reference;
  const int64_t lead = 3 - g.nd;
  for (int64_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const int64_t j = i - lead;
    k.in[i] = real ? g.in[j] : 1;
    k.out[i] = real ? g.out[j] : 1;
    k.k[i] = real ? g.k[j] : 1;
    k.stride[i] = real ? o.strides[j] : 1;
    k.dil[i] = real ? o.dilations[j] : 1;
    k.pad[i] = real ? o.padding[2 * j] : 0;
  }
  return k;
}

std::vector<int64_t> to_last_perm(int64_t nd) {
  std::vector<int64_t> p{0};
  for (int64_t i = 0; i < nd; ++i) p.push_back(i + 2);
  p.push_back(1);
  return p;
}

std::vector<int64_t> to_first_perm(int64_t nd) {
  std::vector<int64_t> p{0, nd + 1};
  for (int64_t i = 0; i < nd; ++i) p.push_back(i + 1);
  return p;
}

// The contiguous channels_last form of a tensor given in the options' layout. No tape
// records the transpose: the caller records the whole op.
Tensor as_channels_last(const Tensor& t, int64_t nd, const ConvOptions& o) {
  if (o.channels_last) return t.contiguous();
  autograd::PauseRecording pause;
  return transpose(t, to_last_perm(nd)).contiguous();
}

Tensor from_channels_last(const Tensor& t, int64_t nd, const ConvOptions& o) {
  if (o.channels_last) return t;
  autograd::PauseRecording pause;
  return transpose(t, to_first_perm(nd)).contiguous();
}

Shape channels_last_shape(const Geometry& g, bool input) {
  Shape s{g.n};
  const Shape& sp = input ? g.in : g.out;
  s.insert(s.end(), sp.begin(), sp.end());
  s.push_back(input ? g.c : g.f);
  return s;
}

void check_bias(const char* op, const Tensor& bias, const Tensor& x, int64_t channels) {
  if (!bias.defined()) return;
  detail::check_same_dtype(x, bias, op);
  detail::check_same_device(x, bias, op);
  CORTEN_CHECK_VALUE(bias.ndim() == 1 && (bias.dim(0) == channels || bias.dim(0) == kUnknownDim),
                     op, ": bias must have shape (", channels, ",); got bias.shape=",
                     show(bias.shape()));
}

struct ConvReplay {
  static constexpr trace::InputCount kInputs{3};
  Tensor operator()(const trace::Tensors& in, const ConvOptions& o, Activation act) const {
    return conv(in[0], in[1], in[2], o, act);
  }
};
struct ConvTransposeReplay {
  static constexpr trace::InputCount kInputs{3};
  Tensor operator()(const trace::Tensors& in, const std::vector<int64_t>& output_spatial,
                    const ConvOptions& o, Activation act) const {
    return conv_transpose(in[0], in[1], in[2], output_spatial, o, act);
  }
};
const trace::ReplayRegistration<ConvReplay, ConvOptions, Activation> kConvReplay("conv");
const trace::ReplayRegistration<ConvTransposeReplay, std::vector<int64_t>, ConvOptions, Activation>
    kConvTransposeReplay("conv_transpose");

}  // namespace

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvOptions& o,
            Activation act) {
  const char* op = "conv";
  detail::check_defined(x, op, "x");
  detail::check_defined(w, op, "w");
  detail::check_same_dtype(x, w, op);
  detail::check_same_device(x, w, op);
  if (widened(x, w, bias)) {
    if (bias.defined()) detail::check_same_dtype(x, bias, op);
    return detail::narrow_half(
        conv(detail::widen_half(x), detail::widen_half(w), detail::widen_half(bias), o, act),
        x.dtype());
  }
  trace::OpRecord rec;
  check_floating(x, op);
  Geometry g;
  g.nd = check_options(op, w.shape(), o);
  CORTEN_CHECK_VALUE(x.ndim() == g.nd + 2, op, ": expected an input of rank ", g.nd + 2,
                     " for a ", g.nd, "-D convolution (w.shape=", show(w.shape()),
                     "); got input shape ", show(x.shape()));
  split_dims(x.shape(), g.nd, o.channels_last, &g.n, &g.c, &g.in);
  check_channels(op, g.c, w.shape(), g.nd, o, x.shape());
  g.f = w.dim(g.nd + 1);
  g.k.assign(w.shape().begin(), w.shape().begin() + g.nd);
  for (int64_t i = 0; i < g.nd; ++i)
    g.out.push_back(out_size(op, i, g.in[i], w.shape(), o, x.shape()));
  check_bias(op, bias, x, g.f);
  const Shape out_shape = join_dims(g.n, g.f, g.out, o.channels_last);
  const bool meta = x.is_meta() || w.is_meta() || (bias.defined() && bias.is_meta());
  if (meta) return Tensor::empty(out_shape, x.dtype(), Device::Meta, op);
  g.c = w.dim(g.nd) * o.groups;
  Tensor y = Tensor::empty(channels_last_shape(g, false), x.dtype(), x.device(), op);
  const Tensor xc = as_channels_last(x, g.nd, o), wc = w.contiguous();
  const Tensor bc = bias.defined() ? bias.contiguous() : bias;
  if (y.numel() > 0) {
    kernels::conv_forward(y.device())(x.dtype(), make_geom(g, o), xc.raw_data(), wc.raw_data(),
                                      bc.defined() ? bc.raw_data() : nullptr, act, y.raw_data());
  }
  Tensor out = from_channels_last(y, g.nd, o);
  if (autograd::is_recording()) autograd::record_conv(x, w, bias, o, act, out);
  rec.record(op, {x, w, bias}, {out}, ConvReplay{}, o, act);
  return out;
}

Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias,
                      const std::vector<int64_t>& output_spatial, const ConvOptions& o,
                      Activation act) {
  const char* op = "conv_transpose";
  detail::check_defined(x, op, "x");
  detail::check_defined(w, op, "w");
  detail::check_same_dtype(x, w, op);
  detail::check_same_device(x, w, op);
  if (widened(x, w, bias)) {
    if (bias.defined()) detail::check_same_dtype(x, bias, op);
    return detail::narrow_half(conv_transpose(detail::widen_half(x), detail::widen_half(w),
                                              detail::widen_half(bias), output_spatial, o, act),
                               x.dtype());
  }
  trace::OpRecord rec;
  check_floating(x, op);
  Geometry g;
  g.nd = check_options(op, w.shape(), o);
  CORTEN_CHECK_VALUE(x.ndim() == g.nd + 2, op, ": expected an input of rank ", g.nd + 2,
                     " for a ", g.nd, "-D transposed convolution (w.shape=", show(w.shape()),
                     "); got input shape ", show(x.shape()));
  CORTEN_CHECK_VALUE(static_cast<int64_t>(output_spatial.size()) == g.nd, op, ": expected ",
                     g.nd, " output spatial sizes; got output_shape=", list_str(output_spatial));
  const bool meta = x.is_meta() || w.is_meta() || (bias.defined() && bias.is_meta());
  for (int64_t d : output_spatial)
    CORTEN_CHECK_VALUE(d >= 0 || (meta && d == kUnknownDim), op,
                       ": output sizes must be >= 0; got output_shape=",
                       list_str(output_spatial));
  split_dims(x.shape(), g.nd, o.channels_last, &g.n, &g.f, &g.out);
  g.f = g.f == kUnknownDim ? w.dim(g.nd + 1) : g.f;
  const int64_t xf = o.channels_last ? x.dim(g.nd + 1) : x.dim(1);
  CORTEN_CHECK_VALUE(xf == kUnknownDim || xf == w.dim(g.nd + 1), op, ": the input channels (",
                     xf, ") must equal w.shape[-1] (", w.dim(g.nd + 1), "); got input shape ",
                     show(x.shape()), ", w.shape=", show(w.shape()));
  g.c = w.dim(g.nd) * o.groups;
  g.in = output_spatial;
  g.k.assign(w.shape().begin(), w.shape().begin() + g.nd);
  const Shape full_out = join_dims(g.n, g.c, g.in, o.channels_last);
  for (int64_t i = 0; i < g.nd; ++i) {
    const int64_t back = out_size(op, i, g.in[i], w.shape(), o, full_out);
    CORTEN_CHECK_VALUE(back == kUnknownDim || g.out[i] == kUnknownDim || back == g.out[i], op,
                       ": output_shape=", list_str(output_spatial), " does not fit the input ",
                       "shape ", show(x.shape()), ": a convolution with strides=",
                       list_str(o.strides), ", padding=", list_str(o.padding),
                       " maps it to size ", back, " along spatial dimension ", i, ", not ",
                       g.out[i]);
  }
  check_bias(op, bias, x, g.c);
  if (meta) return Tensor::empty(full_out, x.dtype(), Device::Meta, op);
  Tensor y = Tensor::empty(channels_last_shape(g, true), x.dtype(), x.device(), op);
  const Tensor xc = as_channels_last(x, g.nd, o), wc = w.contiguous();
  const Tensor bc = bias.defined() ? bias.contiguous() : bias;
  if (y.numel() > 0) {
    // An empty x (no filters) gives act(0 + bias): the kernel's GEMMs have k == 0.
    kernels::conv_backward_data(y.device())(x.dtype(), make_geom(g, o), xc.raw_data(),
                                            wc.raw_data(), bc.defined() ? bc.raw_data() : nullptr,
                                            act, y.raw_data());
  }
  Tensor out = from_channels_last(y, g.nd, o);
  if (autograd::is_recording()) autograd::record_conv_transpose(x, w, bias, o, act, out);
  rec.record(op, {x, w, bias}, {out}, ConvTransposeReplay{}, output_spatial, o, act);
  return out;
}

Tensor conv_backward_filter(const Tensor& x, const Tensor& dy, const Shape& w_shape,
                            const ConvOptions& o) {
  const char* op = "conv_backward_filter";
  detail::check_defined(x, op, "x");
  detail::check_defined(dy, op, "dy");
  detail::check_same_dtype(x, dy, op);
  if (widened(x, dy, Tensor())) {
    return detail::narrow_half(
        conv_backward_filter(detail::widen_half(x), detail::widen_half(dy), w_shape, o), x.dtype());
  }
  trace::OpRecord rec;
  check_floating(x, op);
  Geometry g;
  g.nd = check_options(op, w_shape, o);
  CORTEN_CHECK_VALUE(x.ndim() == g.nd + 2 && dy.ndim() == g.nd + 2, op,
                     ": expected x and dy of rank ", g.nd + 2, "; got x.shape=", show(x.shape()),
                     ", dy.shape=", show(dy.shape()));
  split_dims(x.shape(), g.nd, o.channels_last, &g.n, &g.c, &g.in);
  check_channels(op, g.c, w_shape, g.nd, o, x.shape());
  g.f = w_shape[g.nd + 1];
  g.k.assign(w_shape.begin(), w_shape.begin() + g.nd);
  for (int64_t i = 0; i < g.nd; ++i)
    g.out.push_back(out_size(op, i, g.in[i], w_shape, o, x.shape()));
  const Shape expect = join_dims(g.n, g.f, g.out, o.channels_last);
  CORTEN_CHECK_VALUE(dy.shape() == expect || x.is_meta() || dy.is_meta(), op,
                     ": dy must have shape ", show(expect), " for x.shape=", show(x.shape()),
                     " and w.shape=", show(w_shape), "; got dy.shape=", show(dy.shape()));
  if (x.is_meta() || dy.is_meta()) return Tensor::empty(w_shape, x.dtype(), Device::Meta, op);
  Tensor dw = Tensor::empty(w_shape, x.dtype(), x.device(), op);
  const Tensor xc = as_channels_last(x, g.nd, o), gc = as_channels_last(dy, g.nd, o);
  if (dw.numel() > 0) {
    kernels::conv_backward_filter(dw.device())(x.dtype(), make_geom(g, o), xc.raw_data(),
                                               gc.raw_data(), dw.raw_data());
  }
  rec.record(
      op, {x, dy}, {dw},
      [](const trace::Tensors& in, const auto& w_shape, const auto& o) {
        return conv_backward_filter(in[0], in[1], w_shape, o);
      },
      w_shape, o);
  return dw;
}

}  // namespace corten
