// CUDA random kernels: random_normal, random_uniform, random_uniform_int, truncated_normal,
// dropout_mask and dropout_apply, with the CPU kernels' signatures (csrc/cpu/random.h). Outputs
// are contiguous device pointers; dropout_apply reads a strided x and a strided (broadcast)
// mask. Callers have validated every argument.
//
// Note [CUDA random draws]
// A draw gives the CPU kernel's values bit for bit: thread t of the grid-stride loop computes
// Philox block b (key, offset + b) for b = t, t + stride, ... and writes elements K b to
// K b + K - 1 (K = 4 for 32-bit elements and masks, 2 for 64-bit ones), exactly the counter
// assignment of the CPU kernels (Note [Philox counters] in cpu/random.cpp). The Philox rounds
// (cpu/philox.h) and the maps from words to values (Note [Random element values] in
// cpu/random_transform.h: Box-Muller with its own log/sin/cos polynomials, the uniform and
// integer maps, the dropout threshold, truncated normal's redraws from streams 1, 2, ... of
// the same counter) are the CPU's own CORTEN_HD functions, and the build's --fmad=false keeps
// a * b + c unfused as the CPU's -ffp-contract=off does, so every element is the same IEEE
// operations in the same order on both devices. Stores are 16-byte packs (4-byte for masks)
// when the output is aligned: consecutive threads write consecutive packs, coalesced. The grid
// is at most kRandomBlocks blocks (about one wave of resident threads on an H100), which
// depends only on n.
//
// dropout_apply is an elementwise map out = mask ? x * scale : 0 in the layout of the
// elementwise kernels (cuda/elementwise.cu): dense operands (the mask possibly one broadcast
// value) with 16-byte packs of x and out and packs of as many mask bytes when aligned, or any
// strides through an Indexer. Bit for bit the CPU's (one rounded multiplication).

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cpu/philox.h"
#include "cpu/random.h"
#include "cpu/random_transform.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

namespace rng = cpu::rng;
using cpu::Philox4x32Block;

/// Most blocks of a draw: 132 SMs x 8 resident blocks of kThreads on an H100 or H200, rounded.
constexpr int64_t kRandomBlocks = 1024;

// ---- the draws: one Philox block -> K values (Note [Random element values]) ----------------

struct NormalF32 {
  static constexpr int K = 4;
  float mean, stddev;
  __device__ __forceinline__ void operator()(const Philox4x32Block& r, uint64_t,
                                             float (&v)[K]) const {
    rng::normal_pair_f32(r.v[0], r.v[1], mean, stddev, v[0], v[1]);
    rng::normal_pair_f32(r.v[2], r.v[3], mean, stddev, v[2], v[3]);
  }
};

struct NormalF64 {
  static constexpr int K = 2;
  double mean, stddev;
  __device__ __forceinline__ void operator()(const Philox4x32Block& r, uint64_t,
                                             double (&v)[K]) const {
    rng::normal_pair_f64(rng::bits64(r.v[0], r.v[1]), rng::bits64(r.v[2], r.v[3]), mean, stddev,
                         v[0], v[1]);
  }
};

template <class T>
struct TruncatedNormal {
  static constexpr int K = rng::kPerBlock<T>;
  T mean, stddev;
  uint64_t key;
  __device__ __forceinline__ void operator()(const Philox4x32Block& r, uint64_t ctr,
                                             T (&v)[K]) const {
    rng::truncated_normal_block(r, key, ctr, mean, stddev, v);
  }
};

struct UniformF32 {
  static constexpr int K = 4;
  rng::UniformParams<float> p;
  __device__ __forceinline__ void operator()(const Philox4x32Block& r, uint64_t,
                                             float (&v)[K]) const {
    for (int j = 0; j < K; ++j) {
      v[j] = rng::uniform_f32(r.v[j], p.minval, p.range, p.hi, p.below_hi, p.clamp);
    }
  }
};

