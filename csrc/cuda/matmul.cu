// CUDA matrix products: matmul, matmul_bias_act and matmul_activation_grad, with the CPU kernels'
// signatures (csrc/cpu/matmul.h). a and b are device pointers addressed with element strides
// (transposes are stride swaps), each batch's matrix at its element offset; the batch offsets
// are host arrays, as the entry points (csrc/ops/linalg.cpp) build them. c is (batch, m, n)
// contiguous. Callers have validated dtypes and shapes.
//
// Note [CUDA GEMM]
// A product runs on one of two engines, chosen per call on the host:
// - cuBLASLt (cuda/matmul_cublaslt.cu), loaded at run time (cuda/cublaslt_loader.h), when all
//   of these hold: the build is not the test shim; the dtype is float32 or float64; m, n and k
//   are positive; each operand has a unit stride along one of its two axes and a leading
//   dimension at least the other axis' extent; the batch offsets of each operand are an
//   arithmetic progression (strided batches, stride 0 for a broadcast matrix); the library
//   loads and its heuristic offers an algorithm for the layouts and pointer alignments. Float32
//   sums run in float32 (CUBLAS_COMPUTE_32F) unless TF32 is switched on
//   (tf.config.experimental.enable_tensor_float_32_execution). The bias and relu are fused through
//   CUBLASLT_EPILOGUE_BIAS and RELU_BIAS; sigmoid, tanh and gelu run after the product in
//   epilogue_kernel below (cuBLASLt's GELU epilogue is the tanh approximation, while corten's gelu
//   is the exact erf form), as does the activation derivative of matmul_activation_grad (cuBLASLt's
//   DRELU/DGELU take their own auxiliary formats, not the activation's output). cuBLASLt's relu is
//   max(x, 0), which may turn a NaN sum into 0 where the CPU kernel keeps the NaN.
// - Otherwise the tiled kernel below: integer dtypes (the sum wraps through the unsigned type,
//   as on the CPU), k == 0, any strides, any batch offsets, and every product of a machine
//   without cuBLASLt. Each block computes a kTileM x kTileN tile of one batch's C with 256
//   threads (4 x 4 outputs each, strided by 16 so that a warp's stores are coalesced); A and B
//   tiles kTileK deep are staged in shared memory, loaded along whichever of their axes has the
//   smaller stride. Each output is summed in order p = 0, 1, ..., k - 1 with a multiply and an
//   add (--fmad=false), then goes through the epilogue exactly as the CPU's write-back: c + bias,
//   the activation functor of the elementwise kernels (cuda/elementwise_functors.cuh), or the
//   activation derivative of Note [Activation-derivative epilogue] from the same functors in
//   the CPU's order.
// Accuracy: integers bit for bit. Floating sums differ from the CPU's packed GEMM (blocked K,
// FMA) in the order of the rounding only: |cuda - cpu| <= 2 (k + 2) u sum_p |a_ip b_pj| (u the
// unit roundoff; cuBLASLt's order is its own, the same bound holds), then the activation's
// Lipschitz factor and the tolerance of Note [CUDA elementwise accuracy]. NaN and infinities
// propagate as on the CPU. Determinism: the tiled kernel's launch geometry and order depend on
// the shapes only; cuBLASLt's algorithm is chosen once per shape, layout and operand address
// alignment (modulo 256 bytes) and cached, and cuBLAS documents an algorithm's results as
// bit-wise reproducible on one GPU model and library version: a product repeated on the same
// operands gives the same bits.

#include <corten/dtype.h>
#include <corten/ops/linalg.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/matmul.h"
#include "cuda/activation.cuh"
#include "cuda/common.cuh"
#include "cuda/elementwise_functors.cuh"
#include "cuda/gemm.cuh"
#ifndef CORTEN_CUDA_SHIM
#include "cuda/matmul_cublaslt.h"
#endif

