#pragma once
// Packed, cache-blocked GEMM driver (see Note [GEMM blocking] and
// Note [GEMM micro-kernel contract]).

#include <corten/dtype.h>
#include <corten/ops/linalg.h>

#include <cstdint>

#include "cpu/matmul.h"

namespace corten::cpu::gemm {

// c[b] (m x n, contiguous) = act(a[b] @ b[b] + bias) for b in [0, batch), T float or double.
template <class T>
void gemm(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, const int64_t* a_off,
          int64_t a_rs, int64_t a_cs, const T* b, const int64_t* b_off, int64_t b_rs,
          int64_t b_cs, T* c, const T* bias, Activation act);

// c (m x n, contiguous) = (a @ b) * act'(aux), act relu, sigmoid or tanh, aux (m x n,
// contiguous) the activation's output (Note [Activation-derivative epilogue] in gemm.cpp).
template <class T>
void gemm_activation_grad(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs,
                          const T* b, int64_t b_rs, int64_t b_cs, T* c, const T* aux,
                          Activation act);

GemmInfo info(DType dtype);

template <class T>
struct Ukernel;
// The micro-kernel gemm() runs for products n columns wide with the current ISA, for drivers
// that call it directly (the convolutions' batch-reduce GEMM in cpu/conv.cpp).
template <class T>
const Ukernel<T>& ukernel_for(int64_t n);

}  // namespace corten::cpu::gemm
