#pragma once
// The per-element arithmetic of the fused optimizer updates, shared by the CPU kernels
// (cpu/optimizer_kernels.inc, compiled once per ISA) and the CUDA ones (cuda/optimizers.cu), so
// that both compute every element with the same operations in the same order.
//
// Each optimizer has a parameter struct of T scalars, made on the host from its options by
// make_<name>_params (std::pow and the hyperparameter roundings run there, once per call, so
// the device never evaluates them), and one update functor per combination of the options that
// select extra state (weight decay, momentum, centering, amsgrad, nesterov) as compile-time
// flags. A functor holds the parameters and the array pointers by value and updates element i;
// the CPU kernels run it over their chunk, the CUDA kernel over a grid-stride loop. With
// --fmad=false, IEEE division and square root on both sides, the results are bit for bit equal.
//
// var, grad, slots: (n,) -> var, slots updated in place

#include <corten/ops/optimizers.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cpu/host_device.h"

// Note [Optimizer math per ISA]
// The CPU kernels compile this header once per ISA level (cpu/optimizer_kernels.inc includes it
// with CORTEN_ISA_NS defined, under that level's compiler flags). Everything here lives in an
// inline namespace named after the level, so a function the compiler did not inline is a
// separate symbol per level: code built for AVX-512 is never linked into the baseline path (as
// the ISA namespaces of the other kernel .inc files ensure). Other includers (the CUDA kernels)
// get the `portable` copy.
#ifdef CORTEN_ISA_NS
#define CORTEN_OPTIM_NS_ CORTEN_ISA_NS
#else
#define CORTEN_OPTIM_NS_ portable
#endif

