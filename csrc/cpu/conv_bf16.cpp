// bfloat16 convolutions: forward, dx and dw on the bfloat16 GEMM.
//
// Note [bfloat16 convolution]
// The products run on the pair kernels of Note [bfloat16 GEMM] (VDPBF16PS where the CPU has
// it), the sums in float32, each result rounded to bfloat16 once:
//   * forward: pointwise convolutions are one GEMM x (M, c) @ w (c, f) with the bias and the
//     activation in its write-back; the others gather bfloat16 patches (im2col, tiles of about
//     kColsBytes, half the bytes of float32 ones) and run one GEMM per tile, writing y's rows.
//   * dx: pointwise is dy @ w^T; with stride 1 and at least 16 input channels a group, the
//     forward above of dy with the kernel flipped in space and transposed in channels (as the
//     float32 dx, Note [Convolution algorithm]); otherwise, per image, tiles of dcols =
//     dy_tile @ w^T are kept in float32 (the GEMM's unrounded sums) and scattered into a
//     float32 image (col2im), so that the taps overlapping a pixel add in float32; the bias and
//     activation of a transposed convolution apply in float32, then the image is rounded.
//   * dw: the float32 sum over im2col tiles of cols^T @ dy_tile, in the fixed chunks of
//     Note [Filter gradient chunks] (results independent of the thread count), rounded at the
//     end. A tile's patch rows are interleaved in pairs once, which is the pair layout of an A
//     read in place, and dy's rows into one B panel per NR output channels: each MR patch
//     values then take one kernel call over the tile's whole depth, added into dw's rows
//     (b64 30x30x32 -> 64: 16.4 -> 11.2 ms at 1 thread, 7.5 -> 5.8 at 2; before, dw^T =
//     dy^T @ cols on the GEMM driver packed the patches per kernel panel and dy^T per tile, and
//     added the transposed result). The kernel then takes 70% of dw's time, the im2col and
//     the interleave the rest (perf). On the float32 path (no VDPBF16PS) dw^T = dy^T @ cols
//     still runs on the driver, which widens the operands. On AMX tiles (Note [AMX tiles])
//     A must be read along its rows, so the roles turn: dw^T = dy^T @ cols, dy's tile (the
//     smaller operand) transposed into rows of pairs by the kernel's vector packing and the
//     patch rows interleaved into B panels, each chunk summing into 32 x 32 blocks of dw^T in
//     the kernel's tile layout, in place (b64 30x30x32 -> 64: 18.9 ms on VDPBF16PS, 5.5 on
//     the tiles, float32 7.6, at 1 thread on a Xeon with AMX).
// The weights are packed once per call (gemm::pack_bf16_b) and the patch tiles are read in
// place as the GEMM's A, so a tile costs its im2col and its products only.
// The float32 kernels' implicit, Winograd and direct paths have no bfloat16 form: the patch
// matrix is what turns a convolution into the pair-packed GEMM. `reference` widens the operands
// and runs the float32 reference kernels (float64 sums), rounding their results once.

#include <corten/parallel.h>

#include <algorithm>
#include <vector>

#include "cpu/conv.h"
#include "cpu/conv_internal.h"
#include "cpu/elementwise.h"
#include "cpu/gemm/gemm_bf16.h"
#include "cpu/scratch.h"

