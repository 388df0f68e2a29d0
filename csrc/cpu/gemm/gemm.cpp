// Packed, cache-blocked GEMM (BLIS-style), float32 and float64.
//
// Note [GEMM threading]
// One call runs in two phases, each a parallel_for whose workers take work items from a shared
// atomic counter until none is left, so a thread slowed down by another process simply takes
// fewer items (no static split):
//   1. packing: A of every distinct batch matrix into MR-row panels and B into NR-column
//      panels, one item per (matrix, KC block, group of kPackGroup rows or columns). A B shared
//      by the whole batch (broadcast) is packed once and reused by every batch. When C is one
//      row tile high and each batch has its own B, each compute item packs its own B columns
//      instead, on the thread (and in the cache) that reads them. Under kParallelPackBytes
//      of packing (only a partial panel of an operand read in place), phase 1 runs on the
//      calling thread: waking the pool would cost more.
//   2. compute: one item per (batch, MC x NC macro-tile of C); each runs every KC block of its
//      tile through the micro-kernel and applies the epilogue (bias, activation) to each
//      micro-tile after its last KC block, while it is in L1.
// When there are fewer tiles than 4 per thread, the tiles are halved until there are (down to
// 2 MR x 2 NR), so that small products still spread over all threads; rows first when the
// epilogue calls row kernels (below). A small C with a deep sum is cut along K instead
// (Note [GEMM blocking], K split).
// A row-major B that fits in L2 is read in place (Note [GEMM micro-kernel contract]): only a
// partial last NR panel is packed. So is a row-major A (and a column-major one feeding few
// column panels): only a partial last MR panel is packed. An MLP's products then pack nothing.

#include "cpu/gemm/gemm.h"

#include <corten/allocator.h>
#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/elementwise.h"
#include "cpu/gemm/blocking.h"
#include "cpu/gemm/driver_common.h"
#include "cpu/gemm/ukernel.h"

