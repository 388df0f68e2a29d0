#pragma once
/// Neural-network ops beyond the elementwise activations (see elementwise.h).

#include <corten/tensor.h>

#include <cstdint>
#include <vector>

namespace corten {

/// exp(x - max) / sum(exp(x - max)) along `axis`; numerically stable for any input.
Tensor softmax(const Tensor& x, int64_t axis = -1);
/// x - max - log(sum(exp(x - max))) along `axis`.
Tensor log_softmax(const Tensor& x, int64_t axis = -1);
/// softmax's backward from its output y: y * (g - sum(g * y)) along `axis`, one fused pass per
/// line. y and g: same shape and floating dtype.
Tensor softmax_grad(const Tensor& y, const Tensor& g, int64_t axis = -1);
/// log_softmax's backward from its output y: g - exp(y) * sum(g) along `axis`.
Tensor log_softmax_grad(const Tensor& y, const Tensor& g, int64_t axis = -1);

/// Layer normalisation over the last axis: (x - mean) / sqrt(var + epsilon) * gamma + beta,
/// with the biased variance of each slice x[..., :]; gamma and beta of shape (x.shape[-1],),
/// or undefined tensors for none. float32 and float64; statistics in float64. One fused
/// kernel forward and one backward (Keras's LayerNormalization over the last axis).
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double epsilon);

/// layer_norm's backward: {dx, dgamma, dbeta} for the output gradient dy, from the forward's
/// input and its saved float64 statistics mean and rstd (one value per slice). An output is
/// left undefined when its `need_*` flag is false (or gamma/beta is undefined).
std::vector<Tensor> layer_norm_backward(const Tensor& x, const Tensor& gamma,
                                        const Tensor& mean, const Tensor& rstd,
                                        const Tensor& dy, bool need_dx, bool need_dgamma,
                                        bool need_dbeta);

/// Batch normalisation over every axis but `axis` (Keras's BatchNormalization with one axis):
/// (x - mean) / sqrt(var + epsilon) * gamma + beta per channel x[..., c, ...]. training: the
/// batch's mean and biased variance; moving_mean and moving_variance (optional in training,
/// C values of x's dtype, contiguous) are updated in place, moving -= (moving - batch) * (1 -
/// momentum), the variance Bessel-corrected when `bessel` (Note [Batch norm variance]).
/// Inference: normalises with the moving statistics, which are required and left unchanged.
/// gamma and beta hold C values (any shape) or are undefined. `mask` (x's dtype, the shape of x
/// without its last axis, which must be the channel axis) weighs the rows whose statistics are
/// taken in training (Keras's masked moments); every row is normalised. One fused kernel each
/// way.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const Tensor& moving_mean, const Tensor& moving_variance, int64_t axis,
                  bool training, double momentum, double epsilon, bool bessel,
                  const Tensor& mask = Tensor());

/// batch_norm's backward: {dx, dgamma, dbeta} from the forward's x and its saved float64
/// statistics (mean, invstd: C values). Outputs whose need_* flag is false stay undefined.
std::vector<Tensor> batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                        const Tensor& invstd, const Tensor& dy, int64_t axis,
                                        bool training, bool need_dx, bool need_dgamma,
                                        bool need_dbeta, const Tensor& mask = Tensor());

/// Group normalisation (Keras's GroupNormalization): the `axis` channels of x split in
/// `groups` groups; each (batch entry, group) normalised over its channels and every axis but
/// the batch axis 0, then scaled by gamma and shifted by beta per channel (C values or
/// undefined). float32/float64, statistics in float64; one fused kernel each way.
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int64_t groups,
                  int64_t axis, double epsilon);

/// group_norm's backward: {dx, dgamma, dbeta} from the saved float64 mean and rstd (n * groups).
std::vector<Tensor> group_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                        const Tensor& rstd, const Tensor& dy, int64_t groups,
                                        int64_t axis, bool need_dx, bool need_dgamma,
                                        bool need_dbeta);

/// x / sqrt(max(sum(x^2), epsilon)) over the last axis (tf.math.l2_normalize; Keras's
/// UnitNormalization); one fused kernel each way.
Tensor unit_norm(const Tensor& x, double epsilon);

/// unit_norm's backward from the saved per-row factors inv and cube (float64).
Tensor unit_norm_backward(const Tensor& x, const Tensor& inv, const Tensor& cube,
                          const Tensor& dy);

}  // namespace corten
