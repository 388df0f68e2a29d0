// CUDA elementwise kernels: the unary and binary ops of the elementwise op table
// (corten/ops/elementwise_ops.h), with the CPU kernels' signatures (csrc/cpu/elementwise.h).
// Operands are device pointers with element strides over a common shape (broadcast operands
// have stride 0); the output is contiguous. Callers have validated dtypes.
//
// One kernel template, map_kernel<F, T, O, N>, serves every op: F is the op's functor
// (cuda/elementwise_functors.cuh), T the input and O the output element type, N the number of
// operands. Its grid-stride loop takes one of two layouts, chosen on the host per call:
// - dense: every operand is C-contiguous over the shape or a broadcast scalar (Note [Dense fast
//   path] of the CPU kernels); when every pointer is 16-byte aligned the loop reads and writes
//   packs of 16 bytes (4 floats, 2 doubles) and finishes the tail element by element;
// - strided: any strides (broadcasting, transposed and sliced views), offsets decoded from the
//   linear index over the merged dimensions (Indexer).
// Accuracy: Note [CUDA elementwise accuracy].

#include <corten/ops/elementwise_ops.h>

#include <array>
#include <cstdint>

#include "cpu/elementwise.h"
#include "cuda/common.cuh"
#include "cuda/elementwise_functors.cuh"

namespace corten::cuda {
namespace {

using namespace functors;

enum class Layout : int { Dense, DenseVector, Strided };

template <class T, int N>
struct Operands {
  const T* p[N];
  int64_t step[N];  // dense layout: 1 for a contiguous operand, 0 for a broadcast scalar
};

template <class F, class T, class O, int N>
__device__ __forceinline__ O apply(const T (&v)[N], T alpha) {
  if constexpr (N == 1) {
    return F::f(v[0], alpha);
  } else {
    return F::f(v[0], v[1]);
  }
}

// Elements of T in one 16-byte pack.
template <class T>
constexpr int kVec = static_cast<int>(16 / sizeof(T));

template <class F, class T, class O, int N>
__global__ void __launch_bounds__(kThreads)
    map_kernel(Layout layout, Operands<T, N> in, Indexer<N> ix, O* __restrict__ out, int64_t n,
               T alpha) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t start = 0;
  if (layout == Layout::DenseVector) {
    constexpr int V = kVec<T>;
    const int64_t packs = n / V;
    for (int64_t p = first; p < packs; p += stride) {
      Pack<T, V> v[N];
      for (int k = 0; k < N; ++k) {
        if (in.step[k]) {
          v[k] = load_pack<T, V>(in.p[k] + p * V);
        } else {
          for (int j = 0; j < V; ++j) v[k].v[j] = in.p[k][0];
        }
      }
      Pack<O, V> r;
      for (int j = 0; j < V; ++j) {
        T e[N];
        for (int k = 0; k < N; ++k) e[k] = v[k].v[j];
        r.v[j] = apply<F, T, O, N>(e, alpha);
      }
      store_pack<O, V>(out + p * V, r);
    }
    start = packs * V;  // the tail, element by element
  }
  if (layout == Layout::Strided) {
    for (int64_t i = first; i < n; i += stride) {
      int64_t off[N];
      ix.offsets(i, off);
      T e[N];
      for (int k = 0; k < N; ++k) e[k] = in.p[k][off[k]];
      out[i] = apply<F, T, O, N>(e, alpha);
    }
    return;
  }
  for (int64_t i = start + first; i < n; i += stride) {
    T e[N];
    for (int k = 0; k < N; ++k) e[k] = in.p[k][i * in.step[k]];
    out[i] = apply<F, T, O, N>(e, alpha);
  }
}

// Chooses the layout and launches map_kernel<F, T, O, N> over `shape`.
template <class F, class T, class O, int N>
void run_map(const char* op, const Shape& shape, const std::array<const void*, N>& ptrs,
             const std::array<const Shape*, N>& strides, void* out_, T alpha) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  O* out = static_cast<O*>(out_);
  Operands<T, N> in{};
  Indexer<N> ix{};
  bool dense = true, aligned = aligned_to(out, sizeof(Pack<O, kVec<T>>));
  for (int k = 0; k < N; ++k) {
    in.p[k] = static_cast<const T*>(ptrs[k]);
    const int d = dense_stride(shape, *strides[k]);
    dense &= d >= 0;
    in.step[k] = d > 0 ? 1 : 0;
    aligned &= d == 0 || aligned_to(in.p[k], sizeof(Pack<T, kVec<T>>));
  }
  Layout layout = Layout::Strided;
  if (dense) {
    layout = aligned && n >= kVec<T> ? Layout::DenseVector : Layout::Dense;
  } else {
    ix = make_indexer<N>(op, shape, strides, all_dims(shape.size()));
  }
  const int64_t items = layout == Layout::DenseVector ? n / kVec<T> : n;
  launch(op, &map_kernel<F, T, O, N>, dim3(blocks_for(items, kThreads)), dim3(kThreads), 0, layout,
         in, ix, out, n, alpha);
}

