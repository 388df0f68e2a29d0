#pragma once
// The sums of the CUDA normalisation kernels (cuda/norm.cu, cuda/batch_norm.cu): a row's sums
// inside a warp or a block, and per-channel sums over many rows in two deterministic stages.
//
// Note [CUDA normalisation sums]
// Every statistic is accumulated in float64, at every level: each thread folds its elements
// (terms computed in the element type T exactly as the CPU kernel computes them, e.g. (x - mean)
// * (x - mean) with mean rounded to T) into double accumulators, warps merge them with a
// shuffle tree (offsets 16, 8, 4, 2, 1) and blocks merge their warps' results in warp order.
// The CPU kernels sum in T inside blocks of up to 1024 values and add the blocks in float64
// (Note [Deterministic normalisation sums]), so the CUDA sums are at least as accurate but not
// the same bits: float64 results agree with the CPU's within a few ulp times log2 of the length,
// float32 results within the CPU's own float32 rounding (the tests use rtol 1e-5 and an atol of
// 1e-5 times the magnitude of the values). Everything computed after the sums (the
// normalisation itself, the coefficients of the backward) follows the CPU kernel's arithmetic
// step for step, so given the same statistics the outputs are the CPU's bit for bit.
// Launch geometry depends only on the shapes, never on the device, and there are no floating
// atomics: results are the same on every run.
//
// Sums over rows per column (layer norm's dgamma and dbeta, batch norm's channel statistics)
// run in two stages through DeviceScratch: column_partials gives each block 32 adjacent
// columns (coalesced loads) and a chunk of rows, its 8 warps taking every 8th row and the 8
// results added in warp order, into one float64 partial sum per (chunk, column); then
// channel_finish gives each channel a block that adds its partials (chunks x the columns of the
// channel) in a fixed order and hands the totals to the family's finishing step (when a channel
// is one column, column_finish gives it a thread instead).

#include <algorithm>
#include <cstdint>

#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

constexpr unsigned kNormFullMask = 0xffffffffu;

/// Sums v over a row group: the 32 lanes of a warp when blockDim.x == 32 (blockDim.y warps take
/// one row each), else the whole block (blockDim.y == 1, blockDim.x a multiple of 32, at most
/// 1024). Every thread of the group gets the same totals.
template <int N>
__device__ __forceinline__ void group_sum(double (&v)[N]) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    for (int i = 0; i < N; ++i) v[i] += __shfl_down_sync(kNormFullMask, v[i], offset);
  }
  if (blockDim.x > 32) {
    __shared__ double warp_sums[32][N];
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) {
      for (int i = 0; i < N; ++i) warp_sums[warp][i] = v[i];
    }
    __syncthreads();
    const unsigned nwarps = blockDim.x / 32;
    for (int i = 0; i < N; ++i) {
      double s = warp_sums[0][i];
      for (unsigned w = 1; w < nwarps; ++w) s += warp_sums[w][i];
      v[i] = s;
    }
    __syncthreads();  // warp_sums is rewritten by the next call
  } else {
    for (int i = 0; i < N; ++i) v[i] = __shfl_sync(kNormFullMask, v[i], 0);
  }
}

/// Launch shape of a kernel with one row group per row of `len` values: a warp per row, 8 rows
/// per block, for rows up to 1024 values; a block of 256 threads per row beyond.
struct RowGeometry {
  dim3 grid, block;
};

inline RowGeometry row_geometry(int64_t rows, int64_t len) {
  const int64_t per_block = len <= 1024 ? 8 : 1;
  const int64_t blocks = std::min<int64_t>((rows + per_block - 1) / per_block, kMaxBlocks);
  return {dim3(static_cast<unsigned>(blocks)),
          per_block == 8 ? dim3(32, 8) : dim3(static_cast<unsigned>(kThreads))};
}

/// The first row and the step of a row group's grid-stride loop (row_geometry's launches).
__device__ __forceinline__ int64_t first_row() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
}
__device__ __forceinline__ int64_t row_step() {
  return static_cast<int64_t>(gridDim.x) * blockDim.y;
}

/// Rows per chunk of column_partials: at least 64 (8 per warp), and at most 1024 chunks.
struct Chunks {
  int64_t per;
  int64_t count;
};

