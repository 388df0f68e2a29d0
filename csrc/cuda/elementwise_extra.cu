// CUDA where and cast, with the CPU kernels' signatures (csrc/cpu/elementwise.h):
// - where: cond (bool), x and y strided over a common shape (broadcast operands have stride 0)
//   -> out contiguous, out = cond ? x : y, for every dtype;
// - cast: x strided -> out strided (it serves in-place assignment), converted from one dtype to
//   another by cpu::convert (cpu/convert.h), the CPU kernel's own conversion: NaN to integer
//   gives 0, out-of-range floats saturate, to bool is v != 0.
// Both are one grid-stride loop over the elements with the layouts of map_kernel
// (cuda/elementwise.cu): dense operands (contiguous or a broadcast scalar) read and write
// 16-byte packs when aligned, and anything else decodes offsets from the linear index over the
// merged dimensions (Indexer). Results are bit for bit the CPU's: where selects whole elements
// (NaN payloads and signed zeros included) and cast converts each element alone.

#include <array>
#include <cstdint>
#include <type_traits>

#include "cpu/convert.h"
#include "cpu/elementwise.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

enum class Layout : int { Dense, DenseVector, Strided };

// ---- where -------------------------------------------------------------------------------

// Elements of T in one 16-byte pack.
template <class T>
constexpr int kVec = static_cast<int>(16 / sizeof(T));

struct WhereOperands {
  const bool* c;
  const void* x;
  const void* y;
  int64_t step[3];  // dense layout: 1 for a contiguous operand, 0 for a broadcast scalar
};

template <class T>
__global__ void __launch_bounds__(kThreads)
    where_kernel(Layout layout, WhereOperands in, Indexer<3> ix, T* __restrict__ out, int64_t n) {
  const bool* c = in.c;
  const T* x = static_cast<const T*>(in.x);
  const T* y = static_cast<const T*>(in.y);
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (layout == Layout::Strided) {
    for (int64_t i = first; i < n; i += stride) {
      int64_t off[3];
      ix.offsets(i, off);
      out[i] = c[off[0]] ? x[off[1]] : y[off[2]];
    }
    return;
  }
  int64_t start = 0;
  if (layout == Layout::DenseVector) {
    constexpr int V = kVec<T>;
    const int64_t packs = n / V;
    for (int64_t p = first; p < packs; p += stride) {
      Pack<bool, V> cv;
      Pack<T, V> xv, yv, r;
      if (in.step[0]) {
        cv = load_pack<bool, V>(c + p * V);
      } else {
        for (int j = 0; j < V; ++j) cv.v[j] = c[0];
      }
      if (in.step[1]) {
        xv = load_pack<T, V>(x + p * V);
      } else {
        for (int j = 0; j < V; ++j) xv.v[j] = x[0];
      }
      if (in.step[2]) {
        yv = load_pack<T, V>(y + p * V);
      } else {
        for (int j = 0; j < V; ++j) yv.v[j] = y[0];
      }
      for (int j = 0; j < V; ++j) r.v[j] = cv.v[j] ? xv.v[j] : yv.v[j];
      store_pack<T, V>(out + p * V, r);
    }
    start = packs * V;  // the tail, element by element
  }
  for (int64_t i = start + first; i < n; i += stride) {
    out[i] = c[i * in.step[0]] ? x[i * in.step[1]] : y[i * in.step[2]];
  }
}

