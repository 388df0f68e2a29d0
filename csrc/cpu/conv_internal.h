#pragma once
// Pieces shared by the convolution kernels (cpu/conv.cpp: forward and dx; cpu/conv_filter.cpp:
// dw): geometry helpers, patch gathering and the padded images of the implicit kernels.
// Internal to those files.

#include <corten/half.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/conv.h"
#include "cpu/conv_direct.h"
#include "cpu/elementwise.h"
#include "cpu/isa_table.h"

namespace corten::cpu::conv_internal {

// Input channels per group from which the forward runs as a batch-reduce GEMM over the
// kernel taps (Note [Convolution algorithm]); fewer give micro-kernel calls too short.
constexpr int64_t kImplicitMinChannels = 16;

template <class T>
constexpr DType dtype_of() {
  return std::is_same_v<T, float> ? DType::Float32 : DType::Float64;
}

// rows x cols (contiguous) = act(rows + bias).
template <class T>
void bias_act_rows(T* p, int64_t rows, int64_t cols, const T* bias, Activation act) {
  const UnaryRowFn fn = activation_row(act, dtype_of<T>());
  if (!bias && !fn) return;
  for (int64_t r = 0; r < rows; ++r) {
    T* row = p + r * cols;
    if (bias)
      for (int64_t j = 0; j < cols; ++j) row[j] += bias[j];
    if (fn) fn(row, 1, row, cols, 0.0);
  }
}

struct Sizes {
  int64_t in_px, out_px, cg, fg, kk, kdim;  // kk taps, kdim = kk * cg
};

inline Sizes sizes_of(const ConvGeom& g) {
  Sizes s;
  s.in_px = g.in[0] * g.in[1] * g.in[2];
  s.out_px = g.out[0] * g.out[1] * g.out[2];
  s.cg = g.c / g.groups;
  s.fg = g.f / g.groups;
  s.kk = g.k[0] * g.k[1] * g.k[2];
  s.kdim = s.kk * s.cg;
  return s;
}

inline bool pointwise(const ConvGeom& g) {
  for (int i = 0; i < 3; ++i)
    if (g.k[i] != 1 || g.stride[i] != 1 || g.pad[i] != 0 || g.in[i] != g.out[i]) return false;
  return g.groups == 1;
}

// Calls fn(tap, input_pixel) for each tap of output pixel q (row-major taps), with
// input_pixel = -1 where the tap falls in the padding.
template <class F>
inline void for_each_tap(const ConvGeom& g, int64_t q, const F& fn) {
  const int64_t o2 = q % g.out[2], o1 = q / g.out[2] % g.out[1], o0 = q / (g.out[2] * g.out[1]);
  int64_t tap = 0;
  for (int64_t a = 0; a < g.k[0]; ++a) {
    const int64_t i0 = o0 * g.stride[0] - g.pad[0] + a * g.dil[0];
    const bool v0 = i0 >= 0 && i0 < g.in[0];
    for (int64_t b = 0; b < g.k[1]; ++b) {
      const int64_t i1 = o1 * g.stride[1] - g.pad[1] + b * g.dil[1];
      const bool v1 = v0 && i1 >= 0 && i1 < g.in[1];
      for (int64_t c = 0; c < g.k[2]; ++c, ++tap) {
        const int64_t i2 = o2 * g.stride[2] - g.pad[2] + c * g.dil[2];
        const bool v = v1 && i2 >= 0 && i2 < g.in[2];
        fn(tap, v ? (i0 * g.in[1] + i1) * g.in[2] + i2 : int64_t{-1});
      }
    }
  }
}

// Calls fn(row, b, o0, o1, ow0, run) for the runs of output pixels of rows [r0, r1) that
// share an output row (image b, o0, o1): pixels ow0 .. ow0 + run - 1, the first being row `row`.
template <class F>
inline void for_each_run(const ConvGeom& g, const Sizes& s, int64_t r0, int64_t r1,
                         const F& fn) {
  for (int64_t r = r0; r < r1;) {
    const int64_t b = r / s.out_px, q = r % s.out_px;
    const int64_t ow0 = q % g.out[2], o1 = q / g.out[2] % g.out[1];
    const int64_t o0 = q / (g.out[2] * g.out[1]);
    const int64_t run = std::min(g.out[2] - ow0, r1 - r);
    fn(r, b, o0, o1, ow0, run);
    r += run;
  }
}

// Calls fn(tap, input_row) for the taps of output row (o0, o1): input_row points at the start
// of the input row (i0, i1) of image xb, or is null where the tap row is in the padding.
template <class T, class F>
inline void for_each_tap_row(const ConvGeom& g, const T* xb, int64_t o0, int64_t o1,
                             const F& fn) {
  int64_t tap = 0;
  for (int64_t a = 0; a < g.k[0]; ++a) {
    const int64_t i0 = o0 * g.stride[0] - g.pad[0] + a * g.dil[0];
    for (int64_t b = 0; b < g.k[1]; ++b) {
      const int64_t i1 = o1 * g.stride[1] - g.pad[1] + b * g.dil[1];
      const bool valid = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1];
      const T* row = valid ? xb + (i0 * g.in[1] + i1) * g.in[2] * g.c : nullptr;
      for (int64_t c = 0; c < g.k[2]; ++c, ++tap) fn(tap, c, row);
    }
  }
}

