#include "cpu/reduce.h"

#include <corten/cpu_features.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/loops.h"
#include "cpu/reduce_cols.h"
#include "cpu/reduce_functors.h"

namespace corten::cpu {
namespace {

using namespace reduction;  // NOLINT(google-build-using-namespace)

// Elements per reduction block (Note [Deterministic reductions]): a reduction longer than this
// is cut into blocks whose partials are merged in order, so that long reductions of few outputs
// still use every thread.
constexpr int64_t kBlock = kRowReductionMax;
// Outputs reduced together when the reduced axes are outer to a kept axis (column reductions):
// one accumulator per lane, lanes contiguous in memory.
constexpr int64_t kTile = 256;
// Smallest number of reduced elements per block in the lane layout.
constexpr int64_t kMinLaneBlock = 1024;

// ---- iteration helpers ---------------------------------------------------------------------

// Dimensions with their strides after coalescing (Note [Coalesced iteration]).
struct Dims {
  Shape shape;
  Shape strides;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

Dims coalesced(const Shape& shape, const Shape& strides) {
  const Geometry<1> g = coalesce<1>(shape, {&strides});
  return Dims{g.shape, g.strides[0]};
}

// Element offsets of consecutive linear indices over `dims` (odometer order, last dim fastest).
class OffsetIter {
 public:
  OffsetIter(const Dims& dims, int64_t linear) : dims_(dims) {
    for (size_t d = dims.shape.size(); d-- > 0;) {
      idx_[d] = linear % dims.shape[d];
      linear /= dims.shape[d];
      offset_ += idx_[d] * dims.strides[d];
    }
  }
  int64_t offset() const { return offset_; }
  void next() {
    for (size_t d = dims_.shape.size(); d-- > 0;) {
      offset_ += dims_.strides[d];
      if (++idx_[d] < dims_.shape[d]) return;
      offset_ -= dims_.shape[d] * dims_.strides[d];
      idx_[d] = 0;
    }
  }

 private:
  const Dims& dims_;
  int64_t idx_[kMaxRank] = {};
  int64_t offset_ = 0;
};

// Calls row(offset, n, stride) for the rows covering linear indices [r0, r1) of `dims` (the
// last dimension is the row). An empty `dims` is a single element at offset 0.
template <class RowFn>
void for_each_row_in(const Dims& dims, int64_t r0, int64_t r1, const RowFn& row) {
  if (r0 >= r1) return;
  if (dims.shape.empty()) {
    row(int64_t{0}, int64_t{1}, int64_t{1});
    return;
  }
  const size_t nd = dims.shape.size();
  const int64_t len = dims.shape[nd - 1];
  const int64_t inner = dims.strides[nd - 1];
  if (nd == 1) {
    row(r0 * inner, r1 - r0, inner);
    return;
  }
  const Dims outer{Shape(dims.shape.begin(), dims.shape.end() - 1),
                   Shape(dims.strides.begin(), dims.strides.end() - 1)};
  OffsetIter it(outer, r0 / len);
  int64_t pos = r0;
  int64_t col = r0 % len;
  while (pos < r1) {
    const int64_t n = std::min(len - col, r1 - pos);
    row(it.offset() + col * inner, n, inner);
    pos += n;
    col = 0;
    if (pos < r1) it.next();
  }
}

template <class Op, class T>
typename Op::Acc reduce_row(typename Op::Acc acc, const T* p, int64_t n, int64_t s);

template <bool kMax, class T>
T extreme_row(T acc, const T* p, int64_t n);

template <class T>
struct IsLogSumExp : std::false_type {};
template <class T>
struct IsLogSumExp<LogSumExpF<T>> : std::true_type {};

// Log-sum-exp of a contiguous row in two passes (the row maximum, then the sum of exp(x - max)
// in T precision, accumulated in float64), merged into the running accumulator.
template <class T>
LseAcc lse_row(LseAcc acc, const T* p, int64_t n) {
  const T m = extreme_row<true>(MaxF<T>::init(), p, n);
  if (m != m || std::isinf(m)) return LogSumExpF<T>::merge(acc, {static_cast<double>(m), 1.0});
  double s = 0.0;
#ifdef CORTEN_HAVE_AVX2_ROWS
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_isa_at_least(CpuIsa::Avx2)) {  // Note [AVX2 reduction rows]
      s = avx2::exp_shift_f32(p, n, m, nullptr);
      return LogSumExpF<T>::merge(acc, {static_cast<double>(m), s});
    }
  }
#endif
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(std::exp(p[i] - m));
  return LogSumExpF<T>::merge(acc, {static_cast<double>(m), s});
}

// Maximum (minimum) of a contiguous row: 8 independent branch-free extremes plus a NaN flag,
// which the compiler turns into vector compares and blends.
template <bool kMax, class T>
T extreme_row(T acc, const T* p, int64_t n) {
#ifdef CORTEN_HAVE_AVX2_ROWS
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_isa_at_least(CpuIsa::Avx2)) {  // Note [AVX2 reduction rows]
      const float r = avx2::extreme_f32(kMax, p, n);
      if (r != r || acc != acc) return std::numeric_limits<float>::quiet_NaN();
      return (kMax ? r > acc : r < acc) ? r : acc;
    }
  }
