#pragma once
// CPU kernels of the fused optimizer updates. Every pointer is contiguous and of length n; the
// variable and the slots never overlap each other or the gradient (the entry points in
// ops/optimizers.cpp guarantee it, and validate shapes and dtypes). Slots that an option
// disables may be null. Instantiated for float and double.
//
// var, grad, slots: (n,) -> var, slots updated in place

#include <corten/ops/optimizers.h>

#include <cstdint>

namespace corten::cpu {

template <typename T>
void sgd_update(int64_t n, T* var, const T* grad, T* momentum, const SgdOptions& opt);
template <typename T>
void adam_update(int64_t n, T* var, const T* grad, T* m, T* v, T* vhat, const AdamOptions& opt);
template <typename T>
void rmsprop_update(int64_t n, T* var, const T* grad, T* velocity, T* momentum, T* average_grad,
                    const RmspropOptions& opt);
template <typename T>
void adagrad_update(int64_t n, T* var, const T* grad, T* accumulator, const AdagradOptions& opt);
template <typename T>
void adadelta_update(int64_t n, T* var, const T* grad, T* accumulated_grad,
                     T* accumulated_delta_var, const AdadeltaOptions& opt);
template <typename T>
void adamax_update(int64_t n, T* var, const T* grad, T* m, T* u, const AdamaxOptions& opt);
template <typename T>
void nadam_update(int64_t n, T* var, const T* grad, T* m, T* v, const NadamOptions& opt);

// The update kernels of one ISA (cpu/optimizer_kernels.inc); the functions above call the set
// of the ISA in use.
template <typename T>
struct OptimizerKernels {
  void (*sgd)(int64_t, T*, const T*, T*, const SgdOptions&);
  void (*adam)(int64_t, T*, const T*, T*, T*, T*, const AdamOptions&);
  void (*rmsprop)(int64_t, T*, const T*, T*, T*, T*, const RmspropOptions&);
  void (*adagrad)(int64_t, T*, const T*, T*, const AdagradOptions&);
  void (*adadelta)(int64_t, T*, const T*, T*, T*, const AdadeltaOptions&);
  void (*adamax)(int64_t, T*, const T*, T*, T*, const AdamaxOptions&);
  void (*nadam)(int64_t, T*, const T*, T*, T*, const NadamOptions&);
};
struct OptimizerTable {
  OptimizerKernels<float> f32;
  OptimizerKernels<double> f64;
};
namespace baseline {
const OptimizerTable& optimizer_table();
}
namespace avx2 {
const OptimizerTable& optimizer_table();
}
namespace avx512 {
const OptimizerTable& optimizer_table();
}

// x: (n,) -> sum of x^2 in double, blocked as in Note [Deterministic reductions].
template <typename T>
double sum_of_squares(int64_t n, const T* x);

}  // namespace corten::cpu