namespace corten::cpu::gemm {
namespace {

// Bytes to pack below which phase 1 runs on the calling thread (Note [GEMM threading]).
constexpr int64_t kParallelPackBytes = int64_t{64} << 10;
// K split (Note [GEMM blocking]): products with C at most kSplitMaxMn square and at least
// kSplitMinK deep (and over kParallelFlops) sum K in 2 chunks (4 from 4 * kSplitMinK).
// bench (matmul microbenchmark, min of 5 x 300 calls): 64x784 . (64x784)^T float32 at 2
// threads 40.8 -> 27.8 us (one B panel: a single tile without it); 1 thread 41.4 -> 42.2 us.
// A row-major B too: 64x784 . 784x64 at 2 threads on a 2-vCPU EPYC (Zen 4), 44.2 -> 35.2 us,
// where splitting rows made both cores read all of B (and an Adam update that followed, on
// the B it had just read, went from 23.5 to 10.0 us: no copies of B in the other core's L2).
constexpr int64_t kSplitMinK = 512;
constexpr int64_t kSplitMaxMn = 128;
// Rows of A or columns of B per packing work item (Note [GEMM threading]).
constexpr int64_t kPackGroup = 256;
// B is read in place when row-major and at most this large (and at most a quarter of L2).
const int64_t kDirectBBytes = std::getenv("CORTEN_GEMM_NODIRECT") ? 0 : int64_t{256} << 10;

// A micro-kernel with the cache blocking derived for its MR x NR tile (Note [GEMM blocking]).
template <class T>
struct Config {
  Ukernel<T> uk;
  Blocking bl;
};

template <class T>
Config<T> make_config(Ukernel<T> uk) {
  return {uk, blocking_for(uk.mr, uk.nr, sizeof(T))};
}

// An ISA's kernels by increasing NR; the last (widest) is its main one. `row`, when the ISA
// has one, is the kernel of single-row products.
template <class T>
struct ConfigSet {
  Config<T> c[3];
  int count;
  Config<T> row;
  bool has_row;
};

template <class T>
ConfigSet<T> make_set(Ukernel<float> (*f32)(), Ukernel<double> (*f64)(),
                      Ukernel<float> (*narrow_f32)(int) = nullptr,
                      Ukernel<double> (*narrow_f64)(int) = nullptr,
                      Ukernel<float> (*row_f32)() = nullptr,
                      Ukernel<double> (*row_f64)() = nullptr) {
  ConfigSet<T> s{};
  if constexpr (std::is_same_v<T, float>) {
    if (row_f32) {
      s.row = make_config(row_f32());
      s.has_row = true;
    }
    if (narrow_f32) {
      s.c[s.count++] = make_config(narrow_f32(1));
      s.c[s.count++] = make_config(narrow_f32(2));
    }
    s.c[s.count++] = make_config(f32());
  } else {
    if (row_f64) {
      s.row = make_config(row_f64());
      s.has_row = true;
    }
    if (narrow_f64) {
      s.c[s.count++] = make_config(narrow_f64(1));
      s.c[s.count++] = make_config(narrow_f64(2));
    }
    s.c[s.count++] = make_config(f64());
  }
  return s;
}

// One set per (dtype, ISA), built on first use: the ISA can change at run time.
template <class T>
const ConfigSet<T>& config_set() {
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu_isa_at_least(CpuIsa::Avx512)) {
    static const ConfigSet<T> s =
        make_set<T>(avx512::ukernel_f32, avx512::ukernel_f64, avx512::ukernel_narrow_f32,
                    avx512::ukernel_narrow_f64, avx512::ukernel_row_f32, avx512::ukernel_row_f64);
    return s;
  }
  if (cpu_isa_at_least(CpuIsa::Avx2)) {
    static const ConfigSet<T> s = make_set<T>(avx2::ukernel_f32, avx2::ukernel_f64);
    return s;
  }
#endif
  static const ConfigSet<T> s = make_set<T>(baseline::ukernel_f32, baseline::ukernel_f64);
  return s;
}

// The narrowest kernel at least n columns wide, else the widest.
template <class T>
const Config<T>& select_config(int64_t n) {
  const ConfigSet<T>& s = config_set<T>();
  for (int i = 0; i + 1 < s.count; ++i)
    if (n <= s.c[i].uk.nr) return s.c[i];
  return s.c[s.count - 1];
}

// One full MR-row panel of a row-major A: MR contiguous row streams, contiguous writes.
template <int MR, class T>
void pack_rows(int64_t kc, const T* src, int64_t rs, T* dst) {
  const T* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = src + i * rs;
  for (int64_t p = 0; p < kc; ++p, dst += MR)
    for (int i = 0; i < MR; ++i) dst[i] = rows[i][p];
}

// Packs rows [0, m) x cols [p0, p0 + kc) of a (strides rs, cs) into MR-row panels: panel r
// holds a[r*MR + i][p0 + p] at dst[r*MR*kc + p*MR + i], rows past m zero.
template <class T>
void pack_a(int MR, int64_t m, int64_t kc, const T* a, int64_t rs, int64_t cs, T* dst) {
  for (int64_t r0 = 0; r0 < m; r0 += MR, dst += MR * kc) {
    const int64_t mr = std::min<int64_t>(MR, m - r0);
    const T* src = a + r0 * rs;
    if (mr == MR && rs == 1) {
      for (int64_t p = 0; p < kc; ++p)
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[p * cs + i];
    } else if (mr == MR && cs == 1 && MR == 6) {
      pack_rows<6>(kc, src, rs, dst);
    } else if (mr == MR && cs == 1 && MR == 4) {
      pack_rows<4>(kc, src, rs, dst);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        for (int64_t i = 0; i < mr; ++i) dst[p * MR + i] = src[i * rs + p * cs];
        for (int64_t i = mr; i < MR; ++i) dst[p * MR + i] = T(0);
      }
    }
  }
}