#endif
  T a[8];
  for (int k = 0; k < 8; ++k) a[k] = acc;
  bool nan = false;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) {
      const T v = p[i + k];
      a[k] = (kMax ? v > a[k] : v < a[k]) ? v : a[k];
      if constexpr (std::is_floating_point_v<T>) nan |= v != v;
    }
  }
  for (; i < n; ++i) {
    const T v = p[i];
    a[0] = (kMax ? v > a[0] : v < a[0]) ? v : a[0];
    if constexpr (std::is_floating_point_v<T>) nan |= v != v;
  }
  for (int k = 1; k < 8; ++k) a[0] = (kMax ? a[k] > a[0] : a[k] < a[0]) ? a[k] : a[0];
  if constexpr (std::is_floating_point_v<T>) {
    if (nan || acc != acc) return std::numeric_limits<T>::quiet_NaN();
  }
  return a[0];
}

// bfloat16 sums (Note [Half-precision compute]): the float32 values summed in float64 in the
// order of SumF<float>, the float32 result rounded to bfloat16, which is what the float32 sum
// of the widened input and a cast give, without the float32 copy of the input.
struct SumBf16 {
  using Acc = double;
  using Out = bfloat16;
  static constexpr bool kUnroll = true;
  static Acc init() { return 0.0; }
  static Acc step(Acc a, bfloat16 x) { return a + static_cast<double>(x.to_float()); }
  static Acc merge(Acc a, Acc b) { return a + b; }
  static Out finish(Acc a, int64_t) { return bfloat16::from_float(static_cast<float>(a)); }
};

template <class T>
struct IsSum : std::false_type {};
template <class T>
struct IsSum<SumF<T>> : std::true_type {};
template <>
struct IsSum<SumBf16> : std::true_type {};
template <class T>
struct IsSum<MeanF<T>> : std::true_type {};
template <class T>
struct IsMax : std::false_type {};
template <class T>
struct IsMax<MaxF<T>> : std::true_type {};
template <class T>
struct IsMin : std::false_type {};
template <class T>
struct IsMin<MinF<T>> : std::true_type {};