namespace corten::cpu::conv_internal {
namespace {

// The ISA's vectorised conversions (cpu/elementwise.h); an absent operand widens to nothing.
std::vector<float> widen(const bfloat16* p, int64_t n) {
  std::vector<float> out(static_cast<size_t>(p ? n : 0));
  if (!out.empty()) active_elementwise_table().bf16_to_f32(p, out.data(), n);
  return out;
}

void round_into(const float* src, int64_t n, bfloat16* dst) {
  active_elementwise_table().f32_to_bf16(src, dst, n);
}

// Runs fn(t0, t1) over [0, count): split over the threads when there are at least two items a
// thread, else on the caller (the GEMMs inside then split).
template <class F>
void over_items(int64_t count, const F& fn) {
  const int threads = get_num_threads();
  if (threads > 1 && count >= 2 * threads) {
    parallel_for(0, count, 1, fn);
  } else {
    fn(0, count);
  }
}

// Runs body(acc, grp, r0, k, cols, work) for every tile of `rows` patch rows (k of them from
// output pixel r0) of the m output pixels and every group, after the tile's im2col into cols,
// the tiles summed in the fixed chunks of Note [Filter gradient chunks] into chunks' partial
// acc. `work` is the chunk's own scratch of work_words 32-bit words, allocated once per chunk.
template <class Body>
void over_patch_tiles(const ConvGeom& g, const Sizes& s, const bfloat16* x, int64_t m,
                      int64_t rows, int64_t work_words, FilterChunks<float>& chunks,
                      const Body& body) {
  chunks.run([&](int64_t ch) {
    Scratch<bfloat16> cols(rows * s.kdim, "conv_backward_filter");
    Scratch<uint32_t> work(work_words, "conv_backward_filter");
    float* acc = chunks.acc(ch);
    for (int64_t t = chunks.begin(ch); t < chunks.end(ch); ++t) {
      const int64_t r0 = t * rows, r1 = std::min(m, r0 + rows);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, s, x, grp, r0, r1, cols.data());
        body(acc, grp, r0, r1 - r0, cols.data(), work.data());
      }
    }
  });
}

// dw (kdim x f, float32) of the im2col path on AMX tiles (Note [bfloat16 convolution], dw):
// dw^T = dy^T @ cols, whose A (dy^T, pairs of patch rows consecutive) is the small operand to
// transpose and whose B panels are the patch rows interleaved in pairs. Each chunk sums into
// 32 x 32 blocks of dw^T (group, filter panel, patch panel) in place, the kernel's own tile
// layout, which become dw's rows at the end.
// At most 4 chunks, not kMaxFilterChunks: the tile kernel makes a chunk's products so cheap
// that zeroing and adding the partial blocks dominated (b64 9x9x64 -> 64 'same' dw at 2
// threads: 0.83 ms with 16 chunks, 0.52 with 4, 0.55 with 2).
constexpr int64_t kMaxTileChunks = 4;
void backward_filter_tiles(const gemm::Bf16Ukernel& uk, const ConvGeom& g, const Sizes& s,
                           const bfloat16* x, const bfloat16* dy, int64_t m, float* dwf) {
  const int MR = uk.mr, NR = uk.nr;
  const int64_t jpanels = (s.fg + MR - 1) / MR, ipanels = (s.kdim + NR - 1) / NR;
  const int64_t block = int64_t{MR} * NR, group_size = jpanels * ipanels * block;
  const int64_t rows = tile_rows(s.kdim, sizeof(bfloat16), kFilterColsBytes / 4, m);
  const int64_t tiles = (m + rows - 1) / rows;
  std::vector<float> blocks(static_cast<size_t>(g.groups * group_size));
  FilterChunks<float> chunks(tiles, rows, g.groups * group_size, blocks.data(), kMaxTileChunks);
  const int64_t kp_max = (rows + 1) / 2;
  over_patch_tiles(g, s, x, m, rows, (ipanels * NR + jpanels * MR) * kp_max, chunks,
                   [&](float* acc, int64_t grp, int64_t r0, int64_t k, const bfloat16* cols,
                       uint32_t* work) {
    const int64_t kp = (k + 1) / 2;
    uint32_t* const col_pairs = work;
    uint32_t* const dy_rows = work + ipanels * NR * kp_max;
    for (int64_t ip = 0; ip < ipanels; ++ip) {
      gemm::pack_bf16_pairs(uk, NR, std::min<int64_t>(NR, s.kdim - ip * NR), k, cols + ip * NR,
                            s.kdim, 1, col_pairs + ip * kp * NR);
    }
    // dy^T's rows: filter j's pair p is (dy[r0 + 2p][j], dy[r0 + 2p + 1][j]).
    for (int64_t jp = 0; jp < jpanels; ++jp) {
      uk.pack_a_cols(MR, std::min<int64_t>(MR, s.fg - jp * MR), k,
                     reinterpret_cast<const uint16_t*>(dy + r0 * g.f + grp * s.fg + jp * MR), g.f,
                     dy_rows + jp * MR * kp);
    }
    float* group_acc = acc + grp * group_size;
    // Inline when the chunks already run in parallel; split over the threads otherwise.
    parallel_for(0, ipanels, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t ip = i0; ip < i1; ++ip) {
        for (int64_t jp = 0; jp < jpanels; ++jp) {
          uk.fn(kp, reinterpret_cast<const uint16_t*>(dy_rows + jp * MR * kp), 2 * kp, 2,
                col_pairs + ip * kp * NR, group_acc + (jp * ipanels + ip) * block, true);
        }
      }
    });
  });
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    for (int64_t p = 0; p < s.kdim; ++p) {
      const int64_t ip = p / NR, ii = p % NR;
      for (int64_t j = 0; j < s.fg; ++j) {
        const int64_t jp = j / MR, jj = j % MR;
        dwf[p * g.f + grp * s.fg + j] =
            blocks[static_cast<size_t>(grp * group_size + (jp * ipanels + ip) * block + jj * NR + ii)];
      }
    }
  }
}

