// CUDA convolution kernels: conv_forward, conv_backward_data and conv_backward_filter, with the
// CPU kernels' signatures (csrc/cpu/conv.h): contiguous channels_last device tensors of a
// grouped, strided, dilated, zero-padded 3-D convolution (1-D and 2-D ones have leading
// spatial sizes of 1; ConvGeom). Callers have validated shapes and dtypes (float32, float64).
//
// Note [CUDA convolution]
// All three are implicit GEMMs on one tiled kernel (implicit_gemm_kernel): per group, a
// (M x K) @ (K x N) product whose operands are read straight from the tensors, never written
// out as a patch matrix. A block of 256 threads computes a 64 x 64 tile of the product, each
// thread a 4 x 4 sub-tile in registers (rows ty + 16 i, columns tx + 16 j, so that a warp's
// stores cover 16 neighbouring columns), over K in steps of 16: the A (64 x 16) and B (16 x 64)
// slices are staged through shared memory, each loaded by all the threads with the index
// arithmetic of a row (pixel or patch position) done once per tile and that of a column once
// per step. The loads run along the operand's contiguous dimension (channels), and the next
// step's are issued before the current step's multiply-adds.
//   forward:  y (n * out_px, f):  M = output pixels, N = f / groups, K = taps * c / groups;
//             A = the input patch of each output pixel (zero in the padding), B = w.
//   backward_data, the gather form: dx (n * in_px, c), M = input pixels, N = c / groups,
//             K = taps * f / groups; A[i][(tap, j)] = dy at the output pixel that reads input
//             pixel i through the tap (zero where none does: stride misses, borders), B = w
//             transposed per group (wt, written once to DeviceScratch). Each dx element is
//             one thread's sum: no scatter, no atomics.
//   backward_filter: dw (taps * c / groups, f), M = patch positions, N = f / groups, K = n *
//             out_px; A = the input patch values transposed, B = dy.
// Split K: when the output tiles are too few to fill the GPU (always for the filter gradient's
// long K and small M x N; also the forward and dx of small batches with many channels), K is
// cut into chunks whose length depends only on the shape (k_splits: at least kMinChunk, about
// kTargetTiles blocks in all). Each chunk's tile goes to its slice of DeviceScratch and
// sum_splits_kernel adds the slices in chunk order, then the bias and the activation: the
// order of every sum is fixed by the shape (deterministic, no atomics).
// Bias and the activation (the Activation functors of cuda/elementwise_functors.cuh) are
// applied to the finished sums (in registers, or in sum_splits_kernel), as the CPU GEMM's
// write-back does.
// Accuracy: the sums run over K in ascending order (per chunk, the chunks' sums then added in
// order) in T (float32 in float32, as the CPU's GEMM micro-kernels do), with --fmad=false. The
// CPU paths (GEMM, Winograd, direct, float64 reference) sum in other orders (blocks of K,
// Winograd transforms, FMAs), so results agree within rounding: a sum of K products and a bias
// is within (K + 1) * eps * (sum|products| + |bias|) of the exact value on either side
// (Winograd's transforms add a small factor, well inside that bound for the K of 3x3 kernels
// with 16 or more channels). The
// tests (cases_conv.cpp) take twice that, times 1.2 for the slope of the activation (gelu's is
// below 1.13), plus the activation's own rounding (relative and absolute 1e-5 in float32,
// 1e-12 in float64; none for relu), with sum|products| + |bias| from the reference kernels run
// on the operands' magnitudes. Inputs with infinities multiplied by padding zeros give NaN in
// some CPU paths and not in others (the padded GEMM paths multiply the padding; the direct
// loops skip it); here padding reads as 0 and is multiplied like the CPU GEMM paths.
// Still to come (performance only): narrower tiles for groups of few filters (a 64-wide tile
// computes 4 useful columns of a 4-filter group), 32-bit index arithmetic where the extents
// allow it, double-buffered shared memory, tensor cores (TF32) where the tolerance allows.

#include <algorithm>
#include <cstdint>

