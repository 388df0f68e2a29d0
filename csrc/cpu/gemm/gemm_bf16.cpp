// The bfloat16 GEMM driver (Note [bfloat16 GEMM] in gemm_bf16.h).
//
// Two phases, as the float32 driver (Note [GEMM threading]): every distinct A and B matrix is
// packed into pair panels, one work item per panel; then one item per (batch, column panel,
// group of row panels) runs the micro-kernel over the whole depth and writes its tiles back.
// A column panel (kp x NR words) stays in L2 while the item's row panels stream past it.

#include "cpu/gemm/gemm_bf16.h"

#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cstring>

#include "cpu/elementwise.h"
#include "cpu/gemm/driver_common.h"
#include "cpu/gemm/gemm.h"

namespace corten::cpu::gemm {
namespace {

enum class Bf16Path { Vector, Reference, Float32 };

Bf16Path bf16_path() {
  if (cpu_isa() == CpuIsa::Baseline) return Bf16Path::Reference;
  if (cpu_isa_at_least(CpuIsa::Avx512) && cpu_has_avx512_bf16()) return Bf16Path::Vector;
  return Bf16Path::Float32;
}

// The narrowest kernel at least n columns wide, else the widest.
Bf16Ukernel select_kernel(int64_t n, Bf16Path path) {
  const int nv = n <= 16 ? 1 : n <= 32 ? 2 : 4;
  return path == Bf16Path::Vector ? avx512_bf16::ukernel_bf16(nv) : reference::ukernel_bf16(nv);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Rows [0, mr) of a (strides rs, cs), k deep, as one MR-row pair panel (kp x MR words).
void pack_a_panel(int MR, int64_t mr, int64_t k, const bfloat16* a, int64_t rs, int64_t cs,
                  uint32_t* dst) {
  const int64_t kp = ceil_div(k, 2);
  for (int64_t i = 0; i < MR; ++i) {
    if (i >= mr) {
      for (int64_t p = 0; p < kp; ++p) dst[p * MR + i] = 0;
      continue;
    }
    const bfloat16* row = a + i * rs;
    int64_t p = 0;
    for (; 2 * p + 1 < k; ++p)
      dst[p * MR + i] = row[2 * p * cs].bits | uint32_t{row[(2 * p + 1) * cs].bits} << 16;
    if (k % 2) dst[p * MR + i] = row[(k - 1) * cs].bits;
  }
}

// Columns [0, nr) of b (strides rs, cs), k deep, as one NR-column pair panel (kp x NR words).
void pack_b_panel(int NR, int64_t nr, int64_t k, const bfloat16* b, int64_t rs, int64_t cs,
                  uint32_t* dst) {
  for (int64_t p = 0; 2 * p < k; ++p, dst += NR) {
    const bfloat16* even = b + 2 * p * rs;
    if (2 * p + 1 < k) {
      const bfloat16* odd = even + rs;
      for (int64_t j = 0; j < nr; ++j)
        dst[j] = even[j * cs].bits | uint32_t{odd[j * cs].bits} << 16;
    } else {
      for (int64_t j = 0; j < nr; ++j) dst[j] = even[j * cs].bits;
    }
    for (int64_t j = nr; j < NR; ++j) dst[j] = 0;
  }
}

void round_row(const float* src, int64_t n, bfloat16* dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] = bfloat16::from_float(src[j]);
}

// The float32 path: the operands widened over their whole extent (same strides and offsets),
// the float32 GEMM with its epilogue, and one rounding of C.
void gemm_via_float32(int64_t batch, int64_t m, int64_t n, int64_t k, const bfloat16* a,
                      const int64_t* a_off, int64_t a_rs, int64_t a_cs, const bfloat16* b,
                      const int64_t* b_off, int64_t b_rs, int64_t b_cs, bfloat16* c,
                      const bfloat16* bias, Activation act) {
  auto extent = [&](const int64_t* off, int64_t rows, int64_t rs, int64_t cols, int64_t cs) {
    const int64_t last = *std::max_element(off, off + batch);
    return rows == 0 || cols == 0 ? 0 : last + (rows - 1) * rs + (cols - 1) * cs + 1;
  };
  const int64_t a_len = extent(a_off, m, a_rs, k, a_cs), b_len = extent(b_off, k, b_rs, n, b_cs);
  Buffer a_buf(static_cast<size_t>(a_len) * sizeof(float));
  Buffer b_buf(static_cast<size_t>(b_len) * sizeof(float));
  Buffer bias_buf(bias ? static_cast<size_t>(n) * sizeof(float) : 0);
  Buffer c_buf(static_cast<size_t>(batch * m * n) * sizeof(float));
  auto widen = [](const bfloat16* src, int64_t len, float* dst) {
    for (int64_t i = 0; i < len; ++i) dst[i] = src[i].to_float();
  };
  widen(a, a_len, a_buf.as<float>());
  widen(b, b_len, b_buf.as<float>());
  if (bias) widen(bias, n, bias_buf.as<float>());
  gemm<float>(batch, m, n, k, a_buf.as<float>(), a_off, a_rs, a_cs, b_buf.as<float>(), b_off,
              b_rs, b_cs, c_buf.as<float>(), bias ? bias_buf.as<float>() : nullptr, act);
  round_row(c_buf.as<float>(), batch * m * n, c);
}

}  // namespace

void gemm_bf16(int64_t batch, int64_t m, int64_t n, int64_t k, const bfloat16* a,
               const int64_t* a_off, int64_t a_rs, int64_t a_cs, const bfloat16* b,
               const int64_t* b_off, int64_t b_rs, int64_t b_cs, bfloat16* c,
               const bfloat16* bias, Activation act) {
  if (batch == 0 || m == 0 || n == 0) return;
  const Bf16Path path = bf16_path();
  if (path == Bf16Path::Float32) {
    gemm_via_float32(batch, m, n, k, a, a_off, a_rs, a_cs, b, b_off, b_rs, b_cs, c, bias, act);
    return;
  }
  const Bf16Ukernel uk = select_kernel(n, path);
  const int MR = uk.mr, NR = uk.nr;
  const int64_t kp = ceil_div(k, 2);
  const int64_t row_panels = ceil_div(m, MR), col_panels = ceil_div(n, NR);
  const int64_t a_size = row_panels * MR * kp, b_size = col_panels * NR * kp;
  const BatchMatrices a_mats(batch, a_off), b_mats(batch, b_off);
  const int64_t na = a_mats.count(), nb = b_mats.count();
  const int threads = get_num_threads();
  const bool parallel = threads > 1 && static_cast<double>(batch) * m * n * k * 2 >=
                                           static_cast<double>(kParallelFlops);

  Buffer a_buf(static_cast<size_t>(na * a_size) * sizeof(uint32_t));
  Buffer b_buf(static_cast<size_t>(nb * b_size) * sizeof(uint32_t));
  uint32_t* const ap = a_buf.as<uint32_t>();
  uint32_t* const bp = b_buf.as<uint32_t>();
  const int64_t a_items = na * row_panels;
  // k == 0: the empty sums, and operands that may have no storage to point into.
  run_items(kp > 0 ? a_items + nb * col_panels : 0, parallel, [&](int64_t item) {
    if (item < a_items) {
      const int64_t mat = item / row_panels, r = item % row_panels;
      pack_a_panel(MR, std::min<int64_t>(MR, m - r * MR), k,
                   a + a_mats.offset(mat) + r * MR * a_rs, a_rs, a_cs,
                   ap + mat * a_size + r * MR * kp);
    } else {
      item -= a_items;
      const int64_t mat = item / col_panels, s = item % col_panels;
      pack_b_panel(NR, std::min<int64_t>(NR, n - s * NR), k,
                   b + b_mats.offset(mat) + s * NR * b_cs, b_rs, b_cs,
                   bp + mat * b_size + s * NR * kp);
    }
  });

  Buffer bias_buf(bias ? static_cast<size_t>(n) * sizeof(float) : 0);
  float* const bias_f = bias_buf.as<float>();
  for (int64_t j = 0; bias && j < n; ++j) bias_f[j] = bias[j].to_float();
  const UnaryRowFn act_fn = activation_row(act, DType::Float32);

  // Row panels per item: all of them, halved while there are fewer than 4 items per thread.
  int64_t group = row_panels;
  if (parallel) {
    while (group > 1 && batch * col_panels * ceil_div(row_panels, group) < 4 * int64_t{threads})
      group = ceil_div(group, 2);
  }
  const int64_t groups = ceil_div(row_panels, group);
  run_items(batch * col_panels * groups, parallel, [&](int64_t item) {
    const int64_t g = item % groups, s = item / groups % col_panels, bi = item / groups / col_panels;
    const uint32_t* a_mat = ap + a_mats.index(bi) * a_size;
    const uint32_t* b_panel = bp + b_mats.index(bi) * b_size + s * NR * kp;
    const int64_t j0 = s * NR, nr = std::min<int64_t>(NR, n - j0);
    alignas(64) float tile[384];  // the largest tile, 6 x 64
    for (int64_t r = g * group; r < std::min(row_panels, (g + 1) * group); ++r) {
      uk.fn(kp, a_mat + r * MR * kp, b_panel, tile);
      const int64_t i0 = r * MR, mr = std::min<int64_t>(MR, m - i0);
      for (int64_t i = 0; i < mr; ++i) {
        float* row = tile + i * NR;
        if (bias_f)
          for (int64_t j = 0; j < nr; ++j) row[j] += bias_f[j0 + j];
        if (act_fn) act_fn(row, 1, row, nr, 0.0);
        round_row(row, nr, c + (bi * m + i0 + i) * n + j0);
      }
    }
  });
}

const Bf16Ukernel* gemm_bf16_kernel() {
  static const Bf16Ukernel vector = select_kernel(int64_t{1} << 30, Bf16Path::Vector);
  static const Bf16Ukernel ref = select_kernel(int64_t{1} << 30, Bf16Path::Reference);
  const Bf16Path path = bf16_path();
  return path == Bf16Path::Float32 ? nullptr : path == Bf16Path::Vector ? &vector : &ref;
}

}  // namespace corten::cpu::gemm