// Calls fn(xi, wi, yi) for every product x[xi] * w[wi] of the convolution that adds into
// y[yi] (taps in the zero padding skipped): the definition the reference kernels share.
template <class F>
void for_each_product(const ConvGeom& g, const F& fn) {
  const Sizes s = sizes_of(g);
  for (int64_t b = 0; b < g.n; ++b) {
    for (int64_t q = 0; q < s.out_px; ++q) {
      for_each_tap(g, q, [&](int64_t tap, int64_t px) {
        if (px < 0) return;
        for (int64_t j = 0; j < g.f; ++j) {
          const int64_t grp = j / s.fg;
          for (int64_t i = 0; i < s.cg; ++i)
            fn((b * s.in_px + px) * g.c + grp * s.cg + i, (tap * s.cg + i) * g.f + j,
               (b * s.out_px + q) * g.f + j);
        }
      });
    }
  }
}

// The output pixels [lo, hi) of a run starting at ow0 whose tap column c is inside the input.
inline void valid_span(const ConvGeom& g, int64_t ow0, int64_t run, int64_t c, int64_t* lo,
                       int64_t* hi) {
  // iw = ow * stride - pad + c * dil must lie in [0, in).
  const int64_t off = c * g.dil[2] - g.pad[2], st = g.stride[2];
  int64_t first = off >= 0 ? 0 : (-off + st - 1) / st;
  int64_t last = g.in[2] - off <= 0 ? 0 : (g.in[2] - off + st - 1) / st;  // exclusive
  first = std::max(first, ow0);
  last = std::min(last, ow0 + run);
  *lo = std::min(first, ow0 + run) - ow0;
  *hi = std::max(last, first) - ow0;
}

// cols (rows [r0, r1) of the patch matrix, row-major, kdim values a row, rows ld apart; an ld >
// kdim leaves the columns past kdim as they were) for group grp.
template <class T>
void im2col(const ConvGeom& g, const Sizes& s, const T* x, int64_t grp, int64_t r0, int64_t r1,
            T* cols, int64_t ld = 0) {
  const int64_t cg = s.cg, rs = ld > 0 ? ld : s.kdim, c_all = g.c, st = g.stride[2];
  for_each_run(g, s, r0, r1, [&](int64_t r, int64_t b, int64_t o0, int64_t o1, int64_t ow0,
                                 int64_t run) {
    const T* xb = x + b * s.in_px * g.c + grp * cg;
    T* base = cols + (r - r0) * rs;
    for_each_tap_row(g, xb, o0, o1, [&](int64_t tap, int64_t c, const T* row) {
      T* d = base + tap * cg;
      int64_t lo = 0, hi = 0;
      if (row) valid_span(g, ow0, run, c, &lo, &hi);
      for (int64_t j = 0; j < lo; ++j) std::fill(d + j * rs, d + j * rs + cg, T{});
      if (hi > lo) {
        const T* src = row + ((ow0 + lo) * st - g.pad[2] + c * g.dil[2]) * c_all;
        const int64_t step = st * c_all;
        T* dd = d + lo * rs;
        if (cg == 1) {
          for (int64_t j = lo; j < hi; ++j, dd += rs, src += step) dd[0] = src[0];
        } else if (cg == 3) {
          for (int64_t j = lo; j < hi; ++j, dd += rs, src += step) {
            dd[0] = src[0];
            dd[1] = src[1];
            dd[2] = src[2];
          }
        } else {
          const size_t bytes = static_cast<size_t>(cg) * sizeof(T);
          for (int64_t j = lo; j < hi; ++j, dd += rs, src += step) std::memcpy(dd, src, bytes);
        }
      }
      for (int64_t j = std::max(hi, lo); j < run; ++j)
        std::fill(d + j * rs, d + j * rs + cg, T{});
    });
  });
}

