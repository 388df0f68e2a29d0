// PackedB: see cpu/gemm/prepacked.h.

#include "cpu/gemm/prepacked.h"

#include <corten/allocator.h>
#include <corten/cpu_features.h>

#include <algorithm>
#include <cstring>
#include <vector>

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
Ukernel<T> packed_kernel(int64_t m_hint) {
  return main_kernel<T>(m_hint);
}

template <class T>
PackedB<T>::PackedB(int64_t k, int64_t n, int64_t m_hint)
    : uk_(main_kernel<T>(m_hint)), k_(k), n_(n) {
  bytes_ = static_cast<size_t>(panels() * k * uk_.nr) * sizeof(T);
  data_ = static_cast<T*>(cpu_allocate(bytes_, "packed_b"));
}

template <class T>
PackedB<T>::PackedB(int64_t k, int64_t n, const T* b, int64_t rs, int64_t cs, int64_t m_hint)
    : PackedB(k, n, m_hint) {
  pack(b, rs, cs, 0, panels());
}

template <class T>
void PackedB<T>::pack(const T* b, int64_t rs, int64_t cs, int64_t s0, int64_t s1) {
  const int NR = uk_.nr;
  const int64_t k = k_, n = n_;
  for (int64_t s = s0; s < s1; ++s) {
    T* dst = data_ + s * k * NR;
    const int64_t j0 = s * NR, nr = std::min<int64_t>(NR, n - j0);
    if (nr < NR) std::fill(dst, dst + k * NR, T(0));  // a partial panel's padding is zero
    if (rs == 1 && cs != 1 && uk_.pack_b_transposed) {
      // A column-major b (the transposed recurrent or input kernel of the backward): register
      // transposes (Note [Transposed B packing]).
      uk_.pack_b_transposed(NR, k, nr, b + j0 * cs, cs, dst);
      continue;
    }
    if (rs == 1 && cs != 1) {
      // Each column is read contiguously, 16 rows of the panel at a time.
      for (int64_t p0 = 0; p0 < k; p0 += 16) {
        const int64_t p1 = std::min<int64_t>(k, p0 + 16);
        for (int64_t j = 0; j < nr; ++j) {
          const T* col = b + (j0 + j) * cs;
          for (int64_t p = p0; p < p1; ++p) dst[p * NR + j] = col[p];
        }
      }
      continue;
    }
    if (cs == 1) {
      for (int64_t p = 0; p < k; ++p) std::memcpy(dst + p * NR, b + p * rs + j0, sizeof(T) * nr);
      continue;
    }
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < nr; ++j) dst[p * NR + j] = b[p * rs + (j0 + j) * cs];
  }
}

template <class T>
PackedB<T>::~PackedB() {
  cpu_free(data_, bytes_);
}

template <class T>
void PackedB<T>::multiply(int64_t m, const T* a, int64_t lda, int64_t s0, int64_t s1, T* c,
                          int64_t ldc, bool accumulate) const {
  if (m <= 0 || s0 >= s1) return;
  const int MR = uk_.mr, NR = uk_.nr;
  const int64_t m_full = m / MR * MR;
  // The partial last row panel is packed (zero padded): the kernel reads MR rows of an
  // unpacked A, which do not all exist.
  // (A per-thread buffer: the recurrent sequences call this at every step.)
  thread_local std::vector<T> tail;
  if (m_full < m) {
    tail.assign(static_cast<size_t>(MR * k_), T(0));
    for (int64_t i = m_full; i < m; ++i)
      for (int64_t p = 0; p < k_; ++p) tail[p * MR + (i - m_full)] = a[i * lda + p];
  }
  for (int64_t s = s0; s < s1; ++s) {
    const T* bp = data_ + s * k_ * NR;
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
template Ukernel<float> packed_kernel<float>(int64_t);
template Ukernel<double> packed_kernel<double>(int64_t);

}  // namespace corten::cpu::gemm
