#include "cpu/elementwise.h"

#include <corten/cpu_features.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "cpu/convert.h"
#include "cpu/isa_table.h"
#include "cpu/loops.h"
#include "cpu/scratch.h"

namespace corten::cpu {

const ElementwiseTable& active_elementwise_table() {
  return table_for_isa(&baseline::elementwise_table, &avx2::elementwise_table,
                       &avx512::elementwise_table);
}

UnaryRowFn activation_row(Activation act, DType dtype) {
  UnaryOp op;
  switch (act) {
    case Activation::Relu: op = UnaryOp::Relu; break;
    case Activation::Sigmoid: op = UnaryOp::Sigmoid; break;
    case Activation::Tanh: op = UnaryOp::Tanh; break;
    case Activation::Gelu: op = UnaryOp::GeluExact; break;
    default: return nullptr;
  }
  return active_elementwise_table().unary[static_cast<int>(op)][static_cast<int>(dtype)];
}

namespace {

const ElementwiseTable& table() { return active_elementwise_table(); }

template <class Op>
int64_t grain_for(Op op) {
  return op_info(op).cost == OpCost::Cheap ? kGrainCheap : kGrainCostly;
}

// Note [Dense fast path]
// Most elementwise calls see contiguous operands of one shape (or a broadcast scalar). Those
// skip the coalescing of loops.h (a dozen small vector allocations, which dominate the per-op
// overhead of small tensors; bench: overhead `a + b 64x64`) and run as one row, split across
// threads above the grain.

template <class Fn>
void run_flat(int64_t numel, int64_t grain, const Fn& fn) {
  if (numel <= grain) {
    fn(int64_t{0}, numel);
  } else {
    parallel_for(0, numel, grain, fn);
  }
}

// Note [Periodic broadcast]
// A bias added to every row (x + b with b of shape (C,) or (H, C) against x of (..., H, C)) is
// a broadcast over the leading dimensions only: over the flat index, b repeats with period P,
// the size of its dense trailing block. The row loop of loops.h would call the row kernel once
// per period (a bfloat16 (32, 200, 2, 32) + (2, 32): 6,400 calls of 64 elements, whose fixed
// cost was most of the op). Instead b is repeated into a tile of whole periods, about
// kPeriodicTile elements, and the flat range runs in tile-sized calls that start on a period
// boundary: the same row kernel on the same element pairs, so the same results.
constexpr int64_t kPeriodicTile = 2048;

// The period P of an operand with `strides` over `shape` when it is a dense trailing block
// repeated over the leading dimensions (strides 0 there, C-order strides in the block), with
// 1 < numel / P; 0 otherwise.
int64_t broadcast_period(const Shape& shape, const Shape& strides) {
  const size_t nd = shape.size();
  int64_t period = 1;
  size_t k = nd;
  while (k > 0 && (strides[k - 1] == period || shape[k - 1] == 1)) {
    period *= shape[k - 1];
    --k;
  }
  for (size_t d = 0; d < k; ++d) {
    if (strides[d] != 0 && shape[d] != 1) return 0;
  }
  const int64_t numel = shape_numel(shape);
  return period > 0 && period < numel && period <= kPeriodicTile ? period : 0;
}

}  // namespace

void unary(UnaryOp op, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
           void* out, double alpha) {
  const UnaryRowFn fn = table().unary[static_cast<int>(op)][static_cast<int>(dtype)];
  if (dense_stride(shape, x_strides) == 1) {
    const int64_t numel = shape_numel(shape);
    const int64_t isz = static_cast<int64_t>(itemsize(dtype));
    run_flat(numel, grain_for(op), [&](int64_t b, int64_t e) {
      fn(static_cast<const char*>(x) + b * isz, 1, static_cast<char*>(out) + b * isz, e - b, alpha);
    });
    return;
  }
  const Shape out_strides = contiguous_strides(shape);
  const size_t isz = itemsize(dtype);
  const char* xp = static_cast<const char*>(x);
  char* op_ = static_cast<char*>(out);
  for_each_row<2>(shape, {&x_strides, &out_strides}, grain_for(op),
                  [&](const std::array<int64_t, 2>& off, int64_t n,
                      const std::array<int64_t, 2>& inner) {
                    fn(xp + off[0] * static_cast<int64_t>(isz), inner[0],
                       op_ + off[1] * static_cast<int64_t>(isz), n, alpha);
                  });
}

void binary(BinaryOp op, DType dtype, const Shape& shape, const void* a, const Shape& a_strides,
            const void* b, const Shape& b_strides, void* out) {
  const BinaryRowFn fn = table().binary[static_cast<int>(op)][static_cast<int>(dtype)];
  const int64_t isz = static_cast<int64_t>(itemsize(dtype));
  const int64_t osz = op_info(op).returns_bool ? 1 : isz;
  const char* ap = static_cast<const char*>(a);
  const char* bp = static_cast<const char*>(b);
  char* outp = static_cast<char*>(out);
  const int64_t grain = grain_for(op);
  const int da = dense_stride(shape, a_strides), db = dense_stride(shape, b_strides);
  if (da >= 0 && db >= 0 && (da | db)) {  // Note [Dense fast path]; not both scalars
    run_flat(shape_numel(shape), grain, [&](int64_t s, int64_t e) {
      fn(ap + s * da * isz, da, bp + s * db * isz, db, outp + s * osz, e - s);
    });
    return;
  }
  // Note [Periodic broadcast]: one operand dense, the other a repeated trailing block.
  const int64_t pa = db == 1 ? broadcast_period(shape, a_strides) : 0;
  const int64_t pb = da == 1 ? broadcast_period(shape, b_strides) : 0;
  if (pa > 0 || pb > 0) {
    const int64_t period = pa > 0 ? pa : pb;
    const char* block = pa > 0 ? ap : bp;
    const int64_t reps = std::max<int64_t>(1, kPeriodicTile / period), tile = reps * period;
    const Scratch<char> tiled(tile * isz, "elementwise");
    for (int64_t r = 0; r < reps; ++r) {
      std::memcpy(tiled.data() + r * period * isz, block, static_cast<size_t>(period * isz));
    }
    const int64_t numel = shape_numel(shape), tiles = (numel + tile - 1) / tile;
    auto run = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t s0 = t * tile, len = std::min(tile, numel - s0);
        if (pa > 0) {
          fn(tiled.data(), 1, bp + s0 * isz, 1, outp + s0 * osz, len);
        } else {
          fn(ap + s0 * isz, 1, tiled.data(), 1, outp + s0 * osz, len);
        }
      }
    };
    run_flat(tiles, std::max<int64_t>(1, grain / tile), run);
    return;
  }
  const Shape out_strides = contiguous_strides(shape);
  for_each_row<3>(shape, {&a_strides, &b_strides, &out_strides}, grain,
                  [&](const std::array<int64_t, 3>& off, int64_t n,
                      const std::array<int64_t, 3>& inner) {
                    fn(ap + off[0] * isz, inner[0], bp + off[1] * isz, inner[1],
                       outp + off[2] * osz, n);
                  });
}

