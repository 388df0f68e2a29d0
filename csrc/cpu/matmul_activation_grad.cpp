// The kernel of matmul_activation_grad: the packed GEMM with the activation-derivative
// epilogue (Note [Activation-derivative epilogue] in cpu/gemm/gemm.cpp).
// a: (m, k) (strides a_rs, a_cs), b: (k, n) (strides b_rs, b_cs), aux: (m, n) -> c: (m, n).
#include <corten/dtype.h>

#include "cpu/gemm/gemm.h"
#include "cpu/matmul.h"

namespace corten::cpu {

void matmul_activation_grad(DType dtype, int64_t m, int64_t n, int64_t k, const void* a,
                            int64_t a_rs, int64_t a_cs, const void* b, int64_t b_rs, int64_t b_cs,
                            void* c, const void* aux, Activation act) {
  visit_floating(dtype, "matmul_activation_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    gemm::gemm_activation_grad<T>(m, n, k, static_cast<const T*>(a), a_rs, a_cs,
                                  static_cast<const T*>(b), b_rs, b_cs, static_cast<T*>(c),
                                  static_cast<const T*>(aux), act);
  });
}

}  // namespace corten::cpu