namespace corten::cuda {
namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int kGemmThreads = 256;  // 16 x 16 threads, kMicro x kMicro outputs each
constexpr int kSide = 16;
constexpr int kMicro = 4;
static_assert(kSide * kMicro == kTileM && kSide * kMicro == kTileN, "tile and threads");
static_assert(kTileM * kTileK == 4 * kGemmThreads && kTileN * kTileK == 4 * kGemmThreads,
              "four elements of each operand tile per thread");
constexpr unsigned kMaxGridYZ = 65535;

// Offsets of the batch matrices: a table in device memory, or b * stride.
struct BatchOffsets {
  const int64_t* table;
  int64_t stride;
  CORTEN_HD int64_t operator()(int64_t b) const { return table ? table[b] : b * stride; }
};

template <class T>
struct GemmArgs {
  int64_t batch, m, n, k;
  const T* a;
  BatchOffsets a_off;
  int64_t a_rs, a_cs;
  const T* b;
  BatchOffsets b_off;
  int64_t b_rs, b_cs;
  T* c;
  int64_t ldc;      // c's row stride; the batch's matrices m * ldc apart
  bool accumulate;  // c += the product (before the epilogue), not c =
  const T* bias;    // (n,) or null
  Activation act;  // applied after the bias
  const T* aux;    // (batch, m, n) like c, or null: c * grad_act'(aux) instead
  Activation grad_act;
};

// The write-back of one finished sum at (row i, column j) of a C with n columns.
template <class T>
__device__ __forceinline__ T finish(T v, int64_t i, int64_t j, int64_t n, const T* bias,
                                    Activation act, const T* aux, Activation grad_act) {
  if constexpr (std::is_floating_point_v<T>) {
    if (bias) v = v + bias[j];
    v = activate(act, v);
    if (aux) v = activate_grad(grad_act, v, aux[i * n + j]);
  }
  return v;
}

// Integers accumulate in the unsigned type (wrapping, as cpu::matmul); floats in their own type.
template <class T>
using AccOf =
    typename std::conditional_t<std::is_integral_v<T>, std::make_unsigned<T>, TypeTag<T>>::type;

// c[bz] tile by tile (Note [CUDA GEMM]); grid-stride over tiles and batches, so any shape fits
// the grid limits. a_k_unit: A's tile is loaded along k (its column stride is the smaller);
// b_n_unit: B's along n.
template <class T>
__global__ void __launch_bounds__(kGemmThreads)
    gemm_kernel(GemmArgs<T> g, bool a_k_unit, bool b_n_unit) {
  using Acc = AccOf<T>;
  // One padding column keeps the transposing stores off a single bank.
  __shared__ T as[kTileK][kTileM + 1];
  __shared__ T bs[kTileK][kTileN + 1];
  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % kSide, ty = tid / kSide;
  const int64_t tiles_m = (g.m + kTileM - 1) / kTileM, tiles_n = (g.n + kTileN - 1) / kTileN;
  for (int64_t bz = blockIdx.z; bz < g.batch; bz += gridDim.z) {
    const T* a = g.a + g.a_off(bz);
    const T* b = g.b + g.b_off(bz);
    T* c = g.c + bz * g.m * g.ldc;
    const T* aux = g.aux ? g.aux + bz * g.m * g.n : nullptr;
    for (int64_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
      for (int64_t tn = blockIdx.x; tn < tiles_n; tn += gridDim.x) {
        const int64_t i0 = tm * kTileM, j0 = tn * kTileN;
        Acc acc[kMicro][kMicro];
        for (int r = 0; r < kMicro; ++r)
          for (int s = 0; s < kMicro; ++s) acc[r][s] = Acc(0);
        for (int64_t p0 = 0; p0 < g.k; p0 += kTileK) {
          for (int q = 0; q < 4; ++q) {
            const int e = tid + q * kGemmThreads;
            const int ii = a_k_unit ? e / kTileK : e % kTileM;
            const int pp = a_k_unit ? e % kTileK : e / kTileM;
            const int64_t gi = i0 + ii, gp = p0 + pp;
            as[pp][ii] = (gi < g.m && gp < g.k) ? a[gi * g.a_rs + gp * g.a_cs] : T(0);
          }
          for (int q = 0; q < 4; ++q) {
            const int e = tid + q * kGemmThreads;
            const int jj = b_n_unit ? e % kTileN : e / kTileK;
            const int pp = b_n_unit ? e / kTileN : e % kTileK;
            const int64_t gj = j0 + jj, gp = p0 + pp;
            bs[pp][jj] = (gj < g.n && gp < g.k) ? b[gp * g.b_rs + gj * g.b_cs] : T(0);
          }
          __syncthreads();
          // Only the k - p0 real steps: a padded step would add +0 and turn a -0 sum into +0.
          const int depth = static_cast<int>(g.k - p0 < kTileK ? g.k - p0 : kTileK);
          for (int pp = 0; pp < depth; ++pp) {
            Acc av[kMicro], bv[kMicro];
            for (int r = 0; r < kMicro; ++r) av[r] = static_cast<Acc>(as[pp][ty + kSide * r]);
            for (int s = 0; s < kMicro; ++s) bv[s] = static_cast<Acc>(bs[pp][tx + kSide * s]);
            for (int r = 0; r < kMicro; ++r)
              for (int s = 0; s < kMicro; ++s) acc[r][s] += av[r] * bv[s];
          }
          __syncthreads();  // the tiles are rewritten for the next p0
        }
        for (int r = 0; r < kMicro; ++r) {
          const int64_t i = i0 + ty + kSide * r;
          if (i >= g.m) break;
          for (int s = 0; s < kMicro; ++s) {
            const int64_t j = j0 + tx + kSide * s;
            if (j >= g.n) break;
            T v = static_cast<T>(acc[r][s]);
            if (g.accumulate) v = v + c[i * g.ldc + j];
            c[i * g.ldc + j] = finish(v, i, j, g.n, g.bias, g.act, aux, g.grad_act);
          }
        }
      }
    }
  }
}

// The epilogue alone over a finished c (batch * m rows of n, ldc apart): what cuBLASLt did not
// fuse.
template <class T>
__global__ void __launch_bounds__(kThreads)
    epilogue_kernel(T* c, int64_t rows, int64_t n, int64_t ldc, const T* bias, Activation act,
                    const T* aux, Activation grad_act) {
  const int64_t total = rows * n;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += stride) {
    const int64_t r = e / n, j = e % n;
    c[r * ldc + j] = finish(c[r * ldc + j], r, j, n, bias, act, aux, grad_act);
  }
}