#include "cpu/conv.h"
#include "cuda/activation.cuh"
#include "cuda/common.cuh"
#include "cuda/elementwise_functors.cuh"

namespace corten::cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kGemmThreads = 256;

// ---- the tiled kernel ----------------------------------------------------------------------

// A problem P supplies, per group (grp) of M x N x K:
//   Row P::row(m, grp) and Col P::col(k): the index arithmetic of A's row m and column k;
//   T P::a(Row, Col): A[m][k] (0 outside the tensor); T P::b(k, n, grp): B[k][n];
//   void P::store(m, n, grp, split, T sum): the finished element.
// kAlongM: A is contiguous along m (its loads run along m), else along k.
template <class T, class P>
__global__ void __launch_bounds__(kGemmThreads)
    implicit_gemm_kernel(P p, int64_t tiles_m, int64_t tiles_n, int64_t splits, int64_t chunk) {
  __shared__ T As[kBK][kBM + 1];
  __shared__ T Bs[kBK][kBN];
  const int t = static_cast<int>(threadIdx.x);
  const int tx = t % 16, ty = t / 16;
  const int64_t tiles = tiles_m * tiles_n * p.groups * splits;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    int64_t r = tile;
    const int64_t tm = r % tiles_m;
    r /= tiles_m;
    const int64_t tn = r % tiles_n;
    r /= tiles_n;
    const int64_t grp = r % p.groups, split = r / p.groups;
    const int64_t m0 = tm * kBM, n0 = tn * kBN;
    const int64_t k_begin = split * chunk, k_end = std::min(p.K, k_begin + chunk);
    // The A rows this thread loads: 4 rows of one column (along k), or 1 row of 4 columns.
    constexpr int kRows = P::kAlongM ? 1 : 4;
    typename P::Row rows[kRows];
    bool row_ok[kRows];
    for (int i = 0; i < kRows; ++i) {
      const int64_t m = m0 + (P::kAlongM ? t % kBM : t / kBK + 16 * i);
      row_ok[i] = m < p.M;
      rows[i] = p.row(row_ok[i] ? m : 0, grp);
    }
    T acc[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] = T(0);
    // Each step's slices are loaded into registers while the previous step computes (the
    // global loads' latency overlaps the multiply-adds), then stored to shared memory.
    T a_next[4], b_next[4];
    auto load = [&](int64_t k0) {
      if constexpr (P::kAlongM) {
        for (int i = 0; i < 4; ++i) {
          const int64_t k = k0 + t / kBM + 4 * i;
          a_next[i] = row_ok[0] && k < k_end ? p.a(rows[0], p.col(k)) : T(0);
        }
      } else {
        const int64_t k = k0 + t % kBK;
        const bool k_ok = k < k_end;
        const typename P::Col col = p.col(k_ok ? k : k_begin);
        for (int i = 0; i < 4; ++i) a_next[i] = row_ok[i] && k_ok ? p.a(rows[i], col) : T(0);
      }
      for (int i = 0; i < 4; ++i) {
        const int64_t k = k0 + t / kBN + 4 * i, n = n0 + t % kBN;
        b_next[i] = k < k_end && n < p.N ? p.b(k, n, grp) : T(0);
      }
    };
    if (k_begin < k_end) load(k_begin);
    for (int64_t k0 = k_begin; k0 < k_end; k0 += kBK) {
      for (int i = 0; i < 4; ++i) {
        if constexpr (P::kAlongM)
          As[t / kBM + 4 * i][t % kBM] = a_next[i];
        else
          As[t % kBK][t / kBK + 16 * i] = a_next[i];
        Bs[t / kBN + 4 * i][t % kBN] = b_next[i];
      }
      __syncthreads();
      if (k0 + kBK < k_end) load(k0 + kBK);
      const int steps = static_cast<int>(std::min<int64_t>(kBK, k_end - k0));
      for (int kk = 0; kk < steps; ++kk) {
        T av[4], bv[4];
        for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
        for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
      }
      __syncthreads();  // the slices are rewritten by the next step
    }
    for (int i = 0; i < 4; ++i) {
      const int64_t m = m0 + ty + 16 * i;
      if (m >= p.M) continue;
      for (int j = 0; j < 4; ++j) {
        const int64_t n = n0 + tx + 16 * j;
        if (n < p.N) p.store(m, n, grp, split, acc[i][j]);
      }
    }
  }
}