inline Chunks chunks_of(int64_t rows) {
  const int64_t per = std::max<int64_t>(64, (rows + 1023) / 1024);
  return {per, (rows + per - 1) / per};
}

/// partial[(chunk * N + i) * cols + j] = sum over the rows r of the chunk of term(r, j)[i]
/// (Note [CUDA normalisation sums]). Blocks of (32, 8) threads; grid (column tiles, chunks).
template <class Term>
__global__ void __launch_bounds__(256)
    column_partials(Term term, int64_t rows, int64_t cols, int64_t per, double* partial) {
  constexpr int N = Term::kSums;
  __shared__ double tile[8][N][32];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * 32 + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t r0 = chunk * per, r1 = std::min(rows, r0 + per);
  double acc[N] = {};
  if (j < cols) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) term(r, j, acc);
  }
  for (int i = 0; i < N; ++i) tile[threadIdx.y][i][threadIdx.x] = acc[i];
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    for (int i = 0; i < N; ++i) {
      double s = tile[0][i][threadIdx.x];
      for (int w = 1; w < 8; ++w) s += tile[w][i][threadIdx.x];
      partial[(chunk * N + i) * cols + j] = s;
    }
  }
}

/// For each channel c: the sums over chunks and q of partial[(chunk * N + i) * cols + c * q +
/// k], handed to finish(c, sums) by one thread (all zero when there are no chunks).
template <int N, class Finish>
__global__ void __launch_bounds__(256)
    channel_finish(Finish finish, const double* partial, int64_t channels, int64_t q,
                   int64_t chunks, int64_t cols) {
  const int64_t items = chunks * q;
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    double acc[N] = {};
    for (int64_t k = threadIdx.x; k < items; k += blockDim.x) {
      const int64_t chunk = k / q, off = c * q + k % q;
      for (int i = 0; i < N; ++i) acc[i] += partial[(chunk * N + i) * cols + off];
    }
    group_sum<N>(acc);
    if (threadIdx.x == 0) finish(c, acc);
  }
}

/// channel_finish for channels of one column each (q == 1): a thread per channel adds its
/// partials in chunk order, neighbouring threads reading neighbouring columns.
template <int N, class Finish>
__global__ void __launch_bounds__(256)
    column_finish(Finish finish, const double* partial, int64_t channels, int64_t chunks) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < channels;
       c += step) {
    double acc[N] = {};
    for (int64_t k = 0; k < chunks; ++k) {
      for (int i = 0; i < N; ++i) acc[i] += partial[(k * N + i) * channels + c];
    }
    finish(c, acc);
  }
}

/// Per-channel sums of term over rows x (channels * q) columns, finished by `finish`: the two
/// stages of Note [CUDA normalisation sums]. With rows == 0 (or `skip`) finish sees zeros.
template <class Term, class Finish>
void channel_sums(const char* op, Term term, Finish finish, int64_t rows, int64_t channels,
                  int64_t q, bool skip = false) {
  constexpr int N = Term::kSums;
  const int64_t cols = channels * q;
  const Chunks ch = skip || cols == 0 ? Chunks{1, 0} : chunks_of(rows);
  DeviceScratch partial(static_cast<size_t>(ch.count * N * cols) * sizeof(double), op);
  if (ch.count > 0) {
    launch(op, &column_partials<Term>,
           dim3(static_cast<unsigned>((cols + 31) / 32), static_cast<unsigned>(ch.count)),
           dim3(32, 8), 0, term, rows, cols, ch.per, partial.as<double>());
  }
  if (q == 1) {
    launch(op, &column_finish<N, Finish>, dim3(blocks_for(channels, kThreads)), dim3(kThreads), 0,
           finish, partial.as<double>(), channels, ch.count);
    return;
  }
  const int64_t threads = std::clamp<int64_t>((ch.count * q + 31) / 32 * 32, 32, kThreads);
  launch(op, &channel_finish<N, Finish>,
         dim3(static_cast<unsigned>(std::min<int64_t>(channels, kMaxBlocks))),
         dim3(static_cast<unsigned>(threads)), 0, finish, partial.as<double>(), channels, q,
         ch.count, cols);
}

}  // namespace
}  // namespace corten::cuda