template <class T>
void run_epilogue(const char* op, const GemmArgs<T>& g, const T* bias, Activation act) {
  if (!bias && act == Activation::Identity && !g.aux) return;
  const int64_t total = g.batch * g.m * g.n;
  launch(op, &epilogue_kernel<T>, dim3(blocks_for(total, kThreads)), dim3(kThreads), 0, g.c,
         g.batch * g.m, g.n, g.ldc, bias, act, g.aux, g.grad_act);
}

// A run of offsets off[0] + b * stride, when `off` is one.
bool arithmetic(const int64_t* off, int64_t batch, int64_t& stride) {
  stride = batch > 1 ? off[1] - off[0] : 0;
  for (int64_t i = 2; i < batch; ++i) {
    if (off[i] - off[i - 1] != stride) return false;
  }
  return true;
}

#ifdef CORTEN_CUDA_SHIM
}  // namespace
/// Test shim only: run the epilogues after the product, as with cuBLASLt (Note [CUDA GEMM]).
bool shim_split_epilogue = false;
namespace {
#endif

// Runs g (its batch offsets not yet set) with the host offset tables a_off and b_off, or, when
// a_off is null, the strides already in g.a_off and g.b_off.
template <class T>
void run_gemm(const char* op, GemmArgs<T> g, const int64_t* a_off, const int64_t* b_off) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
#ifdef CORTEN_CUDA_SHIM
  // The shim cases can split a product as the cuBLASLt engine does (the product, then
  // epilogue_kernel), to test that kernel without cuBLASLt.
  if (shim_split_epilogue && (g.bias || g.act != Activation::Identity || g.aux)) {
    GemmArgs<T> plain = g;
    plain.bias = nullptr;
    plain.act = Activation::Identity;
    plain.aux = nullptr;
    run_gemm(op, plain, a_off, b_off);
    run_epilogue(op, g, g.bias, g.act);
    return;
  }
#endif
  bool regular = true;
  if (a_off) {
    regular =
        arithmetic(a_off, g.batch, g.a_off.stride) && arithmetic(b_off, g.batch, g.b_off.stride);
    if (regular) {
      g.a += a_off[0];
      g.b += b_off[0];
    }
  }
#ifndef CORTEN_CUDA_SHIM
  if constexpr (std::is_floating_point_v<T>) {
    if (regular && g.k > 0) {
      const LtOutcome lt =
          cublaslt_gemm(dtype_of<T>::value, g.batch, g.m, g.n, g.k, g.a, g.a_off.stride, g.a_rs,
                        g.a_cs, g.b, g.b_off.stride, g.b_rs, g.b_cs, g.c, g.ldc, g.accumulate,
                        g.bias, g.aux ? Activation::Identity : g.act);
      if (lt.ran) {
        run_epilogue(op, g, lt.bias_done ? nullptr : g.bias,
                     lt.act_done ? Activation::Identity : g.act);
        return;
      }
    }
  }
#endif
  // Irregular offsets (broadcast batch dimensions) go to the device as tables.
  std::unique_ptr<DeviceScratch> tables;
  if (!regular) {
    const size_t bytes = static_cast<size_t>(g.batch) * sizeof(int64_t);
    tables = std::make_unique<DeviceScratch>(2 * bytes, op);
    int64_t* dev = tables->as<int64_t>();
    CORTEN_CUDA_CHECK(cudaMemcpyAsync(dev, a_off, bytes, cudaMemcpyHostToDevice, current_stream()));
    CORTEN_CUDA_CHECK(
        cudaMemcpyAsync(dev + g.batch, b_off, bytes, cudaMemcpyHostToDevice, current_stream()));
    g.a_off.table = dev;
    g.b_off.table = dev + g.batch;
  }
  // Each tile loads its operands along the axis of the smaller stride (coalesced when unit).
  const bool a_k_unit = std::abs(g.a_cs) < std::abs(g.a_rs) || (g.a_cs == g.a_rs && g.m == 1);
  const bool b_n_unit = std::abs(g.b_cs) <= std::abs(g.b_rs);
  const int64_t tiles_m = (g.m + kTileM - 1) / kTileM, tiles_n = (g.n + kTileN - 1) / kTileN;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>(tiles_n, kMaxBlocks)),
                  static_cast<unsigned>(std::min<int64_t>(tiles_m, kMaxGridYZ)),
                  static_cast<unsigned>(std::min<int64_t>(g.batch, kMaxGridYZ)));
  launch(op, &gemm_kernel<T>, grid, dim3(kGemmThreads), 0, g, a_k_unit, b_n_unit);
}

