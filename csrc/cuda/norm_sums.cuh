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
// the same bits. Everything computed after the sums (the normalisation itself, the coefficients
// of the backward, the moving averages) follows the CPU kernel's arithmetic step for step
// (--fmad=false, as the baseline CPU kernels), so outputs computed from given statistics (batch
// norm in inference, forward and backward) are the CPU's bit for bit. Tolerances against the
// baseline CPU kernels (tests/cuda_shim/cases_norm.cpp, cases_batch_norm.cpp), for inputs of
// magnitude up to 3: float32 outputs rtol 1e-5 and atol 1e-5 times their scale (observed: the
// CPU's float32 partial sums move the statistics by about 1e-7, y and dx by at most 1e-6),
// float64 outputs rtol and atol 1e-12 (observed: 1e-15); dgamma and dbeta, sums of n terms,
// with atol times sqrt(n) (observed, float32: up to 9e-6 for n = 200).
// Launch geometry depends only on the shapes, never on the device, and there are no floating
// atomics: results are the same on every run.
//
// Sums over rows per column (layer norm's dgamma and dbeta, batch norm's channel statistics)
// run in two stages through DeviceScratch (channel_sums). The first stage writes float64
// partial sums: column_partials gives each block 32 adjacent columns (coalesced loads; rows of
// fewer columns, several rows per warp) and a chunk of rows, its 8 warps taking every 8th row
// and the results added in warp order, one partial per (chunk, column); where a channel is a
// run of 32 or more adjacent values (NCHW), segment_partials sums each (row, channel) run, in
// pieces of up to 4096 values, in a row group instead, one partial per (row, piece, channel). The
// second stage adds each channel's partials in a fixed order and hands the totals to the family's
// finishing step: a thread per channel (column_finish) when they form one column of at most 256
// values, else a block per channel (channel_finish).

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

/// Rows per chunk of column_partials: at least 64 per row of its lanes (8 per warp), and at most
/// 1024 chunks.
struct Chunks {
  int64_t per;
  int64_t count;
};

inline Chunks chunks_of(int64_t rows, int64_t cols) {
  const int64_t lane_rows = cols < 32 ? 32 / cols : 1;  // column_partials's rows per warp step
  const int64_t per = std::max<int64_t>(64 * lane_rows, (rows + 1023) / 1024);
  return {per, (rows + per - 1) / per};
}