// Packs rows [p0, p0 + kc) x cols [j0, j1) of b (strides rs, cs) into NR-column panels: panel
// s holds b[p0 + p][j0 + s*NR + j] at dst[s*NR*kc + p*NR + j], columns past j1 zero.
// A column-major b goes to `transposed` when the ISA has one (Note [Transposed B packing]).
template <class T>
void pack_b(int NR, int64_t j0, int64_t j1, int64_t kc, const T* b, int64_t rs, int64_t cs,
            T* dst, PackBFn<T> transposed) {
  for (int64_t c0 = j0; c0 < j1; c0 += NR, dst += NR * kc) {
    const int64_t nr = std::min<int64_t>(NR, j1 - c0);
    const T* src = b + c0 * cs;
    if (rs == 1 && cs != 1 && transposed) {
      transposed(NR, kc, nr, src, cs, dst);
    } else if (nr == NR && cs == 1) {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, src + p * rs, NR * sizeof(T));
    } else if (cs == 1) {
      // A partial panel: short rows, where a library call per row would cost more than the copy.
      for (int64_t p = 0; p < kc; ++p) {
        T* d = dst + p * NR;
        const T* r = src + p * rs;
        for (int64_t j = 0; j < nr; ++j) d[j] = r[j];
        for (int64_t j = nr; j < NR; ++j) d[j] = T(0);
      }
    } else if (rs == 1) {
      // Column-major (a transposed B): each column is read contiguously, 16 rows of the panel
      // at a time so that the rows being written stay in L1 (a whole panel may not fit).
      for (int64_t p0 = 0; p0 < kc; p0 += 16) {
        const int64_t p1 = std::min<int64_t>(kc, p0 + 16);
        for (int64_t j = 0; j < nr; ++j) {
          const T* col = src + j * cs;
          for (int64_t p = p0; p < p1; ++p) dst[p * NR + j] = col[p];
        }
        for (int64_t p = p0; p < p1; ++p)
          for (int64_t j = nr; j < NR; ++j) dst[p * NR + j] = T(0);
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        for (int64_t j = 0; j < nr; ++j) dst[p * NR + j] = src[p * rs + j * cs];
        for (int64_t j = nr; j < NR; ++j) dst[p * NR + j] = T(0);
      }
    }
  }
}

// Note [Activation-derivative epilogue]
// gemm_activation_grad's write-back multiplies each finished block of C by the derivative of an
// activation, evaluated from an auxiliary tensor of C's shape (the activation's saved output y):
//   relu: y > 0 ? c : 0,  sigmoid: c * (y * (1 - y)),  tanh: c * (1 - y * y).
// These are the ops a Dense backward runs after its matmul (relu_grad, and the multiply and
// subtract nodes of grad_before_activation), computed by the same elementwise row kernels in the
// same order, after the full K sum: the fused product gives the unfused ops' results bit for
// bit, while the block is in cache (the plan pass of trace/matmul_fusion.cpp relies on it).

// c[0, n) = c * act'(y) from y[0, n), as Note [Activation-derivative epilogue].
template <class T>
void activation_grad_row(Activation act, T* c, const T* y, int64_t n) {
  const ElementwiseTable& t = active_elementwise_table();
  const int dt = static_cast<int>(std::is_same_v<T, float> ? DType::Float32 : DType::Float64);
  if (act == Activation::Relu) {
    t.binary[static_cast<int>(BinaryOp::ReluGrad)][dt](c, 1, y, 1, c, n);
    return;
  }
  const BinaryRowFn mul = t.binary[static_cast<int>(BinaryOp::Multiply)][dt];
  const BinaryRowFn sub = t.binary[static_cast<int>(BinaryOp::Subtract)][dt];
  constexpr int64_t kChunk = 256;
  alignas(64) T tmp[kChunk];
  const T one = T(1);
  for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
    const int64_t len = std::min(kChunk, n - j0);
    if (act == Activation::Sigmoid) {
      sub(&one, 0, y + j0, 1, tmp, len);
      mul(y + j0, 1, tmp, 1, tmp, len);
    } else {  // Tanh
      mul(y + j0, 1, y + j0, 1, tmp, len);
      sub(&one, 0, tmp, 1, tmp, len);
    }
    mul(c + j0, 1, tmp, 1, c + j0, len);
  }
}

