#pragma once
/// Fused scaled dot-product attention (the core of Keras's MultiHeadAttention), one tiled
/// kernel each way (flash-attention scheme: online softmax, the (Tq, Tk) score matrix never
/// materialised beyond a tile; the backward recomputes the scores from the saved row
/// log-sum-exp). See Note [Attention tiles] in csrc/cpu/attention.cpp.

#include <corten/ops/random.h>
#include <corten/tensor.h>

#include <optional>
#include <vector>

namespace corten {

struct AttentionOptions {
  /// Query i attends key j only when j <= i (Keras's use_causal_mask: a lower-triangular
  /// (Tq, Tk) band, whatever Tq and Tk are).
  bool causal = false;
  /// Multiplies the scores; nullopt: 1 / sqrt(D).
  std::optional<double> scale;
  /// Dropout of the attention probabilities, in [0, 1) (0: none).
  double dropout_rate = 0.0;
  /// Run the plain reference kernels that materialise the scores (for tests).
  bool reference = false;
  /// Which implementation runs (Note [Direct attention for few keys] in ops/attention.cpp):
  /// Auto takes the direct one for at most 64 keys on the CPU, the tiled kernels otherwise.
  enum class Kernel { Auto, Tiled, Direct } kernel = Kernel::Auto;
};

/// softmax(Q K^T * scale + masks) V per batch entry and head, with
/// query (B, Tq, H, D), key (B, Tk, H, D), value (B, Tk, H, Dv) -> (B, Tq, H, Dv), the layout
/// of MultiHeadAttention's projections. float32 (tiled kernels) or float64 (reference loops),
/// all three of one dtype. `mask`: bool, broadcastable to (B, H, Tq, Tk), true where a query
/// may attend a key (Keras's attention_mask), or undefined. A row whose keys are all masked
/// (by mask and causal) gets uniform weights over all Tk keys, as Keras's softmax with its
/// -1e9 adder gives in float32 (Note [Attention masks] in csrc/cpu/attention.h).
/// With dropout_rate > 0, `seed` is the int64 [key, offset] tensor of philox_seed_tensor and
/// element (b, h, i, j) of the probabilities is kept by the word of counter offset + e / 4,
/// e its row-major index in (B, H, Tq, Tk) (Note [Attention dropout counters]): the mask that
/// dropout() draws for a (B, H, Tq, Tk) tensor at that seed. ValueError for ranks, shapes, a
/// mask that does not broadcast, a rate outside [0, 1) or a non-finite scale; TypeError for
/// non-floating or mixed dtypes and a non-bool mask.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& mask = Tensor(),
                                    const AttentionOptions& options = {},
                                    const Tensor& seed = Tensor());
/// The same with the dropout mask drawn from a stateful stream, which advances by
/// philox_counters_used(B * H * Tq * Tk) when dropout_rate > 0 (on every replay of a plan).
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& mask, const AttentionOptions& options,
                                    PhiloxStream stream);

/// The backward, {dquery, dkey, dvalue} for the output gradient dout, from the forward's
/// inputs, output and saved row log-sum-exp `lse` (B, H, Tq); `scale` resolved. Gradients
/// whose need_* flag is false stay undefined.
std::vector<Tensor> scaled_dot_product_attention_backward(
    const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask,
    const Tensor& out, const Tensor& lse, const Tensor& dout, const Tensor& seed, bool causal,
    double scale, double dropout_rate, bool reference, bool need_dquery, bool need_dkey,
    bool need_dvalue);

}  // namespace corten
