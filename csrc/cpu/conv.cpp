// Convolution kernels: forward, backward-data and backward-filter, channels_last, 1-3-D.
//
// Note [Convolution algorithm]
// Every convolution is a 3-D one (1-D and 2-D get leading spatial sizes of 1) on contiguous
// channels_last data; channels_first is transposed by the entry point (csrc/ops/conv.cpp).
// With M = n * prod(out) output pixels, K = prod(k) * c/groups patch values and f filters,
// the forward picks, per shape:
//   * pointwise (every k == 1, stride 1, no padding, one group): the GEMM x (M, c) @ w (c, f)
//     as it stands, one call to the packed GEMM (cpu/gemm) with bias and activation fused.
//   * at least kImplicitMinChannels (16) input channels per group: a batch-reduce GEMM over
//     the kernel taps straight on the input (oneDNN's approach), forward_implicit: each input
//     image is copied into a zero-padded buffer, then each MR-pixel tile of an output row
//     is sum_tap x_tap @ w_tap, one call of the batch-reduce micro-kernel (Note [Batch-reduce
//     micro-kernel] in cpu/gemm/ukernel.h), which reads x in place (rows at stride
//     stride * c) and keeps the tile in registers across the taps (one call and one store of
//     C per tap before: 3-9% slower, A/B at one thread). No patch matrix is written: the
//     tiled im2col below writes prod(k) times the input (9x for 3x3) and costs 10-20% of the
//     time on these shapes. The micro-kernel is the one whose MR x NR tile wastes least on
//     the output row and the filters (8x32 rather than 6x64 on avx512 for rows of 16 or 32
//     pixels).
//     Measured at one thread, float32, min of 15 (bench cases conv/conv2d 3x3 same fwd):
//     b32 32x32x32 -> 64: im2col 137 GFLOP/s, implicit 6x64 140, implicit 8x32 154;
//     b32 16x16x64 -> 64: im2col 135 (75 on a noisy run), implicit 6x64 136, 8x32 151;
//     the packed GEMM alone on the same (M, K) x (K, f) product: 156-163.
//   * fewer channels, one group and K <= kConvDirectMaxPatch (64; RGB or grey images: K = 27
//     or 9): per-tap micro-kernel calls would be 1-3 deep, so forward_direct runs a direct
//     register-blocked kernel per output row on the padded image (cpu/conv_direct.h, per ISA):
//     blocks of pixels x 1-4 vectors of filters in registers, each (tap, channel) a broadcast
//     of x into FMAs with the L1-resident weights; no patch matrix. Measured, float32, b32
//     3x3 'same' -> 32 at one thread (min of 15): 32x32x3 2.24 -> 0.49 ms (im2col + GEMM
//     spent most of its time gathering 9x the input and in a K = 27 GEMM), 28x28x1 0.97 -> 0.20.
//   * otherwise the patches are gathered (im2col, by runs of an output row) in tiles of
//     R rows (about kColsBytes, L2-resident) and multiplied by the (K, f) weights with the
//     packed GEMM, which reads the row-major tile in place and writes y's rows directly.
// Backward: dx with stride 1 and at least 16 channels per group on both sides is the forward
// of dy with the kernel flipped in space and transposed in channels (the implicit path above);
// otherwise tiles of dcols = dy_tile @ w^T (GEMM) are scattered back into dx (col2im), one
// image at a time per thread. dw with >= 16 channels per group (and whole micro-kernel column
// panels of filters) is the forward's dual, a batch-reduce GEMM on the padded input: per
// block of output rows (their dy about 16 KB, in L1 across the taps) and tap, one
// batch-reduce call per tile adds sum_rows x_tap^T @ dy_row into dw_tap, both read in place;
// otherwise the sum over im2col tiles of cols^T @ dy_tile. Either way in fixed chunks whose
// partial sums are added in a fixed order (Note [Filter gradient chunks]). dw with few patch
// values (the direct forward's condition) is the
// direct dw kernel per output row (blocks of patch values x filter vectors in registers,
// summed over the row's pixels), in the same fixed chunks: b32 32x32x3 -> 32, 1.31 -> 0.56 ms;
// 28x28x1 -> 32, 0.67 -> 0.23 ms. dx with 1-4 input channels stays col2im: a direct kernel
// dotting dy with the flipped kernel over the filters (vectorised, then summed across
// lanes) measured slower (32x32x3: 1.9 vs 1.25 ms).
// Measured at one thread (min of 8), b32 3x3 'same', GFLOP/s:
//   32x32x32 -> 64: forward 154, dx 161, dw 137 (im2col paths: 125, 108, 120);
//   16x16x64 -> 64: forward 164, dx 162, dw 130 (im2col paths: 132, 114, 128).
// Threads: output rows (implicit forward), tiles (im2col forward), images (dx) or fixed chunks
// of tiles (dw) run in parallel when there are enough of them; otherwise one at a time with
// the GEMM splitting each. Every output element is computed by the same sequence of
// operations either way (tile boundaries, GEMM K blocks and the chunk order of the dw
// partial sums do not depend on the thread count), so results are bit-identical at any
// thread count. CORTEN_CONV_IM2COL=1 (read once) forces the im2col forward, for measuring.
// The plain direct loops (`reference`) are kept for tests and as the definition.