// What the write-back applies to a finished block of C: act(c + bias), or c * grad_act'(aux)
// (Note [Activation-derivative epilogue]). bias is (n,); aux has C's layout (row stride n).
template <class T>
struct Epilogue {
  const T* bias = nullptr;
  UnaryRowFn act = nullptr;
  const T* aux = nullptr;
  Activation grad_act = Activation::Identity;
  bool any() const { return bias || act || aux; }
};

// Note [Bias in the accumulators]
// A bias is not added by the write-back: before the first K block of each micro-tile, the
// tile's corner is filled with the bias row and the kernel accumulates onto it, so the bias
// costs a copy into a tile that is in L1 (and about to be written) instead of a pass over the
// finished block, which by then has left L1 (a 64x64 . 64x784 Dense with a bias, 1 / 2
// threads: 47 / 28 -> 41 / 25 us, without a bias 39 / 23;
// bench/results/row-kernels-2026-12-07.txt). The kernels sum a tile's products in registers and
// add the sum to the tile once, so a product of one K block gives the bits of (sum) + bias, as
// the pass did; a deeper one adds the bias before the later blocks' sums.
template <class T>
inline void fill_bias(T* c, int64_t ldc, int mr, int nr, const T* bias) {
  for (int i = 0; i < mr; ++i) std::memcpy(c + i * ldc, bias, static_cast<size_t>(nr) * sizeof(T));
}

// c rows [i0, i1) x cols [j0, j1) of a C with row stride ldc (aux the same layout) get `e`.
template <class T>
void epilogue(T* c, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
              const Epilogue<T>& e, const T* aux) {
  const int64_t nr = j1 - j0;
  for (int64_t i = i0; i < i1; ++i) {
    T* row = c + i * ldc + j0;
    if (e.bias)
      for (int64_t j = 0; j < nr; ++j) row[j] += e.bias[j0 + j];
    if (e.act) e.act(row, 1, row, nr, 0.0);
    if (aux) activation_grad_row(e.grad_act, row, aux + i * ldc + j0, nr);
  }
}


