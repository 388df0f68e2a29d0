// The kernel tables of every op (Note [Kernel dispatch]): one row per kernel, one column per
// device. A CUDA build defines CORTEN_CUDA and provides cuda::<name> with the CPU kernel's
// signature.

#include "ops/kernels.h"

#include <corten/errors.h>

#include <string>

#ifdef CORTEN_CUDA
#include "cuda/kernels.h"
#define CORTEN_CUDA_KERNEL_(name) &cuda::name
#define CORTEN_CUDA_KERNEL_T_(name, T) &cuda::name<T>
#else
#define CORTEN_CUDA_KERNEL_(name) nullptr
#define CORTEN_CUDA_KERNEL_T_(name, T) nullptr
#endif

namespace corten::kernels {

void throw_no_kernel(const char* op, Device device) {
  throw ValueError(std::string(op) + ": no kernel for device '" + device_name(device) +
                   "' in this build of corten");
}

#define CORTEN_DEFINE_KERNEL_TABLE_(name)                            \
  const Table<decltype(&cpu::name)> name{#name, &cpu::name, CORTEN_CUDA_KERNEL_(name)};
CORTEN_KERNELS(CORTEN_DEFINE_KERNEL_TABLE_)
#undef CORTEN_DEFINE_KERNEL_TABLE_

#define CORTEN_OPTIMIZER_ROW_(name) {#name, &cpu::name<T>, CORTEN_CUDA_KERNEL_T_(name, T)},
#define T float
const OptimizerTables<float> optimizers_f32{CORTEN_OPTIMIZER_KERNELS(CORTEN_OPTIMIZER_ROW_)};
#undef T
#define T double
const OptimizerTables<double> optimizers_f64{CORTEN_OPTIMIZER_KERNELS(CORTEN_OPTIMIZER_ROW_)};
#undef T
#undef CORTEN_OPTIMIZER_ROW_

}  // namespace corten::kernels
