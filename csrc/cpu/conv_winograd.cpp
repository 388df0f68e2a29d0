// Winograd F(2x2, 3x3) convolution (Note [Winograd convolution]).
//
// Note [Winograd convolution]
// A 3x3 convolution with stride 1 and no dilation computes each 2x2 block of output pixels
// from the 4x4 input tile d under it as (Lavin and Gray, https://arxiv.org/abs/1509.09308)
//   Y = A^T [ sum_c (G w_c G^T) . (B^T d_c B) ] A,
// where . is the elementwise product of 4x4 matrices. The sum over input channels of those
// products is, for each of the 16 positions of the 4x4 matrices, one GEMM
// (tiles x c) @ (c x f) of the transformed input V by the transformed weights U, so the 36
// multiply-adds per channel pair and 2x2 block become 16: 2.25x fewer than the direct
// kernels, for transforms whose cost grows with c + f rather than c * f. The products run on
// the GEMM micro-kernel with V read in place and U packed once per call. Tiles are processed
// in blocks whose V and M (the products) stay in L2; each block is transformed (zero padding
// included), multiplied and transformed back with the bias and activation, in one pass. The
// transforms are compiled per ISA (cpu/conv_winograd_kernels.inc). Where the time went, b32
// 16x16x64 -> 64 at one thread (perf): products 40%, input transform 22%, weight transform
// 6%, output transform 6%; the 16 planes of V and M are skewed off 4 KB strides (L1 set
// conflicts) and the buffers come from the caching allocator (page faults on every call
// otherwise: batch 1 ran at 0.3x the implicit kernel's speed). Below kWinogradMinTiles tiles
// the implicit kernel is faster.
// Numerics: the transforms only add, subtract and halve (G), so the result differs from the
// direct sum by rounding alone; measured against the float64 reference on random data the
// float32 error is of the order of the direct kernels' (tests/python/ops/test_conv.py).
// Threads: blocks of tiles (a fixed split by shape) run in parallel, each with its GEMMs
// inline; with fewer blocks than threads, the GEMMs split instead. Every output is the same
// sequence of operations either way: bit-identical at any thread count.
// Used for the forward, dx (stride-1 dx is a convolution, Note [Convolution algorithm]) and
// dw (dU = sum over tiles of V^T (A dY A^T), then dw = G^T dU G: the transforms' adjoints),
// with one group and at least kImplicitMinChannels channels on both sides; measured in that
// Note. CORTEN_CONV_WINOGRAD=0 (read once) turns it off, for measuring.

#include <corten/parallel.h>

#include <algorithm>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "cpu/conv_internal.h"
#include "cpu/conv_winograd.h"
#include "cpu/gemm/gemm.h"
#include "cpu/gemm/ukernel.h"
#include "cpu/scratch.h"

namespace corten::cpu::conv_internal {
namespace {

// V (16 x tiles x c) and M (16 x tiles x f) of one block: about this many bytes, in L2.
constexpr int64_t kWinogradBlockBytes = int64_t{1} << 20;
// Values added to each V and M plane's stride (a few cache lines, not a multiple of 4 KB).
constexpr int64_t kPlaneSkew = 80;
// Fewer 2x2 tiles than this do not pay for the weight transform and the per-block setup
// (batch 1, 16x16x64 -> 64: 0.4x the implicit kernel's speed; batch 32: 1.5x).
constexpr int64_t kWinogradMinTiles = 512;
// dw's partial sums: at most this many fixed chunks of tiles.
constexpr int64_t kMaxChunks = 16;

bool winograd_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("CORTEN_CONV_WINOGRAD");
    return v == nullptr || v[0] != '0';
  }();
  return enabled;
}

WinogradTiles tiles_of(const ConvGeom& g) {
  WinogradTiles t;
  t.th = (g.out[1] + 1) / 2;
  t.tw = (g.out[2] + 1) / 2;
  t.per_image = t.th * t.tw;
  t.total = g.n * g.in[0] * t.per_image;
  return t;
}

const WinogradTable& winograd_kernels() {
  return table_for_isa(&portable_winograd_table, &avx2::winograd_table,
                       &avx512::winograd_table);
}

}  // namespace

