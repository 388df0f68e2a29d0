// CUDA data-movement kernels with the CPU kernels' signatures (csrc/cpu/copy.h): copy, tile,
// pad and pad_backward. Pointers are device pointers; `value` of pad points at one element in
// device memory. Callers have validated every argument.
//
// Elements move as unsigned words of their size (1, 2, 4 or 8 bytes; any other size as a
// trailing dimension of bytes, as the CPU kernel does), so every result is a bit copy and equal
// to the CPU's. Each kernel is one grid-stride pass over its output, one thread per element:
// - copy: contiguous to contiguous moves 16-byte packs when both pointers are aligned (a
//   broadcast scalar is stored in packs too); other strides decode the offsets of both operands
//   from the linear index over the merged dimensions (Indexer);
// - tile and pad: each output element finds its source from its coordinates (the tile's
//   position modulo the input's size; pad's mirror image or the constant), in one pass, where
//   the CPU kernel copies block by block; the output is written in order, so the stores are
//   coalesced, and in 16-byte packs when the innermost dimension is contiguous and its extents
//   are multiples of a pack (pad: Constant mode);
// - pad_backward: Note [CUDA pad_backward order].

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "cpu/copy.h"
#include "cuda/common.cuh"

namespace corten::cuda {
namespace {

// ---- copy --------------------------------------------------------------------------------

enum class Layout : int { Dense, DenseVector, Strided };

template <class U>
constexpr int kVec = static_cast<int>(16 / sizeof(U));

// dst[i] = src[i * src_step] for contiguous dst (Dense, DenseVector), or through the Indexer.
template <class U>
__global__ void __launch_bounds__(kThreads)
    copy_kernel(Layout layout, const U* __restrict__ src, int64_t src_step, Indexer<2> ix,
                U* __restrict__ dst, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (layout == Layout::Strided) {
    for (int64_t i = first; i < n; i += stride) {
      int64_t off[2];
      ix.offsets(i, off);
      dst[off[1]] = src[off[0]];
    }
    return;
  }
  int64_t start = 0;
  if (layout == Layout::DenseVector) {
    constexpr int V = kVec<U>;
    const int64_t packs = n / V;
    Pack<U, V> fill;
    if (src_step == 0) {
      for (int j = 0; j < V; ++j) fill.v[j] = src[0];
    }
    for (int64_t p = first; p < packs; p += stride) {
      store_pack<U, V>(dst + p * V, src_step ? load_pack<U, V>(src + p * V) : fill);
    }
    start = packs * V;
  }
  for (int64_t i = start + first; i < n; i += stride) dst[i] = src[i * src_step];
}

template <class U>
void copy_typed(const Shape& shape, const void* src_, const Shape& ss, void* dst_,
                const Shape& ds) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const U* src = static_cast<const U*>(src_);
  U* dst = static_cast<U*>(dst_);
  constexpr int V = kVec<U>;
  const int dsrc = dense_stride(shape, ss), ddst = dense_stride(shape, ds);
  Indexer<2> ix{};
  Layout layout = Layout::Strided;
  if (dsrc >= 0 && ddst == 1) {
    const bool aligned = (dsrc == 0 || aligned_to(src, sizeof(Pack<U, V>))) &&
                         aligned_to(dst, sizeof(Pack<U, V>)) && n >= V;
    layout = aligned && V > 1 ? Layout::DenseVector : Layout::Dense;
  } else {
    ix = make_indexer<2>("copy", shape, {&ss, &ds}, all_dims(shape.size()));
  }
  const int64_t items = layout == Layout::DenseVector ? n / V : n;
  launch("copy", &copy_kernel<U>, dim3(blocks_for(items, kThreads)), dim3(kThreads), 0, layout, src,
         static_cast<int64_t>(dsrc > 0 ? 1 : 0), ix, dst, n);
}

// Calls fn(TypeTag<U>{}, bytes) with U the unsigned word of `itemsize` bytes, bytes = false; for
// other sizes U is uint8_t and bytes = true: the caller adds a trailing dimension of `itemsize`
// bytes (with_bytes, as_bytes), as the CPU kernel does.
template <class Fn>
void visit_word(size_t itemsize, Fn&& fn) {
  switch (itemsize) {
    case 1:
      return fn(TypeTag<uint8_t>{}, false);
    case 2:
      return fn(TypeTag<uint16_t>{}, false);
    case 4:
      return fn(TypeTag<uint32_t>{}, false);
    case 8:
      return fn(TypeTag<uint64_t>{}, false);
    default:
      return fn(TypeTag<uint8_t>{}, true);
  }
}

// `strides` in bytes with a trailing dimension of `itemsize` bytes (stride 1).
Shape as_bytes(const Shape& strides, size_t itemsize) {
  Shape s = strides;
  for (auto& v : s) v *= static_cast<int64_t>(itemsize);
  s.push_back(1);
  return s;
}
Shape with_bytes(const Shape& shape, size_t itemsize) {
  Shape s = shape;
  s.push_back(static_cast<int64_t>(itemsize));
  return s;
}

// ---- tile --------------------------------------------------------------------------------

// Output dimensions (C order) with the input's size and stride along each: output coordinate j
// reads input coordinate j % src_size.
struct TileGeometry {
  int ndim;
  int64_t out_size[kMaxDims];
  int64_t src_size[kMaxDims];
  int64_t src_stride[kMaxDims];
};

// V > 1: each thread moves V consecutive elements as one pack (tile_packs: they never straddle
// a period of the input and lie consecutively, aligned, in both buffers).
template <class U, int V>
__global__ void __launch_bounds__(kThreads)
    tile_kernel(TileGeometry g, const U* __restrict__ x, U* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < n / V;
       p += stride) {
    const int64_t i = p * V;
    int64_t linear = i, off = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t j = linear % g.out_size[d];
      linear /= g.out_size[d];
      off += (j % g.src_size[d]) * g.src_stride[d];
    }
    if constexpr (V == 1) {
      out[i] = x[off];
    } else {
      store_pack<U, V>(out + i, load_pack<U, V>(x + off));
    }
  }
}

