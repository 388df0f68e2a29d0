// CUDA twin of cpu::hash_bucket (csrc/cpu/hashing.h): one thread per element formats the value
// and hashes its decimal string with the functions the CPU kernel uses (cpu/hash_math.h, Note
// [TensorFlow-compatible hashing]), so the buckets are the CPU's bit for bit. Integer
// arithmetic only; the input is contiguous and the reads and writes are coalesced.

#include <corten/errors.h>

#include <cstdint>
#include <string>

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

}  // namespace corten::cuda
