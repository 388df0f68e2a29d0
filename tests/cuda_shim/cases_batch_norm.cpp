// cuda::batch_norm and batch_norm_backward (csrc/cuda/batch_norm.cu through the shim) against
// the CPU kernels: float32 and float64, channels last and NCHW-like layouts, empty batches and
// channels, size 1, several chunks of rows, training with and without moving statistics (biased
// and Bessel-corrected), inference with and without them, masked (weighted) batches including an
// all-zero mask, null gamma, beta, dx, dgamma and dbeta, NaN and infinities. Within the
// tolerances of Note [CUDA normalisation sums].
#include <corten/dtype.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/batch_norm.h"
#include "cuda/kernels.h"
#include "norm_cases.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::cpu::NormShape;
using namespace corten_test;

const DType kDtypes[] = {DType::Float32, DType::Float64};

const NormShape kShapes[] = {
    {0, 3, 1},     // empty batch
    {4, 0, 1},     // no channels
    {1, 1, 1},     // one value
    {5, 3, 1},     // channels last
    {70, 37, 1},   // two chunks of rows, two column tiles
    {3, 4, 7},     // NCHW
    {2, 3, 50},    // NCHW, several column tiles per channel
    {130, 2, 3},   // columns of a channel, several rows a warp
    {700, 5, 1},   // narrow rows: several rows a warp, two chunks
    {90, 1, 1},    // one channel
    {2, 3, 9000},  // long runs: three pieces each
};

std::string shape_of(const NormShape& s) {
  return "(" + std::to_string(s.outer) + ", " + std::to_string(s.channels) + ", " +
         std::to_string(s.inner) + ")";
}

// A mask of rows: 1 except every third row (all zero when `none`), in the dtype.
std::vector<unsigned char> mask_of(DType dtype, int64_t rows, bool none) {
  auto w = norm_output(corten::itemsize(dtype), rows);
  for (int64_t i = 0; i < rows; ++i) {
    const double v = none || i % 3 == 1 ? 0.0 : 1.0;
    if (dtype == DType::Float32) {
      const float f = static_cast<float>(v);
      std::memcpy(w.data() + 4 * i, &f, 4);
    } else {
      std::memcpy(w.data() + 8 * i, &v, 8);
    }
  }
  return w;
}

struct Forward {
  bool training = true;
  bool moving = true;  // moving statistics given
  bool bessel = false;
  bool affine = true;  // gamma and beta given
  int mask = 0;        // 0 none, 1 a mask, 2 an all-zero mask
  bool specials = false;
};

void check_batch_norm(DType dtype, const NormShape& s, const Forward& f, uint32_t seed) {
  const std::string what = "batch_norm " + std::string(corten::dtype_name(dtype)) + " " +
                           shape_of(s) + (f.training ? " training" : " inference") +
                           (f.moving ? " moving" : "") + (f.bessel ? " bessel" : "") +
                           (f.affine ? " affine" : "") + " mask " + std::to_string(f.mask) +
                           (f.specials ? " specials" : "");
  const size_t item = corten::itemsize(dtype);
  const int64_t C = s.channels, n = s.outer * C * s.inner;
  const auto x = norm_values(dtype, n, seed, 3.0, f.specials);
  const auto gamma = norm_values(dtype, C, seed + 1, 2.0);
  const auto beta = norm_values(dtype, C, seed + 2, 1.0);
  const auto weight = mask_of(dtype, s.outer, f.mask == 2);
  auto mm = norm_values(dtype, C, seed + 3, 1.0), mv = norm_values(dtype, C, seed + 4, 1.0);
  for (size_t i = 0; i < static_cast<size_t>(C); ++i) {  // a variance is positive
    if (dtype == DType::Float32) {
      float v;
      std::memcpy(&v, mv.data() + 4 * i, 4);
      v = v < 0 ? -v : v;
      std::memcpy(mv.data() + 4 * i, &v, 4);
    } else {
      double v;
      std::memcpy(&v, mv.data() + 8 * i, 8);
      v = v < 0 ? -v : v;
      std::memcpy(mv.data() + 8 * i, &v, 8);
    }
  }
  auto y = norm_output(item, n), mean = norm_output(8, C), invstd = norm_output(8, C);
  auto wy = y, wmean = mean, winvstd = invstd, wmm = mm, wmv = mv;
  {
    NormBuffer bx(&x), bw(f.mask ? &weight : nullptr), bg(f.affine ? &gamma : nullptr),
        bb(f.affine ? &beta : nullptr), bmm(f.moving ? &mm : nullptr),
        bmv(f.moving ? &mv : nullptr), by(&y), bmean(&mean), binv(&invstd);
    corten::cuda::batch_norm(dtype, s, bx.get(), bw.get(), bg.get(), bb.get(), bmm.get(), bmv.get(),
                             f.training, 0.9, 1e-3, f.bessel, by.get(), bmean.as<double>(),
                             binv.as<double>());
    y = by.read();
    mean = bmean.read();
    invstd = binv.read();
    if (f.moving) {
      mm = bmm.read();
      mv = bmv.read();
    }
  }
  {
    const BaselineIsa baseline;
    corten::cpu::batch_norm(
        dtype, s, x.data(), f.mask ? weight.data() : nullptr, f.affine ? gamma.data() : nullptr,
        f.affine ? beta.data() : nullptr, f.moving ? wmm.data() : nullptr,
        f.moving ? wmv.data() : nullptr, f.training, 0.9, 1e-3, f.bessel, wy.data(),
        reinterpret_cast<double*>(wmean.data()), reinterpret_cast<double*>(winvstd.data()));
  }
  // Inference normalises with the moving statistics: y is the CPU's bit for bit.
  const NormTol tol = f.training ? norm_tol(dtype, 3.0) : kNormExact;
  norm_compare(what + " y", dtype, y, wy, n, tol);
  // With infinities the shifted sums may give NaN where the CPU's mean is infinite; the
  // variance, and so y, is NaN either way.
  const NormTol stat_tol = f.training ? norm_tol(dtype) : kNormExact;
  if (!f.specials) norm_compare(what + " mean", DType::Float64, mean, wmean, C, stat_tol);
  norm_compare(what + " invstd", DType::Float64, invstd, winvstd, C, stat_tol);
  norm_compare(what + " moving_mean", dtype, mm, wmm, C, stat_tol);
  norm_compare(what + " moving_variance", dtype, mv, wmv, C, stat_tol);
}

