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

enum class Bf16Path { Tiles, Vector, Reference, Float32 };

Bf16Path bf16_path() {
  if (cpu_isa() == CpuIsa::Baseline) return Bf16Path::Reference;
  if (cpu_isa_at_least(CpuIsa::Avx512) && cpu_has_avx512_bf16()) {
    return cpu_amx_enabled() ? Bf16Path::Tiles : Bf16Path::Vector;
  }
  return Bf16Path::Float32;
}

// The AMX kernel (Note [AMX tiles]), else the narrowest kernel at least n columns wide, else
// the widest.
Bf16Ukernel select_kernel(int64_t n, Bf16Path path) {
  if (path == Bf16Path::Tiles) return avx512_amx::ukernel_bf16();
  const int nv = n <= 16 ? 1 : n <= 32 ? 2 : 4;
  return path == Bf16Path::Vector ? avx512_bf16::ukernel_bf16(nv) : reference::ukernel_bf16(nv);
}

// Rows [0, mr) of a (strides rs, cs), k deep, as one MR-row pair panel: kp x MR words, or for
// a kernel reading A's rows (uk.a_rows) MR rows of kp words.
void pack_a_panel(const Bf16Ukernel& uk, int64_t mr, int64_t k, const bfloat16* a, int64_t rs,
                  int64_t cs, uint32_t* dst) {
  const int MR = uk.mr;
  const int64_t kp = ceil_div(k, 2);
  if (uk.a_rows && rs == 1 && uk.pack_a_cols) {  // A^T is row-major
    uk.pack_a_cols(MR, mr, k, reinterpret_cast<const uint16_t*>(a), cs, dst);
    return;
  }
  if (uk.a_rows) {
    for (int64_t i = 0; i < MR; ++i, dst += kp) {
      if (i >= mr) {
        std::fill(dst, dst + kp, 0u);
        continue;
      }
      const bfloat16* row = a + i * rs;
      int64_t p = 0;
      for (; 2 * p + 1 < k; ++p)
        dst[p] = row[2 * p * cs].bits | uint32_t{row[(2 * p + 1) * cs].bits} << 16;
      if (k % 2) dst[p] = row[(k - 1) * cs].bits;
    }
    return;
  }
  if (rs == 1 && uk.pack_b_rows) {  // A^T is row-major: its rows interleaved in pairs
    uk.pack_b_rows(MR, mr, k, reinterpret_cast<const uint16_t*>(a), cs, dst);
    return;
  }
  if (rs == 1) {  // column-major (a transposed operand): MR consecutive values per k
    for (int64_t p = 0; p < kp; ++p, dst += MR) {
      const bfloat16* even = a + 2 * p * cs;
      const bfloat16* odd = 2 * p + 1 < k ? even + cs : nullptr;
      for (int64_t i = 0; i < mr; ++i)
        dst[i] = even[i].bits | (odd ? uint32_t{odd[i].bits} << 16 : 0u);
      for (int64_t i = mr; i < MR; ++i) dst[i] = 0;
    }
    return;
  }
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

// A finished row of float32 sums written to C: rounded to bfloat16, or stored or added as
// float32.
void store_row(const float* src, int64_t n, bfloat16* dst, bool) {
  active_elementwise_table().f32_to_bf16(src, dst, n);
}
void store_row(const float* src, int64_t n, float* dst, bool accumulate) {
  if (accumulate) {
    for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
  } else {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
  }
}

// The float32 path: the operands widened over their whole extent (same strides and offsets),
// the float32 GEMM with its epilogue, and one rounding of C.
// `b_wide`, when given, is B already widened (with B's strides and offsets).
template <class Out>
void gemm_via_float32(int64_t batch, int64_t m, int64_t n, int64_t k, const bfloat16* a,
                      const int64_t* a_off, int64_t a_rs, int64_t a_cs, const bfloat16* b,
                      const float* b_wide, const int64_t* b_off, int64_t b_rs, int64_t b_cs, Out* c,
                      const bfloat16* bias, Activation act, bool accumulate) {
  auto extent = [&](const int64_t* off, int64_t rows, int64_t rs, int64_t cols, int64_t cs) {
    const int64_t last = *std::max_element(off, off + batch);
    return rows == 0 || cols == 0 ? 0 : last + (rows - 1) * rs + (cols - 1) * cs + 1;
  };
  const int64_t a_len = extent(a_off, m, a_rs, k, a_cs), b_len = extent(b_off, k, b_rs, n, b_cs);
  const Scratch<float> a_buf(a_len, "matmul");
  const Scratch<float> b_buf(b_wide ? 0 : b_len, "matmul");
  const Scratch<float> bias_buf(bias ? n : 0, "matmul");
  const Scratch<float> c_buf(batch * m * n, "matmul");
  const ConvertRowFn widen = active_elementwise_table().bf16_to_f32;
  if (a_len > 0) widen(a, a_buf.data(), a_len);
  if (!b_wide && b_len > 0) widen(b, b_buf.data(), b_len);
  if (bias) widen(bias, bias_buf.data(), n);
  gemm<float>(batch, m, n, k, a_buf.data(), a_off, a_rs, a_cs,
              b_wide ? b_wide : b_buf.data(), b_off, b_rs, b_cs, c_buf.data(),
              bias ? bias_buf.data() : nullptr, act);
  store_row(c_buf.data(), batch * m * n, c, accumulate);
}

// `packed`, when given, is B (one matrix for the whole batch), packed by pack_bf16_b.
template <class Out>
void gemm_pairs(int64_t batch, int64_t m, int64_t n, int64_t k, const bfloat16* a,
                const int64_t* a_off, int64_t a_rs, int64_t a_cs, const bfloat16* b,
                const int64_t* b_off, int64_t b_rs, int64_t b_cs, const PackedBf16B* packed, Out* c,
                const bfloat16* bias, Activation act, bool accumulate) {
  if (batch == 0 || m == 0 || n == 0) return;
  const Bf16Path path =
      packed ? (packed->float32 ? Bf16Path::Float32 : Bf16Path::Vector) : bf16_path();
  if (path == Bf16Path::Float32) {
    gemm_via_float32(batch, m, n, k, a, a_off, a_rs, a_cs, b,
                     packed ? packed->wide.data() : nullptr, b_off, b_rs, b_cs, c, bias, act,
                     accumulate);
    return;
  }
  const Bf16Ukernel uk = packed ? packed->uk : select_kernel(n, path);
  const int MR = uk.mr, NR = uk.nr;
  const int64_t kp = ceil_div(k, 2);
  const int64_t row_panels = ceil_div(m, MR), col_panels = ceil_div(n, NR);
  // A row-major A is read in place, its pairs being consecutive (Bf16UkernelFn): only a
  // partial last row panel is packed.
  const bool direct_a = a_cs == 1;
  const int64_t full_panels = direct_a ? m / MR : 0;
  const int64_t packed_panels = row_panels - full_panels;
  const int64_t a_size = packed_panels * MR * kp, b_size = col_panels * NR * kp;
  const BatchMatrices a_mats(batch, a_off), b_mats(batch, b_off);
  const int64_t na = a_mats.count(), nb = packed ? 0 : b_mats.count();
  const int threads = get_num_threads();
  const bool parallel = threads > 1 && static_cast<double>(batch) * m * n * k * 2 >=
                                           static_cast<double>(kParallelFlops);

  const Scratch<uint32_t> a_buf(na * a_size, "matmul");
  const Scratch<uint32_t> b_buf(nb * b_size, "matmul");
  uint32_t* const ap = a_buf.data();
  const uint32_t* const bp = packed ? packed->words.data() : b_buf.data();
  const int64_t a_items = na * packed_panels;
  // k == 0: the empty sums, and operands that may have no storage to point into.
  run_items(kp > 0 ? a_items + nb * col_panels : 0, parallel, [&](int64_t item) {
    if (item < a_items) {
      const int64_t mat = item / packed_panels, r = item % packed_panels,
                    i0 = (full_panels + r) * MR;
      pack_a_panel(uk, std::min<int64_t>(MR, m - i0), k, a + a_mats.offset(mat) + i0 * a_rs,
                   a_rs, a_cs, ap + mat * a_size + r * MR * kp);
    } else {
      item -= a_items;
      const int64_t mat = item / col_panels, s = item % col_panels;
      pack_bf16_panel(uk, std::min<int64_t>(NR, n - s * NR), k, b + b_mats.offset(mat) + s * NR * b_cs,
                   b_rs, b_cs, b_buf.data() + mat * b_size + s * NR * kp);
    }
  });

  const Scratch<float> bias_buf(bias ? n : 0, "matmul");
  float* const bias_f = bias_buf.data();
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
    const int64_t mat = a_mats.index(bi);
    const uint32_t* a_mat = ap + mat * a_size;
    const uint32_t* b_panel = bp + (packed ? 0 : b_mats.index(bi)) * b_size + s * NR * kp;
    const int64_t j0 = s * NR, nr = std::min<int64_t>(NR, n - j0);
    alignas(64) float tile[1024];  // the largest tile, 32 x 32
    for (int64_t r = g * group; r < std::min(row_panels, (g + 1) * group); ++r) {
      if (r < full_panels) {
        const uint16_t* rows =
            reinterpret_cast<const uint16_t*>(a + a_mats.offset(mat) + r * MR * a_rs);
        uk.fn(k / 2, rows, a_rs, 2, b_panel, tile, false);
        if (k % 2) {  // the last, zero-padded pair from a one-pair panel
          uint32_t tail[32];
          for (int i = 0; i < MR; ++i) tail[i] = rows[i * a_rs + k - 1];
          uk.fn(1, reinterpret_cast<const uint16_t*>(tail), 2, 2 * MR, b_panel + (kp - 1) * NR,
                tile, true);
        }
      } else {
        const auto* panel = reinterpret_cast<const uint16_t*>(a_mat + (r - full_panels) * MR * kp);
        if (uk.a_rows) {
          uk.fn(kp, panel, 2 * kp, 2, b_panel, tile, false);
        } else {
          uk.fn(kp, panel, 2, 2 * MR, b_panel, tile, false);
        }
      }
      const int64_t i0 = r * MR, mr = std::min<int64_t>(MR, m - i0);
      // The epilogue runs over the whole tile at once (its columns past nr hold finite sums of
      // zero padding, never stored), and C's rows are one run when they are the tile's.
      if (bias_f) {
        for (int64_t i = 0; i < mr; ++i)
          for (int64_t j = 0; j < nr; ++j) tile[i * NR + j] += bias_f[j0 + j];
      }
      if (act_fn) act_fn(tile, 1, tile, mr * NR, 0.0);
      Out* const c_rows = c + (bi * m + i0) * n + j0;
      if (nr == NR && n == NR) {
        store_row(tile, mr * NR, c_rows, accumulate);
      } else {
        for (int64_t i = 0; i < mr; ++i) store_row(tile + i * NR, nr, c_rows + i * n, accumulate);
      }
    }
  });
}

}  // namespace

