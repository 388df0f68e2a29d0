#include "cpu/optimizers.h"

#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace corten::cpu {
namespace {

// Elements per chunk below which an update stays on the calling thread: an update streams
// 3-5 arrays and does a sqrt and a division per element (kGrainCostly in loops.h).
constexpr int64_t kGrainUpdate = 8192;
// Fixed block of the sum-of-squares reduction (see Note [Deterministic reductions]).
constexpr int64_t kSumBlock = 4096;

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

// Note [Vectorised updates]
// The update loops must not branch per element, or the compiler leaves them scalar (a sqrt and
// a division per element then dominate a training step): gradient scaling and clipping run
// unconditionally with identity values when unused (g * 1 and a clip to +-inf change no
// value, NaN included), and the options that select extra state (weight decay, momentum,
// centering, amsgrad, nesterov) become compile-time constants through with_flag.
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
  T grad(T g) const { return std::min(std::max(g * scale, -clip), clip); }
  // Keras's _apply_weight_decay: variable.assign_sub(variable * wd * lr).
  template <bool kWd>
  T decay(T x) const {
    if constexpr (kWd) return x - x * wd * lr;
    else return x;
  }
};

// Calls f(std::true_type{}) or f(std::false_type{}): a run-time option as a constant.
template <typename F>
void with_flag(bool flag, const F& f) {
  if (flag) f(std::true_type{});
  else f(std::false_type{});
}

