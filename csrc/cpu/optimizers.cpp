#include "cpu/optimizers.h"

#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/isa_table.h"

#define CORTEN_ISA_NS baseline
#include "cpu/optimizer_kernels.inc"
#undef CORTEN_ISA_NS

namespace corten::cpu {
namespace {

// Fixed block of the sum-of-squares reduction (see Note [Deterministic reductions]).
constexpr int64_t kSumBlock = 4096;
// Blocks per chunk of the sum-of-squares reduction on the thread pool.
constexpr int64_t kSumBlocksPerChunk = 2;

const OptimizerTable& active_table() {
  return table_for_isa(&baseline::optimizer_table, &avx2::optimizer_table,
                       &avx512::optimizer_table);
}

template <typename T>
const OptimizerKernels<T>& kernels() {
  if constexpr (std::is_same_v<T, float>) return active_table().f32;
  else return active_table().f64;
}

}  // namespace

template <typename T>
void sgd_update(int64_t n, T* var, const T* grad, T* momentum, const SgdOptions& opt) {
  kernels<T>().sgd(n, var, grad, momentum, opt);
}
template <typename T>
void adam_update(int64_t n, T* var, const T* grad, T* m, T* v, T* vhat, const AdamOptions& opt) {
  kernels<T>().adam(n, var, grad, m, v, vhat, opt);
}
template <typename T>
void rmsprop_update(int64_t n, T* var, const T* grad, T* velocity, T* momentum, T* average_grad,
                    const RmspropOptions& opt) {
  kernels<T>().rmsprop(n, var, grad, velocity, momentum, average_grad, opt);
}
template <typename T>
void adagrad_update(int64_t n, T* var, const T* grad, T* accumulator, const AdagradOptions& opt) {
  kernels<T>().adagrad(n, var, grad, accumulator, opt);
}
template <typename T>
void adadelta_update(int64_t n, T* var, const T* grad, T* accumulated_grad,
                     T* accumulated_delta_var, const AdadeltaOptions& opt) {
  kernels<T>().adadelta(n, var, grad, accumulated_grad, accumulated_delta_var, opt);
}
template <typename T>
void adamax_update(int64_t n, T* var, const T* grad, T* m, T* u, const AdamaxOptions& opt) {
  kernels<T>().adamax(n, var, grad, m, u, opt);
}
template <typename T>
void nadam_update(int64_t n, T* var, const T* grad, T* m, T* v, const NadamOptions& opt) {
  kernels<T>().nadam(n, var, grad, m, v, opt);
}

template <typename T>
double sum_of_squares(int64_t n, const T* x) {
  if (n <= 0) return 0.0;
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  parallel_for(0, blocks, kSumBlocksPerChunk,
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