// Patch values per forward / dx tile: the tile and the GEMM's B panels stay in L2.
constexpr int64_t kColsBytes = int64_t{192} << 10;

// dx += col2im(cols) for rows [r0, r1), group grp.
template <class T>
void col2im_add(const ConvGeom& g, const Sizes& s, const T* cols, int64_t grp, int64_t r0,
                int64_t r1, T* dx) {
  const int64_t cg = s.cg, kdim = s.kdim, c_all = g.c, st = g.stride[2];
  for_each_run(
      g, s, r0, r1, [&](int64_t r, int64_t b, int64_t o0, int64_t o1, int64_t ow0, int64_t run) {
        T* db = dx + b * s.in_px * g.c + grp * cg;
        const T* base = cols + (r - r0) * kdim;
        for_each_tap_row(
            g, static_cast<const T*>(db), o0, o1, [&](int64_t tap, int64_t c, const T* row) {
              if (!row) return;
              int64_t lo = 0, hi = 0;
              valid_span(g, ow0, run, c, &lo, &hi);
              T* dst = const_cast<T*>(row) + ((ow0 + lo) * st - g.pad[2] + c * g.dil[2]) * c_all;
              const T* v = base + tap * cg + lo * kdim;
              for (int64_t j = lo; j < hi; ++j, dst += st * c_all, v += kdim)
                for (int64_t i = 0; i < cg; ++i) dst[i] += v[i];
            });
      });
}

// dw's im2col tiles are longer (the tile height is the GEMM's reduction); partial sums are
// split in at most kMaxFilterChunks chunks (a thread-count independent split).
constexpr int64_t kFilterColsBytes = int64_t{1} << 20;
constexpr int64_t kMaxFilterChunks = 16;
// Output pixels of dw work per chunk at least (Note [Filter gradient chunks]).
constexpr int64_t kFilterChunkPixels = 256;

// Note [Filter gradient chunks]
// dw sums over every output pixel of the batch. The pixels are split in fixed chunks (by
// output rows or im2col tiles) that depend on the shape only, each summing into a partial dw
// of its own; the partials are then added in chunk order. So every dw element is the same
// sequence of operations on any thread count. Each chunk costs a zero fill and an add of the
// whole dw, as much memory traffic as kFilterChunkPixels pixels of work, so small batches get
// fewer chunks (a batch-1 16x16x64 -> 64 3x3 dw: 16 chunks of one row each made dw 3x the
// forward's time); the threads then split the taps of each chunk (the implicit path).
template <class T>
class FilterChunks {
 public:
  // `units` rows or tiles of `pixels_per_unit` output pixels each.
  FilterChunks(int64_t units, int64_t pixels_per_unit, int64_t wsize, T* dw,
               int64_t max_chunks = kMaxFilterChunks)
      : units_(units), wsize_(wsize), dw_(dw) {
    const int64_t by_work = units * pixels_per_unit / kFilterChunkPixels;
    chunks_ = std::max<int64_t>(1, std::min({units, max_chunks, by_work}));
    partial_.resize(static_cast<size_t>((chunks_ - 1) * wsize));
  }
  int64_t count() const { return chunks_; }
  int64_t begin(int64_t ch) const { return ch * units_ / chunks_; }
  int64_t end(int64_t ch) const { return (ch + 1) * units_ / chunks_; }
  // Chunk ch's partial sum (chunk 0's is dw itself).
  T* acc(int64_t ch) { return ch == 0 ? dw_ : partial_.data() + (ch - 1) * wsize_; }
  // Runs fn(ch) for every chunk, in parallel when there are enough, each on a zeroed partial,
  // then adds the partials into dw in chunk order.
  template <class F>
  void run(const F& fn) {
    auto chunk = [&](int64_t c0, int64_t c1) {
      for (int64_t ch = c0; ch < c1; ++ch) {
        std::fill(acc(ch), acc(ch) + wsize_, T(0));
        fn(ch);
      }
    };
    if (get_num_threads() > 1 && chunks_ >= get_num_threads()) {
      parallel_for(0, chunks_, 1, chunk);
    } else {
      chunk(0, chunks_);
    }
    reduce();
  }
  void reduce() {
    if (chunks_ == 1) return;
    parallel_for(0, wsize_, int64_t{1} << 14, [&](int64_t i0, int64_t i1) {
      for (int64_t ch = 1; ch < chunks_; ++ch) {
        const T* q = partial_.data() + (ch - 1) * wsize_;
        for (int64_t i = i0; i < i1; ++i) dw_[i] += q[i];
      }
    });
  }

