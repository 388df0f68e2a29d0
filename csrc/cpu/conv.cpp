// Convolution kernels: forward, backward-data and backward-filter, channels_last, 1-3-D.
//
// Note [Convolution algorithm]
// Every convolution is a 3-D one (1-D and 2-D get leading spatial sizes of 1) on contiguous
// channels_last data; channels_first is transposed by the entry point (csrc/ops/conv.cpp).
// With M = n * prod(out) output pixels, K = prod(k) * c/groups patch values and f filters,
// the forward picks, per shape:
//   * pointwise (every k == 1, stride 1, no padding, one group): the GEMM x (M, c) @ w (c, f)
//     as it stands, one call to the packed GEMM (cpu/gemm) with bias and activation fused.
//   * 3x3, stride 1, no dilation, one group, at least 16 channels on both sides and 512 tiles
//     of 2x2 output pixels: Winograd F(2x2, 3x3) (cpu/conv_winograd.cpp, Note [Winograd
//     convolution]), 2.25x fewer multiply-adds, for the forward, dx and dw. Measured against
//     PyTorch's oneDNN kernels in one process at one thread (thread CPU time, min of 5, median
//     of 7 alternations), b32 3x3 'same' forward / dx / dw: 16x16x64 -> 64, implicit 0.82 /
//     0.86 / 0.88x, Winograd 1.33 / 1.32 / 1.38x; 32x32x32 -> 64, implicit 0.88 / 0.82-0.94
//     / 0.86x, Winograd 1.29 / 1.29 / 1.32x.
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
// block of output rows (their dy about 64 KB, in L2 across the taps) and tap, one
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

#include <corten/parallel.h>

#include <algorithm>
#include <vector>

#include "cpu/conv_internal.h"
#include "cpu/gemm/gemm.h"
#include "cpu/gemm/ukernel.h"

namespace corten::cpu {
namespace conv_internal {
namespace {

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
  if (winograd_applies(g) && !force_im2col()) {
    forward_winograd(g, x, w, bias, act, y);
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
    // Its output channels (c) must fill the micro-kernel's columns too: RGB inputs take the
    // col2im path.
    std::vector<T> wt;
    const ConvGeom t = transposed(g, s, w, &wt);
    if (winograd_applies(t)) {
      forward_winograd(t, dy, wt.data(), bias, act, dx);
    } else {
      forward_implicit(t, sizes_of(t), dy, wt.data(), bias, act, dx);
    }
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

// ---------------------------------------------------------------------------------------------
// Reference kernels: direct loops, float64 accumulation.

template <class T>
void forward_ref(const ConvGeom& g, const T* x, const T* w, const T* bias, Activation act,
                 T* y) {
  const Sizes s = sizes_of(g);
  std::vector<double> acc(static_cast<size_t>(g.n * s.out_px * g.f), 0.0);
  for_each_product(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    acc[static_cast<size_t>(yi)] += static_cast<double>(x[xi]) * static_cast<double>(w[wi]);
  });
  for (size_t i = 0; i < acc.size(); ++i) y[i] = static_cast<T>(acc[i]);
  bias_act_rows(y, g.n * s.out_px, g.f, bias, act);
}

template <class T>
void backward_data_ref(const ConvGeom& g, const T* dy, const T* w, const T* bias,
                       Activation act, T* dx) {
  const Sizes s = sizes_of(g);
  std::vector<double> acc(static_cast<size_t>(g.n * s.in_px * g.c), 0.0);
  for_each_product(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    acc[static_cast<size_t>(xi)] += static_cast<double>(dy[yi]) * static_cast<double>(w[wi]);
  });
  for (size_t i = 0; i < acc.size(); ++i) dx[i] = static_cast<T>(acc[i]);
  bias_act_rows(dx, g.n * s.in_px, g.c, bias, act);
}

}  // namespace
}  // namespace conv_internal

void conv_forward(DType dtype, const ConvGeom& g, const void* x, const void* w, const void* bias,
                  Activation act, void* y) {
  if (dtype == DType::BFloat16) {
    conv_internal::forward_bf16(g, static_cast<const bfloat16*>(x), static_cast<const bfloat16*>(w),
                                static_cast<const bfloat16*>(bias), act, static_cast<bfloat16*>(y));
    return;
  }
  conv_internal::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto fn = g.reference ? conv_internal::forward_ref<T> : conv_internal::forward_fast<T>;
    fn(g, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias), act,
       static_cast<T*>(y));
  });
}

void conv_backward_data(DType dtype, const ConvGeom& g, const void* dy, const void* w,
                        const void* bias, Activation act, void* dx) {
  if (dtype == DType::BFloat16) {
    conv_internal::backward_data_bf16(
        g, static_cast<const bfloat16*>(dy), static_cast<const bfloat16*>(w),
        static_cast<const bfloat16*>(bias), act, static_cast<bfloat16*>(dx));
    return;
  }
  conv_internal::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto fn =
        g.reference ? conv_internal::backward_data_ref<T> : conv_internal::backward_data_fast<T>;
    fn(g, static_cast<const T*>(dy), static_cast<const T*>(w), static_cast<const T*>(bias), act,
       static_cast<T*>(dx));
  });
}

}  // namespace corten::cpu