namespace {

// c ? a : b as a bit blend: no branch, so the loops over it vectorise. A branch on the
// condition mispredicts half the time in a relu gradient (2M floats: 17 ms).
template <class T>
inline T select_bits(bool c, T a, T b) {
  using U = std::conditional_t<sizeof(T) == 8, uint64_t,
                               std::conditional_t<sizeof(T) == 4, uint32_t,
                                                  std::conditional_t<sizeof(T) == 2, uint16_t,
                                                                     uint8_t>>>;
  static_assert(sizeof(U) == sizeof(T));
  U ua, ub;
  std::memcpy(&ua, &a, sizeof(T));
  std::memcpy(&ub, &b, sizeof(T));
  const U mask = static_cast<U>(U{0} - static_cast<U>(c));
  const U r = static_cast<U>((ua & mask) | (ub & static_cast<U>(~mask)));
  T out;
  std::memcpy(&out, &r, sizeof(T));
  return out;
}

}  // namespace

void where(DType dtype, const Shape& shape, const bool* cond, const Shape& c_strides,
           const void* x, const Shape& x_strides, const void* y, const Shape& y_strides,
           void* out) {
  const Shape out_strides = contiguous_strides(shape);
  visit_storage(dtype, "where", [&](auto tag) {  // a selection: the 16-bit floats too
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    const T* yp = static_cast<const T*>(y);
    T* op = static_cast<T*>(out);
    for_each_row<4>(shape, {&c_strides, &x_strides, &y_strides, &out_strides}, kGrainCheap,
                    [&](const std::array<int64_t, 4>& off, int64_t n,
                        const std::array<int64_t, 4>& s) {
                      const bool* c = cond + off[0];
                      const T* xr = xp + off[1];
                      const T* yr = yp + off[2];
                      T* o = op + off[3];
                      if (s[0] == 1 && s[1] == 1 && s[2] == 0) {  // relu-like gradients
                        const T b = *yr;
                        for (int64_t i = 0; i < n; ++i) o[i] = select_bits(c[i], xr[i], b);
                      } else if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
                        for (int64_t i = 0; i < n; ++i) o[i] = select_bits(c[i], xr[i], yr[i]);
                      } else {
                        for (int64_t i = 0; i < n; ++i)
                          o[i] = select_bits(c[i * s[0]], xr[i * s[1]], yr[i * s[2]]);
                      }
                    });
  });
}

void cast(DType from, DType to, const Shape& shape, const void* x, const Shape& x_strides,
          void* out, const Shape& out_strides) {
  visit_storage(from, "cast", [&](auto ftag) {
    using F = typename decltype(ftag)::type;
    visit_storage(to, "cast", [&](auto ttag) {
      using T = typename decltype(ttag)::type;
      const F* xp = static_cast<const F*>(x);
      T* op = static_cast<T*>(out);
      for_each_row<2>(shape, {&x_strides, &out_strides}, kGrainCheap,
                      [&](const std::array<int64_t, 2>& off, int64_t n,
                          const std::array<int64_t, 2>& s) {
                        const F* xr = xp + off[0];
                        T* o = op + off[1];
                        if (s[0] == 1 && s[1] == 1) {
                          if constexpr (std::is_same_v<F, bfloat16> && std::is_same_v<T, float>) {
                            active_elementwise_table().bf16_to_f32(xr, o, n);
                          } else if constexpr (std::is_same_v<F, float> &&
                                               std::is_same_v<T, bfloat16>) {
                            active_elementwise_table().f32_to_bf16(xr, o, n);
                          } else {
                            for (int64_t i = 0; i < n; ++i) o[i] = convert<T>(xr[i]);
                          }
                        } else if (s[0] == 0 && s[1] == 1) {
                          // A broadcast row (the gradient of a sum or a mean, say).
                          std::fill(o, o + n, convert<T>(*xr));
                        } else {
                          for (int64_t i = 0; i < n; ++i) o[i * s[1]] = convert<T>(xr[i * s[0]]);
                        }
                      });
    });
  });
}

}  // namespace corten::cpu