// Sequential reduction of one row of n elements with element stride s.
template <class Op, class T>
typename Op::Acc reduce_row(typename Op::Acc acc, const T* p, int64_t n, int64_t s) {
  using Acc = typename Op::Acc;
  int64_t i = 0;
  if constexpr (IsLogSumExp<Op>::value) {
    if (s == 1 && n >= 16) return lse_row(acc, p, n);
  }
  if constexpr (IsMax<Op>::value || IsMin<Op>::value) {
    if (s == 1 && n >= 16) return extreme_row<IsMax<Op>::value>(acc, p, n);
  }
#ifdef CORTEN_HAVE_AVX2_ROWS
  if constexpr (IsSum<Op>::value && std::is_same_v<T, float>) {
    if (s == 1 && n >= 16 && cpu_isa_at_least(CpuIsa::Avx2)) {  // Note [AVX2 reduction rows]
      return Op::merge(acc, cpu_isa_at_least(CpuIsa::Avx512) ? avx512::sum_f32(p, n)
                                                             : avx2::sum_f32(p, n));
    }
  }
#endif
  if constexpr (Op::kUnroll) {
    if (s == 1 && n >= 16) {
      Acc a[8];
      for (int k = 0; k < 8; ++k) a[k] = Op::init();
      for (; i + 8 <= n; i += 8) {
        for (int k = 0; k < 8; ++k) a[k] = Op::step(a[k], p[i + k]);
      }
      const Acc r = Op::merge(Op::merge(Op::merge(a[0], a[1]), Op::merge(a[2], a[3])),
                              Op::merge(Op::merge(a[4], a[5]), Op::merge(a[6], a[7])));
      acc = Op::merge(acc, r);
      for (; i < n; ++i) acc = Op::step(acc, p[i]);
      return acc;
    }
  }
  if (s == 1) {
    for (; i < n; ++i) acc = Op::step(acc, p[i]);
  } else {
    for (; i < n; ++i) acc = Op::step(acc, p[i * s]);
  }
  return acc;
}

// ---- the two layouts -------------------------------------------------------------------------

// One output at a time: the reduced dimensions include the innermost (smallest-stride) one, so
// each output reads rows of the reduced block.
template <class Op, class T>
void reduce_rows(const Dims& kept, const Dims& red, const T* x, typename Op::Out* out) {
  using Acc = typename Op::Acc;
  const int64_t n_out = kept.numel();
  const int64_t n_red = red.numel();
  const int64_t nblk = n_red > kBlock ? (n_red + kBlock - 1) / kBlock : 1;
  const int64_t items = n_out * nblk;
  const int64_t per_item = std::max<int64_t>(1, std::min(n_red, kBlock));
  const int64_t grain = std::max<int64_t>(1, kGrainCheap / per_item);
  // Block partials (a plain array: Acc may be bool, and std::vector<bool> has no data()).
  std::unique_ptr<Acc[]> partials;
  if (nblk > 1) partials = std::make_unique<Acc[]>(static_cast<size_t>(items));
  parallel_for(0, items, grain, [&](int64_t i0, int64_t i1) {
    int64_t j = i0 / nblk, b = i0 % nblk;
    OffsetIter it(kept, j);
    for (int64_t i = i0; i < i1; ++i) {
      const T* base = x + it.offset();
      const int64_t r0 = b * kBlock, r1 = std::min(n_red, r0 + kBlock);
      Acc acc = Op::init();
      for_each_row_in(red, r0, r1, [&](int64_t off, int64_t n, int64_t s) {
        acc = reduce_row<Op>(acc, base + off, n, s);
      });
      if (nblk == 1) {
        out[j] = Op::finish(acc, n_red);
      } else {
        partials[i] = acc;
      }
      if (++b == nblk) {
        b = 0;
        ++j;
        if (i + 1 < i1) it.next();
      }
    }
  });
  if (nblk == 1) return;
  parallel_for(0, n_out, std::max<int64_t>(1, kGrainCheap / nblk), [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const Acc* p = partials.get() + j * nblk;
      Acc acc = p[0];
      for (int64_t b = 1; b < nblk; ++b) acc = Op::merge(acc, p[b]);
      out[j] = Op::finish(acc, n_red);
    }
  });
}

// The width of the tiles that a line of V outputs is cut into: at most kTile, and as even as
// whole vectors allow, so that the threads get equal shares (784 columns: 208 x 3 + 160, not
// 256 x 3 + 16, whose two chunks at 2 threads were 512 and 272 columns). Every output's sum
// runs over the same rows in the same order whatever the width.
int64_t lane_tile(int64_t V) {
  const int64_t tiles = (V + kTile - 1) / kTile;
  return std::min(V, std::min(kTile, ((V + tiles - 1) / tiles + 15) / 16 * 16));
}