// Launches P's product with K split in `splits` chunks of `chunk` (a multiple of kBK).
template <class T, class P>
void run_gemm(const char* op, const P& p, int64_t splits, int64_t chunk) {
  const int64_t tiles_m = (p.M + kBM - 1) / kBM, tiles_n = (p.N + kBN - 1) / kBN;
  const int64_t tiles = tiles_m * tiles_n * p.groups * splits;
  launch(op, &implicit_gemm_kernel<T, P>, dim3(static_cast<unsigned>(std::min(tiles, kMaxBlocks))),
         dim3(kGemmThreads), 0, p, tiles_m, tiles_n, splits, chunk);
}

// ---- geometry -------------------------------------------------------------------------------

// ConvGeom with the sizes the problems use.
struct Geom {
  int64_t n, c, f, groups, cg, fg, kk, in_px, out_px;
  int64_t in[3], out[3], k[3], stride[3], dil[3], pad[3];
};

Geom make_geom(const cpu::ConvGeom& g) {
  Geom d{};
  d.n = g.n;
  d.c = g.c;
  d.f = g.f;
  d.groups = g.groups;
  d.cg = g.c / g.groups;
  d.fg = g.f / g.groups;
  d.kk = g.k[0] * g.k[1] * g.k[2];
  d.in_px = g.in[0] * g.in[1] * g.in[2];
  d.out_px = g.out[0] * g.out[1] * g.out[2];
  for (int i = 0; i < 3; ++i) {
    d.in[i] = g.in[i];
    d.out[i] = g.out[i];
    d.k[i] = g.k[i];
    d.stride[i] = g.stride[i];
    d.dil[i] = g.dil[i];
    d.pad[i] = g.pad[i];
  }
  return d;
}

// The tap's dilated offsets along each axis.
__device__ __forceinline__ void tap_offsets(const Geom& g, int64_t tap, int64_t d[3]) {
  d[2] = tap % g.k[2] * g.dil[2];
  d[1] = tap / g.k[2] % g.k[1] * g.dil[1];
  d[0] = tap / (g.k[2] * g.k[1]) * g.dil[0];
}

// An input pixel (i0, i1, i2) of the padded grid, or null when it lies in the padding.
template <class T>
__device__ __forceinline__ const T* pixel(const Geom& g, const T* image, int64_t i0, int64_t i1,
                                          int64_t i2) {
  if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1] || i2 < 0 || i2 >= g.in[2]) return nullptr;
  return image + ((i0 * g.in[1] + i1) * g.in[2] + i2) * g.c;
}

// ---- forward --------------------------------------------------------------------------------

// y[b, o, grp * fg + j] = act(sum over (tap, i) of x[b, o * stride - pad + tap, grp * cg + i]
// * w[tap, i, grp * fg + j] + bias).
template <class T>
struct ForwardProblem {
  static constexpr bool kAlongM = false;
  struct Row {
    const T* image;   // image b at channel grp * cg
    int64_t base[3];  // o * stride - pad
  };
  struct Col {
    int64_t d[3], i;
  };
  Geom g;
  int64_t M, N, K, groups;
  const T* x;
  const T* w;
  const T* bias;
  Activation act;
  T* y;
  T* parts = nullptr;  // the K chunks' slices when K is split (Note [CUDA convolution])
  int64_t size = 0;    // elements of y (the slice stride)