void gemm_bf16(int64_t batch, int64_t m, int64_t n, int64_t k, const bfloat16* a,
               const int64_t* a_off, int64_t a_rs, int64_t a_cs, const bfloat16* b,
               const int64_t* b_off, int64_t b_rs, int64_t b_cs, bfloat16* c, const bfloat16* bias,
               Activation act) {
  gemm_pairs(batch, m, n, k, a, a_off, a_rs, a_cs, b, b_off, b_rs, b_cs, nullptr, c, bias, act,
             false);
}

void gemm_bf16(int64_t m, int64_t n, int64_t k, const bfloat16* a, int64_t a_rs, int64_t a_cs,
               const bfloat16* b, int64_t b_rs, int64_t b_cs, float* c, bool accumulate) {
  const int64_t zero = 0;
  gemm_pairs(1, m, n, k, a, &zero, a_rs, a_cs, b, &zero, b_rs, b_cs, nullptr, c, nullptr,
             Activation::Identity, accumulate);
}

PackedBf16B pack_bf16_b(int64_t k, int64_t n, const bfloat16* b, int64_t rs, int64_t cs) {
  PackedBf16B p;
  p.k = k;
  p.n = n;
  const Bf16Path path = bf16_path();
  p.float32 = path == Bf16Path::Float32;
  if (p.float32) {
    p.wide.resize(static_cast<size_t>(k * n));
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j) p.wide[i * n + j] = b[i * rs + j * cs].to_float();
    return p;
  }
  p.uk = select_kernel(n, path);
  const int64_t kp = ceil_div(k, 2), panels = ceil_div(n, p.uk.nr);
  p.words.resize(static_cast<size_t>(panels * p.uk.nr * kp));
  for (int64_t s = 0; s < panels && kp > 0; ++s)
    pack_bf16_panel(p.uk, std::min<int64_t>(p.uk.nr, n - s * p.uk.nr), k, b + s * p.uk.nr * cs, rs, cs,
                 p.words.data() + s * p.uk.nr * kp);
  return p;
}