// Lanes of outputs at a time: the innermost kept dimension has the smallest stride, so up to
// kTile outputs along it are reduced together, reading one (often contiguous) lane vector per
// reduced element.
template <class Op, class T>
void reduce_lanes(const Dims& kept, const Dims& red, const T* x, typename Op::Out* out) {
  using Acc = typename Op::Acc;
  const size_t nk = kept.shape.size();
  const int64_t V = kept.shape[nk - 1];
  const int64_t vs = kept.strides[nk - 1];
  const Dims outer{Shape(kept.shape.begin(), kept.shape.end() - 1),
                   Shape(kept.strides.begin(), kept.strides.end() - 1)};
  const int64_t n_lines = outer.numel();
  const int64_t W = lane_tile(V);
  const int64_t tiles = (V + W - 1) / W;
  const int64_t groups = n_lines * tiles;
  const int64_t n_red = red.numel();
  const int64_t block = std::max(kMinLaneBlock, kBlock / W);
  const int64_t nblk = n_red > block ? (n_red + block - 1) / block : 1;
  const int64_t items = groups * nblk;
  const int64_t per_item = W * std::max<int64_t>(1, std::min(n_red, block));
  const int64_t grain = std::max<int64_t>(1, kGrainCheap / per_item);
  std::unique_ptr<Acc[]> partials;
  if (nblk > 1) partials = std::make_unique<Acc[]>(static_cast<size_t>(items * W));
  parallel_for(0, items, grain, [&](int64_t i0, int64_t i1) {
    Acc acc[kTile];
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = i / nblk, b = i % nblk;
      const int64_t line = g / tiles, t = g % tiles;
      const int64_t w = std::min(W, V - t * W);
      const T* base = x + OffsetIter(outer, line).offset() + t * W * vs;
      for (int64_t v = 0; v < w; ++v) acc[v] = Op::init();
      const int64_t r0 = b * block, r1 = std::min(n_red, r0 + block);
      for_each_row_in(red, r0, r1, [&](int64_t off, int64_t n, int64_t s) {
#ifdef CORTEN_HAVE_AVX2_COLS
        if constexpr (IsSum<Op>::value &&
                      (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                       std::is_same_v<T, bfloat16>)) {
          if (vs == 1 && cpu_isa_at_least(CpuIsa::Avx2)) {  // Note [Vector column sums]
            const bool wide = cpu_isa_at_least(CpuIsa::Avx512);
            if constexpr (std::is_same_v<T, float>) {
              (wide ? avx512::sum_cols_f32 : avx2::sum_cols_f32)(base + off, s, n, w, acc);
            } else if constexpr (std::is_same_v<T, bfloat16>) {
              (wide ? avx512::sum_cols_bf16 : avx2::sum_cols_bf16)(base + off, s, n, w, acc);
            } else {
              (wide ? avx512::sum_cols_f64 : avx2::sum_cols_f64)(base + off, s, n, w, acc);
            }
            return;
          }
        }
#endif
        for (int64_t e = 0; e < n; ++e) {
          const T* q = base + off + e * s;
          if (vs == 1) {
            for (int64_t v = 0; v < w; ++v) acc[v] = Op::step(acc[v], q[v]);
          } else {
            for (int64_t v = 0; v < w; ++v) acc[v] = Op::step(acc[v], q[v * vs]);
          }
        }
      });
      if (nblk == 1) {
        typename Op::Out* o = out + line * V + t * W;
        for (int64_t v = 0; v < w; ++v) o[v] = Op::finish(acc[v], n_red);
      } else {
        Acc* p = partials.get() + i * W;
        for (int64_t v = 0; v < w; ++v) p[v] = acc[v];
      }
    }
  });
  if (nblk == 1) return;
  parallel_for(0, groups, std::max<int64_t>(1, kGrainCheap / (nblk * W)), [&](int64_t g0,
                                                                            int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t line = g / tiles, t = g % tiles;
      const int64_t w = std::min(W, V - t * W);
      typename Op::Out* o = out + line * V + t * W;
      for (int64_t v = 0; v < w; ++v) {
        const Acc* p = partials.get() + g * nblk * W + v;
        Acc acc = p[0];
        for (int64_t b = 1; b < nblk; ++b) acc = Op::merge(acc, p[b * W]);
        o[v] = Op::finish(acc, n_red);
      }
    }
  });
}

