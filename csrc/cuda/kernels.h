#pragma once
// The kernels of the CUDA build (csrc/cuda/*.cu), declared with the signature of the CPU kernel
// of the same name: pointers are device pointers, shapes and strides host values.
//
// Note [CUDA kernel list]
// CORTEN_CUDA_KERNELS lists the kernels of CORTEN_KERNELS (csrc/ops/kernels.h) that have a CUDA
// twin, CORTEN_CUDA_OPTIMIZER_KERNELS those of CORTEN_OPTIMIZER_KERNELS. These lists are the
// only place that says which kernels exist on the GPU: the kernel table takes the CUDA column
// from them (csrc/ops/kernel_table.cpp, Note [CUDA kernel column]), and the shim test
// (tests/cuda_shim/) fails when a kernel listed here has no test case. Adding a CUDA kernel is:
// its .cu file, a row here, a shim case.

// One line per kernel family, each with its CPU header: a family's .cu file, its row below and
// its shim case (tests/cuda_shim/cases_<family>.cpp) arrive together.
#include "cpu/elementwise.h"
#include "cpu/reduce.h"
#define CORTEN_CUDA_ELEMENTWISE_KERNELS(X) X(unary) X(binary) X(reduce)

#define CORTEN_CUDA_SOFTMAX_KERNELS(X)

#define CORTEN_CUDA_RANDOM_KERNELS(X)

#define CORTEN_CUDA_DATA_KERNELS(X)

#include "cpu/batch_norm.h"
#include "cpu/norm.h"
#define CORTEN_CUDA_NORM_KERNELS(X)                                                                \
  X(layer_norm)                                                                                    \
  X(layer_norm_backward) X(batch_norm) X(batch_norm_backward) X(group_norm) X(group_norm_backward) \
      X(unit_norm) X(unit_norm_backward)

#define CORTEN_CUDA_CONV_KERNELS(X)

#define CORTEN_CUDA_POOL_KERNELS(X)

#define CORTEN_CUDA_MATMUL_KERNELS(X)

#define CORTEN_CUDA_KERNELS(X)                                                        \
  CORTEN_CUDA_ELEMENTWISE_KERNELS(X)                                                  \
  CORTEN_CUDA_SOFTMAX_KERNELS(X)                                                      \
  CORTEN_CUDA_RANDOM_KERNELS(X)                                                       \
  CORTEN_CUDA_DATA_KERNELS(X) CORTEN_CUDA_NORM_KERNELS(X) CORTEN_CUDA_CONV_KERNELS(X) \
      CORTEN_CUDA_POOL_KERNELS(X) CORTEN_CUDA_MATMUL_KERNELS(X)

// A row `X(sgd_update)` takes cuda::sgd_update<float> and <double> into the optimizer tables;
// the template is declared below with the CPU kernel's parameters.
#define CORTEN_CUDA_OPTIMIZER_KERNELS(X)

namespace corten::cuda {

// The CPU kernel's function type gives each declaration, so the signatures cannot drift apart.
#define CORTEN_DECLARE_CUDA_KERNEL_(name) decltype(::corten::cpu::name) name;
CORTEN_CUDA_KERNELS(CORTEN_DECLARE_CUDA_KERNEL_)
#undef CORTEN_DECLARE_CUDA_KERNEL_

}  // namespace corten::cuda
