// The shim itself: block barriers and shared memory, warp shuffles and votes, atomics, early
// returns, launch errors (Note [CUDA test shim]).
#include <corten/errors.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "check.h"
#include "cuda/launch.h"
#include "shim_cases.h"

namespace {

// out[block]: the sum of threadIdx.x over the block, through shared memory and a barrier.
__global__ void block_sum(int* out) {
  __shared__ int vals[256];
  vals[threadIdx.x] = static_cast<int>(threadIdx.x);
  __syncthreads();
  if (threadIdx.x == 0) {
    int s = 0;
    for (unsigned i = 0; i < blockDim.x; ++i) s += vals[i];
    out[blockIdx.x] = s;
  }
}

// out[block * n + i]: the block's n values reversed through dynamic shared memory.
__global__ void reverse_dynamic(const int* x, int* out, int n) {
  CORTEN_DYNAMIC_SHARED(int, buf);
  for (int i = static_cast<int>(threadIdx.x); i < n; i += static_cast<int>(blockDim.x)) {
    buf[i] = x[blockIdx.x * n + i];
  }
  __syncthreads();
  for (int i = static_cast<int>(threadIdx.x); i < n; i += static_cast<int>(blockDim.x)) {
    out[blockIdx.x * n + i] = buf[n - 1 - i];
  }
}

// Per thread: the warp sum by shfl_down (lane 0), by shfl_xor (all lanes), a broadcast of lane
// 3, the ballot of odd lanes, any, all, and the previous lane's value by shfl_up.
__global__ void warp_ops(int* down, int* xr, int* bcast, unsigned* ballot, int* any, int* all,
                         int* up) {
  const unsigned t = threadIdx.x + blockIdx.x * blockDim.x;
  const int lane = static_cast<int>(threadIdx.x % 32);
  int v = lane + 1;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  down[t] = v;
  double w = lane + 1;
  for (int o = 16; o > 0; o >>= 1) w += __shfl_xor_sync(0xffffffffu, w, o);
  xr[t] = static_cast<int>(w);
  bcast[t] = __shfl_sync(0xffffffffu, lane * 10, 3);
  ballot[t] = __ballot_sync(0xffffffffu, lane % 2);
  any[t] = __any_sync(0xffffffffu, lane == 7);
  all[t] = __all_sync(0xffffffffu, lane < 31);
  up[t] = __shfl_up_sync(0xffffffffu, lane * 2, 1);  // lane 0 keeps its own value
}

__global__ void atomics(int* counter, float* fsum, int* mx, unsigned long long* cas) {
  atomicAdd(counter, 1);
  atomicAdd(fsum, 0.5f);
  atomicMax(mx, static_cast<int>(threadIdx.x + blockIdx.x * blockDim.x));
  atomicCAS(cas, 0ull, 42ull);
}

// Threads past n return before the barrier; the others still meet at it.
__global__ void early_return(const int* x, int* y, int n) {
  __shared__ int tile[64];
  const int i = static_cast<int>(threadIdx.x);
  if (i >= n) return;
  tile[i] = x[i];
  __syncthreads();
  y[i] = tile[n - 1 - i];
}

// Half of the warp waits at the block barrier, the other half at a shuffle: neither can go on.
__global__ void divergent_barrier(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    out[threadIdx.x] = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x), 0);
  }
}

const corten_test::RegisterCase shim_case("shim", [] {
  using corten::cuda::launch;
  std::vector<int> sums(3, -1);
  launch("block_sum", &block_sum, dim3(3), dim3(256), 0, sums.data());
  for (int s : sums) CHECK(s == 255 * 256 / 2);

  const int n = 64;
  std::vector<int> down(n), xr(n), bcast(n), any(n), all(n), up(n);
  std::vector<unsigned> ballot(n);
  launch("warp_ops", &warp_ops, dim3(1), dim3(n), 0, down.data(), xr.data(), bcast.data(),
         ballot.data(), any.data(), all.data(), up.data());
  CHECK(down[0] == 528 && down[32] == 528);
  for (int t = 0; t < n; ++t) {
    CHECK(xr[t] == 528);
    CHECK(bcast[t] == 30);
    CHECK(ballot[t] == 0xaaaaaaaau);
    CHECK(any[t] == 1);
    CHECK(all[t] == 0);
    CHECK(up[t] == (t % 32 == 0 ? 0 : (t % 32 - 1) * 2));
  }

  int counter = 0, mx = -1;
  float fsum = 0;
  unsigned long long cas = 0;
  launch("atomics", &atomics, dim3(2), dim3(96), 0, &counter, &fsum, &mx, &cas);
  CHECK(counter == 192);
  CHECK(fsum == 96.0f);
  CHECK(mx == 191);
  CHECK(cas == 42ull);

  std::vector<int> x(40), y(40, -1);
  for (int i = 0; i < 40; ++i) x[i] = i * 3;
  launch("early_return", &early_return, dim3(1), dim3(64), 0, x.data(), y.data(), 40);
  for (int i = 0; i < 40; ++i) CHECK(y[i] == (39 - i) * 3);

  // An invalid configuration is an exception naming the kernel, not a crash.
  bool named = false;
  try {
    launch("block_sum", &block_sum, dim3(1), dim3(2048), 0, sums.data());
  } catch (const corten::Error& e) {
    named = std::string(e.what()).find("block_sum") != std::string::npos;
  }
  CHECK(named);
  // Dynamic shared memory: each block of the launch sees the launch's shared_bytes.
  std::vector<int> xs(3 * 100), rev(3 * 100, -1);
  for (int i = 0; i < 300; ++i) xs[i] = i;
  launch("reverse_dynamic", &reverse_dynamic, dim3(3), dim3(64), 100 * sizeof(int), xs.data(),
         rev.data(), 100);
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < 100; ++i) CHECK(rev[b * 100 + i] == b * 100 + 99 - i);
  }
  // A deadlock is an error naming the kernel, and the shim runs the next launch normally.
  std::vector<int> lanes(32, -1);
  std::string deadlock;
  try {
    launch("divergent_barrier", &divergent_barrier, dim3(2), dim3(32), 0, lanes.data());
  } catch (const corten::Error& e) {
    deadlock = e.what();
  }
  CHECK(deadlock.find("divergent_barrier") != std::string::npos);
  CHECK(deadlock.find("32 of 32 threads") != std::string::npos);
  sums.assign(3, -1);
  launch("block_sum", &block_sum, dim3(3), dim3(256), 0, sums.data());
  for (int s : sums) CHECK(s == 255 * 256 / 2);
  // An empty grid launches nothing.
  launch("block_sum", &block_sum, dim3(0), dim3(32), 0, sums.data());
});

}  // namespace