// dw (kdim x f, float32) of the im2col path: per tile of patch rows, dw += cols^T @ dy_tile
// (Note [bfloat16 convolution], dw). The tile's patch rows are interleaved in pairs, which is
// the pair layout of an A read in place (pair p of patch value i at word p * width + i), and
// dy's rows likewise into the B panels, so the micro-kernel runs the tile's whole depth over
// every MR patch values and writes an MR x NR tile that is added into the chunk's dw rows.
void backward_filter_pairs(const ConvGeom& g, const Sizes& s, const bfloat16* x,
                           const bfloat16* dy, int64_t m, float* dwf) {
  const gemm::Bf16Ukernel* kernel = gemm::gemm_bf16_kernel(s.fg <= 16 ? 1 : s.fg <= 32 ? 2 : 4);
  const int64_t wsize = s.kdim * g.f;
  // A quarter of the float32 path's tiles: a tile's patches and their pairs then stay in L2
  // while the kernel reads them (b64 30x30x32 -> 64 dw at 2 threads: tiles of 1 MB 12.7 ms,
  // 256 KB 8.6 ms, 128 KB 8.9 ms, 64 KB 10.3 ms, with the GEMM driver's packing).
  const int64_t rows = tile_rows(s.kdim, sizeof(bfloat16), kFilterColsBytes / 4, m);
  const int64_t tiles = (m + rows - 1) / rows;
  if (kernel == nullptr) {
    // The float32 path (no VDPBF16PS): dw^T = dy^T @ cols on the driver, which widens the
    // operands; the patches, the larger operand, are then its row-major B.
    FilterChunks<float> chunks(tiles, rows, wsize, dwf);
    over_patch_tiles(g, s, x, m, rows, s.fg * s.kdim, chunks,
                     [&](float* acc, int64_t grp, int64_t r0, int64_t k, const bfloat16* cols,
                         uint32_t* work) {
      float* const tmp = reinterpret_cast<float*>(work);
      gemm::gemm_bf16(s.fg, s.kdim, k, dy + r0 * g.f + grp * s.fg, 1, g.f, cols, s.kdim, 1, tmp,
                      false);
      for (int64_t p = 0; p < s.kdim; ++p) {
        float* a = acc + p * g.f + grp * s.fg;
        for (int64_t j = 0; j < s.fg; ++j) a[j] += tmp[j * s.kdim + p];
      }
    });
    return;
  }
  const gemm::Bf16Ukernel& uk = *kernel;
  const int MR = uk.mr, NR = uk.nr;
  // Patch values per pair row: whole MR-row panels, and a multiple of 16 for the packing.
  const int64_t width = (s.kdim + MR - 1) / MR * MR;
  const int64_t width16 = (width + 15) / 16 * 16;
  const int64_t panels = width / MR, col_panels = (s.fg + NR - 1) / NR;
  const int64_t kp_max = (rows + 1) / 2;
  FilterChunks<float> chunks(tiles, rows, wsize, dwf);
  over_patch_tiles(g, s, x, m, rows, (width16 + col_panels * NR) * kp_max, chunks,
                   [&](float* acc, int64_t grp, int64_t r0, int64_t k, const bfloat16* cols,
                       uint32_t* work) {
    const int64_t kp = (k + 1) / 2;
    uint32_t* const pairs = work;
    uint32_t* const dy_pairs = work + width16 * kp_max;
    gemm::pack_bf16_pairs(uk, width16, s.kdim, k, cols, s.kdim, 1, pairs);
    for (int64_t cp = 0; cp < col_panels; ++cp) {
      gemm::pack_bf16_pairs(uk, NR, std::min<int64_t>(NR, s.fg - cp * NR), k,
                            dy + r0 * g.f + grp * s.fg + cp * NR, g.f, 1, dy_pairs + cp * kp * NR);
    }
    // Inline when the chunks already run in parallel; split over the threads otherwise.
    parallel_for(0, panels, 1, [&](int64_t p0, int64_t p1) {
      alignas(64) float tile[16 * 64];
      for (int64_t pan = p0; pan < p1; ++pan) {
        const int64_t i0 = pan * MR, mr = std::min<int64_t>(MR, s.kdim - i0);
        if (mr <= 0) continue;
        for (int64_t cp = 0; cp < col_panels; ++cp) {
          uk.fn(kp, reinterpret_cast<const uint16_t*>(pairs) + 2 * i0, 2, 2 * width16,
                dy_pairs + cp * kp * NR, tile, false);
          const int64_t nr = std::min<int64_t>(NR, s.fg - cp * NR);
          for (int64_t i = 0; i < mr; ++i) {
            float* a = acc + (i0 + i) * g.f + grp * s.fg + cp * NR;
            const float* tr = tile + i * NR;
            for (int64_t j = 0; j < nr; ++j) a[j] += tr[j];
          }
        }
      }
    });
  });
}

