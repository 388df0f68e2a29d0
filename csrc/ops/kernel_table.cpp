// The kernel tables of every op (Note [Kernel dispatch]): one row per kernel, one column per
// device. A CUDA build defines CORTEN_CUDA and provides cuda::<name> with the CPU kernel's
// signature.

#include "ops/kernels.h"

#include <corten/errors.h>

#include <string>

#ifdef CORTEN_CUDA
#include "cuda/kernels.h"
#define CORTEN_CUDA_KERNEL_(name) &cuda::name
#else
#define CORTEN_CUDA_KERNEL_(name) nullptr
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

}  // namespace corten::kernels