  __device__ __forceinline__ Row row(int64_t m, int64_t grp) const {
    Row r;
    const int64_t b = m / g.out_px, q = m % g.out_px;
    const int64_t o[3] = {q / (g.out[1] * g.out[2]), q / g.out[2] % g.out[1], q % g.out[2]};
    for (int a = 0; a < 3; ++a) r.base[a] = o[a] * g.stride[a] - g.pad[a];
    r.image = x + b * g.in_px * g.c + grp * g.cg;
    return r;
  }
  __device__ __forceinline__ Col col(int64_t k) const {
    Col c;
    tap_offsets(g, k / g.cg, c.d);
    c.i = k % g.cg;
    return c;
  }
  __device__ __forceinline__ T a(const Row& r, const Col& c) const {
    const T* p = pixel(g, r.image, r.base[0] + c.d[0], r.base[1] + c.d[1], r.base[2] + c.d[2]);
    return p ? p[c.i] : T(0);
  }
  __device__ __forceinline__ T b(int64_t k, int64_t n, int64_t grp) const {
    return w[k * g.f + grp * g.fg + n];
  }
  __device__ __forceinline__ void store(int64_t m, int64_t n, int64_t grp, int64_t split,
                                        T sum) const {
    const int64_t j = grp * g.fg + n;
    if (parts) {
      parts[split * size + m * g.f + j] = sum;
      return;
    }
    if (bias) sum += bias[j];
    y[m * g.f + j] = activate(act, sum);
  }
};

// ---- backward data --------------------------------------------------------------------------

// dx[b, i, grp * cg + ci] = act(sum over (tap, j) of dy[b, o(i, tap), grp * fg + j]
// * wt[grp][tap, j, ci] + bias), o(i, tap) the output pixel reading i through tap, if any.
template <class T>
struct BackwardDataProblem {
  static constexpr bool kAlongM = false;
  struct Row {
    const T* image;  // dy of image b at channel grp * fg
    int64_t i[3];    // input pixel + pad
  };
  struct Col {
    int64_t d[3], j;
  };
  Geom g;
  int64_t M, N, K, groups;
  const T* dy;
  const T* wt;  // (groups, taps, fg, cg)
  const T* bias;
  Activation act;
  T* dx;
  T* parts = nullptr;  // as in ForwardProblem
  int64_t size = 0;

  __device__ __forceinline__ Row row(int64_t m, int64_t grp) const {
    Row r;
    const int64_t b = m / g.in_px, q = m % g.in_px;
    r.i[0] = q / (g.in[1] * g.in[2]) + g.pad[0];
    r.i[1] = q / g.in[2] % g.in[1] + g.pad[1];
    r.i[2] = q % g.in[2] + g.pad[2];
    r.image = dy + b * g.out_px * g.f + grp * g.fg;
    return r;
  }
  __device__ __forceinline__ Col col(int64_t k) const {
    Col c;
    tap_offsets(g, k / g.fg, c.d);
    c.j = k % g.fg;
    return c;
  }
  __device__ __forceinline__ T a(const Row& r, const Col& c) const {
    int64_t o[3];
    for (int a = 0; a < 3; ++a) {
      const int64_t num = r.i[a] - c.d[a];  // o * stride
      if (num < 0 || num % g.stride[a] != 0) return T(0);
      o[a] = num / g.stride[a];
      if (o[a] >= g.out[a]) return T(0);
    }
    return r.image[((o[0] * g.out[1] + o[1]) * g.out[2] + o[2]) * g.f + c.j];
  }
  __device__ __forceinline__ T b(int64_t k, int64_t n, int64_t grp) const {
    return wt[(grp * K + k) * g.cg + n];
  }
  __device__ __forceinline__ void store(int64_t m, int64_t n, int64_t grp, int64_t split,
                                        T sum) const {
    const int64_t ci = grp * g.cg + n;
    if (parts) {
      parts[split * size + m * g.c + ci] = sum;
      return;
    }
    if (bias) sum += bias[ci];
    dx[m * g.c + ci] = activate(act, sum);
  }
};

