#pragma once
// CPU batched matrix product kernels.

#include <corten/dtype.h>
#include <corten/ops/linalg.h>

#include <cstdint>
#include <string>

namespace corten::cpu {

// For each batch b in [0, batch): c[b] (m, n, contiguous) = a[b] (m, k) @ b[b] (k, n).
// a_batch_offsets[b] / b_batch_offsets[b] are element offsets of each batch's matrix; rows and
// columns are addressed with the given element strides (transposes are stride swaps).
// float32/float64 run the packed GEMM (cpu/gemm/gemm.cpp), bfloat16 the pair-packed one
// (cpu/gemm/gemm_bf16.cpp); integers a simple row kernel.
void matmul(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
            const int64_t* a_batch_offsets, int64_t a_rs, int64_t a_cs, const void* b,
            const int64_t* b_batch_offsets, int64_t b_rs, int64_t b_cs, void* c);

// The same for float32/float64/bfloat16 with a fused epilogue: c = act(a @ b + bias), bias (n,)
// contiguous or null.
void matmul_bias_act(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
                     const int64_t* a_batch_offsets, int64_t a_rs, int64_t a_cs, const void* b,
                     const int64_t* b_batch_offsets, int64_t b_rs, int64_t b_cs, void* c,
                     const void* bias, Activation act);

// c (m, n, contiguous) = (a @ b) * act'(aux) for float32/float64, act relu, sigmoid or tanh and
// aux (m, n, contiguous) that activation's output (Note [Activation-derivative epilogue] in
// cpu/gemm/gemm.cpp): a Dense backward's matmul with the activation's derivative fused.
void matmul_activation_grad(DType dtype, int64_t m, int64_t n, int64_t k, const void* a,
                            int64_t a_rs, int64_t a_cs, const void* b, int64_t b_rs, int64_t b_cs,
                            void* c, const void* aux, Activation act);

// The GEMM configuration in use for `dtype` (float32, float64 or bfloat16, whose pair kernels
// have no cache blocks: kc, mc and nc 0) with the current ISA.
struct GemmInfo {
  std::string kernel;
  int mr, nr;
  int64_t kc, mc, nc;
  int64_t l1d, l2, l3;
  bool caches_detected;
};
GemmInfo gemm_info(DType dtype);

}  // namespace corten::cpu