[[noreturn]] void too_many_dims(const char* op, const Shape& shape) {
  throw ValueError(std::string(op) + ": the CUDA kernel takes at most " + std::to_string(kMaxDims) +
                   " dimensions that cannot be merged; got shape=" + shape_str(shape));
}

// Drops dimensions of output size 1 and merges an untiled dimension into the one before it when
// the input steps through both uniformly (the merged coordinate modulo the merged input size
// is then the input's merged coordinate).
TileGeometry tile_geometry(const Shape& shape, const Shape& strides,
                           const std::vector<int64_t>& multiples) {
  TileGeometry g{};
  g.ndim = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t out = shape[d] * multiples[d];
    if (out == 1) continue;
    if (g.ndim > 0 && multiples[d] == 1 && g.src_stride[g.ndim - 1] == strides[d] * shape[d]) {
      const int last = g.ndim - 1;
      g.out_size[last] *= shape[d];
      g.src_size[last] *= shape[d];
      g.src_stride[last] = strides[d];
      continue;
    }
    if (g.ndim == kMaxDims) too_many_dims("tile", shape);
    g.out_size[g.ndim] = out;
    g.src_size[g.ndim] = shape[d];
    g.src_stride[g.ndim] = strides[d];
    ++g.ndim;
  }
  return g;
}

// ---- pad ---------------------------------------------------------------------------------

// Output dimensions (C order): output coordinate j is input coordinate j - before when that
// lies in [0, size), else the constant or the mirror image.
struct PadGeometry {
  int ndim;
  int64_t out_size[kMaxDims];
  int64_t size[kMaxDims];
  int64_t before[kMaxDims];
  int64_t src_stride[kMaxDims];
};