[[noreturn]] void unsupported(const char* op, DType dtype) {
  throw TypeError(std::string(op) + ": the CUDA kernel has no " + dtype_name(dtype) + " variant");
}

template <UnaryOp op, class F>
void unary_op(DType dtype, const Shape& shape, const void* x, const Shape& xs, void* out,
              double alpha) {
  constexpr Accepts acc = op_info(op).accepts;
  const char* name = op_info(op).name;
  const std::array<const void*, 1> p{x};
  const std::array<const Shape*, 1> s{&xs};
  switch (dtype) {
#define CORTEN_UNARY_DTYPE_(D, T)                                                \
  case DType::D:                                                                 \
    if constexpr (accepts(acc, DType::D)) {                                      \
      return run_map<F, T, T, 1>(name, shape, p, s, out, static_cast<T>(alpha)); \
    }                                                                            \
    break;
    CORTEN_UNARY_DTYPE_(Bool, bool)
    CORTEN_UNARY_DTYPE_(Int32, int32_t)
    CORTEN_UNARY_DTYPE_(Int64, int64_t)
    CORTEN_UNARY_DTYPE_(Float32, float)
    CORTEN_UNARY_DTYPE_(Float64, double)
#undef CORTEN_UNARY_DTYPE_
    case DType::String:
    case DType::Float16:
    case DType::BFloat16:
      break;
  }
  unsupported(name, dtype);
}

template <BinaryOp op, class F>
void binary_op(DType dtype, const Shape& shape, const void* a, const Shape& as, const void* b,
               const Shape& bs, void* out) {
  constexpr Accepts acc = op_info(op).accepts;
  constexpr bool to_bool = op_info(op).returns_bool;
  const char* name = op_info(op).name;
  const std::array<const void*, 2> p{a, b};
  const std::array<const Shape*, 2> s{&as, &bs};
  switch (dtype) {
#define CORTEN_BINARY_DTYPE_(D, T)                                                  \
  case DType::D:                                                                    \
    if constexpr (accepts(acc, DType::D) && (to_bool || DType::D != DType::Bool)) { \
      using O = std::conditional_t<to_bool, bool, T>;                               \
      return run_map<F, T, O, 2>(name, shape, p, s, out, T{});                      \
    }                                                                               \
    break;
    CORTEN_BINARY_DTYPE_(Bool, bool)
    CORTEN_BINARY_DTYPE_(Int32, int32_t)
    CORTEN_BINARY_DTYPE_(Int64, int64_t)
    CORTEN_BINARY_DTYPE_(Float32, float)
    CORTEN_BINARY_DTYPE_(Float64, double)
#undef CORTEN_BINARY_DTYPE_
    case DType::String:
    case DType::Float16:
    case DType::BFloat16:
      break;
  }
  unsupported(name, dtype);
}

}  // namespace

void unary(UnaryOp op, DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
           void* out, double alpha) {
  switch (op) {
#define CORTEN_UNARY_CASE_(Name, ...) \
  case UnaryOp::Name:                 \
    return unary_op<UnaryOp::Name, Name##F>(dtype, shape, x, x_strides, out, alpha);
    CORTEN_UNARY_OPS(CORTEN_UNARY_CASE_)
#undef CORTEN_UNARY_CASE_
    case UnaryOp::kCount:
      break;
  }
  throw ValueError("unary: unknown op");
}

void binary(BinaryOp op, DType dtype, const Shape& shape, const void* a, const Shape& a_strides,
            const void* b, const Shape& b_strides, void* out) {
  switch (op) {
#define CORTEN_BINARY_CASE_(Name, ...) \
  case BinaryOp::Name:                 \
    return binary_op<BinaryOp::Name, Name##F>(dtype, shape, a, a_strides, b, b_strides, out);
    CORTEN_BINARY_OPS(CORTEN_BINARY_CASE_)
#undef CORTEN_BINARY_CASE_
    case BinaryOp::kCount:
      break;
  }
  throw ValueError("binary: unknown op");
}

}  // namespace corten::cuda