// The arguments of a public kernel's product: c contiguous.
template <class T>
GemmArgs<T> product(int64_t batch, int64_t m, int64_t n, int64_t k, const void* a, int64_t a_rs,
                    int64_t a_cs, const void* b, int64_t b_rs, int64_t b_cs, void* c) {
  GemmArgs<T> g{};
  g.batch = batch, g.m = m, g.n = n, g.k = k;
  g.a = static_cast<const T*>(a), g.a_rs = a_rs, g.a_cs = a_cs;
  g.b = static_cast<const T*>(b), g.b_rs = b_rs, g.b_cs = b_cs;
  g.c = static_cast<T*>(c), g.ldc = n;
  g.act = g.grad_act = Activation::Identity;
  return g;
}

}  // namespace

template <class T>
void gemm(const char* op, const GemmCall<T>& call) {
  GemmArgs<T> g = product<T>(call.batch, call.m, call.n, call.k, call.a, call.a_rs, call.a_cs,
                             call.b, call.b_rs, call.b_cs, call.c);
  g.a_off.stride = call.a_bstride;
  g.b_off.stride = call.b_bstride;
  g.ldc = call.ldc;
  g.accumulate = call.accumulate;
  g.bias = call.bias;
  run_gemm<T>(op, g, nullptr, nullptr);
}
template void gemm<float>(const char*, const GemmCall<float>&);
template void gemm<double>(const char*, const GemmCall<double>&);

void matmul(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
            const int64_t* a_off, int64_t a_rs, int64_t a_cs, const void* b, const int64_t* b_off,
            int64_t b_rs, int64_t b_cs, void* c) {
  visit_numeric(dtype, "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_gemm<T>("matmul", product<T>(batch, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c), a_off,
                b_off);
  });
}

void matmul_bias_act(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
                     const int64_t* a_off, int64_t a_rs, int64_t a_cs, const void* b,
                     const int64_t* b_off, int64_t b_rs, int64_t b_cs, void* c, const void* bias,
                     Activation act) {
  visit_floating(dtype, "matmul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    GemmArgs<T> g = product<T>(batch, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c);
    g.bias = static_cast<const T*>(bias);
    g.act = act;
    run_gemm<T>("matmul_bias_act", g, a_off, b_off);
  });
}

void matmul_activation_grad(DType dtype, int64_t m, int64_t n, int64_t k, const void* a,
                            int64_t a_rs, int64_t a_cs, const void* b, int64_t b_rs, int64_t b_cs,
                            void* c, const void* aux, Activation act) {
  visit_floating(dtype, "matmul_activation_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    GemmArgs<T> g = product<T>(1, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c);
    g.aux = static_cast<const T*>(aux);
    g.grad_act = act;
    const int64_t zero = 0;
    run_gemm<T>("matmul_activation_grad", g, &zero, &zero);
  });
}

}  // namespace corten::cuda