// V > 1 (Constant mode only): each thread writes V consecutive elements as one pack, all inside
// or all padding (pad_packs).
template <class U, int V>
__global__ void __launch_bounds__(kThreads)
    pad_kernel(PadGeometry g, PadMode mode, const U* __restrict__ x, const U* __restrict__ value,
               int64_t value_words, U* __restrict__ out, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < n / V;
       p += stride) {
    const int64_t i = p * V;
    int64_t linear = i, off = 0;
    bool inside = true;
    for (int d = g.ndim - 1; d >= 0; --d) {
      int64_t t = linear % g.out_size[d] - g.before[d];
      linear /= g.out_size[d];
      const int64_t size = g.size[d];
      if (t < 0 || t >= size) {
        // Reflect mirrors about the edge element, Symmetric about the edge itself; one mirror
        // lands inside because paddings are below (at most) the size.
        if (mode == PadMode::Reflect) {
          t = t < 0 ? -t : 2 * (size - 1) - t;
        } else if (mode == PadMode::Symmetric) {
          t = t < 0 ? -t - 1 : 2 * size - 1 - t;
        } else {
          inside = false;
        }
      }
      off += t * g.src_stride[d];
    }
    if constexpr (V == 1) {
      out[i] = inside ? x[off] : value[i % value_words];
    } else {
      Pack<U, V> r;
      if (inside) {
        r = load_pack<U, V>(x + off);
      } else {
        for (int j = 0; j < V; ++j) r.v[j] = value[0];
      }
      store_pack<U, V>(out + i, r);
    }
  }
}

// Drops dimensions of size 1 without padding and merges an unpadded dimension into the one
// before it when the input steps through both uniformly and no mirror crosses them (the one
// before is unpadded too, or the mode is Constant).
PadGeometry pad_geometry(const Shape& shape, const Shape& strides,
                         const std::vector<std::pair<int64_t, int64_t>>& paddings, PadMode mode) {
  PadGeometry g{};
  g.ndim = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    const auto [before, after] = paddings[d];
    const bool unpadded = before == 0 && after == 0;
    if (unpadded && shape[d] == 1) continue;
    if (g.ndim > 0 && unpadded) {
      const int last = g.ndim - 1;
      const bool last_unpadded = g.out_size[last] == g.size[last];
      if ((last_unpadded || mode == PadMode::Constant) &&
          g.src_stride[last] == strides[d] * shape[d]) {
        g.out_size[last] *= shape[d];
        g.size[last] *= shape[d];
        g.before[last] *= shape[d];
        g.src_stride[last] = strides[d];
        continue;
      }
    }
    if (g.ndim == kMaxDims) too_many_dims("pad", shape);
    g.out_size[g.ndim] = shape[d] + before + after;
    g.size[g.ndim] = shape[d];
    g.before[g.ndim] = before;
    g.src_stride[g.ndim] = strides[d];
    ++g.ndim;
  }
  return g;
}

// Whether the outputs of tile and pad can be written in packs of kVec<U>: the innermost
// dimension steps through the input contiguously, every other input stride and the innermost
// extents (`inner`, all multiples of the pack) keep a pack within one run of the input, and
// both buffers are 16-byte aligned.
bool packs_fit(int ndim, const int64_t* src_stride, std::initializer_list<int64_t> inner,
               int64_t vec, const void* x, const void* out) {
  if (vec == 1 || ndim == 0 || src_stride[ndim - 1] != 1) return false;
  if (!aligned_to(x, 16) || !aligned_to(out, 16)) return false;
  for (int d = 0; d + 1 < ndim; ++d) {
    if (src_stride[d] % vec != 0) return false;
  }
  for (const int64_t e : inner) {
    if (e % vec != 0) return false;
  }
  return true;
}

// ---- pad_backward ------------------------------------------------------------------------

