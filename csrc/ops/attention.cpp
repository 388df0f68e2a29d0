#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "autograd/grad_rules.h"
#include "ops/common.h"
#include "ops/kernels.h"
#include "ops/op_attrs.h"

namespace corten {
namespace {

// The attention kernels are CPU-only so far: they stay out of the device kernel table (whose
// every CPU kernel has a CUDA twin) until a CUDA kernel exists.
void check_on_cpu(const Tensor& t, const char* op) {
  CORTEN_CHECK_VALUE(t.device() == Device::CPU, op,
                     ": runs on the CPU only (no CUDA kernel "
                     "yet); got tensors on ",
                     device_name(t.device()));
}

constexpr const char* kOp = "scaled_dot_product_attention";

struct Dims {
  int64_t b, tq, tk, h, d, dv;
};

// Checks query, key, value and mask; returns the sizes.
Dims check_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                     double rate, double scale) {
  detail::check_defined(q, kOp, "query");
  detail::check_defined(k, kOp, "key");
  detail::check_defined(v, kOp, "value");
  CORTEN_CHECK_TYPE(is_floating(q.dtype()) || q.dtype() == DType::BFloat16, kOp,
                    ": query must be float32, float64, bfloat16 or float16; got dtype ",
                    dtype_name(q.dtype()));
  CORTEN_CHECK_TYPE(k.dtype() == q.dtype() && v.dtype() == q.dtype(), kOp,
                    ": query, key and value must have one dtype; got ", dtype_name(q.dtype()), ", ",
                    dtype_name(k.dtype()), ", ", dtype_name(v.dtype()));
  detail::check_same_device(q, k, kOp);
  detail::check_same_device(q, v, kOp);
  CORTEN_CHECK_VALUE(q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4, kOp,
                     ": query, key and value must have rank 4 (batch, time, heads, depth); got "
                     "query.shape=",
                     show(q.shape()), ", key.shape=", show(k.shape()),
                     ", value.shape=", show(v.shape()));
  const Dims d{q.dim(0), q.dim(1), k.dim(1), q.dim(2), q.dim(3), v.dim(3)};
  CORTEN_CHECK_VALUE(k.dim(0) == d.b && v.dim(0) == d.b && k.dim(2) == d.h && v.dim(2) == d.h &&
                         k.dim(3) == d.d && v.dim(1) == d.tk,
                     kOp,
                     ": expected query (B, Tq, H, D), key (B, Tk, H, D) and value (B, Tk, "
                     "H, Dv) with equal B, H, D and Tk; got query.shape=",
                     show(q.shape()), ", key.shape=", show(k.shape()),
                     ", value.shape=", show(v.shape()));
  CORTEN_CHECK_VALUE(rate >= 0.0 && rate < 1.0, kOp, ": dropout_rate must be in [0, 1); got ",
                     rate);
  CORTEN_CHECK_VALUE(std::isfinite(scale), kOp, ": scale must be finite; got ", scale);
  if (mask.defined()) {
    CORTEN_CHECK_TYPE(mask.dtype() == DType::Bool, kOp, ": attention_mask must be bool; got ",
                      dtype_name(mask.dtype()));
    detail::check_same_device(q, mask, kOp);
    const Shape target{d.b, d.h, d.tq, d.tk};
    bool ok = mask.ndim() <= 4;
    for (int64_t a = 0; ok && a < mask.ndim(); ++a) {
      const int64_t m = mask.dim(mask.ndim() - 1 - a);
      ok = m == 1 || m == target[3 - a];
    }
    CORTEN_CHECK_VALUE(ok, kOp, ": attention_mask.shape=", show(mask.shape()),
                       " does not broadcast to (batch, heads, Tq, Tk)=", show(target),
                       " (query.shape=", show(q.shape()), ", key.shape=", show(k.shape()), ")");
  }
  return d;
}

cpu::AttentionParams params_of(const Dims& d, const Tensor& mask, bool causal, double scale,
                               double rate, const Tensor& seed) {
  cpu::AttentionParams p;
  p.batch = d.b;
  p.tq = d.tq;
  p.tk = d.tk;
  p.heads = d.h;
  p.dk = d.d;
  p.dv = d.dv;
  p.causal = causal;
  p.scale = scale;
  p.rate = rate;
  if (mask.defined()) {
    p.mask = mask.data<bool>();
    const Shape s = broadcast_strides(mask.shape(), mask.strides(), {d.b, d.h, d.tq, d.tk});
    for (int a = 0; a < 4; ++a) p.mask_strides[a] = s[static_cast<size_t>(a)];
  }
  if (rate > 0) {
    const Tensor c = seed.contiguous();
    std::memcpy(&p.key, c.data<int64_t>(), sizeof(uint64_t));
    std::memcpy(&p.offset, c.data<int64_t>() + 1, sizeof(uint64_t));
  }
  return p;
}

void check_seed(const Tensor& seed, double rate) {
  if (rate == 0.0) return;
  CORTEN_CHECK_VALUE(seed.defined() && seed.dtype() == DType::Int64 && seed.numel() == 2 &&
                         !seed.is_meta() && seed.device() == Device::CPU,
                     kOp,
                     ": with dropout_rate > 0, seed must be an int64 tensor of 2 values "
                     "[key, offset] on the cpu");
}

// The saved row log-sum-exp stays float32 for bfloat16 inputs (Note [bfloat16 attention]).
DType lse_dtype(DType dtype) { return dtype == DType::BFloat16 ? DType::Float32 : dtype; }

double resolve_scale(const Tensor& q, const std::optional<double>& scale) {
  if (scale) return *scale;
  const int64_t d = q.defined() && q.ndim() == 4 ? q.dim(3) : 1;
  return 1.0 / std::sqrt(static_cast<double>(d > 0 ? d : 1));
}

// What a forward call makes: the output and the saved row log-sum-exp. No autograd.
trace::Tensors attention_parts(const Tensor& q, const Tensor& k, const Tensor& v,
                               const Tensor& mask, const Tensor& seed, bool causal, double scale,
                               double rate, bool reference) {
  const Dims d = check_attention(q, k, v, mask, rate, scale);
  check_seed(seed, rate);
  const bool meta = q.is_meta() || k.is_meta() || v.is_meta() || (mask.defined() && mask.is_meta());
  const Device dev = meta ? Device::Meta : q.device();
  Tensor out = Tensor::empty({d.b, d.tq, d.h, d.dv}, q.dtype(), dev, kOp);
  Tensor lse = Tensor::empty({d.b, d.h, d.tq}, lse_dtype(q.dtype()), dev, kOp);
  if (meta) return {out, lse};
  const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  const cpu::AttentionParams p = params_of(d, mask, causal, scale, rate, seed);
  check_on_cpu(q, kOp);
  const auto kernel = reference ? &cpu::attention_forward_ref : &cpu::attention_forward;
  kernel(q.dtype(), p, qc.raw_data(), kc.raw_data(), vc.raw_data(), out.raw_data(), lse.raw_data());
  return {out, lse};
}

struct AttentionReplay {
  static constexpr trace::InputCount kInputs{5};
  trace::Tensors operator()(const trace::Tensors& in, bool causal, double scale, double rate,
                            bool reference) const {
    return attention_parts(in[0], in[1], in[2], in[3], in[4], causal, scale, rate, reference);
  }
};
const trace::ReplayRegistration<AttentionReplay, bool, double, double, bool> kAttentionReplay(kOp);

struct AttentionBackwardReplay {
  static constexpr trace::InputCount kInputs{8};
  trace::Tensors operator()(const trace::Tensors& in, bool causal, double scale, double rate,
                            bool reference, bool need_dq, bool need_dk, bool need_dv) const {
    return scaled_dot_product_attention_backward(in[0], in[1], in[2], in[3], in[4], in[5], in[6],
                                                 in[7], causal, scale, rate, reference, need_dq,
                                                 need_dk, need_dv);
  }
};
const trace::ReplayRegistration<AttentionBackwardReplay, bool, double, double, bool, bool, bool,
                                bool>
    kAttentionBackwardReplay("scaled_dot_product_attention_backward");

// The forward with its autograd record (no trace record): {out, lse}.
trace::Tensors attention_recorded(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& mask, const Tensor& seed, bool causal, double scale,
                                  double rate, bool reference) {
  trace::Tensors parts = attention_parts(q, k, v, mask, seed, causal, scale, rate, reference);
  if (!parts[0].is_meta() && autograd::is_recording()) {
    autograd::record_attention(q, k, v, mask, seed, parts[0], parts[1], causal, scale, rate,
                               reference);
  }
  return parts;
}

// The stream form and its replay: {out, lse, seed}, the seed taken from the stream.
trace::Tensors attention_from_stream(const Tensor& q, const Tensor& k, const Tensor& v,
                                     const Tensor& mask, bool causal, double scale, double rate,
                                     bool reference, PhiloxStream stream) {
  const Dims d = check_attention(q, k, v, mask, rate, scale);
  const Tensor seed =
      philox_seed_tensor(philox_stream_take(stream, philox_counters_used(d.b * d.h * d.tq * d.tk)));
  trace::Tensors parts = attention_recorded(q, k, v, mask, seed, causal, scale, rate, reference);
  parts.push_back(seed);
  return parts;
}

// Note [Direct attention for few keys]
// With few keys the score matrix is small, and the attention is cheaper as the plain ops:
// S = (Q * scale) K^T as one batched matmul over every (b, h), the masks as where() (a row
// with no visible key gets zero scores, so the uniform weights of Note [Attention masks]),
// softmax, the dropout() mask of Note [Attention dropout counters] (the same counters, so the
// same keep decisions as the tiled kernels), and P V; each op records its own gradient. The
// tiled kernels pay per (b, h) and per tile (packing, online-softmax bookkeeping, tiles padded
// to 16 keys) what the batched products do not. Measured at batch 32, 8 heads of 32,
// Tq = Tk = T, forward and backward (bench/lab/mixed_precision_kernels.py, median of 15;
// 1 thread / 2 threads, microseconds; bench/results/mixed-precision-kernels-*.txt has a later
// run of the same), tiled vs direct:
//   T = 8: 908 / 592 vs 313 / 311;   T = 16: 1736 / 1105 vs 698 / 634;
//   T = 32: 4012 / 2461 vs 2631 / 1685;   T = 64: 13365 / 6931 vs 10938 / 6870;
//   T = 128: 40352 / 26639 vs 43061 / 21862 (and the direct path's S is 4 MB there).
// So Kernel::Auto runs the direct path up to kDirectMaxKeys keys (one key tile of the tiled
// kernels), on CPU tensors whose key length is known; beyond that the (Tq, Tk) matrix the
// direct path materialises grows with T^2, and the tiled kernels keep memory flat.
constexpr int64_t kDirectMaxKeys = 64;

bool direct_attention_applies(const Tensor& q, const Tensor& k, const AttentionOptions& o) {
  if (o.reference || o.kernel == AttentionOptions::Kernel::Tiled) return false;
  if (o.kernel == AttentionOptions::Kernel::Direct) return true;
  return q.defined() && k.defined() && q.device() == Device::CPU && k.ndim() == 4 &&
         k.dim(1) != kUnknownDim && k.dim(1) <= kDirectMaxKeys &&
         (q.ndim() != 4 || q.dim(1) != kUnknownDim);
}

// The direct path of Note [Direct attention for few keys]; `drop` applies the probabilities'
// dropout when the rate is positive.
template <class Drop>
Tensor direct_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                        const AttentionOptions& o, const Drop& drop) {
  const Dims d = check_attention(q, k, v, mask, o.dropout_rate, o.scale.value_or(1.0));
  const double scale = resolve_scale(q, o.scale);
  const std::vector<int64_t> heads_first{0, 2, 1, 3};
  const Tensor qh =
      transpose(binary(BinaryOp::Multiply, q, full({}, scale, q.dtype())), heads_first);
  Tensor s = matmul(qh, transpose(k, heads_first), false, true);
  Tensor visible = mask;
  if (o.causal) {
    const Tensor band =
        binary(BinaryOp::LessEqual, reshape(range(0, d.tk, 1, DType::Int64), {1, d.tk}),
               reshape(range(0, d.tq, 1, DType::Int64), {d.tq, 1}));
    visible = visible.defined() ? binary(BinaryOp::LogicalAnd, visible, band) : band;
  }
  if (visible.defined()) {
    const Tensor any = reduce(ReduceOp::Any, visible, {-1}, true);
    s = where(visible, s, full({}, -std::numeric_limits<double>::infinity(), s.dtype()));
    s = where(any, s, full({}, 0.0, s.dtype()));
  }
  Tensor p = softmax(s, -1);
  if (o.dropout_rate > 0) p = drop(p);
  return transpose(matmul(p, transpose(v, heads_first)), heads_first);
}

