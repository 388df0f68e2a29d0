#pragma once
// Note [Kernel dispatch]
// Entry points never name a device's kernels: they ask the op's kernel table for the kernel
// of the device their output lives on, `kernels::unary(out.device())(args...)`, as PyTorch's
// DispatchStub and ggml's backends do. A table holds one function pointer per device, all of
// one signature (raw pointers, sizes and strides: csrc/cpu/*.h), and the tables are filled in
// one place, csrc/ops/kernel_table.cpp. A CUDA build adds its kernels there (the `cuda`
// column), and no entry point changes. Asking for a device without a kernel throws a
// ValueError naming the op and the device. The indirection costs one load per op call.
//
// The CPU kernels themselves choose their instruction set at run time through their own
// per-ISA tables (cpu/isa_table.h); the device table sits above that choice.

#include <corten/device.h>

#include <type_traits>

#include "cpu/attention.h"
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
#include "cpu/optimizers.h"
#include "cpu/pooling.h"
#include "cpu/random.h"
#include "cpu/reduce.h"
#include "cpu/rnn.h"
#include "cpu/softmax.h"

namespace corten::kernels {

[[noreturn]] void throw_no_kernel(const char* op, Device device);

/// One op's kernels, by device.
template <class Fn>
struct Table {
  const char* op;
  Fn cpu;
  Fn cuda;

  Fn operator()(Device device) const {
    const Fn fn = device == Device::CPU ? cpu : device == Device::CUDA ? cuda : nullptr;
    if (fn == nullptr) throw_no_kernel(op, device);
    return fn;
  }
};

// Every kernel an entry point calls, by name (the CPU kernel of the same name in cpu::
// gives the signature).
// clang-format off
#define CORTEN_KERNELS(X)                                                                   \
  X(unary) X(binary) X(where) X(cast) X(copy) X(tile) X(pad) X(pad_backward) X(range) X(eye) \
  X(one_hot) X(gather) X(gather_backward) X(softmax_cross_entropy)                          \
  X(sparse_softmax_cross_entropy) X(sigmoid_cross_entropy) X(matmul) X(matmul_bias_act)     \
  X(random_normal) X(random_uniform) X(random_uniform_int) X(truncated_normal)              \
  X(dropout_mask) X(dropout_apply) X(reduce) X(arg_reduce) X(softmax) X(softmax_backward)  \
  X(layer_norm) X(layer_norm_backward)                                                      \
  X(conv_forward) X(conv_backward_data) X(conv_backward_filter)                             \
  X(pool) X(pool_backward) X(depthwise_conv) X(depthwise_conv_backward_input)               \
  X(depthwise_conv_backward_filter) X(resize) X(resize_backward)                           \
  X(batch_norm) X(batch_norm_backward) X(group_norm) X(group_norm_backward) X(unit_norm)      \
  X(unit_norm_backward) X(rnn_forward) X(rnn_backward)                                      \
  X(matmul_activation_grad) X(sparse_softmax_cross_entropy_grad) X(fused_elementwise)   \
  X(hash_bucket) X(sorted_lookup) X(bincount)   \
  X(image_transform) X(image_transform_backward)
// clang-format on

#define CORTEN_DECLARE_KERNEL_TABLE_(name) extern const Table<decltype(&cpu::name)> name;
CORTEN_KERNELS(CORTEN_DECLARE_KERNEL_TABLE_)
#undef CORTEN_DECLARE_KERNEL_TABLE_

// The kernels templated on the element type (the fused optimizer updates), one table set per
// floating dtype: `kernels::optimizers<T>().sgd_update(var.device())(...)`.
#define CORTEN_OPTIMIZER_KERNELS(X)                                                          \
  X(sgd_update) X(adam_update) X(rmsprop_update) X(adagrad_update) X(adadelta_update)     \
  X(adamax_update) X(nadam_update) X(sum_of_squares)

template <class T>
struct OptimizerTables {
#define CORTEN_OPTIMIZER_TABLE_MEMBER_(name) Table<decltype(&cpu::name<T>)> name;
  CORTEN_OPTIMIZER_KERNELS(CORTEN_OPTIMIZER_TABLE_MEMBER_)
#undef CORTEN_OPTIMIZER_TABLE_MEMBER_
};

extern const OptimizerTables<float> optimizers_f32;
extern const OptimizerTables<double> optimizers_f64;

template <class T>
const OptimizerTables<T>& optimizers() {
  if constexpr (std::is_same_v<T, float>) {
    return optimizers_f32;
  } else {
    return optimizers_f64;
  }
}

}  // namespace corten::kernels