// The driver of Note [GEMM threading]; `allow_parallel` false keeps it on the calling thread
// (the chunks of a K split, which run one per thread).
template <class T>
void gemm_impl(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, const int64_t* a_off,
               int64_t a_rs, int64_t a_cs, const T* b, const int64_t* b_off, int64_t b_rs,
               int64_t b_cs, T* c, const Epilogue<T>& epi, bool allow_parallel) {
  if (k <= 0) {  // the empty sum: c = epilogue(0)
    for (int64_t bi = 0; bi < batch; ++bi) {
      T* cb = c + bi * m * n;
      std::fill(cb, cb + m * n, T(0));
      epilogue(cb, n, 0, m, 0, n, epi, epi.aux ? epi.aux + bi * m * n : nullptr);
    }
    return;
  }
  // The write-back's part of the epilogue: the bias is in the accumulators
  // (Note [Bias in the accumulators]).
  Epilogue<T> rest = epi;
  rest.bias = nullptr;
  const ConfigSet<T>& set = config_set<T>();
  const Config<T>& cfg = m == 1 && set.has_row ? set.row : select_config<T>(n);
  const Ukernel<T>& uk = cfg.uk;
  const Blocking& bl = cfg.bl;
  const int MR = uk.mr, NR = uk.nr;
  const int64_t KC = bl.kc;
  const int64_t nq = ceil_div(k, KC);
  const int64_t m_pad = round_up(m, MR), n_pad = round_up(n, NR);
  const int threads = get_num_threads();
  const bool parallel =
      allow_parallel && threads > 1 &&
      static_cast<double>(batch) * m * n * k * 2 >= static_cast<double>(kParallelFlops);

  // One row panel of a row-major A, B row-major and read in place, one column block, on this
  // thread: a one-sample Dense (a served model's predict, Note [Dense chains] in
  // trace/dense_chain.cpp). The same kernel calls and epilogue as the loops below, in the same
  // order, without their work-item bookkeeping, whose integer divisions cost as much as the
  // products of a 64 x 64 layer.
  if (batch == 1 && m == MR && a_cs == 1 && b_cs == 1 && !parallel && n <= bl.nc &&
      (uk.masked_b || (n >= NR && n % NR == 0))) {
    for (int64_t p0 = 0; p0 < k; p0 += KC) {
      const int64_t kc = std::min(KC, k - p0);
      for (int64_t jr = 0; jr < n; jr += NR) {
        const int nr = static_cast<int>(std::min<int64_t>(NR, n - jr));
        if (p0 == 0 && epi.bias) fill_bias(c + jr, n, MR, nr, epi.bias + jr);
        uk.fn(kc, a + a_off[0] + p0, a_rs, 1, b + b_off[0] + p0 * b_rs + jr, b_rs, c + jr, n, MR,
              nr, p0 != 0 || epi.bias);
      }
    }
    if (rest.any()) epilogue(c, n, 0, m, 0, n, rest, rest.aux);
    return;
  }

  const BatchMatrices a_mats(batch, a_off), b_mats(batch, b_off);
  const int64_t na = a_mats.count(), nb = b_mats.count();

  // A read in place (Note [GEMM micro-kernel contract]): only a partial last MR-row panel is
  // packed. Always for a row-major A (its MR row streams cost the kernel nothing: it
  // broadcasts A elements one by one either way). A column-major A read in place fetches one
  // cache line per k step, of which the panel uses MR values (the next panels re-fetch it),
  // so it is read in place only while few column panels share it (bench/bench_gemm.py: the
  // dW = X^T . G products; a 1024^2 with transpose_a is 2x slower in place on avx2).
  const bool direct_a = a_cs == 1 || (a_rs == 1 && n <= 4 * NR);
  const int64_t m_full = m / MR * MR;
  const int64_t a_rows_packed = direct_a ? (m_full < m ? MR : 0) : m_pad;
  // A B read in place must not alias in L1: with a row stride that is a multiple of 256 bytes
  // a panel's rows fall in a quarter of L1's sets (or fewer) and a 256-row panel thrashes them
  // (bench_gemm.py 256^2 float32 on avx512: 129 GFLOP/s in place, 162 packed; n = 784: 127 vs
  // 124). A stride within one panel is the packed layout itself.
  const int64_t b_row_bytes = b_rs * static_cast<int64_t>(sizeof(T));
  // With one row panel (m <= MR) no panel is read twice, so the aliasing cannot cost a reload
  // and packing would be pure overhead (a one-sample Dense on 784 -> 64: 6.8 us packed).
  const bool b_stride_ok = b_rs <= NR || (b_row_bytes & -b_row_bytes) <= 128 || m <= MR;
  // A large B is packed so that the row panels after the first read it from cache; with one
  // row panel it is read once either way, and packing it would read it twice and write it
  // (a one-sample Dense on 784 -> 128: 13.6 us packed, 2.6 us in place).
  const bool direct_b = b_cs == 1 && b_stride_ok && (n >= NR || uk.masked_b) &&
                        (m <= MR || k * n * static_cast<int64_t>(sizeof(T)) <=
                                        std::min(kDirectBBytes, cache_sizes().l2 / 4));
  // Direct B: only the partial last panel (columns [n_full, n)) is packed, unless the kernel
  // reads partial panels in place.
  const int64_t n_full = uk.masked_b ? n : n / NR * NR;
  const int64_t b_cols_packed = direct_b ? (n_full < n ? NR : 0) : n_pad;
  const int64_t a_size = a_rows_packed * k, b_size = b_cols_packed * k;
  const Scratch<T> a_buf(na * a_size, "matmul");
  const Scratch<T> b_buf(nb * b_size, "matmul");
  T* const ap = a_buf.data();
  T* const bp = b_buf.data();

  // Phase 1: packing, one item per (matrix, KC block, group of up to kPackGroup rows of A or
  // columns of B), so that both threads pack even a single block.
  const int64_t a_first = direct_a ? m_full : 0;  // rows [a_first, m) are packed
  const int64_t b_first = direct_b ? n_full : 0;  // columns [b_first, n) are packed
  const int64_t a_group = round_up(kPackGroup, MR), b_group = round_up(kPackGroup, NR);
  const int64_t a_groups = a_rows_packed ? ceil_div(m - a_first, a_group) : 0;
  const int64_t b_groups = b_cols_packed ? ceil_div(n - b_first, b_group) : 0;
  // One row tile and a B per batch: each compute item packs the B columns it uses, right
  // before using them (on the thread that reads them, and hot in cache), instead of phase 1.
  const bool fuse_b = b_cols_packed > 0 && !direct_b && nb == batch && m <= bl.mc;
  const int64_t a_items = na * nq * a_groups, b_items = fuse_b ? 0 : nb * nq * b_groups;
  // A few KB to pack (a partial last panel of an A read in place) cost less than waking the
  // pool for them.
  const int64_t pack_bytes = (na * (m - a_first) * (a_rows_packed ? 1 : 0) +
                              (fuse_b ? 0 : nb * (n - b_first) * (b_cols_packed ? 1 : 0))) *
                             k * static_cast<int64_t>(sizeof(T));
  run_items(a_items + b_items, parallel && pack_bytes >= kParallelPackBytes, [&](int64_t item) {
    if (item < a_items) {
      const int64_t g = item % a_groups, q = item / a_groups % nq, ai = item / a_groups / nq;
      const int64_t p0 = q * KC, kc = std::min(KC, k - p0);
      const int64_t r0 = a_first + g * a_group, r1 = std::min(m, r0 + a_group);
      pack_a(MR, r1 - r0, kc, a + a_mats.offset(ai) + r0 * a_rs + p0 * a_cs, a_rs, a_cs,
             ap + ai * a_size + p0 * a_rows_packed + (r0 - a_first) * kc);
    } else {
      item -= a_items;
      const int64_t g = item % b_groups, q = item / b_groups % nq, bj = item / b_groups / nq;
      const int64_t p0 = q * KC, kc = std::min(KC, k - p0);
      const int64_t c0 = b_first + g * b_group, c1 = std::min(n, c0 + b_group);
      pack_b(NR, c0, c1, kc, b + b_mats.offset(bj) + p0 * b_rs, b_rs, b_cs,
             bp + bj * b_size + p0 * b_cols_packed + (c0 - b_first) * kc, uk.pack_b_transposed);
    }
  });

  // Phase 2: macro-tiles of C.
  int64_t mc = std::min(bl.mc, m_pad), nc = std::min(bl.nc, n_pad);
  if (parallel) {
    const int64_t target = 4 * int64_t{threads};
    // An epilogue with row kernels (an activation or its derivative) splits rows first: it
    // runs once per tile row, and each call has a fixed cost (constants, loop set-up, the
    // latency of a short row) that 64-column rows would pay 12 times per 784-wide row
    // (bench: linear 64x64 . 64x784 sigmoid at 2 threads, 52 -> 41 us; Note [GEMM threading]).
    const bool row_epilogue = epi.act != nullptr || epi.aux != nullptr;
    while (batch * ceil_div(m, mc) * ceil_div(n, nc) < target) {
      if (fuse_b) {  // keep one row tile; column tiles down to one panel
        if (nc > NR) nc = round_up(nc / 2, NR);
        else break;
      } else if ((mc >= nc || row_epilogue) && mc > 2 * MR)
        mc = round_up(mc / 2, MR);
      else if (nc > 2 * NR) nc = round_up(nc / 2, NR);
      else if (mc > 2 * MR) mc = round_up(mc / 2, MR);
      else break;
    }
  }
  const int64_t tm = ceil_div(m, mc), tn = ceil_div(n, nc);
  run_items(batch * tm * tn, parallel, [&](int64_t item) {
    const int64_t bi = item / (tm * tn);
    const int64_t ti = item % (tm * tn) / tn, tj = item % tn;
    const int64_t i0 = ti * mc, i1 = std::min(m, i0 + mc);
    const int64_t j0 = tj * nc, j1 = std::min(n, j0 + nc);
    const T* a_mat = ap + a_mats.index(bi) * a_size;
    const T* a_src = a + a_off[bi];
    const T* b_mat = bp + b_mats.index(bi) * b_size;
    const T* b_src = b + b_off[bi];
    T* cb = c + bi * m * n;
    for (int64_t q = 0; q < nq; ++q) {
      const int64_t p0 = q * KC, kc = std::min(KC, k - p0);
      const bool first = q == 0, last = q == nq - 1;
      const T* a_blk = a_mat + p0 * a_rows_packed;
      if (fuse_b) {
        pack_b(NR, j0, j1, kc, b_src + p0 * b_rs, b_rs, b_cs,
               bp + b_mats.index(bi) * b_size + p0 * b_cols_packed + j0 * kc,
               uk.pack_b_transposed);
      }
      for (int64_t jr = j0; jr < j1; jr += NR) {
        const int64_t nr = std::min<int64_t>(NR, n - jr);
        const T* b_pan;
        int64_t ldb;
        if (direct_b && (nr == NR || uk.masked_b)) {
          b_pan = b_src + p0 * b_rs + jr;
          ldb = b_rs;
        } else {
          const int64_t s = direct_b ? 0 : jr / NR;
          b_pan = b_mat + p0 * b_cols_packed + s * NR * kc;
          ldb = NR;
        }
        for (int64_t ir = i0; ir < i1; ir += MR) {
          const int64_t mr = std::min<int64_t>(MR, m - ir);
          const T* a_pan = a_blk + (direct_a ? 0 : ir * kc);
          int64_t ars = 1, acs = MR;
          if (direct_a && mr == MR) {
            a_pan = a_src + ir * a_rs + p0 * a_cs;
            ars = a_rs;
            acs = a_cs;
          }
          T* cp = cb + ir * n + jr;
          if (first && epi.bias) {
            fill_bias(cp, n, static_cast<int>(mr), static_cast<int>(nr), epi.bias + jr);
          }
          uk.fn(kc, a_pan, ars, acs, b_pan, ldb, cp, n, static_cast<int>(mr),
                static_cast<int>(nr), !first || epi.bias);
        }
      }
      // The epilogue over the whole block once its sums are final, row by row: an activation's
      // row kernel has a fixed cost per call that a micro-tile's few columns would not repay.
      if (last && rest.any()) {
        epilogue(cb, n, i0, i1, j0, j1, rest, rest.aux ? rest.aux + bi * m * n : nullptr);
      }
    }
  });
}