template <class T>
void run_where(const Shape& shape, const bool* cond, const Shape& cs, const void* x,
               const Shape& xs, const void* y, const Shape& ys, void* out_) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  T* out = static_cast<T*>(out_);
  constexpr int V = kVec<T>;
  WhereOperands in{cond, x, y, {0, 0, 0}};
  const std::array<const Shape*, 3> strides{&cs, &xs, &ys};
  const std::array<const void*, 3> ptrs{cond, x, y};
  const size_t pack_bytes[3] = {sizeof(Pack<bool, V>), sizeof(Pack<T, V>), sizeof(Pack<T, V>)};
  bool dense = true, aligned = aligned_to(out, sizeof(Pack<T, V>));
  for (int k = 0; k < 3; ++k) {
    const int d = dense_stride(shape, *strides[k]);
    dense &= d >= 0;
    in.step[k] = d > 0 ? 1 : 0;
    aligned &= d == 0 || aligned_to(ptrs[k], pack_bytes[k]);
  }
  Indexer<3> ix{};
  Layout layout = Layout::Strided;
  if (dense) {
    layout = aligned && n >= V ? Layout::DenseVector : Layout::Dense;
  } else {
    ix = make_indexer<3>("where", shape, strides, all_dims(shape.size()));
  }
  const int64_t items = layout == Layout::DenseVector ? n / V : n;
  launch("where", &where_kernel<T>, dim3(blocks_for(items, kThreads)), dim3(kThreads), 0, layout,
         in, ix, out, n);
}

// ---- cast --------------------------------------------------------------------------------

// Elements in one pack of the wider of the two types: 16 bytes of it.
template <class F, class T>
constexpr int kCastVec = static_cast<int>(16 / (sizeof(F) > sizeof(T) ? sizeof(F) : sizeof(T)));

template <class F, class T>
__global__ void __launch_bounds__(kThreads)
    cast_kernel(Layout layout, const F* __restrict__ x, int64_t x_step, Indexer<2> ix,
                T* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (layout == Layout::Strided) {
    for (int64_t i = first; i < n; i += stride) {
      int64_t off[2];
      ix.offsets(i, off);
      out[off[1]] = cpu::convert<T>(x[off[0]]);
    }
    return;
  }
  int64_t start = 0;
  if (layout == Layout::DenseVector) {  // x contiguous, out contiguous
    constexpr int V = kCastVec<F, T>;
    const int64_t packs = n / V;
    for (int64_t p = first; p < packs; p += stride) {
      const Pack<F, V> v = load_pack<F, V>(x + p * V);
      Pack<T, V> r;
      for (int j = 0; j < V; ++j) r.v[j] = cpu::convert<T>(v.v[j]);
      store_pack<T, V>(out + p * V, r);
    }
    start = packs * V;
  }
  for (int64_t i = start + first; i < n; i += stride) out[i] = cpu::convert<T>(x[i * x_step]);
}

template <class F, class T>
void run_cast(const Shape& shape, const void* x_, const Shape& xs, void* out_, const Shape& os) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const F* x = static_cast<const F*>(x_);
  T* out = static_cast<T*>(out_);
  constexpr int V = kCastVec<F, T>;
  const int dx = dense_stride(shape, xs), dout = dense_stride(shape, os);
  Indexer<2> ix{};
  Layout layout = Layout::Strided;
  if (dx >= 0 && dout == 1) {
    const bool aligned = dx == 1 && aligned_to(x, sizeof(Pack<F, V>)) &&
                         aligned_to(out, sizeof(Pack<T, V>)) && n >= V;
    layout = aligned ? Layout::DenseVector : Layout::Dense;
  } else {
    ix = make_indexer<2>("cast", shape, {&xs, &os}, all_dims(shape.size()));
  }
  const int64_t items = layout == Layout::DenseVector ? n / V : n;
  launch("cast", &cast_kernel<F, T>, dim3(blocks_for(items, kThreads)), dim3(kThreads), 0, layout,
         x, static_cast<int64_t>(dx > 0 ? 1 : 0), ix, out, n);
}

}  // namespace

void where(DType dtype, const Shape& shape, const bool* cond, const Shape& c_strides, const void* x,
           const Shape& x_strides, const void* y, const Shape& y_strides, void* out) {
  visit_dtype(dtype, "where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_where<T>(shape, cond, c_strides, x, x_strides, y, y_strides, out);
  });
}

void cast(DType from, DType to, const Shape& shape, const void* x, const Shape& x_strides,
          void* out, const Shape& out_strides) {
  visit_storage(from, "cast", [&](auto ftag) {
    using F = typename decltype(ftag)::type;
    visit_storage(to, "cast", [&](auto ttag) {
      using T = typename decltype(ttag)::type;
      run_cast<F, T>(shape, x, x_strides, out, out_strides);
    });
  });
}

}  // namespace corten::cuda
