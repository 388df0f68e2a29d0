// Convolution kernels: the filter gradient dw (Note [Convolution algorithm] in conv.cpp).

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

// dy rows per batch-reduce of the implicit dw, in bytes: each dw tile goes to memory once per
// block (8 / 16 / 32 / 64 / 128 KB: 0.78 / 0.84 / 0.86 / 0.88 / 0.88x PyTorch's dw at one
// thread, b32 16x16x64 -> 64).
constexpr int64_t kFilterRowBlockBytes = int64_t{64} << 10;

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
  // Output rows are taken in blocks of one image (dy about kFilterRowBlockBytes, in L2 across
  // the taps): each dw tile is one batch-reduce over the block's rows.
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
  if (winograd_applies(g) && !force_im2col()) {
    backward_filter_winograd(g, x, dy, dw);
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

// Reference kernel: direct loops, float64 accumulation.

template <class T>
void backward_filter_ref(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const Sizes s = sizes_of(g);
  std::vector<double> acc(static_cast<size_t>(s.kdim * g.f), 0.0);
  for_each_product(g, [&](int64_t xi, int64_t wi, int64_t yi) {
    acc[static_cast<size_t>(wi)] += static_cast<double>(x[xi]) * static_cast<double>(dy[yi]);
  });
  for (size_t i = 0; i < acc.size(); ++i) dw[i] = static_cast<T>(acc[i]);
}

}  // namespace
}  // namespace conv_internal

void conv_backward_filter(DType dtype, const ConvGeom& g, const void* x, const void* dy,
                          void* dw) {
  if (dtype == DType::BFloat16) {
    conv_internal::backward_filter_bf16(g, static_cast<const bfloat16*>(x),
                                        static_cast<const bfloat16*>(dy),
                                        static_cast<bfloat16*>(dw));
    return;
  }
  conv_internal::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto fn = g.reference ? conv_internal::backward_filter_ref<T>
                          : conv_internal::backward_filter_fast<T>;
    fn(g, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dw));
  });
}

}  // namespace corten::cpu