// Note [GEMM blocking], K split: the number of K chunks of a product, from its shape alone
// (never the thread count).
int64_t k_split(int64_t batch, int64_t m, int64_t n, int64_t k) {
  if (batch != 1 || m > kSplitMaxMn || n > kSplitMaxMn || k < kSplitMinK) return 1;
  if (static_cast<double>(m) * n * k * 2 < static_cast<double>(kParallelFlops)) return 1;
  return k >= 4 * kSplitMinK ? 4 : 2;
}

// c = act(sum over the chunks of a K split + bias): chunk 0 is computed into c, the others into
// scratch, one chunk per work item; the chunks are then added to c in chunk order, row by
// row, and the epilogue applied to each row (Note [GEMM blocking]).
template <class T>
void gemm_k_split(int64_t parts, int64_t m, int64_t n, int64_t k, const T* a, const int64_t* a_off,
                  int64_t a_rs, int64_t a_cs, const T* b, const int64_t* b_off, int64_t b_rs,
                  int64_t b_cs, T* c, const Epilogue<T>& epi) {
  const int64_t chunk = round_up(ceil_div(k, parts), 16);
  parts = ceil_div(k, chunk);
  const Scratch<T> scratch((parts - 1) * m * n, "matmul");
  T* const partial = scratch.data();
  run_items(parts, get_num_threads() > 1, [&](int64_t i) {
    const int64_t p0 = i * chunk, kk = std::min(chunk, k - p0);
    T* out = i == 0 ? c : partial + (i - 1) * m * n;
    gemm_impl<T>(1, m, n, kk, a + p0 * a_cs, a_off, a_rs, a_cs, b + p0 * b_rs, b_off, b_rs, b_cs,
                 out, Epilogue<T>{}, false);
  });
  for (int64_t i = 0; i < m; ++i) {
    T* row = c + i * n;
    for (int64_t t = 1; t < parts; ++t) {
      const T* p = partial + (t - 1) * m * n + i * n;
      for (int64_t j = 0; j < n; ++j) row[j] += p[j];
    }
    if (epi.any()) epilogue(c, n, i, i + 1, 0, n, epi, epi.aux);
  }
}

