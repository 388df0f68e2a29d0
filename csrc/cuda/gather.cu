// CUDA gather and gather_backward with the CPU kernels' signatures (csrc/cpu/gather.h):
// params: (B, outer, N, inner), indices: (B, I) int32/int64, out: (B, outer, I, inner), all
// contiguous device buffers. Callers have validated shapes and dtypes, not the index values.
//
// Both kernels first look for a bad index (outside [0, N)) and, as on the CPU, report the first
// in C order and write nothing when there is one: a grid-stride pass in which each thread keeps
// the first bad position it meets, a warp-shuffle maximum of ~position (so the smallest
// position wins), and one integer atomicMax per warp into a device word, which the host reads
// back (read_device_value); the bad value is then read at that position. The result does not
// depend on the order in which threads run.
//
// gather copies rows: one thread per word of a row, in words of 16, 8, 4, 2 or 1 bytes (the
// widest that divides the row and suits the alignment of both buffers), so rows of floats move
// as 16-byte vector loads and stores; a warp reads and writes consecutive words of a row.
//
// gather_backward: Note [CUDA gather_backward order].

#include <cstdint>
#include <type_traits>
#include <utility>

#include "cpu/gather.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;

// ---- bad indices ---------------------------------------------------------------------------

// *first gets the largest ~position of a bad index (0 when all are good): the first bad one.
template <class I>
__global__ void __launch_bounds__(kThreads)
    find_bad_kernel(const I* __restrict__ idx, int64_t count, int64_t n,
                    unsigned long long* first) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  unsigned long long best = 0;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count;
       k += stride) {
    const auto v = static_cast<int64_t>(idx[k]);
    if (v < 0 || v >= n) {  // this thread's later positions are larger
      best = ~static_cast<unsigned long long>(k);
      break;
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const unsigned long long other = __shfl_down_sync(kFullMask, best, offset);
    best = other > best ? other : best;
  }
  if ((threadIdx.x & 31) == 0 && best != 0) atomicMax(first, best);
}

template <class I>
cpu::BadIndex first_bad(const I* idx, int64_t count, int64_t n, const char* op) {
  cpu::BadIndex bad;
  if (count == 0) return bad;
  DeviceScratch word(sizeof(unsigned long long), op);
  unsigned long long* first = word.as<unsigned long long>();
  CORTEN_CUDA_CHECK(cudaMemsetAsync(first, 0, sizeof(unsigned long long), current_stream()));
  launch(op, &find_bad_kernel<I>, dim3(blocks_for(count, kThreads)), dim3(kThreads), 0, idx, count,
         n, first);
  const unsigned long long found = read_device_value(first, op);
  if (found != 0) {
    bad.position = static_cast<int64_t>(~found);
    bad.value = static_cast<int64_t>(read_device_value(idx + bad.position, op));
  }
  return bad;
}

// ---- gather ------------------------------------------------------------------------------

template <class W>
__global__ void __launch_bounds__(kThreads)
    gather_kernel(const W* __restrict__ params, const void* indices, bool idx64, int64_t outer,
                  int64_t n, int64_t num_indices, int64_t row_words, W* __restrict__ out,
                  int64_t total) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t u = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; u < total;
       u += stride) {
    const int64_t r = u / row_words, c = u % row_words;
    const int64_t i = r % num_indices;
    const int64_t bo = r / num_indices;  // b * outer + o
    const int64_t k = (bo / outer) * num_indices + i;
    const int64_t v = idx64 ? static_cast<const int64_t*>(indices)[k]
                            : static_cast<int64_t>(static_cast<const int32_t*>(indices)[k]);
    out[u] = params[(bo * n + v) * row_words + c];
  }
}

template <class W>
void run_gather(const void* params, const void* indices, bool idx64, int64_t rows, int64_t outer,
                int64_t n, int64_t num_indices, int64_t row_bytes, void* out) {
  const int64_t row_words = row_bytes / static_cast<int64_t>(sizeof(W));
  const int64_t total = rows * row_words;
  launch("gather", &gather_kernel<W>, dim3(blocks_for(total, kThreads)), dim3(kThreads), 0,
         static_cast<const W*>(params), indices, idx64, outer, n, num_indices, row_words,
         static_cast<W*>(out), total);
}

