// CUDA twins of cpu::hash_bucket, sorted_lookup and bincount (csrc/cpu/hashing.h): one thread per
// element formats the value and hashes its decimal string, or binary-searches the keys (one
// thread per row counts the row, in order), with
// the functions the CPU kernels use (cpu/hash_math.h, Note [TensorFlow-compatible hashing]),
// so the results are the CPU's bit for bit. Integer arithmetic only; the input is contiguous
// and the reads and writes are coalesced.

#include <corten/errors.h>

#include <cstdint>
#include <string>
#include <type_traits>

#include "cpu/hash_math.h"
#include "cpu/hashing.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kThreads)
    hash_bucket_kernel(const T* __restrict__ x, int64_t n, uint64_t buckets, bool strong,
                       uint64_t k0, uint64_t k1, int64_t* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    out[i] = hashing::int_bucket(static_cast<int64_t>(x[i]), buckets, strong, k0, k1);
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    sorted_lookup_kernel(const T* __restrict__ x, int64_t n, const int64_t* __restrict__ keys,
                         int64_t num_keys, int64_t* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    out[i] = hashing::sorted_position(static_cast<int64_t>(x[i]), keys, num_keys);
  }
}

template <class I, class T>
__global__ void __launch_bounds__(kThreads)
    bincount_kernel(const I* __restrict__ x, const T* __restrict__ weights, int64_t rows, int64_t k,
                    int64_t depth, bool binary, T* __restrict__ out) {
  // One thread per row, summing in order of j as the CPU does, so the sums are the CPU's.
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
       r += stride) {
    hashing::bincount_row(x + r * k, weights != nullptr ? weights + r * k : nullptr, k, depth,
                          binary, out + r * depth);
  }
}

}  // namespace

void hash_bucket(DType dtype, const void* x, int64_t n, int64_t num_buckets, bool strong,
                 uint64_t k0, uint64_t k1, int64_t* out) {
  if (n == 0) return;
  const auto buckets = static_cast<uint64_t>(num_buckets);
  const dim3 grid(blocks_for(n, kThreads)), block(kThreads);
  if (dtype == DType::Int32) {
    launch("hash_bucket", &hash_bucket_kernel<int32_t>, grid, block, 0,
           static_cast<const int32_t*>(x), n, buckets, strong, k0, k1, out);
  } else if (dtype == DType::Int64) {
    launch("hash_bucket", &hash_bucket_kernel<int64_t>, grid, block, 0,
           static_cast<const int64_t*>(x), n, buckets, strong, k0, k1, out);
  } else {
    throw TypeError(std::string("hash_bucket: no kernel for dtype ") + dtype_name(dtype));
  }
}

void sorted_lookup(DType dtype, const void* x, int64_t n, const int64_t* keys, int64_t num_keys,
                   int64_t* out) {
  if (n == 0) return;
  const dim3 grid(blocks_for(n, kThreads)), block(kThreads);
  if (dtype == DType::Int32) {
    launch("sorted_lookup", &sorted_lookup_kernel<int32_t>, grid, block, 0,
           static_cast<const int32_t*>(x), n, keys, num_keys, out);
  } else if (dtype == DType::Int64) {
    launch("sorted_lookup", &sorted_lookup_kernel<int64_t>, grid, block, 0,
           static_cast<const int64_t*>(x), n, keys, num_keys, out);
  } else {
    throw TypeError(std::string("sorted_lookup: no kernel for dtype ") + dtype_name(dtype));
  }
}

void bincount(DType index_dtype, DType dtype, const void* x, const void* weights, int64_t rows,
              int64_t k, int64_t depth, bool binary, void* out) {
  if (rows == 0 || depth == 0) return;
  const dim3 grid(blocks_for(rows, kThreads)), block(kThreads);
  visit_numeric(dtype, "bincount", [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto run = [&](const auto* xs) {
      using I = std::remove_cv_t<std::remove_pointer_t<decltype(xs)>>;
      launch("bincount", &bincount_kernel<I, T>, grid, block, 0, xs, static_cast<const T*>(weights),
             rows, k, depth, binary, static_cast<T*>(out));
    };
    if (index_dtype == DType::Int32) {
      run(static_cast<const int32_t*>(x));
    } else if (index_dtype == DType::Int64) {
      run(static_cast<const int64_t*>(x));
    } else {
      throw TypeError(std::string("bincount: no kernel for index dtype ") +
                      dtype_name(index_dtype));
    }
  });
}

}  // namespace corten::cuda