void gemm_bf16(int64_t m, const bfloat16* a, int64_t a_rs, int64_t a_cs, const PackedBf16B& b,
               bfloat16* c, const bfloat16* bias, Activation act) {
  const int64_t zero = 0;
  gemm_pairs(1, m, b.n, b.k, a, &zero, a_rs, a_cs, nullptr, &zero, b.n, 1, &b, c, bias, act, false);
}

void gemm_bf16(int64_t m, const bfloat16* a, int64_t a_rs, int64_t a_cs, const PackedBf16B& b,
               float* c, bool accumulate) {
  const int64_t zero = 0;
  gemm_pairs(1, m, b.n, b.k, a, &zero, a_rs, a_cs, nullptr, &zero, b.n, 1, &b, c, nullptr,
             Activation::Identity, accumulate);
}

const Bf16Ukernel* gemm_bf16_kernel() {
  static const Bf16Ukernel tiles = avx512_amx::ukernel_bf16();
  return bf16_path() == Bf16Path::Tiles ? &tiles : gemm_bf16_kernel(4);
}

const Bf16Ukernel* gemm_bf16_kernel(int nv) {
  static const Bf16Ukernel vector[3] = {avx512_bf16::ukernel_bf16(1), avx512_bf16::ukernel_bf16(2),
                                        avx512_bf16::ukernel_bf16(4)};
  static const Bf16Ukernel ref[3] = {reference::ukernel_bf16(1), reference::ukernel_bf16(2),
                                     reference::ukernel_bf16(4)};
  const int i = nv <= 1 ? 0 : nv == 2 ? 1 : 2;
  const Bf16Path path = bf16_path();
  return path == Bf16Path::Float32 ? nullptr : path == Bf16Path::Reference ? &ref[i] : &vector[i];
}