// wt[grp][tap, j, i] = w[tap, i, grp * fg + j].
template <class T>
__global__ void __launch_bounds__(256)
    transpose_w_kernel(Geom g, const T* __restrict__ w, T* __restrict__ wt, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = e % g.cg, j = e / g.cg % g.fg, tap = e / (g.cg * g.fg) % g.kk;
    const int64_t grp = e / (g.cg * g.fg * g.kk);
    wt[e] = w[(tap * g.cg + i) * g.f + grp * g.fg + j];
  }
}

// ---- backward filter ------------------------------------------------------------------------

// dw[tap, i, grp * fg + j] = sum over output pixels r (all images) of
// x[b, o(r) * stride - pad + tap, grp * cg + i] * dy[r, grp * fg + j], K split in chunks.
template <class T>
struct BackwardFilterProblem {
  static constexpr bool kAlongM = true;
  struct Row {
    int64_t d[3];  // the tap's offsets - pad
    int64_t i;     // grp * cg + i
  };
  struct Col {
    const T* image;
    int64_t base[3];  // o * stride
  };
  Geom g;
  int64_t M, N, K, groups;
  const T* x;
  const T* dy;
  T* dw;
  T* parts = nullptr;  // as in ForwardProblem
  int64_t size = 0;

  __device__ __forceinline__ Row row(int64_t m, int64_t grp) const {
    Row r;
    tap_offsets(g, m / g.cg, r.d);
    for (int a = 0; a < 3; ++a) r.d[a] -= g.pad[a];
    r.i = grp * g.cg + m % g.cg;
    return r;
  }
  __device__ __forceinline__ Col col(int64_t k) const {
    Col c;
    const int64_t b = k / g.out_px, q = k % g.out_px;
    c.base[0] = q / (g.out[1] * g.out[2]) * g.stride[0];
    c.base[1] = q / g.out[2] % g.out[1] * g.stride[1];
    c.base[2] = q % g.out[2] * g.stride[2];
    c.image = x + b * g.in_px * g.c;
    return c;
  }
  __device__ __forceinline__ T a(const Row& r, const Col& c) const {
    const T* p = pixel(g, c.image, c.base[0] + r.d[0], c.base[1] + r.d[1], c.base[2] + r.d[2]);
    return p ? p[r.i] : T(0);
  }
  __device__ __forceinline__ T b(int64_t k, int64_t n, int64_t grp) const {
    return dy[k * g.f + grp * g.fg + n];
  }
  __device__ __forceinline__ void store(int64_t m, int64_t n, int64_t grp, int64_t split,
                                        T sum) const {
    const int64_t e = m * g.f + grp * g.fg + n;
    if (parts)
      parts[split * size + e] = sum;
    else
      dw[e] = sum;
  }
};

// out[e] = act(the K chunks' slices added in chunk order + bias[e % channels]).
template <class T>
__global__ void __launch_bounds__(256)
    sum_splits_kernel(const T* __restrict__ parts, int64_t splits, int64_t size,
                      const T* __restrict__ bias, int64_t channels, Activation act,
                      T* __restrict__ out) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < size;
       e += int64_t{gridDim.x} * blockDim.x) {
    T acc = parts[e];
    for (int64_t s = 1; s < splits; ++s) acc += parts[s * size + e];
    if (bias) acc += bias[e % channels];
    out[e] = activate(act, acc);
  }
}

// The K chunks of a product of `tiles` output tiles: at least kMinChunk long, and no more of
// them than bring the blocks to about kTargetTiles (Note [CUDA convolution]); shape only.
constexpr int64_t kMinChunk = 256;
constexpr int64_t kTargetTiles = 1024;

void k_splits(int64_t tiles, int64_t K, int64_t* splits, int64_t* chunk) {
  const int64_t most = std::max<int64_t>(1, kTargetTiles / std::max<int64_t>(1, tiles));
  int64_t s = std::min(most, std::max<int64_t>(1, K / kMinChunk));
  int64_t c = (K + s - 1) / s;
  c = std::max<int64_t>(kBK, (c + kBK - 1) / kBK * kBK);
  s = std::max<int64_t>(1, (K + c - 1) / c);
  *splits = s;
  *chunk = c;
}