 private:
  int64_t units_, wsize_, chunks_;
  T* dw_;
  std::vector<T> partial_;
};

// Whether the adjoint in x is itself a convolution over dy (stride 1, padding at most the
// dilated kernel's span - 1 on each side, so that the flipped convolution's padding is >= 0).
inline bool transposable(const ConvGeom& g, const Sizes&) {
  for (int i = 0; i < 3; ++i) {
    const int64_t span = (g.k[i] - 1) * g.dil[i];
    if (g.stride[i] != 1 || g.pad[i] > span) return false;
    // the padding after: out = in + pad + pad_after - span
    const int64_t pad_after = g.out[i] - 1 + span - g.pad[i] - (g.in[i] - 1);
    if (pad_after < 0 || pad_after > span) return false;
  }
  return true;
}

// dx of a transposable convolution as a forward one (Note [Convolution algorithm]): dy, padded
// by span - pad, convolved with the kernel flipped in space and transposed in channels. Returns
// that convolution's geometry and puts its weights in *wt.
template <class T>
ConvGeom transposed(const ConvGeom& g, const Sizes& s, const T* w, std::vector<T>* wt) {
  ConvGeom t = g;
  std::swap(t.c, t.f);
  for (int i = 0; i < 3; ++i) {
    std::swap(t.in[i], t.out[i]);
    t.pad[i] = (g.k[i] - 1) * g.dil[i] - g.pad[i];
  }
  wt->resize(static_cast<size_t>(s.kk * s.fg * g.c));
  for (int64_t tap = 0; tap < s.kk; ++tap)
    for (int64_t grp = 0; grp < g.groups; ++grp)
      for (int64_t j = 0; j < s.fg; ++j)
        for (int64_t i = 0; i < s.cg; ++i)
          (*wt)[((s.kk - 1 - tap) * s.fg + j) * g.c + grp * s.cg + i] =
              w[(tap * s.cg + i) * g.f + grp * s.fg + j];
  return t;
}

// Rows per tile: about `bytes` of patch values, a multiple of 24 (the GEMM's row tiles).
inline int64_t tile_rows(int64_t kdim, int64_t elem, int64_t bytes, int64_t total) {
  int64_t r = bytes / std::max<int64_t>(1, kdim * elem);
  r = std::max<int64_t>(24, r / 24 * 24);
  return std::max<int64_t>(1, std::min(r, total));
}

// The padded extents p of an image: every tap of every output pixel falls inside.
inline void padded_extents(const ConvGeom& g, int64_t p[3]) {
  for (int i = 0; i < 3; ++i) {
    const int64_t reach = (g.out[i] - 1) * g.stride[i] + (g.k[i] - 1) * g.dil[i] + 1;
    p[i] = std::max(g.in[i] + g.pad[i], reach);
  }
}

// One image xb (in..., c) copied into the interior of a zero-padded (p..., c) buffer whose
// border (and trailing slack) is already zero.
template <class T>
void pad_image(const ConvGeom& g, const T* xb, const int64_t p[3], T* buf) {
  if (g.in[2] * g.c == 0) return;  // nothing to copy (and xb may be null)
  for (int64_t i0 = 0; i0 < g.in[0]; ++i0)
    for (int64_t i1 = 0; i1 < g.in[1]; ++i1) {
      const T* src = xb + (i0 * g.in[1] + i1) * g.in[2] * g.c;
      T* dst = buf + (((i0 + g.pad[0]) * p[1] + i1 + g.pad[1]) * p[2] + g.pad[2]) * g.c;
      std::memcpy(dst, src, static_cast<size_t>(g.in[2] * g.c) * sizeof(T));
    }
}