// ---- gather_backward ---------------------------------------------------------------------

// Note [CUDA gather_backward order]
// The CPU kernel adds the gradient rows into dparams in index order, so each element of
// dparams is ((d + g[i1]) + g[i2]) + ... over the positions i1 < i2 < ... that name its row.
// Floating-point atomics would add in whatever order threads arrive; instead the positions
// are sorted by (batch, index, position) and one thread per (outer, column) of each run of
// equal (batch, index) adds that run's gradient elements in position order onto dparams:
// every sum is the CPU's, bit for bit, and no two threads write one element.
// The sort is a merge sort of the M = B * I positions in ceil(log2 M) launches, each placing
// every element by a binary search in the neighbouring run (its rank there plus its rank in
// its own run; the keys are distinct), so it needs no atomics: O(M log^2 M) work, O(log M)
// steps per launch. The sums read each gradient element once: O(B * outer * I * inner) work,
// coalesced along the row, with parallel depth the largest number of repeats of one index (a
// heavily repeated index is summed by one thread per column, in order).

struct SortKey {
  int64_t row;  // b * N + index
  int64_t pos;  // b * I + i
};

template <class I>
__device__ __forceinline__ SortKey key_of(const I* idx, int64_t p, int64_t num_indices, int64_t n) {
  return {(p / num_indices) * n + static_cast<int64_t>(idx[p]), p};
}

__device__ __forceinline__ bool key_less(const SortKey& a, const SortKey& b) {
  return a.row < b.row || (a.row == b.row && a.pos < b.pos);
}

__global__ void __launch_bounds__(kThreads) iota_kernel(int64_t* __restrict__ order, int64_t m) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < m;
       k += stride) {
    order[k] = k;
  }
}

// Merges sorted runs of `width` pairwise: in[run 2j] and in[run 2j + 1] -> out.
template <class I>
__global__ void __launch_bounds__(kThreads)
    merge_kernel(const I* __restrict__ idx, int64_t num_indices, int64_t n,
                 const int64_t* __restrict__ in, int64_t* __restrict__ out, int64_t m,
                 int64_t width) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < m;
       k += stride) {
    const int64_t run = k / width;
    const int64_t base = (run - (run & 1)) * width;  // first element of the pair
    const int64_t mid = base + width < m ? base + width : m;
    const int64_t end = base + 2 * width < m ? base + 2 * width : m;
    const bool in_first = (run & 1) == 0;
    const int64_t lo0 = in_first ? mid : base, hi0 = in_first ? end : mid;  // the other run
    const SortKey key = key_of(idx, in[k], num_indices, n);
    int64_t lo = lo0, hi = hi0;  // count the other run's keys below `key`
    while (lo < hi) {
      const int64_t h = lo + (hi - lo) / 2;
      if (key_less(key_of(idx, in[h], num_indices, n), key)) {
        lo = h + 1;
      } else {
        hi = h;
      }
    }
    const int64_t own = in_first ? k - base : k - mid;
    out[base + own + (lo - lo0)] = in[k];
  }
}

// e over (outer, M, inner): the thread at the first position k of a run of equal rows adds the
// run's gradient elements of its (outer, column) onto dparams, in position order.
template <class T, class I>
__global__ void __launch_bounds__(kThreads)
    accumulate_kernel(const T* __restrict__ grad, const I* __restrict__ idx,
                      const int64_t* __restrict__ order, int64_t outer, int64_t n, int64_t inner,
                      int64_t num_indices, int64_t m, T* __restrict__ dparams, int64_t total) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += stride) {
    const int64_t c = e % inner;
    const int64_t k = (e / inner) % m;
    const int64_t o = e / (inner * m);
    const SortKey key = key_of(idx, order[k], num_indices, n);
    if (k > 0 && key_of(idx, order[k - 1], num_indices, n).row == key.row) continue;
    const int64_t b = key.pos / num_indices;
    const int64_t bo = b * outer + o;
    T* d = dparams + (bo * n + static_cast<int64_t>(idx[key.pos])) * inner + c;
    const T* g = grad + bo * num_indices * inner + c;
    T acc = *d;
    for (int64_t j = k; j < m; ++j) {
      const int64_t p = order[j];
      if (j > k && key_of(idx, p, num_indices, n).row != key.row) break;
      acc += g[(p % num_indices) * inner];
    }
    *d = acc;
  }
}

