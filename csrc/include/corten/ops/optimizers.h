#pragma once
/// Fused optimizer updates: each call reads the gradient once and updates a Variable and its
/// slot Variables (moments, accumulators) in place, in one pass over the parameter. The update
/// formulas are those of tf.keras 2's optimizers (TF 2.11+), in the same order of operations,
/// with the scalar coefficients rounded as TensorFlow rounds them (hyperparameters that Keras
/// passes through tf.cast go through float32 first, even for float64 variables; see
/// Note [Optimizer scalars] in cpu/optimizers.cpp), so results match tf.keras bit for bit in
/// float64 and to the last bit or so in float32.
///
/// Every update validates before it writes: the variable and the slots must be contiguous
/// float32/float64 Variables on the CPU with the variable's dtype and shape, not sharing memory
/// with each other; the gradient must have the variable's dtype (TypeError) and shape
/// (ValueError naming both shapes). On any error nothing is modified. A gradient that is not
/// contiguous or overlaps the variable or a slot is copied first.
///
/// Threading: large parameters are split across the intra-op pool; the result does not depend
/// on the thread count (every element is updated independently).

#include <corten/tensor.h>

#include <cstdint>

namespace corten {

/// Gradient preprocessing and decoupled weight decay shared by every update.
///   g <- g * grad_scale                      (clip_by_norm / clip_by_global_norm factor)
///   g <- clip(g, -clip_value, clip_value)    when clip_value > 0
///   var <- var - var * weight_decay * learning_rate   before the update, when weight_decay != 0
struct UpdateCommon {
  double learning_rate = 0.001;
  double weight_decay = 0.0;
  double grad_scale = 1.0;
  double clip_value = 0.0;
};

/// SGD: m = -g*lr + m*momentum; var += m (nesterov: var += -g*lr + m*momentum).
/// Without a momentum slot: var += -g*lr.
struct SgdOptions : UpdateCommon {
  double momentum = 0.0;
  bool nesterov = false;
};
/// Adam / AdamW: m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); amsgrad: vhat = max(vhat, v);
/// alpha = lr sqrt(1 - b2^t) / (1 - b1^t); var -= m alpha / (sqrt(v or vhat) + epsilon).
/// `step` is t >= 1 (the optimizer's iterations + 1).
struct AdamOptions : UpdateCommon {
  double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7;
  double step = 1;
  bool amsgrad = false;
};
/// RMSprop: v = rho v + (1 - rho) g^2; centered: mg = rho mg + (1 - rho) g,
/// denom = v - mg^2 + eps, else denom = v + eps; inc = g lr / sqrt(denom);
/// momentum > 0: mom = momentum mom + inc, var -= mom; else var -= inc.
struct RmspropOptions : UpdateCommon {
  double rho = 0.9, momentum = 0.0, epsilon = 1e-7;
  bool centered = false;
};
/// Adagrad: acc += g^2; var -= lr g / sqrt(acc + epsilon).
struct AdagradOptions : UpdateCommon {
  double epsilon = 1e-7;
};
/// Adadelta: ag = rho ag + (1 - rho) g^2; d = -sqrt(ad + eps) g / sqrt(ag + eps);
/// ad = rho ad + (1 - rho) d^2; var += lr d.
struct AdadeltaOptions : UpdateCommon {
  double rho = 0.95, epsilon = 1e-7;
};
/// Adamax: m += (g - m)(1 - b1); u = max(b2 u, |g|); var -= lr m / ((1 - b1^t)(u + eps)).
struct AdamaxOptions : UpdateCommon {
  double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7;
  double step = 1;
};
/// Nadam (Keras): u_t = b1 (1 - 0.5 * 0.96^t), u_{t+1} likewise; `u_product` is
/// prod_{i<=t} u_i. m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
/// m_hat = u_{t+1} m / (1 - u_product u_{t+1}) + (1 - u_t) g / (1 - u_product);
/// v_hat = v / (1 - b2^t); var -= m_hat lr / (sqrt(v_hat) + eps).
struct NadamOptions : UpdateCommon {
  double beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-7;
  double step = 1;
  double u_product = 0.9 * (1 - 0.5 * 0.96);
};

/// The per-step values of an update as 0-d tensors, read when the update runs: a traced plan
/// then reads their current values on every replay (a learning-rate Variable or schedule
/// output, the step from the optimizer's iterations, a clip-by-norm factor). Each one that is
/// defined replaces the matching option; `step` only applies to the optimizers that have one.
struct UpdateScalars {
  Tensor learning_rate;
  Tensor grad_scale;
  Tensor step;
  Tensor u_product;  // Nadam only: its running product of momentum factors
};

/// SGD update of `var`; `momentum` may be undefined (plain SGD).
void sgd_update_(const Tensor& var, const Tensor& grad, const Tensor& momentum,
                 const SgdOptions& opt, const UpdateScalars& scalars = {});
/// Adam update; `vhat` is required with amsgrad and ignored otherwise.
void adam_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v,
                  const Tensor& vhat, const AdamOptions& opt, const UpdateScalars& scalars = {});
/// RMSprop update; `momentum` is required when opt.momentum > 0, `average_grad` when centered.
void rmsprop_update_(const Tensor& var, const Tensor& grad, const Tensor& velocity,
                     const Tensor& momentum, const Tensor& average_grad, const RmspropOptions& opt,
                     const UpdateScalars& scalars = {});
void adagrad_update_(const Tensor& var, const Tensor& grad, const Tensor& accumulator,
                     const AdagradOptions& opt, const UpdateScalars& scalars = {});
void adadelta_update_(const Tensor& var, const Tensor& grad, const Tensor& accumulated_grad,
                      const Tensor& accumulated_delta_var, const AdadeltaOptions& opt,
                      const UpdateScalars& scalars = {});
void adamax_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& u,
                    const AdamaxOptions& opt, const UpdateScalars& scalars = {});
void nadam_update_(const Tensor& var, const Tensor& grad, const Tensor& m, const Tensor& v,
                   const NadamOptions& opt, const UpdateScalars& scalars = {});

/// Sum of the squares of a float32/float64 tensor's elements as a 0-d float64 tensor,
/// accumulated in float64 in a fixed order (independent of the thread count). Used for
/// clip_by_norm and global norms.
Tensor squared_norm(const Tensor& x);
/// squared_norm's value as a double.
double sum_of_squares(const Tensor& x);

}  // namespace corten