namespace corten::cpu::optim {
inline namespace CORTEN_OPTIM_NS_ {

// Note [Optimizer scalars]
// The kernels reproduce TensorFlow's rounding of the hyperparameters, so that float32 and
// float64 results match tf.keras bit for bit where the arithmetic allows:
// - a Python float that Keras passes through tf.cast(x, variable.dtype) becomes a float32
//   tensor first, then the variable's dtype (tf.cast(0.9, tf.float64) == 0.89999998...):
//   tf_cast<T>(x). Keras does this for SGD's momentum, the betas inside Adam's and Adamax's
//   bias corrections, Nadam's betas and its 0.96 decay, and weight_decay;
// - a Python float combined directly with a tensor (`(1 - self.beta_1)`, `self.epsilon`,
//   RMSprop's rho) is converted straight to the tensor's dtype: static_cast<T>(x);
// - the learning rate is already float32-rounded (Keras keeps it in a floatx Variable).
template <typename T>
T tf_cast(double x) {
  return static_cast<T>(static_cast<float>(x));
}

template <typename T>
T one_minus(double x) {
  return static_cast<T>(1.0 - x);
}

// std::max and std::min spelled out: the same selection (and NaN behaviour) on the host and on
// the device, where an overload could map to fmax/fmin, which drop a NaN.
template <typename T>
CORTEN_HD inline T max_of(T a, T b) {
  return a < b ? b : a;
}
template <typename T>
CORTEN_HD inline T min_of(T a, T b) {
  return b < a ? b : a;
}

// Note [Vectorised updates]
// The update loops must not branch per element, or the compiler leaves them scalar (a sqrt and
// a division per element then dominate a training step): gradient scaling and clipping run
// unconditionally with identity values when unused (g * 1 and a clip to +-inf change no
// value, NaN included), and the options that select extra state (weight decay, momentum,
// centering, amsgrad, nesterov) are template flags of the functors.
template <typename T>
struct Common {
  T lr, wd, scale, clip;
  bool use_wd;
  explicit Common(const UpdateCommon& o)
      : lr(static_cast<T>(o.learning_rate)),
        wd(tf_cast<T>(o.weight_decay)),
        scale(static_cast<T>(o.grad_scale)),
        clip(o.clip_value > 0.0 ? static_cast<T>(o.clip_value)
                                : std::numeric_limits<T>::infinity()),
        use_wd(o.weight_decay != 0.0) {}
  // tf.clip_by_norm / clip_by_global_norm scale, then tf.clip_by_value (NaN propagates).
  CORTEN_HD T grad(T g) const { return min_of(max_of(g * scale, -clip), clip); }
  // Keras's _apply_weight_decay: variable.assign_sub(variable * wd * lr).
  template <bool kWd>
  CORTEN_HD T decay(T x) const {
    if constexpr (kWd)
      return x - x * wd * lr;
    else
      return x;
  }
};

// ---- SGD ---------------------------------------------------------------------------------

template <typename T>
struct SgdParams {
  Common<T> c;
  T mu;
};
template <typename T>
SgdParams<T> make_sgd_params(const SgdOptions& opt) {
  return {Common<T>(opt), tf_cast<T>(opt.momentum)};
}

template <typename T, bool kWd, bool kMomentum, bool kNesterov>
struct SgdStep {
  SgdParams<T> p;
  T* var;
  const T* grad;
  T* momentum;
  CORTEN_HD void operator()(int64_t i) const {
    const T g = p.c.grad(grad[i]);
    const T lr = p.c.lr;
    if constexpr (!kMomentum) {
      var[i] = p.c.template decay<kWd>(var[i]) + -g * lr;
    } else {
      const T x = p.c.template decay<kWd>(var[i]);
      const T m = -g * lr + momentum[i] * p.mu;
      momentum[i] = m;
      if constexpr (kNesterov)
        var[i] = x + (-g * lr + m * p.mu);
      else
        var[i] = x + m;
    }
  }
};

// ---- Adam --------------------------------------------------------------------------------

template <typename T>
struct AdamParams {
  Common<T> c;
  T alpha, omb1, omb2, eps;
};
template <typename T>
AdamParams<T> make_adam_params(const AdamOptions& opt) {
  const Common<T> c(opt);
  const T step = static_cast<T>(opt.step);
  const T b1_power = std::pow(tf_cast<T>(opt.beta_1), step);
  const T b2_power = std::pow(tf_cast<T>(opt.beta_2), step);
  const T alpha = c.lr * std::sqrt(T(1) - b2_power) / (T(1) - b1_power);
  return {c, alpha, one_minus<T>(opt.beta_1), one_minus<T>(opt.beta_2),
          static_cast<T>(opt.epsilon)};
}

template <typename T, bool kWd, bool kAmsgrad>
struct AdamStep {
  AdamParams<T> p;
  T* var;
  const T* grad;
  T* m;
  T* v;
  T* vhat;
  CORTEN_HD void operator()(int64_t i) const {
    const T g = p.c.grad(grad[i]);
    const T x = p.c.template decay<kWd>(var[i]);
    const T mi = m[i] + (g - m[i]) * p.omb1;
    T vi = v[i] + (g * g - v[i]) * p.omb2;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAmsgrad) {
      vi = max_of(vhat[i], vi);
      vhat[i] = vi;
    }
    var[i] = x - (mi * p.alpha) / (std::sqrt(vi) + p.eps);
  }
};

// ---- RMSprop -----------------------------------------------------------------------------

template <typename T>
struct RmspropParams {
  Common<T> c;
  T rho, omr, eps, mu;
};
template <typename T>
RmspropParams<T> make_rmsprop_params(const RmspropOptions& opt) {
  return {Common<T>(opt), static_cast<T>(opt.rho), one_minus<T>(opt.rho),
          static_cast<T>(opt.epsilon), static_cast<T>(opt.momentum)};
}

template <typename T, bool kWd, bool kCentered, bool kMomentum>
struct RmspropStep {
  RmspropParams<T> p;
  T* var;
  const T* grad;
  T* velocity;
  T* momentum;
  T* average_grad;
  CORTEN_HD void operator()(int64_t i) const {
    const T g = p.c.grad(grad[i]);
    const T x = p.c.template decay<kWd>(var[i]);
    const T vel = p.rho * velocity[i] + p.omr * (g * g);
    velocity[i] = vel;
    T denom;
    if constexpr (kCentered) {
      const T ag = p.rho * average_grad[i] + p.omr * g;
      average_grad[i] = ag;
      denom = vel - ag * ag + p.eps;
    } else {
      denom = vel + p.eps;
    }
    const T inc = g * p.c.lr * (T(1) / std::sqrt(denom));
    if constexpr (kMomentum) {
      const T mom = p.mu * momentum[i] + inc;
      momentum[i] = mom;
      var[i] = x - mom;
    } else {
      var[i] = x - inc;
    }
  }
};

// ---- Adagrad -----------------------------------------------------------------------------

template <typename T>
struct AdagradParams {
  Common<T> c;
  T eps;
};
template <typename T>
AdagradParams<T> make_adagrad_params(const AdagradOptions& opt) {
  return {Common<T>(opt), static_cast<T>(opt.epsilon)};
}

template <typename T, bool kWd>
struct AdagradStep {
  AdagradParams<T> p;
  T* var;
  const T* grad;
  T* accumulator;
  CORTEN_HD void operator()(int64_t i) const {
    const T g = p.c.grad(grad[i]);
    const T x = p.c.template decay<kWd>(var[i]);
    const T acc = accumulator[i] + g * g;
    accumulator[i] = acc;
    var[i] = x - p.c.lr * g / std::sqrt(acc + p.eps);
  }
};

// ---- Adadelta ----------------------------------------------------------------------------

template <typename T>
struct AdadeltaParams {
  Common<T> c;
  T rho, omr, eps;
};
template <typename T>
AdadeltaParams<T> make_adadelta_params(const AdadeltaOptions& opt) {
  return {Common<T>(opt), static_cast<T>(opt.rho), one_minus<T>(opt.rho),
          static_cast<T>(opt.epsilon)};
}

template <typename T, bool kWd>
struct AdadeltaStep {
  AdadeltaParams<T> p;
  T* var;
  const T* grad;
  T* accumulated_grad;
  T* accumulated_delta_var;
  CORTEN_HD void operator()(int64_t i) const {
    const T g = p.c.grad(grad[i]);
    const T x = p.c.template decay<kWd>(var[i]);
    const T ag = p.rho * accumulated_grad[i] + p.omr * g * g;
    accumulated_grad[i] = ag;
    const T delta = -std::sqrt(accumulated_delta_var[i] + p.eps) * g / std::sqrt(ag + p.eps);
    accumulated_delta_var[i] = p.rho * accumulated_delta_var[i] + p.omr * delta * delta;
    var[i] = x + p.c.lr * delta;
  }
};

// ---- Adamax ------------------------------------------------------------------------------

template <typename T>
struct AdamaxParams {
  Common<T> c;
  T omb1, b2, eps, correction;
};
template <typename T>
AdamaxParams<T> make_adamax_params(const AdamaxOptions& opt) {
  const T b1_power = std::pow(tf_cast<T>(opt.beta_1), static_cast<T>(opt.step));
  return {Common<T>(opt), one_minus<T>(opt.beta_1), static_cast<T>(opt.beta_2),
          static_cast<T>(opt.epsilon), T(1) - b1_power};
}

template <typename T, bool kWd>
struct AdamaxStep {
  AdamaxParams<T> p;
  T* var;
  const T* grad;
  T* m;
  T* u;
  CORTEN_HD void operator()(int64_t i) const {
    const T g = p.c.grad(grad[i]);
    const T x = p.c.template decay<kWd>(var[i]);
    const T mi = m[i] + (g - m[i]) * p.omb1;
    m[i] = mi;
    // tf.maximum propagates NaN from either operand.
    const T bu = p.b2 * u[i], ag = std::abs(g);
    const T ui = std::isnan(bu) ? bu : max_of(bu, ag);
    u[i] = ui;
    var[i] = x - (p.c.lr * mi) / (p.correction * (ui + p.eps));
  }
};

// ---- Nadam -------------------------------------------------------------------------------

template <typename T>
struct NadamParams {
  Common<T> c;
  T u_t, u_t1, u_product, u_product_1, b2_power, omb1, omb2, eps;
};
template <typename T>
NadamParams<T> make_nadam_params(const NadamOptions& opt) {
  const T step = static_cast<T>(opt.step);
  const T decay = tf_cast<T>(0.96);
  const T b1 = tf_cast<T>(opt.beta_1), b2 = tf_cast<T>(opt.beta_2);
  const T u_t = b1 * (T(1) - T(0.5) * std::pow(decay, step));
  const T u_t1 = b1 * (T(1) - T(0.5) * std::pow(decay, step + T(1)));
  const T u_product = static_cast<T>(opt.u_product);
  return {Common<T>(opt),
          u_t,
          u_t1,
          u_product,
          u_product * u_t1,
          std::pow(b2, step),
          T(1) - b1,
          T(1) - b2,
          static_cast<T>(opt.epsilon)};
}

template <typename T, bool kWd>
struct NadamStep {
  NadamParams<T> p;
  T* var;
  const T* grad;
  T* m;
  T* v;
  CORTEN_HD void operator()(int64_t i) const {
    const T g = p.c.grad(grad[i]);
    const T x = p.c.template decay<kWd>(var[i]);
    const T mi = m[i] + (g - m[i]) * p.omb1;
    const T vi = v[i] + (g * g - v[i]) * p.omb2;
    m[i] = mi;
    v[i] = vi;
    const T m_hat =
        p.u_t1 * mi / (T(1) - p.u_product_1) + (T(1) - p.u_t) * g / (T(1) - p.u_product);
    const T v_hat = vi / (T(1) - p.b2_power);
    var[i] = x - (m_hat * p.c.lr) / (std::sqrt(v_hat) + p.eps);
  }
};

// ---- dispatch over the option flags --------------------------------------------------------
// dispatch_<name>(pointers..., opt, run) calls run(step) once, with the update functor of the
// options in use: the CPU kernels pass their chunked loop, the CUDA kernels their launch. A
// slot that an option needs but the caller left null disables that option, as before.

// Calls f(std::true_type{}) or f(std::false_type{}): a run-time option as a constant.
template <typename F>
void with_flag(bool flag, const F& f) {
  if (flag)
    f(std::true_type{});
  else
    f(std::false_type{});
}

template <typename T, typename Run>
void dispatch_sgd(T* var, const T* grad, T* momentum, const SgdOptions& opt, const Run& run) {
  const SgdParams<T> p = make_sgd_params<T>(opt);
  with_flag(p.c.use_wd, [&](auto wd) {
    constexpr bool kWd = decltype(wd)::value;
    if (momentum == nullptr) {
      run(SgdStep<T, kWd, false, false>{p, var, grad, momentum});
      return;
    }
    with_flag(opt.nesterov, [&](auto nesterov) {
      run(SgdStep<T, kWd, true, decltype(nesterov)::value>{p, var, grad, momentum});
    });
  });
}

template <typename T, typename Run>
void dispatch_adam(T* var, const T* grad, T* m, T* v, T* vhat, const AdamOptions& opt,
                   const Run& run) {
  const AdamParams<T> p = make_adam_params<T>(opt);
  with_flag(p.c.use_wd, [&](auto wd) {
    with_flag(opt.amsgrad && vhat != nullptr, [&](auto amsgrad) {
      run(AdamStep<T, decltype(wd)::value, decltype(amsgrad)::value>{p, var, grad, m, v, vhat});
    });
  });
}

template <typename T, typename Run>
void dispatch_rmsprop(T* var, const T* grad, T* velocity, T* momentum, T* average_grad,
                      const RmspropOptions& opt, const Run& run) {
  const RmspropParams<T> p = make_rmsprop_params<T>(opt);
  const bool centered = opt.centered && average_grad != nullptr;
  const bool use_momentum = opt.momentum > 0 && momentum != nullptr;
  with_flag(p.c.use_wd, [&](auto wd) {
    with_flag(centered, [&](auto is_centered) {
      with_flag(use_momentum, [&](auto has_momentum) {
        run(RmspropStep<T, decltype(wd)::value, decltype(is_centered)::value,
                        decltype(has_momentum)::value>{p, var, grad, velocity, momentum,
                                                       average_grad});
      });
    });
  });
}

template <typename T, typename Run>
void dispatch_adagrad(T* var, const T* grad, T* accumulator, const AdagradOptions& opt,
                      const Run& run) {
  const AdagradParams<T> p = make_adagrad_params<T>(opt);
  with_flag(p.c.use_wd,
            [&](auto wd) { run(AdagradStep<T, decltype(wd)::value>{p, var, grad, accumulator}); });
}

template <typename T, typename Run>
void dispatch_adadelta(T* var, const T* grad, T* accumulated_grad, T* accumulated_delta_var,
                       const AdadeltaOptions& opt, const Run& run) {
  const AdadeltaParams<T> p = make_adadelta_params<T>(opt);
  with_flag(p.c.use_wd, [&](auto wd) {
    run(AdadeltaStep<T, decltype(wd)::value>{p, var, grad, accumulated_grad,
                                             accumulated_delta_var});
  });
}

template <typename T, typename Run>
void dispatch_adamax(T* var, const T* grad, T* m, T* u, const AdamaxOptions& opt, const Run& run) {
  const AdamaxParams<T> p = make_adamax_params<T>(opt);
  with_flag(p.c.use_wd,
            [&](auto wd) { run(AdamaxStep<T, decltype(wd)::value>{p, var, grad, m, u}); });
}

template <typename T, typename Run>
void dispatch_nadam(T* var, const T* grad, T* m, T* v, const NadamOptions& opt, const Run& run) {
  const NadamParams<T> p = make_nadam_params<T>(opt);
  with_flag(p.c.use_wd,
            [&](auto wd) { run(NadamStep<T, decltype(wd)::value>{p, var, grad, m, v}); });
}

}  // namespace CORTEN_OPTIM_NS_
}  // namespace corten::cpu::optim

#undef CORTEN_OPTIM_NS_