// f must capture by value: the loop runs on a local copy, which no store through the
// update's pointers can alias, so its scalars stay in registers and the loop vectorises.
template <typename F>
void for_each(int64_t n, const F& f) {
  parallel_for(0, n, kGrainUpdate, [&f](int64_t begin, int64_t end) {
    const F body = f;
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

template <typename T>
T one_minus(double x) {
  return static_cast<T>(1.0 - x);
}

}  // namespace

template <typename T>
void sgd_update(int64_t n, T* var, const T* grad, T* momentum, const SgdOptions& opt) {
  const Common<T> c(opt);
  const T mu = tf_cast<T>(opt.momentum);
  const T lr = c.lr;
  with_flag(c.use_wd, [&](auto wd) {
    if (momentum == nullptr) {
      for_each(n, [=](int64_t i) {
        const T g = c.grad(grad[i]);
        var[i] = c.template decay<wd>(var[i]) + -g * lr;
      });
      return;
    }
    with_flag(opt.nesterov, [&](auto nesterov) {
      for_each(n, [=](int64_t i) {
        const T g = c.grad(grad[i]);
        const T x = c.template decay<wd>(var[i]);
        const T m = -g * lr + momentum[i] * mu;
        momentum[i] = m;
        if constexpr (nesterov) var[i] = x + (-g * lr + m * mu);
        else var[i] = x + m;
      });
    });
  });
}

template <typename T>
void adam_update(int64_t n, T* var, const T* grad, T* m, T* v, T* vhat, const AdamOptions& opt) {
  const Common<T> c(opt);
  const T step = static_cast<T>(opt.step);
  const T b1_power = std::pow(tf_cast<T>(opt.beta_1), step);
  const T b2_power = std::pow(tf_cast<T>(opt.beta_2), step);
  const T alpha = c.lr * std::sqrt(T(1) - b2_power) / (T(1) - b1_power);
  const T omb1 = one_minus<T>(opt.beta_1), omb2 = one_minus<T>(opt.beta_2);
  const T eps = static_cast<T>(opt.epsilon);
  with_flag(c.use_wd, [&](auto wd) {
    with_flag(opt.amsgrad && vhat != nullptr, [&](auto amsgrad) {
      for_each(n, [=](int64_t i) {
        const T g = c.grad(grad[i]);
        const T x = c.template decay<wd>(var[i]);
        const T mi = m[i] + (g - m[i]) * omb1;
        T vi = v[i] + (g * g - v[i]) * omb2;
        m[i] = mi;
        v[i] = vi;
        if constexpr (amsgrad) {
          vi = std::max(vhat[i], vi);
          vhat[i] = vi;
        }
        var[i] = x - (mi * alpha) / (std::sqrt(vi) + eps);
      });
    });
  });
}

template <typename T>
void rmsprop_update(int64_t n, T* var, const T* grad, T* velocity, T* momentum, T* average_grad,
                    const RmspropOptions& opt) {
  const Common<T> c(opt);
  const T rho = static_cast<T>(opt.rho), omr = one_minus<T>(opt.rho);
  const T eps = static_cast<T>(opt.epsilon);
  const T mu = static_cast<T>(opt.momentum);
  const bool centered = opt.centered && average_grad != nullptr;
  const bool use_momentum = opt.momentum > 0 && momentum != nullptr;
  with_flag(c.use_wd, [&](auto wd) {
    with_flag(centered, [&](auto is_centered) {
      with_flag(use_momentum, [&](auto has_momentum) {
        for_each(n, [=](int64_t i) {
          const T g = c.grad(grad[i]);
          const T x = c.template decay<wd>(var[i]);
          const T vel = rho * velocity[i] + omr * (g * g);
          velocity[i] = vel;
          T denom;
          if constexpr (is_centered) {
            const T ag = rho * average_grad[i] + omr * g;
            average_grad[i] = ag;
            denom = vel - ag * ag + eps;
          } else {
            denom = vel + eps;
          }
          const T inc = g * c.lr * (T(1) / std::sqrt(denom));
          if constexpr (has_momentum) {
            const T mom = mu * momentum[i] + inc;
            momentum[i] = mom;
            var[i] = x - mom;
          } else {
            var[i] = x - inc;
          }
        });
      });
    });
  });
}

template <typename T>
void adagrad_update(int64_t n, T* var, const T* grad, T* accumulator, const AdagradOptions& opt) {
  const Common<T> c(opt);
  const T eps = static_cast<T>(opt.epsilon);
  with_flag(c.use_wd, [&](auto wd) {
    for_each(n, [=](int64_t i) {
      const T g = c.grad(grad[i]);
      const T x = c.template decay<wd>(var[i]);
      const T acc = accumulator[i] + g * g;
      accumulator[i] = acc;
      var[i] = x - c.lr * g / std::sqrt(acc + eps);
    });
  });
}

template <typename T>
void adadelta_update(int64_t n, T* var, const T* grad, T* accumulated_grad,
                     T* accumulated_delta_var, const AdadeltaOptions& opt) {
  const Common<T> c(opt);
  const T rho = static_cast<T>(opt.rho), omr = one_minus<T>(opt.rho);
  const T eps = static_cast<T>(opt.epsilon);
  with_flag(c.use_wd, [&](auto wd) {
    for_each(n, [=](int64_t i) {
      const T g = c.grad(grad[i]);
      const T x = c.template decay<wd>(var[i]);
      const T ag = rho * accumulated_grad[i] + omr * g * g;
      accumulated_grad[i] = ag;
      const T delta = -std::sqrt(accumulated_delta_var[i] + eps) * g / std::sqrt(ag + eps);
      accumulated_delta_var[i] = rho * accumulated_delta_var[i] + omr * delta * delta;
      var[i] = x + c.lr * delta;
    });
  });
}

template <typename T>
void adamax_update(int64_t n, T* var, const T* grad, T* m, T* u, const AdamaxOptions& opt) {
  const Common<T> c(opt);
  const T b1_power = std::pow(tf_cast<T>(opt.beta_1), static_cast<T>(opt.step));
  const T omb1 = one_minus<T>(opt.beta_1), b2 = static_cast<T>(opt.beta_2);
  const T eps = static_cast<T>(opt.epsilon);
  const T correction = T(1) - b1_power;
  with_flag(c.use_wd, [&](auto wd) {
    for_each(n, [=](int64_t i) {
      const T g = c.grad(grad[i]);
      const T x = c.template decay<wd>(var[i]);
      const T mi = m[i] + (g - m[i]) * omb1;
      m[i] = mi;
      // tf.maximum propagates NaN from either operand.
      const T bu = b2 * u[i], ag = std::abs(g);
      const T ui = std::isnan(bu) ? bu : std::max(bu, ag);
      u[i] = ui;
      var[i] = x - (c.lr * mi) / (correction * (ui + eps));
    });
  });
}

template <typename T>
void nadam_update(int64_t n, T* var, const T* grad, T* m, T* v, const NadamOptions& opt) {
  const Common<T> c(opt);
  const T step = static_cast<T>(opt.step);
  const T decay = tf_cast<T>(0.96);
  const T b1 = tf_cast<T>(opt.beta_1), b2 = tf_cast<T>(opt.beta_2);
  const T u_t = b1 * (T(1) - T(0.5) * std::pow(decay, step));
  const T u_t1 = b1 * (T(1) - T(0.5) * std::pow(decay, step + T(1)));
  const T u_product = static_cast<T>(opt.u_product);
  const T u_product_1 = u_product * u_t1;
  const T b2_power = std::pow(b2, step);
  const T omb1 = T(1) - b1, omb2 = T(1) - b2;
  const T eps = static_cast<T>(opt.epsilon);
  with_flag(c.use_wd, [&](auto wd) {
    for_each(n, [=](int64_t i) {
      const T g = c.grad(grad[i]);
      const T x = c.template decay<wd>(var[i]);
      const T mi = m[i] + (g - m[i]) * omb1;
      const T vi = v[i] + (g * g - v[i]) * omb2;
      m[i] = mi;
      v[i] = vi;
      const T m_hat = u_t1 * mi / (T(1) - u_product_1) + (T(1) - u_t) * g / (T(1) - u_product);
      const T v_hat = vi / (T(1) - b2_power);
      var[i] = x - (m_hat * c.lr) / (std::sqrt(v_hat) + eps);
    });
  });
}

template <typename T>
double sum_of_squares(int64_t n, const T* x) {
  if (n <= 0) return 0.0;
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  parallel_for(0, blocks, std::max<int64_t>(1, kGrainUpdate / kSumBlock),
               [&](int64_t begin, int64_t end) {
                 for (int64_t b = begin; b < end; ++b) {
                   const int64_t lo = b * kSumBlock, hi = std::min(n, lo + kSumBlock);
                   double s = 0.0;
                   for (int64_t i = lo; i < hi; ++i) {
                     const double xi = static_cast<double>(x[i]);
                     s += xi * xi;
                   }
                   partial[static_cast<size_t>(b)] = s;
                 }
               });
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

#define CORTEN_INSTANTIATE_OPTIMIZERS(T)                                                      \
  template void sgd_update<T>(int64_t, T*, const T*, T*, const SgdOptions&);                  \
  template void adam_update<T>(int64_t, T*, const T*, T*, T*, T*, const AdamOptions&);        \
  template void rmsprop_update<T>(int64_t, T*, const T*, T*, T*, T*, const RmspropOptions&);  \
  template void adagrad_update<T>(int64_t, T*, const T*, T*, const AdagradOptions&);          \
  template void adadelta_update<T>(int64_t, T*, const T*, T*, T*, const AdadeltaOptions&);    \
  template void adamax_update<T>(int64_t, T*, const T*, T*, T*, const AdamaxOptions&);        \
  template void nadam_update<T>(int64_t, T*, const T*, T*, T*, const NadamOptions&);          \
  template double sum_of_squares<T>(int64_t, const T*);

CORTEN_INSTANTIATE_OPTIMIZERS(float)
CORTEN_INSTANTIATE_OPTIMIZERS(double)
#undef CORTEN_INSTANTIATE_OPTIMIZERS

}  // namespace corten::cpu