// Note [Implicit bfloat16 convolution]
// On AMX tiles (Note [AMX tiles]) a stride-1 convolution whose channels come in blocks of 32
// (one tile row of k) needs no patch matrix. The input is copied once into a zero-padded
// image (the padding around it, and slack past the end), and the output pixels are numbered
// in the padded image's grid: "virtual" pixel q = (o0 * P1 + o1) * P2 + o2 of image n reads
// tap (a, b, c)'s input at q + (a d0 P1 + b d1) P2 + c d2, so for a fixed tap the input rows
// of consecutive virtual pixels are consecutive pixels of the padded image, one tile load
// with the image's channel stride. A 32 x 32 output tile is then one kernel call over taps x
// channel blocks, each block's A tiles read at its own offset (Bf16Ukernel::blocks), the
// weights packed once. Virtual pixels outside the output (o2 >= out2 or o1 >= out1: the
// width of the kernel's span on each row) are computed and dropped, so the batch is one run
// of virtual pixels across images. The products are those of the patch path in the same order;
// only the patch matrix, written and read once per pixel and tap, is gone (b64 30x30x32 -> 64
// forward at 1 thread on a Xeon with AMX: 4.2 ms with the patch matrix, 2.2 without, float32
// 8.2; bench/results/mixed-precision-kernels-2026-12-07e.txt).
bool implicit_tiles(const ConvGeom& g, const Sizes& s, const gemm::Bf16Ukernel* uk) {
  if (uk == nullptr || uk->blocks == nullptr || uk->finish_rows == nullptr || g.groups != 1 ||
      g.c % 32 != 0) {
    return false;
  }
  for (int i = 0; i < 3; ++i) {
    if (g.stride[i] != 1) return false;
    const int64_t padded = g.out[i] + (g.k[i] - 1) * g.dil[i];
    if (padded < g.in[i] + g.pad[i]) return false;  // a convolution that crops its input
  }
  return s.kdim >= 32;
}