template <class T, class I>
void run_gather_backward(const T* grad, const I* idx, int64_t batch, int64_t outer, int64_t n,
                         int64_t inner, int64_t num_indices, T* dparams) {
  const int64_t m = batch * num_indices;
  DeviceScratch scratch(2 * static_cast<size_t>(m) * sizeof(int64_t), "gather_backward");
  int64_t* in = scratch.as<int64_t>();
  int64_t* out = in + m;
  const dim3 grid(blocks_for(m, kThreads));
  launch("gather_backward", &iota_kernel, grid, dim3(kThreads), 0, in, m);
  for (int64_t width = 1; width < m; width *= 2) {
    launch("gather_backward", &merge_kernel<I>, grid, dim3(kThreads), 0, idx, num_indices, n,
           static_cast<const int64_t*>(in), out, m, width);
    std::swap(in, out);
  }
  const int64_t total = outer * m * inner;
  launch("gather_backward", &accumulate_kernel<T, I>, dim3(blocks_for(total, kThreads)),
         dim3(kThreads), 0, grad, idx, static_cast<const int64_t*>(in), outer, n, inner,
         num_indices, m, dparams, total);
}

}  // namespace

cpu::BadIndex gather(size_t itemsize, DType index_dtype, const void* params, int64_t batch,
                     int64_t outer, int64_t n, int64_t inner, const void* indices,
                     int64_t num_indices, void* out) {
  const bool idx64 = index_dtype != DType::Int32;
  const cpu::BadIndex bad =
      idx64 ? first_bad(static_cast<const int64_t*>(indices), batch * num_indices, n, "gather")
            : first_bad(static_cast<const int32_t*>(indices), batch * num_indices, n, "gather");
  if (bad.position >= 0 || batch * outer * num_indices * inner == 0) return bad;
  const int64_t rows = batch * outer * num_indices;
  const int64_t row_bytes = inner * static_cast<int64_t>(itemsize);
  // The widest word that divides a row and the alignment of both buffers.
  auto fits = [&](int64_t w) {
    return row_bytes % w == 0 && aligned_to(params, static_cast<size_t>(w)) &&
           aligned_to(out, static_cast<size_t>(w));
  };
  if (fits(16)) {
    run_gather<Pack<uint32_t, 4>>(params, indices, idx64, rows, outer, n, num_indices, row_bytes,
                                  out);
  } else if (fits(8)) {
    run_gather<uint64_t>(params, indices, idx64, rows, outer, n, num_indices, row_bytes, out);
  } else if (fits(4)) {
    run_gather<uint32_t>(params, indices, idx64, rows, outer, n, num_indices, row_bytes, out);
  } else if (fits(2)) {
    run_gather<uint16_t>(params, indices, idx64, rows, outer, n, num_indices, row_bytes, out);
  } else {
    run_gather<uint8_t>(params, indices, idx64, rows, outer, n, num_indices, row_bytes, out);
  }
  return bad;
}

cpu::BadIndex gather_backward(DType dtype, DType index_dtype, const void* grad, int64_t batch,
                              int64_t outer, int64_t n, int64_t inner, const void* indices,
                              int64_t num_indices, void* dparams) {
  auto run = [&](const auto* idx) {
    const cpu::BadIndex bad = first_bad(idx, batch * num_indices, n, "gather_backward");
    if (bad.position >= 0 || batch * outer * num_indices * inner == 0) return bad;
    visit_floating(dtype, "gather_grad", [&](auto tag) {
      using T = typename decltype(tag)::type;
      run_gather_backward(static_cast<const T*>(grad), idx, batch, outer, n, inner, num_indices,
                          static_cast<T*>(dparams));
    });
    return bad;
  };
  if (index_dtype == DType::Int32) return run(static_cast<const int32_t*>(indices));
  return run(static_cast<const int64_t*>(indices));
}

}  // namespace corten::cuda