// Note [CUDA pad_backward order]
// The CPU kernel folds the mirrored padding back axis by axis, last axis first: while axis d is
// folded, axes before it span the whole padded extent and axes after it the interior, and each
// interior position along d first adds the element that mirrors it into the `before` padding,
// then the one in the `after` padding. Here each folded axis is one pass over the same region,
// one thread per interior position computing (w + w_before) + w_after in that order, so every
// sum is the CPU's, bit for bit. Within a pass the mirrored sources lie in the padding of axis
// d, which the pass never writes, so its threads are independent. The last pass (the first
// padded axis) covers exactly the interior and writes dx instead of work; without a mirror mode
// or padding there is one pass that copies the interior.
struct FoldGeometry {
  int ndim;
  int64_t size[kMaxDims];    // of the region
  int64_t origin[kMaxDims];  // its first coordinate in work
  int64_t stride[kMaxDims];  // work's strides
};

template <class T>
__global__ void __launch_bounds__(kThreads)
    fold_kernel(FoldGeometry g, int axis, int64_t before, int64_t after, int64_t size,
                int64_t shift, T* __restrict__ work, T* __restrict__ dx, int64_t n) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t linear = i, off = 0, t = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t c = linear % g.size[d];
      linear /= g.size[d];
      off += (g.origin[d] + c) * g.stride[d];
      if (d == axis) t = c;
    }
    T acc = work[off];
    if (axis >= 0) {
      const int64_t ws = g.stride[axis];
      const int64_t jb = t - shift;  // position in the before padding that mirrors t
      if (jb >= 0 && jb < before) acc += work[off + (-1 - jb - t) * ws];
      const int64_t ja = size - 1 - shift - t;  // and in the after padding
      if (ja >= 0 && ja < after) acc += work[off + (size + ja - t) * ws];
    }
    if (dx) {
      dx[i] = acc;
    } else {
      work[off] = acc;
    }
  }
}

template <class T>
void pad_backward_typed(const Shape& shape,
                        const std::vector<std::pair<int64_t, int64_t>>& paddings, PadMode mode,
                        T* work, const Shape& ws, T* dx) {
  const int n = static_cast<int>(shape.size());
  if (n > kMaxDims) too_many_dims("pad_backward", shape);
  FoldGeometry g{};
  g.ndim = n;
  for (int a = 0; a < n; ++a) {
    g.size[a] = shape[a] + paddings[a].first + paddings[a].second;
    g.origin[a] = 0;
    g.stride[a] = ws[a];
  }
  int first_padded = n;  // the last pass
  if (mode != PadMode::Constant) {
    for (int a = 0; a < n && first_padded == n; ++a) {
      if (paddings[a].first > 0 || paddings[a].second > 0) first_padded = a;
    }
  }
  const int64_t shift = mode == PadMode::Reflect ? 1 : 0;
  for (int d = n - 1; d >= 0; --d) {
    // Axes after d: the interior; axis d: the interior; axes before d: the padded extent.
    g.size[d] = shape[d];
    g.origin[d] = paddings[d].first;
    if (d > first_padded && (paddings[d].first > 0 || paddings[d].second > 0)) {
      const int64_t count = shape_numel(Shape(g.size, g.size + n));
      launch("pad_backward", &fold_kernel<T>, dim3(blocks_for(count, kThreads)), dim3(kThreads), 0,
             g, d, paddings[d].first, paddings[d].second, shape[d], shift, work,
             static_cast<T*>(nullptr), count);
    }
  }
  // The region is now the interior: the last fold (or a plain copy) writes dx.
  const int64_t count = shape_numel(shape);
  const int axis = first_padded < n ? first_padded : -1;
  const int64_t before = axis >= 0 ? paddings[axis].first : 0;
  const int64_t after = axis >= 0 ? paddings[axis].second : 0;
  const int64_t size = axis >= 0 ? shape[axis] : 0;
  launch("pad_backward", &fold_kernel<T>, dim3(blocks_for(count, kThreads)), dim3(kThreads), 0, g,
         axis, before, after, size, shift, work, dx, count);
}

}  // namespace