void forward_implicit(const gemm::Bf16Ukernel& uk, const ConvGeom& g, const Sizes& s,
                      const bfloat16* x, const bfloat16* w, const bfloat16* bias, Activation act,
                      bfloat16* y) {
  const int MR = uk.mr, NR = uk.nr;
  int64_t ext[3];  // the padded image
  for (int i = 0; i < 3; ++i) ext[i] = g.out[i] + (g.k[i] - 1) * g.dil[i];
  const int64_t plane = ext[1] * ext[2], image = ext[0] * plane;
  const int64_t blocks_per_tap = g.c / 32, nblocks = s.kk * blocks_per_tap;
  std::vector<int64_t> offsets(static_cast<size_t>(nblocks));
  int64_t reach = 0;  // the furthest tap, in padded pixels
  for (int64_t a = 0, i = 0; a < g.k[0]; ++a)
    for (int64_t b = 0; b < g.k[1]; ++b)
      for (int64_t c = 0; c < g.k[2]; ++c) {
        const int64_t px = (a * g.dil[0] * ext[1] + b * g.dil[1]) * ext[2] + c * g.dil[2];
        reach = std::max(reach, px);
        for (int64_t cb = 0; cb < blocks_per_tap; ++cb) offsets[static_cast<size_t>(i++)] =
            px * g.c + cb * 32;
      }
  // The last valid virtual pixel + 1: tiles run over [0, end), reading up to MR - 1 + reach
  // pixels past it.
  const int64_t end = (g.n - 1) * image + ((g.out[0] - 1) * ext[1] + g.out[1] - 1) * ext[2] +
                      g.out[2];
  const int64_t padded_px = std::max(g.n * image, end + MR + reach);
  // Every element of the padded image written once: a padded row is zeros, or zeros around
  // an input row.
  Scratch<bfloat16> xp(padded_px * g.c, "conv");
  const int64_t row_len = ext[2] * g.c, rows = g.n * ext[0] * ext[1];
  parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t e1 = r % ext[1] - g.pad[1], e0 = r / ext[1] % ext[0] - g.pad[0],
                    n = r / (ext[0] * ext[1]);
      bfloat16* dst = xp.data() + r * row_len;
      if (e0 < 0 || e0 >= g.in[0] || e1 < 0 || e1 >= g.in[1]) {
        std::fill(dst, dst + row_len, bfloat16{0});
        continue;
      }
      const bfloat16* src = x + ((n * g.in[0] + e0) * g.in[1] + e1) * g.in[2] * g.c;
      bfloat16* inner = dst + g.pad[2] * g.c;
      std::fill(dst, inner, bfloat16{0});
      std::copy(src, src + g.in[2] * g.c, inner);
      std::fill(inner + g.in[2] * g.c, dst + row_len, bfloat16{0});
    }
  });
  std::fill(xp.data() + rows * row_len, xp.data() + padded_px * g.c, bfloat16{0});
  const gemm::PackedBf16B wp = gemm::pack_bf16_b(s.kdim, g.f, w, g.f, 1);
  const int64_t kp = (s.kdim + 1) / 2, panels = (g.f + NR - 1) / NR;
  std::vector<float> bias_f = widen(bias, g.f);
  const UnaryRowFn act_fn = activation_row(act, DType::Float32);
  const int64_t tiles = (end + MR - 1) / MR;
  parallel_for(0, tiles * panels, 4, [&](int64_t i0, int64_t i1) {
    alignas(64) float tile[32 * 32];
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t t = item / panels, pn = item % panels, j0 = pn * NR;
      const int64_t nr = std::min<int64_t>(NR, g.f - j0);
      uk.blocks(nblocks, reinterpret_cast<const uint16_t*>(xp.data() + t * MR * g.c),
                offsets.data(), g.c, wp.words.data() + pn * NR * kp, tile);
      // The output row of each of the tile's pixels (null for a dropped one): the first row's
      // pixel, then the next ones counted on (divisions per row cost more than the products).
      bfloat16* dst[32];
      const int64_t q0 = t * MR, v0 = q0 % image;
      int64_t n = q0 / image, o0 = v0 / plane, o1 = v0 / ext[2] % ext[1], o2 = v0 % ext[2];
      for (int64_t r = 0; r < MR; ++r) {
        const bool kept = q0 + r < end && o2 < g.out[2] && o1 < g.out[1] && o0 < g.out[0];
        dst[r] = kept ? y + (n * s.out_px + (o0 * g.out[1] + o1) * g.out[2] + o2) * g.f + j0
                      : nullptr;
        if (++o2 == ext[2]) {
          o2 = 0;
          if (++o1 == ext[1]) {
            o1 = 0;
            if (++o0 == ext[0]) {
              o0 = 0;
              ++n;
            }
          }
        }
      }
      const float* bias_j = bias ? bias_f.data() + j0 : nullptr;
      if (act != Activation::Identity && act != Activation::Relu) {  // the row kernels
        for (int64_t r = 0; r < MR && bias_j; ++r)
          for (int64_t j = 0; j < nr; ++j) tile[r * NR + j] += bias_j[j];
        act_fn(tile, 1, tile, MR * NR, 0.0);
        bias_j = nullptr;
      }
      uk.finish_rows(tile, MR, nr, bias_j, act == Activation::Relu,
                     reinterpret_cast<uint16_t* const*>(dst));
    }
  });
}

}  // namespace