// Splits the dimensions into kept (in order; the output is contiguous over them) and reduced
// (sorted by decreasing stride so that the innermost row has the smallest stride), coalesces
// both, and picks the layout.
struct Plan {
  Dims kept;
  Dims red;
  bool lanes;
};

Plan make_plan(const Shape& shape, const Shape& strides, const std::vector<uint8_t>& reduced) {
  Shape ks, kst;
  std::vector<std::pair<int64_t, int64_t>> rd;  // (stride, size)
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      rd.emplace_back(strides[d], shape[d]);
    } else {
      ks.push_back(shape[d]);
      kst.push_back(strides[d]);
    }
  }
  std::stable_sort(rd.begin(), rd.end(), [](const auto& a, const auto& b) {
    return std::llabs(a.first) > std::llabs(b.first);
  });
  Shape rs, rst;
  for (const auto& [st, sz] : rd) {
    rs.push_back(sz);
    rst.push_back(st);
  }
  Plan p{coalesced(ks, kst), coalesced(rs, rst), false};
  p.lanes = !p.kept.shape.empty() &&
            (p.red.shape.empty() ||
             std::llabs(p.kept.strides.back()) < std::llabs(p.red.strides.back()));
  return p;
}

template <class Op, class T>
void run(const Plan& plan, const void* x, void* out) {
  const T* xp = static_cast<const T*>(x);
  auto* op = static_cast<typename Op::Out*>(out);
  if (plan.kept.numel() == 0) return;
  if (plan.lanes) {
    reduce_lanes<Op>(plan.kept, plan.red, xp, op);
  } else {
    reduce_rows<Op>(plan.kept, plan.red, xp, op);
  }
}

// ---- argmax / argmin -------------------------------------------------------------------------