// Either driver, as the shape chooses (Note [GEMM blocking], K split).
template <class T>
void gemm_dispatch(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, const int64_t* a_off,
                   int64_t a_rs, int64_t a_cs, const T* b, const int64_t* b_off, int64_t b_rs,
                   int64_t b_cs, T* c, const Epilogue<T>& epi) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const int64_t parts = k_split(batch, m, n, k);
  if (parts > 1) {
    gemm_k_split<T>(parts, m, n, k, a, a_off, a_rs, a_cs, b, b_off, b_rs, b_cs, c, epi);
    return;
  }
  gemm_impl<T>(batch, m, n, k, a, a_off, a_rs, a_cs, b, b_off, b_rs, b_cs, c, epi, true);
}

}  // namespace

template <class T>
void gemm(int64_t batch, int64_t m, int64_t n, int64_t k, const T* a, const int64_t* a_off,
          int64_t a_rs, int64_t a_cs, const T* b, const int64_t* b_off, int64_t b_rs, int64_t b_cs,
          T* c, const T* bias, Activation act) {
  Epilogue<T> epi;
  epi.bias = bias;
  epi.act = activation_row(act, std::is_same_v<T, float> ? DType::Float32 : DType::Float64);
  gemm_dispatch<T>(batch, m, n, k, a, a_off, a_rs, a_cs, b, b_off, b_rs, b_cs, c, epi);
}