bool winograd_applies(const ConvGeom& g) {
  return winograd_enabled() && g.groups == 1 && g.k[0] == 1 && g.k[1] == 3 && g.k[2] == 3 &&
         g.stride[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 && g.dil[1] == 1 &&
         g.dil[2] == 1 && g.pad[0] == 0 && g.c >= kImplicitMinChannels &&
         g.f >= kImplicitMinChannels && g.n > 0 && g.out[1] > 0 && g.out[2] > 0 &&
         tiles_of(g).total >= kWinogradMinTiles;
}

template <class T>
void forward_winograd(const ConvGeom& g, const T* x, const T* w, const T* bias, Activation act,
                      T* y) {
  const WinogradTiles tl = tiles_of(g);
  const WinogradKernels<T>& k = winograd_kernels().of<T>();
  const UnaryRowFn act_fn = activation_row(act, dtype_of<T>());
  // The products run on the GEMM micro-kernel, V read in place (rows of c values) and U
  // transformed straight into NR-column panels per position, once: no packing per block.
  // The narrower kernel (8 rows on avx512) unless it pads the filters more.
  const gemm::Ukernel<T>* uk_ptr = &gemm::ukernel_for<T>(g.f);
  const gemm::Ukernel<T>& narrow = gemm::ukernel_for<T>(std::min<int64_t>(g.f, 32));
  auto padded = [&](const gemm::Ukernel<T>& u) { return (g.f + u.nr - 1) / u.nr * u.nr; };
  if (padded(narrow) <= padded(*uk_ptr)) uk_ptr = &narrow;
  const gemm::Ukernel<T>& uk = *uk_ptr;
  const int64_t MR = uk.mr, NR = uk.nr;
  const int64_t panels = (g.f + NR - 1) / NR;
  const Scratch<T> up(16 * panels * g.c * NR, "conv");
  k.weights(w, g.c, g.f, NR, up.data());
  const int64_t per_tile = 16 * (g.c + g.f) * static_cast<int64_t>(sizeof(T));
  const int64_t block = std::min(
      std::clamp<int64_t>(kWinogradBlockBytes / per_tile / MR * MR, MR, 64 * MR),
      (tl.total + MR - 1) / MR * MR);
  const int64_t blocks = (tl.total + block - 1) / block;
  // The 16 planes of V and of M are read and written together, tile by tile: strides that
  // are not multiples of 4 KB keep them out of each other's L1 sets.
  const int64_t v_plane = block * g.c + kPlaneSkew, m_plane = block * g.f + kPlaneSkew;
  auto run = [&](int64_t b0, int64_t b1) {
    // MR rows of slack: the micro-kernel reads whole MR-row blocks of V.
    const Scratch<T> v(16 * v_plane + MR * g.c, "conv");
    const Scratch<T> m(16 * m_plane, "conv");
    const Scratch<T> scratch(17 * std::max(g.c, g.f), "conv");
    for (int64_t bl = b0; bl < b1; ++bl) {
      const int64_t t0 = bl * block, nt = std::min(block, tl.total - t0);
      k.input(g, tl, x, t0, nt, v.data(), v_plane, scratch.data());
      for (int64_t xi = 0; xi < 16; ++xi) {
        const T* vx = v.data() + xi * v_plane;
        T* mx = m.data() + xi * m_plane;
        for (int64_t pan = 0; pan < panels; ++pan) {
          const T* bp = up.data() + (xi * panels + pan) * g.c * NR;
          const int nr = static_cast<int>(std::min(NR, g.f - pan * NR));
          for (int64_t i0 = 0; i0 < nt; i0 += MR) {
            const int mr = static_cast<int>(std::min(MR, nt - i0));
            uk.fn(g.c, vx + i0 * g.c, g.c, 1, bp, NR, mx + i0 * g.f + pan * NR, g.f, mr, nr,
                  false);
          }
        }
      }
      k.output(g, tl, m.data(), m_plane, t0, nt, bias, act_fn, y, scratch.data());
    }
  };
  const int threads = get_num_threads();
  if (threads > 1 && blocks >= threads) {
    parallel_for(0, blocks, 1, run);
  } else {
    run(0, blocks);
  }
}

// dw through the same transforms: dU[xi] = sum over tiles of V[xi]^T D[xi], D = A dY A^T
// the output transform's adjoint, then dw = G^T dU G. The tiles are split in fixed chunks
// (by shape, kMaxChunks at most), each summing its blocks into a partial dU of its own; the
// partials are added in chunk order (Note [Filter gradient chunks]): bit-identical on any
// thread count.
template <class T>
void backward_filter_winograd(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const WinogradTiles tl = tiles_of(g);
  const WinogradKernels<T>& k = winograd_kernels().of<T>();
  // dU tiles: MR input channels x NR filters, summed over a block's tiles in one call.
  const gemm::Ukernel<T>& uk = gemm::ukernel_for<T>(g.f);
  const int64_t MR = uk.mr, NR = uk.nr;
  const int64_t per_tile = 16 * (g.c + g.f) * static_cast<int64_t>(sizeof(T));
  const int64_t block = std::min(std::clamp<int64_t>(kWinogradBlockBytes / per_tile, 8, 512),
                                 tl.total);
  const int64_t blocks = (tl.total + block - 1) / block;
  const int64_t chunks = std::min<int64_t>(blocks, kMaxChunks);
  const int64_t du_size = 16 * g.c * g.f;
  const Scratch<T> du(chunks * du_size, "conv");
  // D's rows are padded to whole NR panels: kernels without masked loads read them in full
  // (the padding only meets columns of dU that are not stored).
  const int64_t fp = (g.f + NR - 1) / NR * NR;
  const int64_t v_plane = block * g.c + kPlaneSkew, d_plane = block * fp + kPlaneSkew;
  auto run = [&](int64_t c0, int64_t c1) {
    const Scratch<T> v(16 * v_plane + MR, "conv");
    const Scratch<T> d(16 * d_plane, "conv");
    const Scratch<T> scratch(17 * std::max(g.c, fp), "conv");
    for (int64_t ch = c0; ch < c1; ++ch) {
      T* acc = du.data() + ch * du_size;
      std::fill(acc, acc + du_size, T(0));
      for (int64_t bl = ch * blocks / chunks; bl < (ch + 1) * blocks / chunks; ++bl) {
        const int64_t t0 = bl * block, nt = std::min(block, tl.total - t0);
        k.input(g, tl, x, t0, nt, v.data(), v_plane, scratch.data());
        k.output_adjoint(g, tl, dy, t0, nt, d.data(), d_plane, fp, scratch.data());
        for (int64_t xi = 0; xi < 16; ++xi) {
          const T* vx = v.data() + xi * v_plane;
          const T* dm = d.data() + xi * d_plane;
          T* ux = acc + xi * g.c * g.f;
          for (int64_t j0 = 0; j0 < g.f; j0 += NR) {
            const int nr = static_cast<int>(std::min(NR, g.f - j0));
            for (int64_t i0 = 0; i0 < g.c; i0 += MR) {
              const int mr = static_cast<int>(std::min(MR, g.c - i0));
              uk.fn(nt, vx + i0, 1, g.c, dm + j0, fp, ux + i0 * g.f + j0, g.f, mr, nr, true);
            }
          }
        }
      }
    }
  };
  const int threads = get_num_threads();
  if (threads > 1 && chunks >= threads) {
    parallel_for(0, chunks, 1, run);
  } else {
    run(0, chunks);
  }
  for (int64_t ch = 1; ch < chunks; ++ch) {
    const T* q = du.data() + ch * du_size;
    T* acc = du.data();
    for (int64_t i = 0; i < du_size; ++i) acc[i] += q[i];
  }
  k.weights_adjoint(du.data(), g.c, g.f, dw);
}

template void backward_filter_winograd<float>(const ConvGeom&, const float*, const float*,
                                              float*);
template void backward_filter_winograd<double>(const ConvGeom&, const double*, const double*,
                                               double*);
template void forward_winograd<float>(const ConvGeom&, const float*, const float*, const float*,
                                      Activation, float*);
template void forward_winograd<double>(const ConvGeom&, const double*, const double*,
                                       const double*, Activation, double*);

}  // namespace corten::cpu::conv_internal

namespace corten::cpu {
namespace portable_winograd {
#include "cpu/conv_winograd_kernels.inc"
}  // namespace portable_winograd

const WinogradTable& portable_winograd_table() { return portable_winograd::winograd_table(); }
}  // namespace corten::cpu