// Runs P's product, with K split when its tiles are too few to fill the GPU: then each chunk
// writes its slice of DeviceScratch (p.parts) and sum_splits_kernel adds them, the bias and the
// activation into out (size elements, `channels` a row).
template <class T, class P>
void run_conv_gemm(const char* op, P p, int64_t size, const T* bias, int64_t channels,
                   Activation act, T* out) {
  const int64_t tiles = (p.M + kBM - 1) / kBM * ((p.N + kBN - 1) / kBN) * p.groups;
  int64_t splits = 1, chunk = 1;
  k_splits(tiles, p.K, &splits, &chunk);
  if (splits == 1) {
    run_gemm<T>(op, p, 1, chunk);
    return;
  }
  DeviceScratch parts(static_cast<size_t>(splits * size) * sizeof(T), op);
  p.parts = parts.as<T>();
  p.size = size;
  run_gemm<T>(op, p, splits, chunk);
  launch(op, &sum_splits_kernel<T>, dim3(blocks_for(size, kThreads)), dim3(kThreads), 0,
         parts.as<T>(), splits, size, bias, channels, act, out);
}

// ---- entry points ---------------------------------------------------------------------------

template <class T>
void forward(const cpu::ConvGeom& cg, const T* x, const T* w, const T* bias, Activation act, T* y) {
  const Geom g = make_geom(cg);
  const ForwardProblem<T> p{g, g.n * g.out_px, g.fg, g.kk * g.cg, g.groups, x, w, bias, act, y};
  run_conv_gemm<T>("conv_forward", p, g.n * g.out_px * g.f, bias, g.f, act, y);
}

template <class T>
void backward_data(const cpu::ConvGeom& cg, const T* dy, const T* w, const T* bias, Activation act,
                   T* dx) {
  const char* op = "conv_backward_data";
  const Geom g = make_geom(cg);
  const int64_t wsize = g.groups * g.kk * g.fg * g.cg;
  DeviceScratch wt(static_cast<size_t>(wsize) * sizeof(T), op);
  launch(op, &transpose_w_kernel<T>, dim3(blocks_for(wsize, kThreads)), dim3(kThreads), 0, g, w,
         wt.as<T>(), wsize);
  const BackwardDataProblem<T> p{g,  g.n * g.in_px, g.cg, g.kk * g.fg, g.groups,
                                 dy, wt.as<T>(),    bias, act,         dx};
  run_conv_gemm<T>(op, p, g.n * g.in_px * g.c, bias, g.c, act, dx);
}

template <class T>
void backward_filter(const cpu::ConvGeom& cg, const T* x, const T* dy, T* dw) {
  const Geom g = make_geom(cg);
  const BackwardFilterProblem<T> p{g, g.kk * g.cg, g.fg, g.n * g.out_px, g.groups, x, dy, dw};
  run_conv_gemm<T>("conv_backward_filter", p, g.kk * g.cg * g.f, static_cast<const T*>(nullptr),
                   g.f, Activation::Identity, dw);
}

}  // namespace

void conv_forward(DType dtype, const cpu::ConvGeom& g, const void* x, const void* w,
                  const void* bias, Activation act, void* y) {
  visit_floating(dtype, "conv_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward<T>(g, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias),
               act, static_cast<T*>(y));
  });
}

void conv_backward_data(DType dtype, const cpu::ConvGeom& g, const void* dy, const void* w,
                        const void* bias, Activation act, void* dx) {
  visit_floating(dtype, "conv_backward_data", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_data<T>(g, static_cast<const T*>(dy), static_cast<const T*>(w),
                     static_cast<const T*>(bias), act, static_cast<T*>(dx));
  });
}

void conv_backward_filter(DType dtype, const cpu::ConvGeom& g, const void* x, const void* dy,
                          void* dw) {
  visit_floating(dtype, "conv_backward_filter", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_filter<T>(g, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw));
  });
}

}  // namespace corten::cuda