template <class T>
void gemm_activation_grad(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs,
                          const T* b, int64_t b_rs, int64_t b_cs, T* c, const T* aux,
                          Activation act) {
  Epilogue<T> epi;
  epi.aux = aux;
  epi.grad_act = act;
  const int64_t zero = 0;
  gemm_dispatch<T>(1, m, n, k, a, &zero, a_rs, a_cs, b, &zero, b_rs, b_cs, c, epi);
}

template void gemm_activation_grad<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                                          const float*, int64_t, int64_t, float*, const float*,
                                          Activation);
template void gemm_activation_grad<double>(int64_t, int64_t, int64_t, const double*, int64_t,
                                           int64_t, const double*, int64_t, int64_t, double*,
                                           const double*, Activation);

template void gemm<float>(int64_t, int64_t, int64_t, int64_t, const float*, const int64_t*,
                          int64_t, int64_t, const float*, const int64_t*, int64_t, int64_t, float*,
                          const float*, Activation);
template void gemm<double>(int64_t, int64_t, int64_t, int64_t, const double*, const int64_t*,
                           int64_t, int64_t, const double*, const int64_t*, int64_t, int64_t,
                           double*, const double*, Activation);

GemmInfo info(DType dtype) {
  const CacheSizes& cs = cache_sizes();
  auto fill = [&](const char* name, const Blocking& b) {
    return GemmInfo{name, b.mr, b.nr, b.kc, b.mc, b.nc, cs.l1d, cs.l2, cs.l3, cs.detected};
  };
  if (dtype == DType::Float64) {
    const Config<double>& c = config_set<double>().c[config_set<double>().count - 1];
    return fill(c.uk.name, c.bl);
  }
  const Config<float>& c = config_set<float>().c[config_set<float>().count - 1];
  return fill(c.uk.name, c.bl);
}

template <class T>
const Ukernel<T>& ukernel_for(int64_t n) {
  return select_config<T>(n).uk;
}

template const Ukernel<float>& ukernel_for<float>(int64_t);
template const Ukernel<double>& ukernel_for<double>(int64_t);

}  // namespace corten::cpu::gemm