template <bool kMax, class T, class I>
void arg_reduce_impl(const Dims& kept, int64_t n, int64_t rs, const T* x, I* out) {
  const int64_t n_out = kept.numel();
  if (n_out == 0) return;
  const bool lanes = !kept.shape.empty() && std::llabs(kept.strides.back()) < std::llabs(rs);
  if (!lanes) {
    const int64_t grain = std::max<int64_t>(1, kGrainCheap / n);
    parallel_for(0, n_out, grain, [&](int64_t j0, int64_t j1) {
      OffsetIter it(kept, j0);
      for (int64_t j = j0; j < j1; ++j) {
        const T* p = x + it.offset();
        if (rs == 1 && n >= 16) {
          // Contiguous: the extreme by a vectorised pass, then its first position.
          using Ext = std::conditional_t<kMax, MaxF<T>, MinF<T>>;
          const T m = extreme_row<kMax>(Ext::init(), p, n);
          int64_t i = 0;
#ifdef CORTEN_HAVE_AVX2_ROWS
          if constexpr (std::is_same_v<T, float>) {
            if (cpu_isa_at_least(CpuIsa::Avx2)) {
              out[j] = static_cast<I>(avx2::find_f32(p, n, m));
              if (j + 1 < j1) it.next();
              continue;
            }
          }
#endif
          if (m != m) {
            while (p[i] == p[i]) ++i;
          } else {
            while (p[i] != m) ++i;
          }
          out[j] = static_cast<I>(i);
          if (j + 1 < j1) it.next();
          continue;
        }
        T best = p[0];
        int64_t idx = 0;
        for (int64_t i = 1; i < n; ++i) {
          const T v = p[i * rs];
          if (arg_better<kMax>(v, best)) {
            best = v;
            idx = i;
          }
        }
        out[j] = static_cast<I>(idx);
        if (j + 1 < j1) it.next();
      }
    });
    return;
  }
  const size_t nk = kept.shape.size();
  const int64_t V = kept.shape[nk - 1];
  const int64_t vs = kept.strides[nk - 1];
  const Dims outer{Shape(kept.shape.begin(), kept.shape.end() - 1),
                   Shape(kept.strides.begin(), kept.strides.end() - 1)};
  const int64_t tiles = (V + kTile - 1) / kTile;
  const int64_t groups = outer.numel() * tiles;
  const int64_t grain = std::max<int64_t>(1, kGrainCheap / (n * std::min(V, kTile)));
  parallel_for(0, groups, grain, [&](int64_t g0, int64_t g1) {
    T best[kTile];
    int64_t idx[kTile];
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t line = g / tiles, t = g % tiles;
      const int64_t w = std::min(kTile, V - t * kTile);
      const T* base = x + OffsetIter(outer, line).offset() + t * kTile * vs;
      for (int64_t v = 0; v < w; ++v) {
        best[v] = base[v * vs];
        idx[v] = 0;
      }
      for (int64_t i = 1; i < n; ++i) {
        const T* q = base + i * rs;
        for (int64_t v = 0; v < w; ++v) {
          const T val = q[v * vs];
          if (arg_better<kMax>(val, best[v])) {
            best[v] = val;
            idx[v] = i;
          }
        }
      }
      I* o = out + line * V + t * kTile;
      for (int64_t v = 0; v < w; ++v) o[v] = static_cast<I>(idx[v]);
    }
  });
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
            const std::vector<uint8_t>& reduced, void* out) {
  const Plan plan = make_plan(shape, x_strides, reduced);
  switch (op) {
    case ReduceOp::Any:
      run<AnyF, bool>(plan, x, out);
      return;
    case ReduceOp::All:
      run<AllF, bool>(plan, x, out);
      return;
    case ReduceOp::LogSumExp:
      visit_floating(dtype, "reduce_logsumexp", [&](auto tag) {
        using T = typename decltype(tag)::type;
        run<LogSumExpF<T>, T>(plan, x, out);
      });
      return;
    default:
      break;
  }
  if (dtype == DType::BFloat16) {  // sums only: the op widens the other reductions
    run<SumBf16, bfloat16>(plan, x, out);
    return;
  }
  visit_numeric(dtype, "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case ReduceOp::Sum: run<SumF<T>, T>(plan, x, out); break;
      case ReduceOp::Mean: run<MeanF<T>, T>(plan, x, out); break;
      case ReduceOp::Prod: run<ProdF<T>, T>(plan, x, out); break;
      case ReduceOp::Max: run<MaxF<T>, T>(plan, x, out); break;
      case ReduceOp::Min: run<MinF<T>, T>(plan, x, out); break;
      default: break;
    }
  });
}

void reduce_last_axis_rows(ReduceOp op, DType dtype, const void* x, int64_t rows, int64_t n,
                           void* out) {
  // reduce_rows' path for one contiguous row of at most kBlock elements.
  visit_floating(dtype, "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = static_cast<const T*>(x);
    T* o = static_cast<T*>(out);
    for (int64_t r = 0; r < rows; ++r) {
      if (op == ReduceOp::Mean) {
        o[r] = MeanF<T>::finish(reduce_row<MeanF<T>>(MeanF<T>::init(), p + r * n, n, 1), n);
      } else {
        o[r] = SumF<T>::finish(reduce_row<SumF<T>>(SumF<T>::init(), p + r * n, n, 1), n);
      }
    }
  });
}

void arg_reduce(bool is_max, DType dtype, const Shape& shape, const void* x,
                const Shape& x_strides, int64_t axis, DType index_dtype, void* out) {
  Shape ks, kst;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (static_cast<int64_t>(d) == axis) continue;
    ks.push_back(shape[d]);
    kst.push_back(x_strides[d]);
  }
  const Dims kept = coalesced(ks, kst);
  const int64_t n = shape[static_cast<size_t>(axis)];
  const int64_t rs = x_strides[static_cast<size_t>(axis)];
  visit_numeric(dtype, is_max ? "argmax" : "argmin", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    auto go = [&](auto* o) {
      if (is_max) {
        arg_reduce_impl<true>(kept, n, rs, xp, o);
      } else {
        arg_reduce_impl<false>(kept, n, rs, xp, o);
      }
    };
    if (index_dtype == DType::Int32) {
      go(static_cast<int32_t*>(out));
    } else {
      go(static_cast<int64_t*>(out));
    }
  });
}

}  // namespace corten::cpu
