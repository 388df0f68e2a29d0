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

// One row per kernel family, each with its CPU header: a family's .cu file, its row below and
// its shim case (tests/cuda_shim/cases_<family>.cpp) arrive together.
#include "cpu/batch_norm.h"
#include "cpu/conv.h"
#include "cpu/copy.h"
#include "cpu/creation.h"
#include "cpu/elementwise.h"
#include "cpu/fused_elementwise.h"
#include "cpu/gather.h"
#include "cpu/hashing.h"
#include "cpu/image_transform.h"
#include "cpu/losses.h"
#include "cpu/matmul.h"
#include "cpu/norm.h"
#include "cpu/pooling.h"
#include "cpu/random.h"
#include "cpu/reduce.h"
#include "cpu/rnn.h"
#include "cpu/softmax.h"

// clang-format off
#define CORTEN_CUDA_ELEMENTWISE_KERNELS(X) X(unary) X(binary) X(reduce)

#define CORTEN_CUDA_FUSED_KERNELS(X) X(fused_elementwise)

#define CORTEN_CUDA_SOFTMAX_KERNELS(X)                                                       \
  X(softmax) X(softmax_backward) X(softmax_cross_entropy) X(sparse_softmax_cross_entropy)   \
  X(sparse_softmax_cross_entropy_grad) X(sigmoid_cross_entropy) X(arg_reduce)

#define CORTEN_CUDA_RANDOM_KERNELS(X)                                                        \
  X(random_normal) X(random_uniform) X(random_uniform_int) X(truncated_normal)              \
  X(dropout_mask) X(dropout_apply)

#define CORTEN_CUDA_DATA_KERNELS(X)                                                          \
  X(where) X(cast) X(copy) X(tile) X(pad) X(pad_backward) X(range) X(eye) X(one_hot)         \
  X(gather) X(gather_backward)

#define CORTEN_CUDA_NORM_KERNELS(X)                                                          \
  X(layer_norm) X(layer_norm_backward) X(batch_norm) X(batch_norm_backward) X(group_norm)   \
  X(group_norm_backward) X(unit_norm) X(unit_norm_backward)

#define CORTEN_CUDA_CONV_KERNELS(X)                                                          \
  X(conv_forward) X(conv_backward_data) X(conv_backward_filter) X(depthwise_conv)           \
  X(depthwise_conv_backward_input) X(depthwise_conv_backward_filter)

#define CORTEN_CUDA_POOL_KERNELS(X) X(pool) X(pool_backward) X(resize) X(resize_backward)

#define CORTEN_CUDA_MATMUL_KERNELS(X)                                                        \
  X(matmul) X(matmul_bias_act) X(matmul_activation_grad) X(rnn_forward) X(rnn_backward)

#define CORTEN_CUDA_HASHING_KERNELS(X) X(hash_bucket) X(sorted_lookup) X(bincount)

#define CORTEN_CUDA_IMAGE_KERNELS(X) X(image_transform) X(image_transform_backward)
// clang-format on

// clang-format off
#define CORTEN_CUDA_KERNELS(X)        \
  CORTEN_CUDA_ELEMENTWISE_KERNELS(X) \
  CORTEN_CUDA_FUSED_KERNELS(X)       \
  CORTEN_CUDA_SOFTMAX_KERNELS(X)     \
  CORTEN_CUDA_RANDOM_KERNELS(X)      \
  CORTEN_CUDA_DATA_KERNELS(X)        \
  CORTEN_CUDA_NORM_KERNELS(X)        \
  CORTEN_CUDA_CONV_KERNELS(X)        \
  CORTEN_CUDA_POOL_KERNELS(X)        \
  CORTEN_CUDA_MATMUL_KERNELS(X)      \
  CORTEN_CUDA_HASHING_KERNELS(X)     \
  CORTEN_CUDA_IMAGE_KERNELS(X)
// clang-format on

// A row `X(sgd_update)` takes cuda::sgd_update<float> and <double> into the optimizer tables;
// the template is declared below with the CPU kernel's parameters.
#include "cpu/optimizers.h"
// clang-format off
#define CORTEN_CUDA_OPTIMIZER_KERNELS(X)                                                    \
  X(sgd_update) X(adam_update) X(rmsprop_update) X(adagrad_update) X(adadelta_update)     \
  X(adamax_update) X(nadam_update) X(sum_of_squares)
// clang-format on

namespace corten::cuda {

// The CPU kernel's function type gives each declaration, so the signatures cannot drift apart.
#define CORTEN_DECLARE_CUDA_KERNEL_(name) decltype(::corten::cpu::name) name;
CORTEN_CUDA_KERNELS(CORTEN_DECLARE_CUDA_KERNEL_)
#undef CORTEN_DECLARE_CUDA_KERNEL_

// The optimizer kernels (cuda/optimizers.cu), templates over float and double like the CPU ones.
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
template <typename T>
double sum_of_squares(int64_t n, const T* x);

}  // namespace corten::cuda