struct UniformF64 {
  static constexpr int K = 2;
  rng::UniformParams<double> p;
  __device__ __forceinline__ void operator()(const Philox4x32Block& r, uint64_t,
                                             double (&v)[K]) const {
    for (int j = 0; j < K; ++j) v[j] = rng::uniform_f64(r.v[2 * j], r.v[2 * j + 1], p);
  }
};

template <class T>
struct UniformInt {
  static constexpr int K = rng::kPerBlock<T>;
  rng::IntParams<T> p;
  __device__ __forceinline__ void operator()(const Philox4x32Block& r, uint64_t, T (&v)[K]) const {
    for (int j = 0; j < K; ++j) {
      if constexpr (K == 4) {
        v[j] = rng::uniform_int<T>(r.v[j], p);
      } else {
        v[j] = rng::uniform_int<T>(rng::bits64(r.v[2 * j], r.v[2 * j + 1]), p);
      }
    }
  }
};

struct DropoutMask {
  static constexpr int K = rng::kMaskPerBlock;
  rng::DropoutThreshold threshold;
  __device__ __forceinline__ void operator()(const Philox4x32Block& r, uint64_t,
                                             bool (&v)[K]) const {
    for (int j = 0; j < K; ++j) v[j] = rng::dropout_keep(r.v[j], threshold);
  }
};

// out: (n,) = the draw's values of blocks offset, offset + 1, ... (Note [CUDA random draws]).
template <class T, class Draw>
__global__ void __launch_bounds__(kThreads)
    draw_kernel(Draw draw, T* __restrict__ out, int64_t n, uint64_t key, uint64_t offset,
                bool packed) {
  constexpr int K = Draw::K;
  const int64_t nblocks = n / K + (n % K != 0);
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; b < nblocks;
       b += stride) {
    const uint64_t ctr = offset + static_cast<uint64_t>(b);
    Pack<T, K> v;
    draw(cpu::philox_block(key, ctr), ctr, v.v);
    const int64_t base = b * K;
    if (packed && n - base >= K) {
      store_pack<T, K>(out + base, v);
    } else {
      const int64_t m = n - base < K ? n - base : K;
      for (int64_t j = 0; j < m; ++j) out[base + j] = v.v[j];
    }
  }
}

template <class T, class Draw>
void run_draw(const char* op, const Draw& draw, void* out_, int64_t n, uint64_t key,
              uint64_t offset) {
  if (n <= 0) return;
  T* out = static_cast<T*>(out_);
  constexpr int K = Draw::K;
  const int64_t nblocks = n / K + (n % K != 0);
  const unsigned grid = blocks_for(std::min(nblocks, kRandomBlocks * kThreads), kThreads);
  launch(op, &draw_kernel<T, Draw>, dim3(grid), dim3(kThreads), 0, draw, out, n, key, offset,
         aligned_to(out, sizeof(Pack<T, K>)));
}

// ---- dropout_apply ---------------------------------------------------------------------

enum class Layout : int { Dense, DenseVector, Strided };

// Elements of T in one 16-byte pack.
template <class T>
constexpr int kVec = static_cast<int>(16 / sizeof(T));

// x, mask -> out: (n,) contiguous. Dense layouts: x contiguous, mask contiguous (mask_step 1)
// or one broadcast value (0); Strided: offsets of x and mask from ix.
template <class T>
__global__ void __launch_bounds__(kThreads)
    dropout_apply_kernel(Layout layout, const T* __restrict__ x, const bool* __restrict__ mask,
                         int64_t mask_step, bool mask_packs, Indexer<2> ix, T* __restrict__ out,
                         int64_t n, T scale) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (layout == Layout::Strided) {
    for (int64_t i = first; i < n; i += stride) {
      int64_t off[2];
      ix.offsets(i, off);
      out[i] = mask[off[1]] ? x[off[0]] * scale : T(0);
    }
    return;
  }
  int64_t start = 0;
  if (layout == Layout::DenseVector) {
    constexpr int V = kVec<T>;
    const int64_t packs = n / V;
    for (int64_t p = first; p < packs; p += stride) {
      const Pack<T, V> xv = load_pack<T, V>(x + p * V);
      Pack<bool, V> mv;
      if (mask_packs) {
        mv = load_pack<bool, V>(mask + p * V);
      } else {
        for (int j = 0; j < V; ++j) mv.v[j] = mask[(p * V + j) * mask_step];
      }
      Pack<T, V> r;
      for (int j = 0; j < V; ++j) r.v[j] = mv.v[j] ? xv.v[j] * scale : T(0);
      store_pack<T, V>(out + p * V, r);
    }
    start = packs * V;  // the tail, element by element
  }
  for (int64_t i = start + first; i < n; i += stride) {
    out[i] = mask[i * mask_step] ? x[i] * scale : T(0);
  }
}

}  // namespace

