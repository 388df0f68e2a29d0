#pragma once
/// Fused, numerically stable cross-entropy ops (TensorFlow's tf.nn.*_cross_entropy_with_logits).
/// Each is one pass over the logits, finite for any finite logits (e.g. +-1e4 in float32), and
/// differentiable (the backward is itself differentiable, for higher-order gradients).

#include <corten/tensor.h>

#include <cstdint>

namespace corten {

/// -sum(labels * log_softmax(logits)) along `axis` (= sum(labels) * logsumexp(logits) -
/// sum(labels * logits)). labels and logits: same shape and floating dtype, rank >= 1. Result:
/// logits' shape without `axis`. Gradients flow to logits and labels.
Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits,
                                         int64_t axis = -1);
/// logsumexp(logits) - logits[label] along `axis`. labels: int32/int64 of logits' shape
/// without `axis`; IndexError naming the first label outside [0, logits.shape[axis]) and the
/// class count. Result: labels' shape, logits' dtype. Gradients flow to logits only.
Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits,
                                                int64_t axis = -1);
/// The gradient of sparse_softmax_cross_entropy_with_logits with respect to the logits, in one
/// pass over the softmax: g * (softmax(logits) - one_hot(labels)) along `axis`, with `g` the
/// loss gradient (labels' shape, logits' dtype). Labels are those the forward validated.
/// Not differentiable itself (the tape's higher-order gradients use the composite form).
Tensor sparse_softmax_cross_entropy_grad(const Tensor& labels, const Tensor& logits,
                                         const Tensor& g, int64_t axis = -1);
/// max(logits, 0) - logits * labels + log1p(exp(-|logits|)), elementwise. labels and logits:
/// same shape and floating dtype. Gradients flow to logits and labels.
Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);

}  // namespace corten