#include "cpu/conv.h"

#include <corten/allocator.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/conv_direct.h"
#include "cpu/elementwise.h"
#include "cpu/gemm/gemm.h"
#include "cpu/gemm/ukernel.h"
#include "cpu/isa_table.h"

namespace corten::cpu {
namespace {

// Patch values per forward / dx tile: the tile and the GEMM's B panels stay in L2.
constexpr int64_t kColsBytes = int64_t{192} << 10;
// dw tiles are longer (the tile height is the GEMM's reduction), and their partial sums are
// split in at most this many chunks (a thread-count independent split).
constexpr int64_t kFilterColsBytes = int64_t{1} << 20;
constexpr int64_t kMaxFilterChunks = 16;
// Output pixels of dw work per chunk at least (Note [Filter gradient chunks]).
constexpr int64_t kFilterChunkPixels = 256;
// dy rows per batch-reduce of the implicit dw, in bytes (a part of L1).
constexpr int64_t kFilterRowBlockBytes = int64_t{16} << 10;

UnaryRowFn activation_row(Activation act, DType dtype) {
  UnaryOp op;
  switch (act) {
    case Activation::Relu: op = UnaryOp::Relu; break;
    case Activation::Sigmoid: op = UnaryOp::Sigmoid; break;
    case Activation::Tanh: op = UnaryOp::Tanh; break;
    case Activation::Gelu: op = UnaryOp::GeluExact; break;
    default: return nullptr;
  }
  return active_elementwise_table().unary[static_cast<int>(op)][static_cast<int>(dtype)];
}

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

Sizes sizes_of(const ConvGeom& g) {
  Sizes s;
  s.in_px = g.in[0] * g.in[1] * g.in[2];
  s.out_px = g.out[0] * g.out[1] * g.out[2];
  s.cg = g.c / g.groups;
  s.fg = g.f / g.groups;
  s.kk = g.k[0] * g.k[1] * g.k[2];
  s.kdim = s.kk * s.cg;
  return s;
}

bool pointwise(const ConvGeom& g) {
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

// cols (rows [r0, r1) of the patch matrix, row-major, kdim values a row) for group grp.
template <class T>
void im2col(const ConvGeom& g, const Sizes& s, const T* x, int64_t grp, int64_t r0, int64_t r1,
            T* cols) {
  const int64_t cg = s.cg, kdim = s.kdim, c_all = g.c, st = g.stride[2];
  for_each_run(g, s, r0, r1, [&](int64_t r, int64_t b, int64_t o0, int64_t o1, int64_t ow0,
                                 int64_t run) {
    const T* xb = x + b * s.in_px * g.c + grp * cg;
    T* base = cols + (r - r0) * kdim;
    for_each_tap_row(g, xb, o0, o1, [&](int64_t tap, int64_t c, const T* row) {
      T* d = base + tap * cg;
      int64_t lo = 0, hi = 0;
      if (row) valid_span(g, ow0, run, c, &lo, &hi);
      for (int64_t j = 0; j < lo; ++j) std::fill(d + j * kdim, d + j * kdim + cg, T(0));
      if (hi > lo) {
        const T* src = row + ((ow0 + lo) * st - g.pad[2] + c * g.dil[2]) * c_all;
        const int64_t step = st * c_all;
        T* dd = d + lo * kdim;
        if (cg == 1) {
          for (int64_t j = lo; j < hi; ++j, dd += kdim, src += step) dd[0] = src[0];
        } else if (cg == 3) {
          for (int64_t j = lo; j < hi; ++j, dd += kdim, src += step) {
            dd[0] = src[0];
            dd[1] = src[1];
            dd[2] = src[2];
          }
        } else {
          for (int64_t j = lo; j < hi; ++j, dd += kdim, src += step)
            for (int64_t i = 0; i < cg; ++i) dd[i] = src[i];
        }
      }
      for (int64_t j = std::max(hi, lo); j < run; ++j)
        std::fill(d + j * kdim, d + j * kdim + cg, T(0));
    });
  });
}

// dx += col2im(cols) for rows [r0, r1), group grp.
template <class T>
void col2im_add(const ConvGeom& g, const Sizes& s, const T* cols, int64_t grp, int64_t r0,
                int64_t r1, T* dx) {
  const int64_t cg = s.cg, kdim = s.kdim, c_all = g.c, st = g.stride[2];
  for_each_run(g, s, r0, r1, [&](int64_t r, int64_t b, int64_t o0, int64_t o1, int64_t ow0,
                                 int64_t run) {
    T* db = dx + b * s.in_px * g.c + grp * cg;
    const T* base = cols + (r - r0) * kdim;
    for_each_tap_row(g, static_cast<const T*>(db), o0, o1,
                     [&](int64_t tap, int64_t c, const T* row) {
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

// Rows per tile: about `bytes` of patch values, a multiple of 24 (the GEMM's row tiles).
int64_t tile_rows(int64_t kdim, int64_t elem, int64_t bytes, int64_t total) {
  int64_t r = bytes / std::max<int64_t>(1, kdim * elem);
  r = std::max<int64_t>(24, r / 24 * 24);
  return std::max<int64_t>(1, std::min(r, total));
}

// ---------------------------------------------------------------------------------------------
// Fast kernels.

// Input channels per group from which the forward runs as a batch-reduce GEMM over the
// kernel taps (Note [Convolution algorithm]); fewer give micro-kernel calls too short.
constexpr int64_t kImplicitMinChannels = 16;

// The padded extents p of an image: every tap of every output pixel falls inside.
void padded_extents(const ConvGeom& g, int64_t p[3]) {
  for (int i = 0; i < 3; ++i) {
    const int64_t reach = (g.out[i] - 1) * g.stride[i] + (g.k[i] - 1) * g.dil[i] + 1;
    p[i] = std::max(g.in[i] + g.pad[i], reach);
  }
}

// One image xb (in..., c) copied into the interior of a zero-padded (p..., c) buffer whose
// border (and trailing slack) is already zero.
template <class T>
void pad_image(const ConvGeom& g, const T* xb, const int64_t p[3], T* buf) {
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

// The forward as a batch-reduce GEMM straight on the (padded) channels_last input: for each
// output row (image, o0, o1) and each NR-column panel of filters, every tap adds
// x_tap (out[2] x cg, rows at stride stride[2] * c) @ w_tap (cg x NR) into the row's tile of
// y through the GEMM micro-kernel, which reads x in place. No patch matrix is written.
template <class T>
void forward_implicit(const ConvGeom& g, const Sizes& s, const T* x, const T* w, const T* bias,
                      Activation act, T* y) {
  // The widest kernel, or a narrower one (8 rows on avx512) when its tiles fit the output
  // row and the filters with less padding: 32 output columns are 6 + 6 + 6 + 6 + 6 + 2 rows
  // of the 6x64 tile (89% used) but 4 x 8 of the 8x32 one (bench: 3x3 32x32x32 -> 64 at one
  // thread, 140 -> 154 GFLOP/s; 16x16x64 -> 64, 136 -> 151).
  const gemm::Ukernel<T>* uk_ptr = &gemm::ukernel_for<T>(s.fg);
  {
    auto used = [&](const gemm::Ukernel<T>& k) {
      const double rows = static_cast<double>(g.out[2]) / static_cast<double>(
          (g.out[2] + k.mr - 1) / k.mr * k.mr);
      const double cols = static_cast<double>(s.fg) / static_cast<double>(
          (s.fg + k.nr - 1) / k.nr * k.nr);
      return rows * cols;
    };
    const gemm::Ukernel<T>& narrow = gemm::ukernel_for<T>(std::min<int64_t>(s.fg, 32));
    if (used(narrow) >= used(*uk_ptr)) uk_ptr = &narrow;
  }
  const gemm::Ukernel<T>& uk = *uk_ptr;
  const int64_t MR = uk.mr, NR = uk.nr;
  const int64_t panels = (s.fg + NR - 1) / NR;
  // w as NR-column panels per (group, panel, tap): the micro-kernel's packed B layout.
  std::vector<T> wp(static_cast<size_t>(g.groups * panels * s.kk * s.cg * NR), T(0));
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t pan = 0; pan < panels; ++pan)
      for (int64_t tap = 0; tap < s.kk; ++tap) {
        T* dst = wp.data() + ((grp * panels + pan) * s.kk + tap) * s.cg * NR;
        const int64_t j0 = pan * NR, nr = std::min(NR, s.fg - j0);
        for (int64_t q = 0; q < s.cg; ++q)
          for (int64_t j = 0; j < nr; ++j)
            dst[q * NR + j] = w[(tap * s.cg + q) * g.f + grp * s.fg + j0 + j];
      }
  int64_t p[3];
  padded_extents(g, p);
  // Micro-kernels read whole MR-row blocks: the last rows of a block may lie past the image.
  const PaddedImages<T> images(g, x, p, (MR + 1) * g.stride[2] * g.c);
  // Element offsets of the taps in the padded input.
  std::vector<int64_t> tap_off(static_cast<size_t>(s.kk));
  for (int64_t a = 0, t = 0; a < g.k[0]; ++a)
    for (int64_t b = 0; b < g.k[1]; ++b)
      for (int64_t c = 0; c < g.k[2]; ++c, ++t)
        tap_off[t] = ((a * g.dil[0] * p[1] + b * g.dil[1]) * p[2] + c * g.dil[2]) * g.c;
  // The taps' weight panels follow each other: tap t's starts t * cg * NR into the panel.
  std::vector<int64_t> w_off(static_cast<size_t>(s.kk));
  for (int64_t t = 0; t < s.kk; ++t) w_off[t] = t * s.cg * NR;
  const int64_t rows = g.n * g.out[0] * g.out[1];
  const int64_t a_rs = g.stride[2] * g.c;
  auto run = [&](int64_t r0, int64_t r1) {
    typename PaddedImages<T>::Local local;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o1 = r % g.out[1], o0 = r / g.out[1] % g.out[0];
      const int64_t b = r / (g.out[1] * g.out[0]);
      const T* xr = images.image(b, local) +
                    ((o0 * g.stride[0]) * p[1] + o1 * g.stride[1]) * p[2] * g.c;
      T* yr = y + r * g.out[2] * g.f;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        for (int64_t pan = 0; pan < panels; ++pan) {
          const int nr = static_cast<int>(std::min(NR, s.fg - pan * NR));
          const T* wpan = wp.data() + (grp * panels + pan) * s.kk * s.cg * NR;
          T* yc = yr + grp * s.fg + pan * NR;
          for (int64_t ow = 0; ow < g.out[2]; ow += MR) {
            const int mr = static_cast<int>(std::min(MR, g.out[2] - ow));
            gemm::batch_reduce(uk, s.cg, s.kk, xr + grp * s.cg + ow * a_rs, tap_off.data(), a_rs,
                               int64_t{1}, wpan, w_off.data(), NR, yc + ow * g.f, g.f, mr, nr,
                               false);
          }
        }
      }
      bias_act_rows(yr, g.out[2], g.f, bias, act);
    }
  };
  const int threads = get_num_threads();
  if (threads > 1 && rows >= 2 * threads) {
    parallel_for(0, rows, 1, run);
  } else {
    run(0, rows);
  }
}

const ConvDirectTable& direct_table() {
  return table_for_isa(&portable_conv_direct_table, &avx2::conv_direct_table,
                       &avx512::conv_direct_table);
}

template <class T>
ConvDirectRowFn<T> direct_row_fn() {
  if constexpr (std::is_same_v<T, float>) return direct_table().row_f32;
  else return direct_table().row_f64;
}

// Element offsets of the taps in a padded image of extents p.
std::vector<int64_t> tap_offsets(const ConvGeom& g, const int64_t p[3]) {
  std::vector<int64_t> off;
  for (int64_t a = 0; a < g.k[0]; ++a)
    for (int64_t b = 0; b < g.k[1]; ++b)
      for (int64_t c = 0; c < g.k[2]; ++c)
        off.push_back(((a * g.dil[0] * p[1] + b * g.dil[1]) * p[2] + c * g.dil[2]) * g.c);
  return off;
}

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
  FilterChunks(int64_t units, int64_t pixels_per_unit, int64_t wsize, T* dw)
      : units_(units), wsize_(wsize), dw_(dw) {
    const int64_t by_work = units * pixels_per_unit / kFilterChunkPixels;
    chunks_ = std::max<int64_t>(1, std::min({units, kMaxFilterChunks, by_work}));
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

// dw of a convolution with few patch values (kk * cg <= kConvDirectMaxPatch, one group): per
// output row, dw += patches^T @ dy_row through the direct kernel, the rows split in at most
// kMaxFilterChunks fixed chunks whose partial sums are added in chunk order.
template <class T>
void backward_filter_direct(const ConvGeom& g, const Sizes& s, const T* x, const T* dy, T* dw) {
  ConvDirectDwRowFn<T> row_fn;
  if constexpr (std::is_same_v<T, float>) row_fn = direct_table().dw_row_f32;
  else row_fn = direct_table().dw_row_f64;
  int64_t p[3];
  padded_extents(g, p);
  const PaddedImages<T> images(g, x, p, 0);
  const std::vector<int64_t> tap_off = tap_offsets(g, p);
  const int64_t rows = g.n * g.out[0] * g.out[1];
  FilterChunks<T> chunks(rows, g.out[2], s.kdim * g.f, dw);
  chunks.run([&](int64_t ch) {
    typename PaddedImages<T>::Local local;
    T* acc = chunks.acc(ch);
    for (int64_t r = chunks.begin(ch); r < chunks.end(ch); ++r) {
      const int64_t o1 = r % g.out[1], o0 = r / g.out[1] % g.out[0];
      const T* xr = images.image(r / (g.out[1] * g.out[0]), local) +
                    ((o0 * g.stride[0]) * p[1] + o1 * g.stride[1]) * p[2] * g.c;
      row_fn(xr, tap_off.data(), s.kk, s.cg, g.stride[2] * g.c, g.out[2],
             dy + r * g.out[2] * g.f, g.f, acc);
    }
  });
}

// The direct forward (one group, few channels): each output row of y is one call of the
// register-blocked row kernel on the padded image, then the activation while it is in L1.
template <class T>
void forward_direct(const ConvGeom& g, const Sizes& s, const T* x, const T* w, const T* bias,
                    Activation act, T* y) {
  const ConvDirectRowFn<T> row_fn = direct_row_fn<T>();
  int64_t p[3];
  padded_extents(g, p);
  const PaddedImages<T> images(g, x, p, 0);
  const std::vector<int64_t> tap_off = tap_offsets(g, p);
  const int64_t rows = g.n * g.out[0] * g.out[1];
  auto run = [&](int64_t r0, int64_t r1) {
    typename PaddedImages<T>::Local local;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o1 = r % g.out[1], o0 = r / g.out[1] % g.out[0];
      const int64_t b = r / (g.out[1] * g.out[0]);
      const T* xr = images.image(b, local) +
                    ((o0 * g.stride[0]) * p[1] + o1 * g.stride[1]) * p[2] * g.c;
      T* yr = y + r * g.out[2] * g.f;
      row_fn(xr, tap_off.data(), s.kk, s.cg, g.stride[2] * g.c, g.out[2], w, g.f, bias, yr);
      bias_act_rows(yr, g.out[2], g.f, static_cast<const T*>(nullptr), act);
    }
  };
  const int threads = get_num_threads();
  if (threads > 1 && rows >= 2 * threads) {
    parallel_for(0, rows, 1, run);
  } else {
    run(0, rows);
  }
}

bool force_im2col() {
  static const bool forced = std::getenv("CORTEN_CONV_IM2COL") != nullptr;
  return forced;
}

// Whether the adjoint in x is itself a convolution over dy (stride 1, padding at most the
// dilated kernel's span - 1 on each side, so that the flipped convolution's padding is >= 0).
bool transposable(const ConvGeom& g, const Sizes&) {
  for (int i = 0; i < 3; ++i) {
    const int64_t span = (g.k[i] - 1) * g.dil[i];
    if (g.stride[i] != 1 || g.pad[i] > span) return false;
    // the padding after: out = in + pad + pad_after - span
    const int64_t pad_after = g.out[i] - 1 + span - g.pad[i] - (g.in[i] - 1);
    if (pad_after < 0 || pad_after > span) return false;
  }
  return true;
}

template <class T>
void forward_fast(const ConvGeom& g, const T* x, const T* w, const T* bias, Activation act,
                  T* y) {
  const Sizes s = sizes_of(g);
  const int64_t m = g.n * s.out_px;
  const int64_t zero = 0;
  if (pointwise(g)) {
    gemm::gemm<T>(1, m, g.f, g.c, x, &zero, g.c, 1, w, &zero, g.f, 1, y, bias, act);
    return;
  }
  if (s.cg >= kImplicitMinChannels && !force_im2col()) {
    forward_implicit(g, s, x, w, bias, act, y);
    return;
  }
  if (g.groups == 1 && s.kdim <= kConvDirectMaxPatch && m > 0 && !force_im2col()) {
    forward_direct(g, s, x, w, bias, act, y);
    return;
  }
  const int64_t rows = tile_rows(s.kdim, sizeof(T), kColsBytes, m);
  const int64_t tiles = (m + rows - 1) / rows;
  auto run = [&](int64_t t0, int64_t t1) {
    std::vector<T> cols(static_cast<size_t>(rows * s.kdim));
    std::vector<T> tmp(g.groups > 1 ? static_cast<size_t>(rows * s.fg) : 0);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = t * rows, r1 = std::min(m, r0 + rows), nr = r1 - r0;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, s, x, grp, r0, r1, cols.data());
        const T* bg = bias ? bias + grp * s.fg : nullptr;
        if (g.groups == 1) {
          gemm::gemm<T>(1, nr, g.f, s.kdim, cols.data(), &zero, s.kdim, 1, w, &zero, g.f, 1,
                        y + r0 * g.f, bg, act);
        } else {
          gemm::gemm<T>(1, nr, s.fg, s.kdim, cols.data(), &zero, s.kdim, 1, w + grp * s.fg,
                        &zero, g.f, 1, tmp.data(), bg, act);
          for (int64_t r = 0; r < nr; ++r)
            std::memcpy(y + (r0 + r) * g.f + grp * s.fg, tmp.data() + r * s.fg,
                        static_cast<size_t>(s.fg) * sizeof(T));
        }
      }
    }
  };
  const int threads = get_num_threads();
  if (threads > 1 && tiles >= 2 * threads) {
    parallel_for(0, tiles, 1, run);
  } else {
    run(0, tiles);
  }
}

template <class T>
void backward_data_fast(const ConvGeom& g, const T* dy, const T* w, const T* bias,
                        Activation act, T* dx) {
  const Sizes s = sizes_of(g);
  const int64_t zero = 0;
  if (pointwise(g)) {  // dx = dy @ w^T
    gemm::gemm<T>(1, g.n * s.in_px, g.c, g.f, dy, &zero, g.f, 1, w, &zero, 1, g.f, dx, bias, act);
    return;
  }
  if (transposable(g, s) && s.fg >= kImplicitMinChannels && s.cg >= kImplicitMinChannels &&
      !force_im2col()) {
    // Stride 1: dx is the convolution of dy, padded by span - pad, with the kernel flipped in
    // space and transposed in channels (Note [Convolution algorithm]); its output channels
    // (c) must fill the micro-kernel's columns too: RGB inputs take the col2im path.
    ConvGeom t = g;
    std::swap(t.c, t.f);
    for (int i = 0; i < 3; ++i) {
      std::swap(t.in[i], t.out[i]);
      t.pad[i] = (g.k[i] - 1) * g.dil[i] - g.pad[i];
    }
    std::vector<T> wt(static_cast<size_t>(s.kk * s.fg * g.c));
    for (int64_t tap = 0; tap < s.kk; ++tap)
      for (int64_t grp = 0; grp < g.groups; ++grp)
        for (int64_t j = 0; j < s.fg; ++j)
          for (int64_t i = 0; i < s.cg; ++i)
            wt[((s.kk - 1 - tap) * s.fg + j) * g.c + grp * s.cg + i] =
                w[(tap * s.cg + i) * g.f + grp * s.fg + j];
    forward_implicit(t, sizes_of(t), dy, wt.data(), bias, act, dx);
    return;
  }
  // w^T per group, (fg, kdim) row-major, so that the GEMM reads it in place.
  std::vector<T> wt(static_cast<size_t>(g.groups * s.fg * s.kdim));
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t j = 0; j < s.fg; ++j)
      for (int64_t p = 0; p < s.kdim; ++p)
        wt[(grp * s.fg + j) * s.kdim + p] = w[p * g.f + grp * s.fg + j];
  const int64_t rows = tile_rows(s.kdim, sizeof(T), kColsBytes, s.out_px);
  auto run = [&](int64_t b0, int64_t b1) {
    std::vector<T> cols(static_cast<size_t>(rows * s.kdim));
    for (int64_t b = b0; b < b1; ++b) {
      T* dxb = dx + b * s.in_px * g.c;
      std::fill(dxb, dxb + s.in_px * g.c, T(0));
      for (int64_t q0 = 0; q0 < s.out_px; q0 += rows) {
        const int64_t r0 = b * s.out_px + q0, r1 = b * s.out_px + std::min(s.out_px, q0 + rows);
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          gemm::gemm<T>(1, r1 - r0, s.kdim, s.fg, dy + r0 * g.f + grp * s.fg, &zero, g.f, 1,
                        wt.data() + grp * s.fg * s.kdim, &zero, s.kdim, 1, cols.data(), nullptr,
                        Activation::Identity);
          col2im_add(g, s, cols.data(), grp, r0, r1, dx);
        }
      }
      bias_act_rows(dxb, s.in_px, g.c, bias, act);
    }
  };
  const int threads = get_num_threads();
  if (threads > 1 && g.n >= threads) {
    parallel_for(0, g.n, 1, run);
  } else {
    run(0, g.n);
  }
}

// dw as a batch-reduce GEMM on the padded input, the forward's dual: for each output row and
// tap, dw_tap (cg x f) += x_tap^T (cg x out[2], read in place) @ dy_row (out[2] x f, read in
// place). Rows are split in at most kMaxFilterChunks fixed chunks, each summing into its own
// partial dw; the partials are added in chunk order. Needs whole NR-column panels of dy.
template <class T>
bool backward_filter_implicit(const ConvGeom& g, const Sizes& s, const T* x, const T* dy,
                              T* dw) {
  const gemm::Ukernel<T>& uk = gemm::ukernel_for<T>(s.fg);
  const int64_t MR = uk.mr, NR = uk.nr;
  if (s.fg % NR != 0) return false;
  const int64_t panels = s.fg / NR;
  int64_t p[3];
  padded_extents(g, p);
  const PaddedImages<T> images(g, x, p, (MR + 1) * g.stride[2] * g.c + MR);
  std::vector<int64_t> tap_off(static_cast<size_t>(s.kk));
  for (int64_t a = 0, t = 0; a < g.k[0]; ++a)
    for (int64_t b = 0; b < g.k[1]; ++b)
      for (int64_t c = 0; c < g.k[2]; ++c, ++t)
        tap_off[t] = ((a * g.dil[0] * p[1] + b * g.dil[1]) * p[2] + c * g.dil[2]) * g.c;
  const int64_t rows = g.n * g.out[0] * g.out[1];
  const int64_t a_cs = g.stride[2] * g.c;
  // Output rows are taken in blocks of one image whose dy (about kFilterRowBlockBytes) stays
  // in L1 across the taps: each dw tile is one batch-reduce over the block's rows.
  const int64_t dy_row = g.out[2] * g.f;
  const int64_t block = std::max<int64_t>(
      1, kFilterRowBlockBytes / (dy_row * static_cast<int64_t>(sizeof(T))));
  const int64_t per_image = g.out[0] * g.out[1];
  FilterChunks<T> chunks(rows, g.out[2], s.kdim * g.f, dw);
  auto taps = [&](int64_t ch, int64_t tap0, int64_t tap1,
                  typename PaddedImages<T>::Local& local) {
    std::vector<int64_t> x_off(static_cast<size_t>(block)), dy_off(static_cast<size_t>(block));
    T* acc = chunks.acc(ch);
    const int64_t end = chunks.end(ch);
    for (int64_t r0 = chunks.begin(ch); r0 < end;) {
      const int64_t b = r0 / per_image;
      const int64_t r1 = std::min({end, r0 + block, (b + 1) * per_image});
      const T* xi = images.image(b, local);
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t o1 = r % g.out[1], o0 = r / g.out[1] % g.out[0];
        x_off[r - r0] = ((o0 * g.stride[0]) * p[1] + o1 * g.stride[1]) * p[2] * g.c;
        dy_off[r - r0] = (r - r0) * dy_row;
      }
      const T* dyb = dy + r0 * dy_row;
      for (int64_t tap = tap0; tap < tap1; ++tap) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const T* xa = xi + tap_off[tap] + grp * s.cg;
          for (int64_t pan = 0; pan < panels; ++pan) {
            const int64_t col = grp * s.fg + pan * NR;
            for (int64_t i0 = 0; i0 < s.cg; i0 += MR) {
              const int mr = static_cast<int>(std::min(MR, s.cg - i0));
              gemm::batch_reduce(uk, g.out[2], r1 - r0, xa + i0, x_off.data(), int64_t{1}, a_cs,
                                 dyb + col, dy_off.data(), g.f,
                                 acc + (tap * s.cg + i0) * g.f + col, g.f, mr,
                                 static_cast<int>(NR), true);
            }
          }
        }
      }
      r0 = r1;
    }
  };
  if (chunks.count() >= get_num_threads()) {
    chunks.run([&](int64_t ch) {
      typename PaddedImages<T>::Local local;
      taps(ch, 0, s.kk, local);
    });
    return true;
  }
  // Fewer chunks than threads: the threads split each chunk's taps, disjoint parts of its
  // partial dw (the sums themselves do not change).
  const int64_t wsize = s.kdim * g.f;
  for (int64_t ch = 0; ch < chunks.count(); ++ch) {
    std::fill(chunks.acc(ch), chunks.acc(ch) + wsize, T(0));
    parallel_for(0, s.kk, 1, [&](int64_t t0, int64_t t1) {
      typename PaddedImages<T>::Local local;
      taps(ch, t0, t1, local);
    });
  }
  chunks.reduce();
  return true;
}

