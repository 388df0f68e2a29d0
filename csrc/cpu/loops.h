#pragma once
// Strided n-d iteration shared by the CPU kernels. Kernels take raw pointers and element
// strides; this header walks an n-d index space row by row (the innermost dimension is the row)
// and splits it across the thread pool by element count.

#include <corten/parallel.h>
#include <corten/shape.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace corten::cpu {

/// 1 when `strides` are the C-order strides of `shape` (size-1 dimensions ignored), 0 when they
/// are all 0 (a broadcast scalar), -1 otherwise: the elementwise kernels' dense fast path (CPU
/// and CUDA).
inline int dense_stride(const Shape& shape, const Shape& strides) {
  int64_t expected = 1;
  bool zero = true, contiguous = true;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 1) continue;
    zero &= strides[d] == 0;
    contiguous &= strides[d] == expected;
    expected *= shape[d];
  }
  return contiguous ? 1 : (zero ? 0 : -1);
}

// Note [Coalesced iteration]
// Size-1 dimensions are dropped and adjacent dimensions merged when every operand's strides
// allow it (stride[d] == stride[d+1] * shape[d+1]), so a contiguous or broadcast-scalar operand
// turns into one long row and the row kernels see unit (or zero) strides as often as possible.
template <size_t N>
struct Geometry {
  Shape shape;
  std::array<Shape, N> strides;
};

template <size_t N>
Geometry<N> coalesce(const Shape& shape, const std::array<const Shape*, N>& strides) {
  Geometry<N> g;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    g.shape.push_back(shape[d]);
    for (size_t k = 0; k < N; ++k) g.strides[k].push_back((*strides[k])[d]);
  }
  // Merge from the inside out.
  size_t out = g.shape.size();
  if (out >= 2) {
    Geometry<N> m;
    m.shape.push_back(g.shape.back());
    for (size_t k = 0; k < N; ++k) m.strides[k].push_back(g.strides[k].back());
    for (size_t d = out - 1; d-- > 0;) {
      bool mergeable = true;
      for (size_t k = 0; k < N; ++k)
        mergeable &= g.strides[k][d] == m.strides[k].back() * m.shape.back();
      if (mergeable) {
        m.shape.back() *= g.shape[d];
      } else {
        m.shape.push_back(g.shape[d]);
        for (size_t k = 0; k < N; ++k) m.strides[k].push_back(g.strides[k][d]);
      }
    }
    std::reverse(m.shape.begin(), m.shape.end());
    for (size_t k = 0; k < N; ++k) std::reverse(m.strides[k].begin(), m.strides[k].end());
    return m;
  }
  return g;
}

// Calls row(offsets, n, inner_strides) for every row piece, where offsets[k] is operand k's
// element offset of the piece's first element. Work is split across threads in chunks of at
// least `grain` elements; a chunk may start or end inside a row.
template <size_t N, typename RowFn>
void for_each_row(const Shape& shape, const std::array<const Shape*, N>& strides, int64_t grain,
                  const RowFn& row) {
  const Geometry<N> g = coalesce<N>(shape, strides);
  int64_t numel = 1;
  for (int64_t d : g.shape) numel *= d;
  if (numel == 0) return;
  const size_t nd = g.shape.size();
  std::array<int64_t, N> inner{};
  if (nd == 0) {
    row(std::array<int64_t, N>{}, int64_t{1}, inner);
    return;
  }
  for (size_t k = 0; k < N; ++k) inner[k] = g.strides[k][nd - 1];
  const int64_t row_len = g.shape[nd - 1];
  parallel_for(0, numel, grain, [&](int64_t begin, int64_t end) {
    int64_t idx[64];  // ranks above 64 are rejected by the op entry points
    std::array<int64_t, N> off{};
    int64_t rem = begin;
    for (size_t d = nd; d-- > 0;) {
      idx[d] = rem % g.shape[d];
      rem /= g.shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += idx[d] * g.strides[k][d];
    }
    int64_t pos = begin;
    while (pos < end) {
      const int64_t n = std::min(row_len - idx[nd - 1], end - pos);
      row(off, n, inner);
      pos += n;
      idx[nd - 1] += n;
      for (size_t k = 0; k < N; ++k) off[k] += n * inner[k];
      for (size_t d = nd - 1; d > 0 && idx[d] == g.shape[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (size_t k = 0; k < N; ++k)
          off[k] += g.strides[k][d - 1] - g.shape[d] * g.strides[k][d];
      }
    }
  });
}

// Grain sizes (elements per chunk) below which work stays on the calling thread.
constexpr int64_t kGrainCheap = 32768;   // add, multiply, copy
constexpr int64_t kGrainCostly = 4096;   // exp, tanh, pow

}  // namespace corten::cpu