void forward_bf16(const ConvGeom& g, const bfloat16* x, const bfloat16* w, const bfloat16* bias,
                  Activation act, bfloat16* y) {
  const Sizes s = sizes_of(g);
  const int64_t m = g.n * s.out_px;
  if (g.reference) {
    std::vector<float> yf(static_cast<size_t>(m * g.f));
    const std::vector<float> xf = widen(x, g.n * s.in_px * g.c), wf = widen(w, s.kdim * g.f),
                             bf = widen(bias, g.f);
    conv_forward(DType::Float32, g, xf.data(), wf.data(), bias ? bf.data() : nullptr, act,
                 yf.data());
    round_into(yf.data(), m * g.f, y);
    return;
  }
  const int64_t zero = 0;
  if (pointwise(g)) {
    gemm::gemm_bf16(1, m, g.f, g.c, x, &zero, g.c, 1, w, &zero, g.f, 1, y, bias, act);
    return;
  }
  if (const gemm::Bf16Ukernel* uk = gemm::gemm_bf16_kernel(); implicit_tiles(g, s, uk)) {
    forward_implicit(*uk, g, s, x, w, bias, act, y);
    return;
  }
  // On the tiles, a depth that is not a whole number of 16-pair blocks (an RGB input's 27)
  // sends every kernel call through its partial-block copies; the patch rows and the weights
  // are then padded with zeros to whole blocks instead (b64 32x32x3 -> 32 forward with bias and
  // relu at 1 thread: 1.52-1.65 -> 1.14-1.22 ms).
  const gemm::Bf16Ukernel* uk = gemm::gemm_bf16_kernel();
  const int64_t depth = uk != nullptr && uk->a_rows ? (s.kdim + 31) / 32 * 32 : s.kdim;
  std::vector<bfloat16> w_padded;
  if (depth != s.kdim) {
    w_padded.assign(static_cast<size_t>(depth * g.f), bfloat16{0});
    std::copy(w, w + s.kdim * g.f, w_padded.begin());
  }
  const bfloat16* wd = depth != s.kdim ? w_padded.data() : w;
  // Each group's weights packed once for every tile.
  std::vector<gemm::PackedBf16B> wp;
  for (int64_t grp = 0; grp < g.groups; ++grp)
    wp.push_back(gemm::pack_bf16_b(depth, s.fg, wd + grp * s.fg, g.f, 1));
  const int64_t rows = tile_rows(depth, sizeof(bfloat16), kColsBytes, m);
  over_items((m + rows - 1) / rows, [&](int64_t t0, int64_t t1) {
    Scratch<bfloat16> cols(rows * depth, "conv");
    Scratch<bfloat16> tmp(g.groups > 1 ? rows * s.fg : 0, "conv");
    for (int64_t r = 0; depth != s.kdim && r < rows; ++r)  // the padding, never written again
      std::fill(cols.data() + r * depth + s.kdim, cols.data() + (r + 1) * depth, bfloat16{0});
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = t * rows, nr = std::min(m, r0 + rows) - r0;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, s, x, grp, r0, r0 + nr, cols.data(), depth);
        const bfloat16* bg = bias ? bias + grp * s.fg : nullptr;
        bfloat16* out = g.groups == 1 ? y + r0 * g.f : tmp.data();
        gemm::gemm_bf16(nr, cols.data(), depth, 1, wp[static_cast<size_t>(grp)], out, bg, act);
        if (g.groups > 1) {
          for (int64_t r = 0; r < nr; ++r)
            std::copy(out + r * s.fg, out + (r + 1) * s.fg, y + (r0 + r) * g.f + grp * s.fg);
        }
      }
    }
  });
}

