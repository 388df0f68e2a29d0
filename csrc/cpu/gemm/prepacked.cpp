// PackedB: see cpu/gemm/prepacked.h.

#include "cpu/gemm/prepacked.h"

#include <corten/cpu_features.h>

#include <algorithm>

namespace corten::cpu::gemm {
namespace {

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// The main micro-kernel of the current ISA (the one the GEMM driver uses for wide products),
// or on AVX-512 its 8-row, 2-vector kernel when A has a number of rows that 8-row panels pad
// less than 6-row ones: LSTM(128) at batch 32, (32, 128) x (128, 512) per step at 1 thread,
// 2.4-2.5 ms per 100 steps with 8x32 tiles against 2.4-3.0 ms with 6x64 (a sixth, 2-row panel
// costs as much as a full one).
template <class T>
Ukernel<T> main_kernel(int64_t m_hint) {
  constexpr bool f32 = std::is_same_v<T, float>;
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_isa_at_least(CpuIsa::Avx512)) {
    if (m_hint > 0 && round_up(m_hint, 8) < round_up(m_hint, 6)) {
      if constexpr (f32) return avx512::ukernel_narrow_f32(2);
      else return avx512::ukernel_narrow_f64(2);
    }
    if constexpr (f32) return avx512::ukernel_f32();
    else return avx512::ukernel_f64();
  }
  if (cpu_isa_at_least(CpuIsa::Avx2)) {
    if constexpr (f32) return avx2::ukernel_f32();
    else return avx2::ukernel_f64();
  }
#endif
  if constexpr (f32) return baseline::ukernel_f32();
  else return baseline::ukernel_f64();
}

}  // namespace

template <class T>
PackedB<T>::PackedB(int64_t k, int64_t n, const T* b, int64_t rs, int64_t cs, int64_t m_hint)
    : uk_(main_kernel<T>(m_hint)), k_(k), n_(n) {
  const int NR = uk_.nr;
  data_.assign(static_cast<size_t>(panels() * k * NR), T(0));
  for (int64_t s = 0; s < panels(); ++s) {
    T* dst = data_.data() + s * k * NR;
    const int64_t j0 = s * NR, nr = std::min<int64_t>(NR, n - j0);
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < nr; ++j) dst[p * NR + j] = b[p * rs + (j0 + j) * cs];
  }
}

template <class T>
void PackedB<T>::multiply(int64_t m, const T* a, int64_t lda, int64_t s0, int64_t s1, T* c,
                          int64_t ldc, bool accumulate) const {
  if (m <= 0 || s0 >= s1) return;
  const int MR = uk_.mr, NR = uk_.nr;
  const int64_t m_full = m / MR * MR;
  // The partial last row panel is packed (zero padded): the kernel reads MR rows of an
  // unpacked A, which do not all exist.
  std::vector<T> tail(m_full < m ? static_cast<size_t>(MR * k_) : 0, T(0));
  for (int64_t i = m_full; i < m; ++i)
    for (int64_t p = 0; p < k_; ++p) tail[p * MR + (i - m_full)] = a[i * lda + p];
  for (int64_t s = s0; s < s1; ++s) {
    const T* bp = data_.data() + s * k_ * NR;
    const int64_t j0 = s * NR;
    const int nr = static_cast<int>(std::min<int64_t>(NR, n_ - j0));
    for (int64_t i = 0; i < m_full; i += MR) {
      uk_.fn(k_, a + i * lda, lda, 1, bp, NR, c + i * ldc + j0, ldc, MR, nr, accumulate);
    }
    if (m_full < m) {
      uk_.fn(k_, tail.data(), 1, MR, bp, NR, c + m_full * ldc + j0, ldc,
             static_cast<int>(m - m_full), nr, accumulate);
    }
  }
}

template class PackedB<float>;
template class PackedB<double>;

}  // namespace corten::cpu::gemm