void pack_bf16_panel(const Bf16Ukernel& uk, int64_t nr, int64_t k, const bfloat16* b, int64_t rs,
                  int64_t cs, uint32_t* dst) {
  pack_bf16_pairs(uk, uk.nr, nr, k, b, rs, cs, dst);
}

void pack_bf16_pairs(const Bf16Ukernel& uk, int64_t width, int64_t nr, int64_t k,
                     const bfloat16* b, int64_t rs, int64_t cs, uint32_t* dst) {
  const int NR = static_cast<int>(width);
  if (cs == 1 && uk.pack_b_rows) {
    uk.pack_b_rows(NR, nr, k, reinterpret_cast<const uint16_t*>(b), rs, dst);
    return;
  }
  if (rs == 1) {  // a column's pairs are adjacent: one 32-bit word each
    for (int64_t p = 0; 2 * p < k; ++p, dst += NR) {
      if (2 * p + 1 < k) {
        for (int64_t j = 0; j < nr; ++j) std::memcpy(dst + j, b + j * cs + 2 * p, sizeof *dst);
      } else {
        for (int64_t j = 0; j < nr; ++j) dst[j] = b[j * cs + 2 * p].bits;
      }
      std::fill(dst + nr, dst + NR, 0u);
    }
    return;
  }
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

}  // namespace corten::cpu::gemm
