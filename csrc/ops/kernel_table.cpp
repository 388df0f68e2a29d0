// The kernel tables of every op (Note [Kernel dispatch]): one row per kernel, one column per
// device. A CUDA build defines CORTEN_CUDA and provides cuda::<name>, with the CPU kernel's
// signature, for the kernels of its list (Note [CUDA kernel column]).

#include <corten/devices.h>
#include <corten/errors.h>

#include <string>

#include "ops/kernels.h"

#ifdef CORTEN_CUDA
#include "cuda/kernels.h"
#endif

namespace corten::kernels {

// Note [CUDA kernel column]
// The CUDA build grows one kernel family at a time, so the `cuda` column cannot name
// cuda::<name> for every row. Instead each kernel has a function template
// cuda_column::<name><Fn>() that returns nullptr, and the kernels of CORTEN_CUDA_KERNELS (and
// CORTEN_CUDA_OPTIMIZER_KERNELS; csrc/cuda/kernels.h, Note [CUDA kernel list]) specialise it to
// return &cuda::<name>. The choice is made at compile time from that one list: a CPU build
// specialises nothing, a CUDA build exactly the kernels it has, and a kernel without a CUDA
// twin keeps raising "<op>: no kernel for device 'cuda'" (Table::operator()). A list entry
// whose signature differs from the CPU kernel's, or that names no kernel of CORTEN_KERNELS,
// does not compile.
namespace cuda_column {
#define CORTEN_NO_CUDA_TWIN_(name) \
  template <class Fn>              \
  constexpr Fn name() {            \
    return nullptr;                \
  }
CORTEN_KERNELS(CORTEN_NO_CUDA_TWIN_)
CORTEN_OPTIMIZER_KERNELS(CORTEN_NO_CUDA_TWIN_)
#undef CORTEN_NO_CUDA_TWIN_

#ifdef CORTEN_CUDA
#define CORTEN_CUDA_TWIN_(name)                                 \
  template <>                                                   \
  constexpr decltype(&cpu::name) name<decltype(&cpu::name)>() { \
    return &cuda::name;                                         \
  }
CORTEN_CUDA_KERNELS(CORTEN_CUDA_TWIN_)
#undef CORTEN_CUDA_TWIN_
#define CORTEN_CUDA_TWIN_T_(name, T)                                  \
  template <>                                                         \
  constexpr decltype(&cpu::name<T>) name<decltype(&cpu::name<T>)>() { \
    return &cuda::name<T>;                                            \
  }
#define CORTEN_CUDA_OPTIMIZER_TWINS_(name) \
  CORTEN_CUDA_TWIN_T_(name, float) CORTEN_CUDA_TWIN_T_(name, double)
CORTEN_CUDA_OPTIMIZER_KERNELS(CORTEN_CUDA_OPTIMIZER_TWINS_)
#undef CORTEN_CUDA_OPTIMIZER_TWINS_
#undef CORTEN_CUDA_TWIN_T_
#endif
}  // namespace cuda_column

}  // namespace corten::kernels

namespace corten {

// Here because this file is the one that the CUDA build compiles with CORTEN_CUDA defined.
bool built_with_cuda() {
#ifdef CORTEN_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace corten

namespace corten::kernels {

void throw_no_kernel(const char* op, Device device) {
  throw ValueError(std::string(op) + ": no kernel for device '" + device_name(device) +
                   "' in this build of corten");
}

#define CORTEN_DEFINE_KERNEL_TABLE_(name)                   \
  const Table<decltype(&cpu::name)> name{#name, &cpu::name, \
                                         cuda_column::name<decltype(&cpu::name)>()};
CORTEN_KERNELS(CORTEN_DEFINE_KERNEL_TABLE_)
#undef CORTEN_DEFINE_KERNEL_TABLE_

#define CORTEN_OPTIMIZER_ROW_(name) \
  {#name, &cpu::name<T>, cuda_column::name<decltype(&cpu::name<T>)>()},
#define T float
const OptimizerTables<float> optimizers_f32{CORTEN_OPTIMIZER_KERNELS(CORTEN_OPTIMIZER_ROW_)};
#undef T
#define T double
const OptimizerTables<double> optimizers_f64{CORTEN_OPTIMIZER_KERNELS(CORTEN_OPTIMIZER_ROW_)};
#undef T
#undef CORTEN_OPTIMIZER_ROW_

}  // namespace corten::kernels
