// The recurrent sequence's backward through time (Note [Fused recurrent sequence] and Note
// [Input projection in the sequence] in cpu/rnn.cpp).

#include "cpu/rnn.h"

#include "cpu/rnn_internal.h"

namespace corten::cpu {

using namespace rnn_detail;  // NOLINT(google-build-using-namespace): this file's own helpers

namespace {

// The fixed row groups of the backward with the projection inside the time loop (Note [Input
// projection in the sequence]): whole row panels of `mr` rows; each group sums its own part of
// the weight gradients, so that the sums do not depend on which thread runs which group.
struct RowGroups {
  int64_t count, panels, mr, nb;
  RowGroups(int64_t nb_, int64_t mr_) : mr(mr_), nb(nb_) {
    panels = (nb + mr - 1) / mr;
    count = panels <= 3 ? panels : std::clamp<int64_t>(panels / 2, 2, 8);
  }
  int64_t begin(int64_t g) const { return std::min(nb, g * panels / count * mr); }
  int64_t end(int64_t g) const { return begin(g + 1); }
};

// Copies row p of an n-column matrix into its panels of W columns (the layout of a
// micro-kernel's A panels, W = MR, or of its B panels, W = NR): panel q of the matrix starts at
// dst + q * stride and holds column q * W + i of row p at p * W + i. A partial last panel's
// columns past n are left as they are: they only feed tile rows or columns that are not
// stored.
template <int W, class T>
inline void pack_row(const T* src, int64_t n, int64_t p, int64_t stride, T* dst) {
  dst += p * W;
  int64_t j = 0;
  for (; j + W <= n; j += W, dst += stride) std::memcpy(dst, src + j, sizeof(T) * W);
  for (int64_t i = 0; j + i < n; ++i) dst[i] = src[j + i];
}

template <class T>
void pack_row(int w, const T* src, int64_t n, int64_t p, int64_t stride, T* dst) {
  switch (w) {
    case 6: return pack_row<6>(src, n, p, stride, dst);
    case 8: return pack_row<8>(src, n, p, stride, dst);
    case 16: return pack_row<16>(src, n, p, stride, dst);
    case 32: return pack_row<32>(src, n, p, stride, dst);
    case 64: return pack_row<64>(src, n, p, stride, dst);
    default: break;
  }
  dst += p * w;
  for (int64_t j0 = 0; j0 < n; j0 += w, dst += stride) {
    for (int64_t i = 0; i < w && j0 + i < n; ++i) dst[i] = src[j0 + i];
  }
}

// Rows of each group per block of the weight-gradient products (their k): enough that the
// product's C tile loads and stores are a small part of its work.
constexpr int64_t kBlockRows = 128;

// The backward when the input projection runs inside the time loop (Note [Input projection in
// the sequence]). Per step, each group of rows gets its pre-activations' gradients dxw (and
// dinner, GruResetAfter) from row_grad, written as the next rows of the group's block buffer,
// then dh += dinner @ U^T and dx_t = dxw @ W^T (both packed once); the rows are added to the
// group's db (drb), and the rows of x and h_prev packed as the next k rows of the block
// products dw += x^T @ dxw and du += h_prev^T @ dinner, which run every steps_blk steps on the
// block, B (dxw, dinner) read in place from the block buffer. Group 0 sums into the outputs,
// the others into their own buffers, added in group order at the end. `prefetch(b0, rows, s)`
// fetches the saved rows that row_grad reads at step s.
template <class T, class RowGrad, class Prefetch>
void backward_projected(const Ctx<T>& c, const gemm::PackedB<T>* put,
                        const gemm::PackedB<T>* pwt, const RowGrad& row_grad,
                        const Prefetch& prefetch, const T* states, const T* x, T* dx, T* dh,
                        T* dw, T* du, T* db, T* drb) {
  const int64_t nt = c.nt, nb = c.nb, nh = c.nh, gh = c.gh, nf = c.nf;
  const RowGroups groups(nb, put->mr());
  int64_t max_rows = 0;
  for (int64_t g = 0; g < groups.count; ++g) {
    max_rows = std::max(max_rows, groups.end(g) - groups.begin(g));
  }
  const int64_t steps_blk = std::clamp<int64_t>((kBlockRows + max_rows - 1) / max_rows, 1, nt);
  const int64_t kmax = steps_blk * max_rows;
  // The block products: A the block's x and h_prev rows as MR-row panels of x^T and h_prev^T,
  // each panel kmax deep; B the block's dxw (dinner) rows in place.
  const gemm::Ukernel<T> uk = gemm::packed_kernel<T>(nh);
  const int64_t MR = uk.mr, NR = uk.nr;
  const int64_t af = (nf + MR - 1) / MR, ah = (nh + MR - 1) / MR;  // A panels: x, h_prev
  const int64_t bn = (gh + NR - 1) / NR;                           // B panels
  // Row stride of the dxw (dinner) rows, the per-step products' A and the block products' B:
  // whole NR-column panels (B read in place: every column of a panel must exist), and not a
  // multiple of 256 bytes (the rows would share a few L1 sets).
  int64_t ld = bn * NR;
  const int64_t ld_bytes = ld * static_cast<int64_t>(sizeof(T));
  if ((ld_bytes & -ld_bytes) > 128) ld += 64 / static_cast<int64_t>(sizeof(T));
  // The sums of groups 1.. : dw (F, G*H), du (H, G*H), db, drb; group 0's are the outputs.
  const int64_t psize = (nf + nh + 2) * gh;
  Scratch<T> partial((groups.count - 1) * psize, "rnn_sequence");
  for (int64_t g = 1; g < groups.count; ++g) {  // db, drb are summed row by row
    T* p = partial.data() + (g - 1) * psize + (nf + nh) * gh;
    std::fill(p, p + 2 * gh, T(0));
  }
  std::vector<T> sums0(static_cast<size_t>(2 * gh), T(0));  // group 0's db, drb
  // Between A panels: kmax * MR elements is 4 KB at batch 32 (k 128, MR 8), and the per-row
  // packing stores one MR-wide piece into every panel: at a stride of a multiple of 256 bytes a
  // row's pieces share a few L1 sets (at 4 KB, one set, and they alias the loads that
  // follow). One cache line of padding spreads them over the sets.
  int64_t a_stride = kmax * MR;
  const int64_t a_bytes = a_stride * static_cast<int64_t>(sizeof(T));
  if ((a_bytes & -a_bytes) > 128) a_stride += 64 / static_cast<int64_t>(sizeof(T));
  const int64_t a_size = (af + ah) * a_stride;
  // The per-row copies and sums with the ISA's vectors, where it has them (float32).
  const RnnRowKernels* rk =
      std::is_same_v<T, float> && (MR == 8 || MR == 16 || MR == 32 || MR == 64)
          ? rnn_row_kernels()
          : nullptr;
  // The block products' panels in one call per B panel and operand (cpu/rnn_gemm.h): the
  // same sums as the micro-kernel's, without its set-up per tile.
  const RnnDualKernels* dk =
      std::is_same_v<T, float> && MR == 8 && NR == 32 ? rnn_dual_kernels() : nullptr;
  auto run = [&](int64_t g0, int64_t g1) {
    const int64_t ngr = g1 - g0;
    // Per group, its dxw (dinner) rows of the block's steps.
    Scratch<T> step_x(ngr * kmax * ld, "rnn_sequence");
    Scratch<T> step_i(c.after ? ngr * kmax * ld : 0, "rnn_sequence");
    if (gh % NR != 0) {
      // The last B panel's columns past gh feed discarded lanes only: zero (finite) once.
      for (int64_t r = 0; r < ngr * kmax; ++r) {
        std::fill(step_x.data() + r * ld + gh, step_x.data() + (r + 1) * ld, T(0));
        if (c.after) std::fill(step_i.data() + r * ld + gh, step_i.data() + (r + 1) * ld, T(0));
      }
    }
    // Per group: A panels of x^T and h_prev^T. Panels with padding rows are zeroed once, so
    // that no garbage reaches a discarded lane of the micro-kernel (denormals there would slow
    // it down).
    Scratch<T> pk(ngr * a_size, "rnn_sequence");
    if (nf % MR != 0 || nh % MR != 0) std::fill(pk.data(), pk.data() + ngr * a_size, T(0));
    std::vector<T> dhn(static_cast<size_t>(nh));
    int64_t nblk = 0;
    bool first = true;
    // Group g's sums.
    auto sums = [&](int64_t g, T*& gw, T*& gu, T*& gdb) {
      if (g == 0) {
        gw = dw;
        gu = du;
        gdb = sums0.data();
      } else {
        gw = partial.data() + (g - 1) * psize;
        gu = gw + nf * gh;
        gdb = gu + nh * gh;
      }
    };
    auto flush = [&]() {
      for (int64_t g = g0; g < g1; ++g) {
        const int64_t k = nblk * (groups.end(g) - groups.begin(g));
        const T* ap = pk.data() + (g - g0) * a_size;
        const T* bx = step_x.data() + (g - g0) * kmax * ld;
        const T* bi = c.after ? step_i.data() + (g - g0) * kmax * ld : bx;
        T *gw, *gu, *gdb;
        sums(g, gw, gu, gdb);
        // Each B panel stays in L1 while the A panels stream past.
        if constexpr (std::is_same_v<T, float>) {
          if (dk) {
            for (int64_t jp = 0; jp < bn; ++jp) {
              const int64_t j0 = jp * NR;
              const int nr = static_cast<int>(std::min<int64_t>(NR, gh - j0));
              dk->panels_8x32(k, af, ap, a_stride, bx + j0, ld, gw + j0, gh, nf, nr, !first);
              dk->panels_8x32(k, ah, ap + af * a_stride, a_stride, bi + j0, ld, gu + j0, gh,
                              nh, nr, !first);
            }
            continue;
          }
        }
        for (int64_t jp = 0; jp < bn; ++jp) {
          const int64_t j0 = jp * NR;
          const int nr = static_cast<int>(std::min<int64_t>(NR, gh - j0));
          for (int64_t q = 0; q < af + ah; ++q) {
            const bool xq = q < af;
            const int64_t i0 = (xq ? q : q - af) * MR;
            const int mr = static_cast<int>(std::min<int64_t>(MR, (xq ? nf : nh) - i0));
            uk.fn(k, ap + q * a_stride, 1, MR, (xq ? bx : bi) + j0, ld,
                  (xq ? gw : gu) + i0 * gh + j0, gh, mr, nr, !first);
          }
        }
      }
      nblk = 0;
      first = false;
    };
    for (int64_t s = nt - 1; s >= 0; --s) {
      const int64_t t = c.time(s);
      for (int64_t g = g0; g < g1; ++g) {
        const int64_t gb0 = groups.begin(g), rows = groups.end(g) - gb0;
        const int64_t p0 = nblk * rows;  // the rows' place in the block
        T* gx = step_x.data() + ((g - g0) * kmax + p0) * ld;
        T* gi = c.after ? step_i.data() + ((g - g0) * kmax + p0) * ld : gx;
        for (int64_t r = 0; r < rows; ++r) {
          row_grad(gb0 + r, s, t, gx + r * ld, gi + r * ld, dhn.data());
        }
        if (s > 0) prefetch(gb0, rows, s - 1);  // into L2 while the products run
        mm_packed(*put, rows, gi, ld, dh + gb0 * nh, nh, true);
        if (pwt) {
          mm_packed(*pwt, rows, gx, ld, dx + c.row(t, gb0) * nf, c.row_stride() * nf, false);
        }
        T *gw, *gu, *gdb;
        sums(g, gw, gu, gdb);
        T* ap = pk.data() + (g - g0) * a_size;
        if constexpr (std::is_same_v<T, float>) {
          if (rk) {  // the same copies and sums, with the ISA's vectors
            const T* hp = states + (c.slot_prev(s) * nb + gb0) * nh;
            rk->pack_rows(nf, rows, x + c.row(t, gb0) * nf, c.row_stride() * nf, MR, p0,
                          a_stride, ap);
            rk->pack_rows(nh, rows, hp, nh, MR, p0, a_stride, ap + af * a_stride);
            if (db) rk->sum_rows(gh, rows, gx, ld, gdb);
            if (drb) rk->sum_rows(gh, rows, gi, ld, gdb + gh);
            continue;
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t p = p0 + r, b = gb0 + r;
          pack_row(static_cast<int>(MR), x + c.row(t, b) * nf, nf, p, a_stride, ap);
          pack_row(static_cast<int>(MR), states + (c.slot_prev(s) * nb + b) * nh, nh, p,
                   a_stride, ap + af * a_stride);
          if (db) {
            T* __restrict o = gdb;
            const T* __restrict xr = gx + r * ld;
            for (int64_t j = 0; j < gh; ++j) o[j] += xr[j];
          }
          if (drb) {
            T* __restrict o = gdb + gh;
            const T* __restrict ir = gi + r * ld;
            for (int64_t j = 0; j < gh; ++j) o[j] += ir[j];
          }
        }
      }
      if (++nblk == steps_blk || s == 0) flush();
    }
  };
  if (get_num_threads() == 1) {
    // One group after another, each through the whole sequence: one group's weight-gradient
    // sums and block buffers in L2 at a time (Note [Recurrent kernel]).
    for (int64_t g = 0; g < groups.count; ++g) run(g, g + 1);
  } else if (groups.count == 1) {
    run(0, 1);
  } else {
    parallel_for(0, groups.count, 1, run);
  }
  // The other groups' sums, in group order, element ranges split between the threads.
  T* sdb = sums0.data();
  const int64_t nw = nf * gh, nwu = (nf + nh) * gh;
  auto add_partials = [&](int64_t i0, int64_t i1) {
    for (int64_t g = 1; g < groups.count; ++g) {
      // (restrict: the outputs never overlap the partial sums; lets the loops vectorise)
      const T* __restrict p = partial.data() + (g - 1) * psize;
      T* __restrict ow = dw;
      T* __restrict ou = du;
      for (int64_t i = i0; i < std::min(i1, nw); ++i) ow[i] += p[i];
      for (int64_t i = std::max(i0, nw); i < i1; ++i) ou[i - nw] += p[i];
    }
  };
  if (groups.count > 1) parallel_for(0, nwu, 1 << 14, add_partials);
  for (int64_t g = 1; g < groups.count; ++g) {
    const T* p = partial.data() + (g - 1) * psize + nwu;
    for (int64_t i = 0; i < 2 * gh; ++i) sdb[i] += p[i];
  }
  if (db) std::memcpy(db, sdb, sizeof(T) * gh);
  if (drb) std::memcpy(drb, sdb + gh, sizeof(T) * gh);
}

template <class T, class AG, class RG>
void backward_impl(const RnnDims& d, AG ag, RG rg, const T* u, const bool* mask, const T* rdrop,
                   const T* gates, const T* states, const T* cstates, const T* aop,
                   const T* extra, const T* dy, const T* dh_last, const T* dc_last, T* dxw_out,
                   T* dh0, T* dc0, T* du, T* drb, const T* x, const T* w, T* dw, T* db) {
  const Ctx<T> c(d, rdrop != nullptr);
  const int64_t nt = c.nt, nb = c.nb, nh = c.nh, gh = c.gh, nf = c.nf, bh = nb * nh;
  std::vector<T> dh(static_cast<size_t>(bh), T(0)), dc(static_cast<size_t>(bh), T(0));
  std::vector<T> carry(static_cast<size_t>(bh), T(0)), dap(static_cast<size_t>(bh));
  if (dh_last) std::memcpy(dh.data(), dh_last, sizeof(T) * bh);
  if (dc_last && c.lstm) std::memcpy(dc.data(), dc_last, sizeof(T) * bh);
  const LstmGateKernels* lk = fused_lstm<T>(d);
  const GruGateKernels* gk = fused_gru<T>(d);
  // One product group without masks: dh += dpre @ U^T straight into dh, U^T packed once.
  const bool packed = c.packed();
  const bool proj_loop = d.project && packed;
  // Without the projection in the loop: the input projections' gradient, (T, B, G*H).
  // (Every row is written by the loop: no zero fill.)
  Scratch<T> dxw_all(d.project && !proj_loop ? nt * nb * gh : 0, "rnn_sequence");
  T* dxw = d.project ? dxw_all.data() : dxw_out;
  // GRU with reset_after: the h columns of the recurrent product get dpre_h * r, not dpre_h.
  std::vector<T> dinner_buf(c.after && !proj_loop ? static_cast<size_t>(nt * nb * gh) : 0);
  T* dinner = c.after ? dinner_buf.data() : dxw;
  const size_t n_late = c.before ? c.groups.size() - 1 : c.groups.size();
  std::unique_ptr<gemm::PackedB<T>> put, pwt;
  std::vector<T> ut;
  if (packed) {
    put = std::make_unique<gemm::PackedB<T>>(gh, nh, nb);
  } else {
    // U^T (G*H, H) row-major: each step's dpre @ U^T then reads its B operand in place.
    ut.resize(static_cast<size_t>(gh * nh));
    for (int64_t k = 0; k < nh; ++k) {
      for (int64_t j = 0; j < gh; ++j) ut[j * nh + k] = u[k * gh + j];
    }
  }
  // dx_t = dxw_t @ W^T in the loop, W^T packed once.
  if (proj_loop && dxw_out && nf > 0) pwt = std::make_unique<gemm::PackedB<T>>(gh, nf, nb);
  pack_all<T>({{put.get(), u, 1, gh}, {pwt.get(), w, 1, gh}});

  // One row's gradients at step s (input time t): dx (G*H) the pre-activations' gradient, di
  // (G*H, GruResetAfter) the recurrent product's columns'.
  auto row_grad = [&](int64_t b, int64_t s, int64_t t, T* dx, T* di, T* dhn) {
    const T* hp = states + c.slot_prev(s) * bh;
    const T* cp = c.lstm ? cstates + c.slot_prev(s) * bh : nullptr;
    const T* gt = gates + t * nb * gh;
    const T* et = extra ? extra + t * bh : nullptr;
    T* cr = carry.data() + b * nh;
    T* dhr = dh.data() + b * nh;
    T* dcr = dc.data() + b * nh;
    const T* dyr = dy ? dy + c.row(s, b) * nh : nullptr;
    if (!c.on(mask, b, t)) {
      // The state passes through; the output's gradient goes to the previous output.
      for (int64_t j = 0; j < nh; ++j) {
        cr[j] = d.zero_output_for_mask ? T(0) : cr[j] + (dyr ? dyr[j] : T(0));
      }
      std::memset(dx, 0, sizeof(T) * gh);
      if (c.after) std::memset(di, 0, sizeof(T) * gh);
      return;
    }
    if constexpr (std::is_same_v<T, float>) {
      if (lk) {
        lk->backward_row(nh, gt + b * gh, et + b * nh, cp + b * nh, dyr, dhr, cr, dcr, dx);
        return;
      }
      if (gk) {
        gk->backward_row(nh, gt + b * gh, et + b * nh, hp + b * nh, dyr, dhr, cr, dx, di);
        return;
      }
    }
    for (int64_t j = 0; j < nh; ++j) {
      dhn[j] = dhr[j] + cr[j] + (dyr ? dyr[j] : T(0));
      cr[j] = T(0);
    }
    const T* g = gt + b * gh;
    const T* hpr = hp + b * nh;
    if (c.lstm) {
      const T* ac = et + b * nh;
      const T* cpr = cp + b * nh;
      for (int64_t j = 0; j < nh; ++j) {
        lstm_unit_grad(ag, rg, g[j], g[nh + j], g[2 * nh + j], g[3 * nh + j], ac[j], cpr[j], dhn[j],
                       dcr[j], dx[j], dx[nh + j], dx[2 * nh + j], dx[3 * nh + j]);
        dhr[j] = T(0);
      }
    } else if (c.after || c.before) {
      const T* ih = c.after ? et + b * nh : nullptr;
      for (int64_t j = 0; j < nh; ++j) {
        const T z = g[j], r = g[nh + j], hh = g[2 * nh + j];
        T dph;
        const T dhp = gru_unit_grad(ag, rg, z, hh, hpr[j], dhn[j], dx[j], dph);
        dx[2 * nh + j] = dph;
        if (c.after) {
          const T dr = dph * ih[j] * rg(r);
          dx[nh + j] = dr;
          di[j] = dx[j];
          di[nh + j] = dr;
          di[2 * nh + j] = dph * r;
        }
        dhr[j] = dhp;
      }
    } else {
      for (int64_t j = 0; j < nh; ++j) {
        dx[j] = dhn[j] * ag(g[j]);
        dhr[j] = T(0);
      }
    }
  };

  if (proj_loop) {
    // The saved rows of a group's next step, fetched into L2 while the step's products run.
    auto prefetch = [&](int64_t b0, int64_t rows, int64_t s) {
      auto pf = [](const T* p, int64_t n) {
        const char* b = reinterpret_cast<const char*>(p);
        for (int64_t i = 0; i < n * static_cast<int64_t>(sizeof(T)); i += 64)
          __builtin_prefetch(b + i, 0, 2);
      };
      const int64_t t = c.time(s);
      pf(gates + (t * nb + b0) * gh, rows * gh);
      if (extra) pf(extra + t * bh + b0 * nh, rows * nh);
      if (c.lstm) pf(cstates + c.slot_prev(s) * bh + b0 * nh, rows * nh);
      pf(states + c.slot_prev(s) * bh + b0 * nh, rows * nh);
    };
    backward_projected(c, put.get(), pwt.get(), row_grad, prefetch, states, x, dxw_out,
                       dh.data(), dw, du, db, drb);
  } else {
    for_row_blocks(d, nb, put ? put->mr() : 8, [&](int64_t b0, int64_t b1) {
    const int64_t rb_rows = b1 - b0;
    std::vector<T> dhn(static_cast<size_t>(nh));
    for (int64_t s = nt - 1; s >= 0; --s) {
      const int64_t t = c.time(s);
      const T* hp = states + c.slot_prev(s) * bh;
      const T* gt = gates + t * nb * gh;
      T* dxt = dxw + t * nb * gh;
      T* dit = dinner + t * nb * gh;
      for (int64_t b = b0; b < b1; ++b) row_grad(b, s, t, dxt + b * gh, dit + b * gh, dhn.data());
      if (c.before) {
        // d(r * h_prev * m_h) from the h columns, then r's gradient and the direct path to
        // h_prev.
        const Group& g = c.groups.back();
        mm<T>(d.reference, rb_rows, nh, nh, dit + b0 * gh + 2 * nh, gh, 1,
              ut.data() + 2 * nh * nh, nh, 1, dap.data() + b0 * nh);
        const T* m = g.gate >= 0 ? rdrop + g.gate * bh : nullptr;
        for (int64_t b = b0; b < b1; ++b) {
          if (!c.on(mask, b, t)) continue;
          const T* gr = gt + b * gh + nh;
          T* dx = dxt + b * gh + nh;
          for (int64_t j = 0; j < nh; ++j) {
            const int64_t i = b * nh + j;
            const T mh = m ? m[i] : T(1);
            dx[j] = dap[i] * hp[i] * mh * rg(gr[j]);
            dh[i] += dap[i] * gr[j] * mh;
          }
        }
      }
      // The recurrent products' gradient to h_prev (zero for masked rows, whose dpre is zero).
      if (put) {
        mm_packed(*put, rb_rows, dit + b0 * gh, gh, dh.data() + b0 * nh, nh, true);
        continue;
      }
      for (size_t gi = 0; gi < n_late; ++gi) {
        const Group& g = c.groups[gi];
        mm<T>(d.reference, rb_rows, nh, g.ncols, dit + b0 * gh + g.col0, gh, 1,
              ut.data() + g.col0 * nh, nh, 1, dap.data() + b0 * nh);
        const T* m = g.gate >= 0 ? rdrop + g.gate * bh : nullptr;
        for (int64_t i = b0 * nh; i < b1 * nh; ++i) dh[i] += m ? dap[i] * m[i] : dap[i];
      }
    }
    });
  }
  std::memcpy(dh0, dh.data(), sizeof(T) * bh);
  if (c.lstm) std::memcpy(dc0, dc.data(), sizeof(T) * bh);
  if (proj_loop) return;  // the weight gradients were summed in the loop
  // du[:, cols] = sum over steps and rows of operand^T @ dpre[:, cols]: one GEMM per group.
  const int64_t rows = nt * nb;
  std::vector<T> tmp(c.groups.size() > 1 ? static_cast<size_t>(nh * gh) : 0);
  for (size_t gi = 0; gi < c.groups.size(); ++gi) {
    const Group& g = c.groups[gi];
    const T* a = c.use_aop ? aop + static_cast<int64_t>(gi) * nt * bh
                           : states + (d.go_backwards ? bh : 0);
    if (rows == 0) {
      for (int64_t k = 0; k < nh; ++k) std::memset(du + k * gh + g.col0, 0, sizeof(T) * g.ncols);
      continue;
    }
    if (c.groups.size() == 1) {
      mm<T>(d.reference, nh, gh, rows, a, 1, nh, dinner, gh, 1, du);
    } else {
      mm<T>(d.reference, nh, g.ncols, rows, a, 1, nh, dinner + g.col0, gh, 1, tmp.data());
      for (int64_t k = 0; k < nh; ++k) {
        std::memcpy(du + k * gh + g.col0, tmp.data() + k * g.ncols, sizeof(T) * g.ncols);
      }
    }
  }
  // Column sums over every step and row: blocks of columns in parallel, rows in order (one
  // summation order on any thread count), each block's rows read along the row.
  auto col_sums = [&](const T* src, T* out) {
    auto sums = [&](int64_t j0, int64_t j1) {
      std::fill(out + j0, out + j1, T(0));
      for (int64_t r = 0; r < rows; ++r) {
        const T* __restrict row = src + r * gh;
        T* __restrict o = out;
        for (int64_t j = j0; j < j1; ++j) o[j] += row[j];
      }
    };
    if (d.reference) sums(0, gh);
    else parallel_for(0, gh, 64, sums);
  };
  if (drb) col_sums(dinner, drb);
  if (!d.project) return;
  // The input projection's gradients from dxw (T, B, G*H).
  if (db) col_sums(dxw, db);
  // dw = x^T @ dxw and dx = dxw @ w^T, each one product over all T * B rows (time-major).
  const Scratch<T> copy(d.batch_major ? rows * nf : 0, "rnn_sequence");
  mm<T>(d.reference, nf, gh, rows, time_major_x(c, x, copy), 1, nf, dxw, gh, 1, dw);
  if (dxw_out) {
    if (!d.batch_major) {
      mm<T>(d.reference, rows, nf, gh, dxw, gh, 1, w, 1, gh, dxw_out);
      return;
    }
    const Scratch<T> dx_tm(rows * nf, "rnn_sequence");
    mm<T>(d.reference, rows, nf, gh, dxw, gh, 1, w, 1, gh, dx_tm.data());
    for (int64_t t = 0; t < nt; ++t)
      for (int64_t b = 0; b < nb; ++b)
        std::memcpy(dxw_out + c.row(t, b) * nf, dx_tm.data() + (t * nb + b) * nf,
                    sizeof(T) * nf);
  }
}

}  // namespace

void rnn_backward(DType dtype, const RnnDims& d, const void* u, const bool* mask,
                  const void* rdrop, const void* gates, const void* states, const void* cstates,
                  const void* aop, const void* extra, const void* dy, const void* dh_last,
                  const void* dc_last, void* dxw, void* dh0, void* dc0, void* du, void* drb,
                  const void* x, const void* w, void* dw, void* db) {
  auto run = [&](auto tag, auto ag, auto rg) {
    using T = decltype(tag);
    backward_impl<T>(d, ag, rg, static_cast<const T*>(u), mask, static_cast<const T*>(rdrop),
                     static_cast<const T*>(gates), static_cast<const T*>(states),
                     static_cast<const T*>(cstates), static_cast<const T*>(aop),
                     static_cast<const T*>(extra), static_cast<const T*>(dy),
                     static_cast<const T*>(dh_last), static_cast<const T*>(dc_last),
                     static_cast<T*>(dxw), static_cast<T*>(dh0), static_cast<T*>(dc0),
                     static_cast<T*>(du), static_cast<T*>(drb), static_cast<const T*>(x),
                     static_cast<const T*>(w), static_cast<T*>(dw), static_cast<T*>(db));
  };
  auto typed = [&](auto tag) {
    if (d.act == RnnAct::Tanh && d.rec_act == RnnAct::Sigmoid && !d.reference) {
      run(tag, TanhGrad(d.act), SigmoidGrad(d.rec_act));
    } else {
      run(tag, ActGrad{d.act}, ActGrad{d.rec_act});
    }
  };
  if (dtype == DType::Float64) typed(double{});
  else typed(float{});
}

}  // namespace corten::cpu