void copy(size_t itemsize, const Shape& shape, const void* src, const Shape& src_strides, void* dst,
          const Shape& dst_strides) {
  visit_word(itemsize, [&](auto tag, bool bytes) {
    using U = typename decltype(tag)::type;
    if (bytes) {
      copy_typed<U>(with_bytes(shape, itemsize), src, as_bytes(src_strides, itemsize), dst,
                    as_bytes(dst_strides, itemsize));
    } else {
      copy_typed<U>(shape, src, src_strides, dst, dst_strides);
    }
  });
}

void tile(size_t itemsize, const Shape& shape, const void* x, const Shape& x_strides,
          const std::vector<int64_t>& multiples, void* out) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) n *= shape[d] * multiples[d];
  if (n == 0) return;
  visit_word(itemsize, [&](auto tag, bool bytes) {
    using U = typename decltype(tag)::type;
    TileGeometry g{};
    if (bytes) {
      std::vector<int64_t> m = multiples;
      m.push_back(1);
      g = tile_geometry(with_bytes(shape, itemsize), as_bytes(x_strides, itemsize), m);
      n *= static_cast<int64_t>(itemsize);
    } else {
      g = tile_geometry(shape, x_strides, multiples);
    }
    constexpr int V = kVec<U>;
    const int l = g.ndim - 1;
    if (packs_fit(g.ndim, g.src_stride, {l >= 0 ? g.src_size[l] : 1}, V, x, out)) {
      launch("tile", &tile_kernel<U, V>, dim3(blocks_for(n / V, kThreads)), dim3(kThreads), 0, g,
             static_cast<const U*>(x), static_cast<U*>(out), n);
    } else {
      launch("tile", &tile_kernel<U, 1>, dim3(blocks_for(n, kThreads)), dim3(kThreads), 0, g,
             static_cast<const U*>(x), static_cast<U*>(out), n);
    }
  });
}

void pad(size_t itemsize, const Shape& shape, const void* x, const Shape& x_strides,
         const std::vector<std::pair<int64_t, int64_t>>& paddings, PadMode mode, const void* value,
         void* out) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) n *= shape[d] + paddings[d].first + paddings[d].second;
  if (n == 0) return;
  visit_word(itemsize, [&](auto tag, bool bytes) {
    using U = typename decltype(tag)::type;
    PadGeometry g{};
    int64_t value_words = 1;  // the constant's words: the bytes of an element of odd size
    if (bytes) {
      value_words = static_cast<int64_t>(itemsize);
      auto p = paddings;
      p.emplace_back(0, 0);
      g = pad_geometry(with_bytes(shape, itemsize), as_bytes(x_strides, itemsize), p, mode);
      n *= static_cast<int64_t>(itemsize);
    } else {
      g = pad_geometry(shape, x_strides, paddings, mode);
    }
    constexpr int V = kVec<U>;
    const int l = g.ndim - 1;
    if (mode == PadMode::Constant && value_words == 1 &&
        packs_fit(g.ndim, g.src_stride,
                  {l >= 0 ? g.size[l] : 1, l >= 0 ? g.before[l] : 1, l >= 0 ? g.out_size[l] : 1}, V,
                  x, out)) {
      launch("pad", &pad_kernel<U, V>, dim3(blocks_for(n / V, kThreads)), dim3(kThreads), 0, g,
             mode, static_cast<const U*>(x), static_cast<const U*>(value), value_words,
             static_cast<U*>(out), n);
    } else {
      launch("pad", &pad_kernel<U, 1>, dim3(blocks_for(n, kThreads)), dim3(kThreads), 0, g, mode,
             static_cast<const U*>(x), static_cast<const U*>(value), value_words,
             static_cast<U*>(out), n);
    }
  });
}

void pad_backward(DType dtype, const Shape& shape,
                  const std::vector<std::pair<int64_t, int64_t>>& paddings, PadMode mode,
                  void* work, const Shape& work_strides, void* dx) {
  if (shape_numel(shape) == 0) return;
  visit_floating(dtype, "pad_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    pad_backward_typed(shape, paddings, mode, static_cast<T*>(work), work_strides,
                       static_cast<T*>(dx));
  });
}

}  // namespace corten::cuda