template <class T>
void backward_filter_fast(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const Sizes s = sizes_of(g);
  const int64_t m = g.n * s.out_px;
  const int64_t zero = 0;
  if (pointwise(g)) {  // dw = x^T @ dy
    gemm::gemm<T>(1, g.c, g.f, m, x, &zero, 1, g.c, dy, &zero, g.f, 1, dw, nullptr,
                  Activation::Identity);
    return;
  }
  if (m == 0) {
    std::fill(dw, dw + s.kdim * g.f, T(0));
    return;
  }
  if (s.cg >= kImplicitMinChannels && !force_im2col() &&
      backward_filter_implicit(g, s, x, dy, dw)) {
    return;
  }
  if (g.groups == 1 && s.kdim <= kConvDirectMaxPatch && !force_im2col()) {
    backward_filter_direct(g, s, x, dy, dw);
    return;
  }
  const int64_t rows = tile_rows(s.kdim, sizeof(T), kFilterColsBytes, m);
  const int64_t tiles = (m + rows - 1) / rows;
  FilterChunks<T> chunks(tiles, rows, s.kdim * g.f, dw);
  chunks.run([&](int64_t ch) {
    std::vector<T> cols(static_cast<size_t>(rows * s.kdim));
    std::vector<T> tmp(static_cast<size_t>(s.kdim * s.fg));
    T* acc = chunks.acc(ch);
    for (int64_t t = chunks.begin(ch); t < chunks.end(ch); ++t) {
      const int64_t r0 = t * rows, r1 = std::min(m, r0 + rows);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, s, x, grp, r0, r1, cols.data());
        gemm::gemm<T>(1, s.kdim, s.fg, r1 - r0, cols.data(), &zero, 1, s.kdim,
                      dy + r0 * g.f + grp * s.fg, &zero, g.f, 1, tmp.data(), nullptr,
                      Activation::Identity);
        for (int64_t p = 0; p < s.kdim; ++p) {
          T* a = acc + p * g.f + grp * s.fg;
          const T* v = tmp.data() + p * s.fg;
          for (int64_t j = 0; j < s.fg; ++j) a[j] += v[j];
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Reference kernels: direct loops, float64 accumulation.

template <class T>
void forward_ref(const ConvGeom& g, const T* x, const T* w, const T* bias, Activation act,
                 T* y) {
  const Sizes s = sizes_of(g);
  std::vector<double> acc(static_cast<size_t>(g.f));
  for (int64_t b = 0; b < g.n; ++b) {
    for (int64_t q = 0; q < s.out_px; ++q) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for_each_tap(g, q, [&](int64_t tap, int64_t px) {
        if (px < 0) return;
        for (int64_t j = 0; j < g.f; ++j) {
          const int64_t grp = j / s.fg;
          for (int64_t i = 0; i < s.cg; ++i) {
            acc[j] += static_cast<double>(x[(b * s.in_px + px) * g.c + grp * s.cg + i]) *
                      static_cast<double>(w[(tap * s.cg + i) * g.f + j]);
          }
        }
      });
      T* out = y + (b * s.out_px + q) * g.f;
      for (int64_t j = 0; j < g.f; ++j) out[j] = static_cast<T>(acc[j]);
    }
  }
  bias_act_rows(y, g.n * s.out_px, g.f, bias, act);
}

template <class T>
void backward_data_ref(const ConvGeom& g, const T* dy, const T* w, const T* bias,
                       Activation act, T* dx) {
  const Sizes s = sizes_of(g);
  std::vector<double> acc(static_cast<size_t>(g.n * s.in_px * g.c), 0.0);
  for (int64_t b = 0; b < g.n; ++b) {
    for (int64_t q = 0; q < s.out_px; ++q) {
      const T* gy = dy + (b * s.out_px + q) * g.f;
      for_each_tap(g, q, [&](int64_t tap, int64_t px) {
        if (px < 0) return;
        for (int64_t j = 0; j < g.f; ++j) {
          const int64_t grp = j / s.fg;
          for (int64_t i = 0; i < s.cg; ++i) {
            acc[static_cast<size_t>((b * s.in_px + px) * g.c + grp * s.cg + i)] +=
                static_cast<double>(gy[j]) * static_cast<double>(w[(tap * s.cg + i) * g.f + j]);
          }
        }
      });
    }
  }
  for (size_t i = 0; i < acc.size(); ++i) dx[i] = static_cast<T>(acc[i]);
  bias_act_rows(dx, g.n * s.in_px, g.c, bias, act);
}

template <class T>
void backward_filter_ref(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const Sizes s = sizes_of(g);
  std::vector<double> acc(static_cast<size_t>(s.kdim * g.f), 0.0);
  for (int64_t b = 0; b < g.n; ++b) {
    for (int64_t q = 0; q < s.out_px; ++q) {
      const T* gy = dy + (b * s.out_px + q) * g.f;
      for_each_tap(g, q, [&](int64_t tap, int64_t px) {
        if (px < 0) return;
        for (int64_t j = 0; j < g.f; ++j) {
          const int64_t grp = j / s.fg;
          for (int64_t i = 0; i < s.cg; ++i) {
            acc[static_cast<size_t>((tap * s.cg + i) * g.f + j)] +=
                static_cast<double>(x[(b * s.in_px + px) * g.c + grp * s.cg + i]) *
                static_cast<double>(gy[j]);
          }
        }
      });
    }
  }
  for (size_t i = 0; i < acc.size(); ++i) dw[i] = static_cast<T>(acc[i]);
}

template <class F>
void dispatch(DType dtype, const F& f) {
  if (dtype == DType::Float64) f(double{});
  else f(float{});
}

}  // namespace

void conv_forward(DType dtype, const ConvGeom& g, const void* x, const void* w, const void* bias,
                  Activation act, void* y) {
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto fn = g.reference ? forward_ref<T> : forward_fast<T>;
    fn(g, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias), act,
       static_cast<T*>(y));
  });
}

void conv_backward_data(DType dtype, const ConvGeom& g, const void* dy, const void* w,
                        const void* bias, Activation act, void* dx) {
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto fn = g.reference ? backward_data_ref<T> : backward_data_fast<T>;
    fn(g, static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<const T*>(bias), act,
       static_cast<T*>(dx));
  });
}

void conv_backward_filter(DType dtype, const ConvGeom& g, const void* x, const void* dy,
                          void* dw) {
  dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto fn = g.reference ? backward_filter_ref<T> : backward_filter_fast<T>;
    fn(g, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw));
  });
}

}  // namespace corten::cpu