struct Backward {
  bool training = true;
  bool affine = true;
  int mask = 0;
  int need = 7;  // bit 0 dx, bit 1 dgamma, bit 2 dbeta
};

void check_batch_norm_backward(DType dtype, const NormShape& s, const Backward& b, uint32_t seed) {
  const std::string what = "batch_norm_backward " + std::string(corten::dtype_name(dtype)) + " " +
                           shape_of(s) + (b.training ? " training" : " inference") +
                           (b.affine ? " affine" : "") + " mask " + std::to_string(b.mask) +
                           " need " + std::to_string(b.need);
  const size_t item = corten::itemsize(dtype);
  const int64_t C = s.channels, n = s.outer * C * s.inner;
  const auto x = norm_values(dtype, n, seed, 3.0);
  const auto gamma = norm_values(dtype, C, seed + 1, 2.0);
  const auto dyv = norm_values(dtype, n, seed + 2, 1.0);
  const auto weight = mask_of(dtype, s.outer, b.mask == 2);
  const void* wp = b.mask ? weight.data() : nullptr;
  auto y = norm_output(item, n), mean = norm_output(8, C), invstd = norm_output(8, C);
  {
    const BaselineIsa baseline;
    corten::cpu::batch_norm(dtype, s, x.data(), wp, nullptr, nullptr, nullptr, nullptr, true, 0.9,
                            1e-3, false, y.data(), reinterpret_cast<double*>(mean.data()),
                            reinterpret_cast<double*>(invstd.data()));
  }
  auto dx = norm_output(item, n), dgamma = norm_output(item, C), dbeta = norm_output(item, C);
  auto wdx = dx, wdgamma = dgamma, wdbeta = dbeta;
  {
    NormBuffer bx(&x), bw(b.mask ? &weight : nullptr), bg(b.affine ? &gamma : nullptr), bm(&mean),
        bi(&invstd), bdy(&dyv), bdx(b.need & 1 ? &dx : nullptr),
        bdg(b.need & 2 ? &dgamma : nullptr), bdb(b.need & 4 ? &dbeta : nullptr);
    corten::cuda::batch_norm_backward(dtype, s, bx.get(), bw.get(), bg.get(), bm.as<double>(),
                                      bi.as<double>(), b.training, bdy.get(), bdx.get(), bdg.get(),
                                      bdb.get());
    if (b.need & 1) dx = bdx.read();
    if (b.need & 2) dgamma = bdg.read();
    if (b.need & 4) dbeta = bdb.read();
  }
  {
    const BaselineIsa baseline;
    corten::cpu::batch_norm_backward(dtype, s, x.data(), wp, b.affine ? gamma.data() : nullptr,
                                     reinterpret_cast<const double*>(mean.data()),
                                     reinterpret_cast<const double*>(invstd.data()), b.training,
                                     dyv.data(), b.need & 1 ? wdx.data() : nullptr,
                                     b.need & 2 ? wdgamma.data() : nullptr,
                                     b.need & 4 ? wdbeta.data() : nullptr);
  }
  // In inference dx = gamma * invstd * dy: the CPU's bit for bit.
  norm_compare(what + " dx", dtype, dx, wdx, n, b.training ? norm_tol(dtype, 10.0) : kNormExact);
  const int64_t terms = s.outer * s.inner;
  norm_compare(what + " dgamma", dtype, dgamma, wdgamma, C, sum_tol(dtype, terms));
  norm_compare(what + " dbeta", dtype, dbeta, wdbeta, C, sum_tol(dtype, terms));
}