/// partial[(chunk * N + i) * cols + j] = sum over the rows r of the chunk of term(r, j, c)[i],
/// c = j / q the channel of column j
/// (Note [CUDA normalisation sums]). Blocks of (32, 8) threads; grid (column tiles, chunks). A
/// tile is 32 columns; narrower rows (cols < 32) are one tile whose warps take 32 / cols rows a
/// step, lane l column l % cols of row l / cols, so a warp still reads adjacent values.
template <class Term>
__global__ void __launch_bounds__(256) column_partials(Term term, int64_t rows, int64_t cols,
                                                       int64_t q, int64_t per, double* partial) {
  constexpr int N = Term::kSums;
  __shared__ double tile[8][N][32];
  const int span = cols < 32 ? static_cast<int>(cols) : 32;  // columns of the tile
  const int lane_rows = 32 / span;
  const int lane = threadIdx.x, col = lane % span, sub = lane / span;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * span + col;
  const int64_t chunk = blockIdx.y;
  const int64_t r0 = chunk * per, r1 = std::min(rows, r0 + per);
  double acc[N] = {};
  if (j < cols && sub < lane_rows) {
    const int64_t step = 8 * lane_rows, c = q == 1 ? j : j / q;
    for (int64_t r = r0 + threadIdx.y * lane_rows + sub; r < r1; r += step) term(r, j, c, acc);
  }
  for (int i = 0; i < N; ++i) tile[threadIdx.y][i][lane] = acc[i];
  __syncthreads();
  if (threadIdx.y == 0 && lane < span && j < cols) {
    for (int i = 0; i < N; ++i) {
      double s = tile[0][i][lane];
      for (int w = 0; w < 8; ++w) {
        for (int k = w == 0 ? 1 : 0; k < lane_rows; ++k) s += tile[w][i][k * span + lane];
      }
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

/// Values of a channel's run per unit of segment_partials.
constexpr int64_t kRunPiece = 4096;

/// partial[((r * pieces + k) * N + i) * channels + c] = the sum of term(r, c * q + v, c)[i] over
/// the k-th piece of kRunPiece values v of the run of q values of row r and channel c: a row
/// group (row_geometry) per piece, so that long runs over few rows and channels still fill the
/// device.
template <class Term>
__global__ void __launch_bounds__(256)
    segment_partials(Term term, int64_t units, int64_t channels, int64_t q, int64_t pieces,
                     double* partial) {
  constexpr int N = Term::kSums;
  for (int64_t u = first_row(); u < units; u += row_step()) {
    const int64_t rp = u / channels, c = u % channels;  // rp = r * pieces + k
    const int64_t begin = (rp % pieces) * kRunPiece;
    const int64_t end = begin + kRunPiece < q ? begin + kRunPiece : q;
    const int64_t r = rp / pieces;
    double acc[N] = {};
    for (int64_t v = begin + threadIdx.x; v < end; v += blockDim.x) term(r, c * q + v, c, acc);
    group_sum<N>(acc);
    if (threadIdx.x == 0) {
      for (int i = 0; i < N; ++i) partial[(rp * N + i) * channels + c] = acc[i];
    }
  }
}

/// Per-channel sums of term over rows x (channels * q) columns, finished by `finish`: the two
/// stages of Note [CUDA normalisation sums]. With rows == 0 (or `skip`) finish sees zeros.
template <class Term, class Finish>
void channel_sums(const char* op, Term term, Finish finish, int64_t rows, int64_t channels,
                  int64_t q, bool skip = false) {
  constexpr int N = Term::kSums;
  const int64_t cols = channels * q;
  const bool empty = skip || cols == 0 || rows == 0;
  // Channels of 32 or more adjacent values are summed a segment at a time (NCHW batch norm);
  // the partials are then one column per channel and one row per row of x.
  const bool segments = q >= 32;
  const int64_t pieces = segments ? (q + kRunPiece - 1) / kRunPiece : 1;
  const Chunks ch = empty      ? Chunks{1, 0}
                    : segments ? Chunks{1, rows * pieces}
                               : chunks_of(rows, cols);
  const int64_t pcols = segments ? channels : cols, pq = segments ? 1 : q;
  DeviceScratch partial(static_cast<size_t>(ch.count * N * pcols) * sizeof(double), op);
  if (ch.count > 0 && segments) {
    const int64_t units = rows * pieces * channels;
    const RowGeometry g = row_geometry(units, std::min(q, kRunPiece));
    launch(op, &segment_partials<Term>, g.grid, g.block, 0, term, units, channels, q, pieces,
           partial.as<double>());
  } else if (ch.count > 0) {
    launch(op, &column_partials<Term>,
           dim3(static_cast<unsigned>(cols < 32 ? 1 : (cols + 31) / 32),
                static_cast<unsigned>(ch.count)),
           dim3(32, 8), 0, term, rows, cols, q, ch.per, partial.as<double>());
  }
  if (pq == 1 && ch.count <= 256) {
    launch(op, &column_finish<N, Finish>, dim3(blocks_for(channels, kThreads)), dim3(kThreads), 0,
           finish, partial.as<double>(), channels, ch.count);
    return;
  }
  const int64_t threads = std::clamp<int64_t>((ch.count * pq + 31) / 32 * 32, 32, kThreads);
  launch(op, &channel_finish<N, Finish>,
         dim3(static_cast<unsigned>(std::min<int64_t>(channels, kMaxBlocks))),
         dim3(static_cast<unsigned>(threads)), 0, finish, partial.as<double>(), channels, pq,
         ch.count, pcols);
}

}  // namespace
}  // namespace corten::cuda