void random_normal(DType dtype, void* out, int64_t n, double mean, double stddev, uint64_t key,
                   uint64_t offset) {
  visit_floating(dtype, "random_normal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T m = static_cast<T>(mean), s = static_cast<T>(stddev);
    if constexpr (std::is_same_v<T, float>) {
      run_draw<T>("random_normal", NormalF32{m, s}, out, n, key, offset);
    } else {
      run_draw<T>("random_normal", NormalF64{m, s}, out, n, key, offset);
    }
  });
}

void truncated_normal(DType dtype, void* out, int64_t n, double mean, double stddev, uint64_t key,
                      uint64_t offset) {
  visit_floating(dtype, "truncated_normal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T m = static_cast<T>(mean), s = static_cast<T>(stddev);
    run_draw<T>("truncated_normal", TruncatedNormal<T>{m, s, key}, out, n, key, offset);
  });
}

void random_uniform(DType dtype, void* out, int64_t n, double minval, double maxval, uint64_t key,
                    uint64_t offset) {
  visit_floating(dtype, "random_uniform", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const rng::UniformParams<T> p = rng::uniform_params<T>(minval, maxval);
    if constexpr (std::is_same_v<T, float>) {
      run_draw<T>("random_uniform", UniformF32{p}, out, n, key, offset);
    } else {
      run_draw<T>("random_uniform", UniformF64{p}, out, n, key, offset);
    }
  });
}

void random_uniform_int(DType dtype, void* out, int64_t n, int64_t minval, int64_t maxval,
                        uint64_t key, uint64_t offset) {
  visit_numeric(dtype, "random_uniform", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // As on the CPU, a floating dtype draws nothing (the entry point never passes one).
    if constexpr (std::is_integral_v<T>) {
      run_draw<T>("random_uniform", UniformInt<T>{rng::int_params<T>(minval, maxval)}, out, n, key,
                  offset);
    }
  });
}

void dropout_mask(bool* mask, int64_t n, double rate, uint64_t key, uint64_t offset) {
  run_draw<bool>("dropout", DropoutMask{rng::dropout_threshold(rate)}, mask, n, key, offset);
}

void dropout_apply(DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
                   const bool* mask, const Shape& mask_strides, void* out, double scale) {
  visit_floating(dtype, "dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t n = shape_numel(shape);
    if (n == 0) return;
    const T* xp = static_cast<const T*>(x);
    T* op = static_cast<T*>(out);
    const int dx = dense_stride(shape, x_strides), dm = dense_stride(shape, mask_strides);
    Layout layout = Layout::Strided;
    Indexer<2> ix{};
    if (dx == 1 && dm >= 0) {
      const bool aligned = aligned_to(xp, 16) && aligned_to(op, 16);
      layout = aligned && n >= kVec<T> ? Layout::DenseVector : Layout::Dense;
    } else {
      ix = make_indexer<2>("dropout", shape, {&x_strides, &mask_strides}, all_dims(shape.size()));
    }
    const int64_t items = layout == Layout::DenseVector ? n / kVec<T> : n;
    launch("dropout", &dropout_apply_kernel<T>, dim3(blocks_for(items, kThreads)), dim3(kThreads),
           0, layout, xp, mask, static_cast<int64_t>(dm > 0 ? 1 : 0),
           dm == 1 && aligned_to(mask, kVec<T>), ix, op, n, static_cast<T>(scale));
  });
}

}  // namespace corten::cuda