// Two runs give the same bits (Note [CUDA normalisation sums]: no atomics, shape-only geometry).
void check_batch_norm_repeats(DType dtype) {
  const NormShape s{130, 5, 3};
  const int64_t n = s.outer * s.channels * s.inner;
  const auto x = norm_values(dtype, n, 42);
  std::vector<unsigned char> runs[2];
  for (auto& run : runs) {
    NormBuffer bx(&x);
    auto y = norm_output(corten::itemsize(dtype), n), mean = norm_output(8, s.channels),
         invstd = norm_output(8, s.channels);
    NormBuffer by(&y), bm(&mean), bi(&invstd);
    corten::cuda::batch_norm(dtype, s, bx.get(), nullptr, nullptr, nullptr, nullptr, nullptr, true,
                             0.9, 1e-3, false, by.get(), bm.as<double>(), bi.as<double>());
    run = by.read();
    const auto m = bm.read(), v = bi.read();
    run.insert(run.end(), m.begin(), m.end());
    run.insert(run.end(), v.begin(), v.end());
  }
  CHECK(runs[0] == runs[1]);
}

const RegisterCase batch_norm_case("batch_norm", [] {
  uint32_t seed = 10000;
  for (DType dtype : kDtypes) check_batch_norm_repeats(dtype);
  for (DType dtype : kDtypes) {
    for (const NormShape& s : kShapes) {
      check_batch_norm(dtype, s, Forward{}, seed += 5);
      Forward inference;
      inference.training = false;
      check_batch_norm(dtype, s, inference, seed += 5);
      if (s.inner == 1) {
        Forward masked;
        masked.mask = 1;
        masked.bessel = true;
        check_batch_norm(dtype, s, masked, seed += 5);
      }
    }
    const NormShape small{5, 3, 1}, nchw{3, 4, 7};
    Forward f;
    f.bessel = true;
    check_batch_norm(dtype, nchw, f, seed += 5);
    f = Forward{};
    f.moving = false;
    f.affine = false;
    check_batch_norm(dtype, nchw, f, seed += 5);
    f.training = false;
    check_batch_norm(dtype, small, f, seed += 5);
    f = Forward{};
    f.mask = 2;  // every row masked: no statistics, the moving ones unchanged
    check_batch_norm(dtype, small, f, seed += 5);
    f = Forward{};
    f.specials = true;
    check_batch_norm(dtype, NormShape{12, 5, 1}, f, seed += 5);
    check_batch_norm(dtype, NormShape{2, 3, 9}, f, seed += 5);
    // NCHW with more than 256 rows: a block per channel adds the runs' partials.
    check_batch_norm(dtype, NormShape{260, 1, 32}, Forward{}, seed += 5);
  }
});

const RegisterCase batch_norm_backward_case("batch_norm_backward", [] {
  uint32_t seed = 11000;
  for (DType dtype : kDtypes) {
    for (const NormShape& s : kShapes) {
      check_batch_norm_backward(dtype, s, Backward{}, seed += 5);
      Backward inference;
      inference.training = false;
      inference.affine = false;
      check_batch_norm_backward(dtype, s, inference, seed += 5);
      if (s.inner == 1) {
        Backward masked;
        masked.mask = 1;
        check_batch_norm_backward(dtype, s, masked, seed += 5);
      }
    }
    for (int need = 0; need < 8; ++need) {
      Backward b;
      b.need = need;
      b.affine = need % 2 == 0;
      b.training = need != 3;
      check_batch_norm_backward(dtype, NormShape{3, 4, 7}, b, seed += 5);
    }
    Backward b;
    b.mask = 2;
    check_batch_norm_backward(dtype, NormShape{5, 3, 1}, b, seed += 5);
  }
});

}  // namespace