void backward_data_bf16(const ConvGeom& g, const bfloat16* dy, const bfloat16* w,
                        const bfloat16* bias, Activation act, bfloat16* dx) {
  const Sizes s = sizes_of(g);
  if (g.reference) {
    std::vector<float> dxf(static_cast<size_t>(g.n * s.in_px * g.c));
    const std::vector<float> dyf = widen(dy, g.n * s.out_px * g.f), wf = widen(w, s.kdim * g.f),
                             bf = widen(bias, g.c);
    conv_backward_data(DType::Float32, g, dyf.data(), wf.data(), bias ? bf.data() : nullptr,
                       act, dxf.data());
    round_into(dxf.data(), g.n * s.in_px * g.c, dx);
    return;
  }
  const int64_t zero = 0;
  if (pointwise(g)) {  // dx = dy @ w^T
    gemm::gemm_bf16(1, g.n * s.in_px, g.c, g.f, dy, &zero, g.f, 1, w, &zero, 1, g.f, dx, bias,
                    act);
    return;
  }
  if (transposable(g, s) && s.cg >= kImplicitMinChannels) {  // the flipped forward of dy
    std::vector<bfloat16> wt;
    const ConvGeom t = transposed(g, s, w, &wt);
    forward_bf16(t, dy, wt.data(), bias, act, dx);
    return;
  }
  const std::vector<float> bias_f = widen(bias, g.c);
  // Each group's w^T (fg x kdim: element (j, p) at w[p * f + j]) packed once.
  std::vector<gemm::PackedBf16B> wt;
  for (int64_t grp = 0; grp < g.groups; ++grp)
    wt.push_back(gemm::pack_bf16_b(s.fg, s.kdim, w + grp * s.fg, 1, g.f));
  const int64_t rows = tile_rows(s.kdim, sizeof(float), kColsBytes, s.out_px);
  over_items(g.n, [&](int64_t b0, int64_t b1) {
    Scratch<float> cols(rows * s.kdim, "conv_transpose");
    Scratch<float> image(s.in_px * g.c, "conv_transpose");
    for (int64_t b = b0; b < b1; ++b) {
      std::fill(image.data(), image.data() + s.in_px * g.c, 0.0f);
      const bfloat16* dyb = dy + b * s.out_px * g.f;
      for (int64_t q0 = 0; q0 < s.out_px; q0 += rows) {
        const int64_t q1 = std::min(s.out_px, q0 + rows);
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          gemm::gemm_bf16(q1 - q0, dyb + q0 * g.f + grp * s.fg, g.f, 1,
                          wt[static_cast<size_t>(grp)], cols.data(), false);
          // Rows of image b counted from 0: col2im addresses `image` as image 0.
          col2im_add(g, s, cols.data(), grp, q0, q1, image.data());
        }
      }
      bias_act_rows(image.data(), s.in_px, g.c, bias ? bias_f.data() : nullptr, act);
      round_into(image.data(), s.in_px * g.c, dx + b * s.in_px * g.c);
    }
  });
}

void backward_filter_bf16(const ConvGeom& g, const bfloat16* x, const bfloat16* dy,
                          bfloat16* dw) {
  const Sizes s = sizes_of(g);
  const int64_t m = g.n * s.out_px, wsize = s.kdim * g.f;
  std::vector<float> dwf(static_cast<size_t>(wsize), 0.0f);
  if (g.reference) {
    const std::vector<float> xf = widen(x, g.n * s.in_px * g.c), dyf = widen(dy, m * g.f);
    conv_backward_filter(DType::Float32, g, xf.data(), dyf.data(), dwf.data());
  } else if (pointwise(g)) {  // dw = x^T @ dy
    gemm::gemm_bf16(g.c, g.f, m, x, 1, g.c, dy, g.f, 1, dwf.data(), false);
  } else if (const gemm::Bf16Ukernel* uk = gemm::gemm_bf16_kernel();
             m > 0 && uk != nullptr && uk->a_rows && uk->pack_a_cols) {
    backward_filter_tiles(*uk, g, s, x, dy, m, dwf.data());
  } else if (m > 0) {
    backward_filter_pairs(g, s, x, dy, m, dwf.data());
  }
  round_into(dwf.data(), wsize, dw);
}

}  // namespace corten::cpu::conv_internal