// What both forms run before the tiled kernels: 16-bit inputs through float32 (Note
// [Half-precision compute]), except bfloat16 ones bound for the tiled kernels (Note [bfloat16
// attention]), and the direct path of Note [Direct attention for few keys], its dropout drawn
// from `rng` (the seed tensor or the stream). Undefined when neither applies.
template <class Rng>
Tensor widened_or_direct(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                         const AttentionOptions& o, const Rng& rng) {
  const bool direct = direct_attention_applies(q, k, o);
  const bool tiled_bf16 = !direct && !o.reference && q.defined() && k.defined() && v.defined() &&
                          q.dtype() == DType::BFloat16 && k.dtype() == DType::BFloat16 &&
                          v.dtype() == DType::BFloat16;
  if (!tiled_bf16 && detail::any_half({&q, &k, &v})) {
    return detail::narrow_half(
        scaled_dot_product_attention(detail::widen_half(q), detail::widen_half(k),
                                     detail::widen_half(v), mask, o, rng),
        q.dtype());
  }
  if (!direct) return Tensor();
  if constexpr (std::is_same_v<Rng, Tensor>) check_seed(rng, o.dropout_rate);
  return direct_attention(q, k, v, mask, o, [&](const Tensor& p) {
    return dropout(p, o.dropout_rate, std::nullopt, rng);
  });
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& mask, const AttentionOptions& options,
                                    const Tensor& seed) {
  if (Tensor out = widened_or_direct(query, key, value, mask, options, seed); out.defined())
    return out;
  trace::OpRecord rec;
  const double scale = resolve_scale(query, options.scale);
  const trace::Tensors parts = attention_recorded(query, key, value, mask, seed, options.causal,
                                                  scale, options.dropout_rate, options.reference);
  if (parts[0].is_meta()) return parts[0];
  // lse is an output of the node, so that the backward nodes read this replay's.
  rec.record(kOp, {query, key, value, mask, seed}, parts, AttentionReplay{}, options.causal, scale,
             options.dropout_rate, options.reference);
  return parts[0];
}

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& mask, const AttentionOptions& options,
                                    PhiloxStream stream) {
  if (options.dropout_rate == 0.0) {
    return scaled_dot_product_attention(query, key, value, mask, options, Tensor());
  }
  if (Tensor out = widened_or_direct(query, key, value, mask, options, stream); out.defined())
    return out;
  trace::OpRecord rec;
  const double scale = resolve_scale(query, options.scale);
  const trace::Tensors outs =
      attention_from_stream(query, key, value, mask, options.causal, scale, options.dropout_rate,
                            options.reference, stream);
  if (!outs[0].is_meta()) {
    // Every replay takes fresh counters from the stream, and its backward reads its seed.
    rec.record_effect(
        trace::Effect::Random, "scaled_dot_product_attention_draw", {query, key, value, mask}, outs,
        [](const trace::Tensors& in, bool causal, double sc, double rate, bool reference,
           PhiloxStream st) {
          return attention_from_stream(in[0], in[1], in[2], in[3], causal, sc, rate, reference, st);
        },
        options.causal, scale, options.dropout_rate, options.reference, stream);
  }
  return outs[0];
}