// The padded images the implicit kernels read. Each thread pads an image as its rows reach
// it, into one buffer of its own, so that the image is in cache when read (a whole batch
// padded up front would be out of L2 by then, and cost a batch-sized buffer). A batch with
// fewer images than parallel_for's chunks of rows
// (4 per thread) is padded once, up front, by all threads, and shared instead: 2 threads
// split a batch-1 forward in 8 chunks, each of which would otherwise pad the image again.
constexpr int64_t kSharedPadBytes = int64_t{16} << 20;

template <class T>
class PaddedImages {
 public:
  PaddedImages(const ConvGeom& g, const T* x, const int64_t p[3], int64_t slack)
      : g_(g), x_(x), image_(p[0] * p[1] * p[2] * g.c), slack_(slack),
        in_image_(g.in[0] * g.in[1] * g.in[2] * g.c) {
    for (int i = 0; i < 3; ++i) p_[i] = p[i];
    const int threads = get_num_threads();
    if (threads > 1 && g.n < 4 * int64_t{threads} &&
        g.n * image_ * static_cast<int64_t>(sizeof(T)) <= kSharedPadBytes) {
      shared_.assign(static_cast<size_t>(g.n * image_ + slack), T(0));
      parallel_for(0, g.n, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
          pad_image(g_, x_ + b * in_image_, p_, shared_.data() + b * image_);
      });
    }
  }
  // Per-thread state of a private padded image.
  struct Local {
    std::vector<T> buf;
    int64_t current = -1;
  };
  const T* image(int64_t b, Local& local) const {
    if (!shared_.empty()) return shared_.data() + b * image_;
    if (local.buf.empty()) local.buf.assign(static_cast<size_t>(image_ + slack_), T(0));
    if (local.current != b) {
      pad_image(g_, x_ + b * in_image_, p_, local.buf.data());
      local.current = b;
    }
    return local.buf.data();
  }

 private:
  const ConvGeom& g_;
  const T* x_;
  int64_t image_, slack_, in_image_;
  int64_t p_[3];
  std::vector<T> shared_;
};

inline const ConvDirectTable& direct_table() {
  return table_for_isa(&portable_conv_direct_table, &avx2::conv_direct_table,
                       &avx512::conv_direct_table);
}

template <class T>
ConvDirectRowFn<T> direct_row_fn() {
  if constexpr (std::is_same_v<T, float>) return direct_table().row_f32;
  else return direct_table().row_f64;
}

// Element offsets of the taps in a padded image of extents p.
inline std::vector<int64_t> tap_offsets(const ConvGeom& g, const int64_t p[3]) {
  std::vector<int64_t> off;
  for (int64_t a = 0; a < g.k[0]; ++a)
    for (int64_t b = 0; b < g.k[1]; ++b)
      for (int64_t c = 0; c < g.k[2]; ++c)
        off.push_back(((a * g.dil[0] * p[1] + b * g.dil[1]) * p[2] + c * g.dil[2]) * g.c);
  return off;
}

inline bool force_im2col() {
  static const bool forced = std::getenv("CORTEN_CONV_IM2COL") != nullptr;
  return forced;
}

template <class F>
void dispatch(DType dtype, const F& f) {
  if (dtype == DType::Float64) f(double{});
  else f(float{});
}

// Winograd F(2x2, 3x3) (cpu/conv_winograd.cpp, Note [Winograd convolution]): whether it runs
// g, and the forward and dw through it.
bool winograd_applies(const ConvGeom& g);
template <class T>
void forward_winograd(const ConvGeom& g, const T* x, const T* w, const T* bias, Activation act,
                      T* y);
template <class T>
void backward_filter_winograd(const ConvGeom& g, const T* x, const T* dy, T* dw);

// The bfloat16 kernels (cpu/conv_bf16.cpp, Note [bfloat16 convolution]).
void forward_bf16(const ConvGeom& g, const bfloat16* x, const bfloat16* w, const bfloat16* bias,
                  Activation act, bfloat16* y);
void backward_data_bf16(const ConvGeom& g, const bfloat16* dy, const bfloat16* w,
                        const bfloat16* bias, Activation act, bfloat16* dx);
void backward_filter_bf16(const ConvGeom& g, const bfloat16* x, const bfloat16* dy, bfloat16* dw);

}  // namespace corten::cpu::conv_internal