std::vector<Tensor> scaled_dot_product_attention_backward(
    const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask,
    const Tensor& out, const Tensor& lse, const Tensor& dout, const Tensor& seed, bool causal,
    double scale, double dropout_rate, bool reference, bool need_dquery, bool need_dkey,
    bool need_dvalue) {
  trace::OpRecord rec;
  const char* name = "scaled_dot_product_attention_grad";
  const Dims d = check_attention(query, key, value, mask, dropout_rate, scale);
  check_seed(seed, dropout_rate);
  detail::check_defined(out, name, "out");
  detail::check_defined(lse, name, "lse");
  detail::check_defined(dout, name, "dout");
  const Shape oshape{d.b, d.tq, d.h, d.dv};
  const Shape lshape{d.b, d.h, d.tq};
  CORTEN_CHECK_VALUE(out.shape() == oshape && dout.shape() == oshape && lse.shape() == lshape &&
                         out.dtype() == query.dtype() && dout.dtype() == query.dtype() &&
                         lse.dtype() == lse_dtype(query.dtype()),
                     name, ": out and dout must be ", show(oshape), " of the query's dtype and lse ",
                     show(lshape), " of ", dtype_name(lse_dtype(query.dtype())),
                     "; got out.shape=", show(out.shape()),
                     ", dout.shape=", show(dout.shape()), ", lse.shape=", show(lse.shape()));
  std::vector<Tensor> grads(3);
  if (need_dquery) grads[0] = Tensor::empty(query.shape(), query.dtype(), query.device(), name);
  if (need_dkey) grads[1] = Tensor::empty(key.shape(), key.dtype(), key.device(), name);
  if (need_dvalue) grads[2] = Tensor::empty(value.shape(), value.dtype(), value.device(), name);
  if (query.is_meta() || dout.is_meta()) return grads;
  const Tensor qc = query.contiguous(), kc = key.contiguous(), vc = value.contiguous();
  const Tensor oc = out.contiguous(), lc = lse.contiguous(), gc = dout.contiguous();
  const cpu::AttentionParams p = params_of(d, mask, causal, scale, dropout_rate, seed);
  auto ptr = [](const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; };
  check_on_cpu(query, name);
  const auto kernel = reference ? &cpu::attention_backward_ref : &cpu::attention_backward;
  kernel(query.dtype(), p, qc.raw_data(), kc.raw_data(), vc.raw_data(), oc.raw_data(),
         lc.raw_data(), gc.raw_data(), ptr(grads[0]), ptr(grads[1]), ptr(grads[2]));
  rec.record("scaled_dot_product_attention_backward",
             {query, key, value, mask, out, lse, dout, seed}, grads, AttentionBackwardReplay{},
             causal, scale, dropout_rate, reference, need_dquery, need_dkey, need_dvalue);
  return grads;
}

}  // namespace corten
