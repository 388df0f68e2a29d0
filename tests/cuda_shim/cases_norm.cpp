// cuda::layer_norm, group_norm and unit_norm and their backwards (csrc/cuda/norm.cu through the
// shim) against the CPU kernels: float32 and float64, empty, size-1 and odd shapes, rows short
// enough for a warp and long enough for a block, many rows (several chunks of the column sums),
// every combination of null gamma, beta, dx, dgamma and dbeta, NaN and infinities. Within the
// tolerances of Note [CUDA normalisation sums].
#include <corten/dtype.h>

#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/batch_norm.h"
#include "cpu/norm.h"
#include "cuda/kernels.h"
#include "norm_cases.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using namespace corten_test;

const DType kDtypes[] = {DType::Float32, DType::Float64};

std::string tag(const char* op, DType dtype, const std::string& what) {
  return std::string(op) + " " + corten::dtype_name(dtype) + " " + what;
}

// ---------------------------------------------------------------------------------- layer norm

struct RowsCols {
  int64_t rows, cols;
};

// Rows for every register cache width (Note [Cached norm rows]: 1 to 32 values a lane, and none
// for rows of a block), several rows a block and several chunks of the column sums.
const RowsCols kLayerShapes[] = {{0, 5},    {3, 0},   {1, 1},   {1, 7},    {5, 33},  {9, 100},
                                 {200, 40}, {3, 200}, {2, 500}, {2, 1024}, {3, 1500}};

void check_layer_norm(DType dtype, RowsCols s, bool with_gamma, bool with_beta, bool specials,
                      uint32_t seed) {
  const std::string what = tag("layer_norm", dtype,
                               "(" + std::to_string(s.rows) + ", " + std::to_string(s.cols) + ")" +
                                   (with_gamma ? " gamma" : "") + (with_beta ? " beta" : ""));
  const size_t item = corten::itemsize(dtype);
  const int64_t n = s.rows * s.cols;
  const auto x = norm_values(dtype, n, seed, 3.0, specials);
  const auto gamma = norm_values(dtype, s.cols, seed + 1, 2.0);
  const auto beta = norm_values(dtype, s.cols, seed + 2, 1.0);
  auto y = norm_output(item, n), mean = norm_output(8, s.rows), rstd = norm_output(8, s.rows);
  auto wy = y, wmean = mean, wrstd = rstd;
  {
    NormBuffer dx(&x), dg(with_gamma ? &gamma : nullptr), db(with_beta ? &beta : nullptr), dy(&y),
        dm(&mean), dr(&rstd);
    corten::cuda::layer_norm(dtype, s.rows, s.cols, dx.get(), dg.get(), db.get(), 1e-3, dy.get(),
                             dm.as<double>(), dr.as<double>());
    y = dy.read();
    mean = dm.read();
    rstd = dr.read();
  }
  {
    const BaselineIsa baseline;
    corten::cpu::layer_norm(dtype, s.rows, s.cols, x.data(), with_gamma ? gamma.data() : nullptr,
                            with_beta ? beta.data() : nullptr, 1e-3, wy.data(),
                            reinterpret_cast<double*>(wmean.data()),
                            reinterpret_cast<double*>(wrstd.data()));
  }
  norm_compare(what + " y", dtype, y, wy, n, norm_tol(dtype, 3.0));
  norm_compare(what + " mean", DType::Float64, mean, wmean, s.rows, norm_tol(dtype));
  norm_compare(what + " rstd", DType::Float64, rstd, wrstd, s.rows, norm_tol(dtype));
}

// need: bit 0 dx, bit 1 dgamma, bit 2 dbeta.
void check_layer_norm_backward(DType dtype, RowsCols s, bool with_gamma, int need, uint32_t seed) {
  const std::string what = tag("layer_norm_backward", dtype,
                               "(" + std::to_string(s.rows) + ", " + std::to_string(s.cols) + ")" +
                                   (with_gamma ? " gamma" : "") + " need " + std::to_string(need));
  const size_t item = corten::itemsize(dtype);
  const int64_t n = s.rows * s.cols;
  const auto x = norm_values(dtype, n, seed, 3.0);
  const auto gamma = norm_values(dtype, s.cols, seed + 1, 2.0);
  const auto dyv = norm_values(dtype, n, seed + 2, 1.0);
  auto y = norm_output(item, n), mean = norm_output(8, s.rows), rstd = norm_output(8, s.rows);
  {
    const BaselineIsa baseline;
    corten::cpu::layer_norm(dtype, s.rows, s.cols, x.data(), nullptr, nullptr, 1e-3, y.data(),
                            reinterpret_cast<double*>(mean.data()),
                            reinterpret_cast<double*>(rstd.data()));
  }
  auto dx = norm_output(item, n), dgamma = norm_output(item, s.cols),
       dbeta = norm_output(item, s.cols);
  auto wdx = dx, wdgamma = dgamma, wdbeta = dbeta;
  {
    NormBuffer bx(&x), bg(with_gamma ? &gamma : nullptr), bm(&mean), br(&rstd), bdy(&dyv),
        bdx(need & 1 ? &dx : nullptr), bdg(need & 2 ? &dgamma : nullptr),
        bdb(need & 4 ? &dbeta : nullptr);
    corten::cuda::layer_norm_backward(dtype, s.rows, s.cols, bx.get(), bg.get(), bm.as<double>(),
                                      br.as<double>(), bdy.get(), bdx.get(), bdg.get(), bdb.get());
    if (need & 1) dx = bdx.read();
    if (need & 2) dgamma = bdg.read();
    if (need & 4) dbeta = bdb.read();
  }
  {
    const BaselineIsa baseline;
    corten::cpu::layer_norm_backward(
        dtype, s.rows, s.cols, x.data(), with_gamma ? gamma.data() : nullptr,
        reinterpret_cast<const double*>(mean.data()), reinterpret_cast<const double*>(rstd.data()),
        dyv.data(), need & 1 ? wdx.data() : nullptr, need & 2 ? wdgamma.data() : nullptr,
        need & 4 ? wdbeta.data() : nullptr);
  }
  norm_compare(what + " dx", dtype, dx, wdx, n, norm_tol(dtype, 10.0));
  const int64_t terms = s.rows;
  norm_compare(what + " dgamma", dtype, dgamma, wdgamma, s.cols, sum_tol(dtype, terms));
  norm_compare(what + " dbeta", dtype, dbeta, wdbeta, s.cols, sum_tol(dtype, terms));
}

const RegisterCase layer_norm_case("layer_norm", [] {
  uint32_t seed = 7000;
  for (DType dtype : kDtypes) {
    for (const RowsCols& s : kLayerShapes) {
      check_layer_norm(dtype, s, true, true, false, seed += 3);
      check_layer_norm(dtype, s, false, false, false, seed += 3);
    }
    check_layer_norm(dtype, {5, 33}, true, false, false, seed += 3);
    check_layer_norm(dtype, {5, 33}, false, true, false, seed += 3);
    check_layer_norm(dtype, {12, 9}, true, true, true, seed += 3);
    check_layer_norm(dtype, {2, 1200}, true, false, true, seed += 3);
  }
});

// Two runs give the same bits (Note [CUDA normalisation sums]: no atomics, shape-only geometry).
void check_layer_norm_backward_repeats(DType dtype) {
  const RowsCols s{200, 45};
  const int64_t n = s.rows * s.cols;
  const size_t item = corten::itemsize(dtype);
  const auto x = norm_values(dtype, n, 42), dyv = norm_values(dtype, n, 43);
  auto mean = norm_output(8, s.rows), rstd = norm_output(8, s.rows), y = norm_output(item, n);
  {
    const BaselineIsa baseline;
    corten::cpu::layer_norm(dtype, s.rows, s.cols, x.data(), nullptr, nullptr, 1e-3, y.data(),
                            reinterpret_cast<double*>(mean.data()),
                            reinterpret_cast<double*>(rstd.data()));
  }
  std::vector<unsigned char> runs[2];
  for (auto& run : runs) {
    auto dx = norm_output(item, n), dgamma = norm_output(item, s.cols);
    NormBuffer bx(&x), bm(&mean), br(&rstd), bdy(&dyv), bdx(&dx), bdg(&dgamma), bdb(&dgamma);
    corten::cuda::layer_norm_backward(dtype, s.rows, s.cols, bx.get(), nullptr, bm.as<double>(),
                                      br.as<double>(), bdy.get(), bdx.get(), bdg.get(), bdb.get());
    run = bdx.read();
    const auto g = bdg.read(), b = bdb.read();
    run.insert(run.end(), g.begin(), g.end());
    run.insert(run.end(), b.begin(), b.end());
  }
  CHECK(runs[0] == runs[1]);
}

const RegisterCase layer_norm_backward_case("layer_norm_backward", [] {
  uint32_t seed = 7500;
  for (DType dtype : kDtypes) check_layer_norm_backward_repeats(dtype);
  for (DType dtype : kDtypes) {
    for (const RowsCols& s : kLayerShapes) {
      check_layer_norm_backward(dtype, s, true, 7, seed += 3);
      check_layer_norm_backward(dtype, s, false, 5, seed += 3);
    }
    for (int need = 0; need < 8; ++need) {
      check_layer_norm_backward(dtype, {70, 13}, need % 2 == 0, need, seed += 3);
    }
  }
});

// ---------------------------------------------------------------------------------- group norm

const corten::cpu::GroupShape kGroupShapes[] = {
    {0, 2, 2, 3, 1},      // no batch
    {2, 0, 2, 3, 1},      // no positions
    {2, 3, 2, 0, 1},      // empty groups
    {1, 1, 1, 1, 1},      // size 1
    {2, 5, 3, 4, 1},      // channels last
    {2, 1, 2, 3, 7},      // channels first
    {3, 2, 2, 2, 5},      // both
    {2, 1, 1, 40, 40},    // rows of 1600 values: a block per row
    {70, 3, 2, 3, 1},     // 210 rows of the column sums: several chunks
    {2, 20, 2, 3, 1},     // a lane takes several values of a row, across segments
    {1, 7, 2, 5, 3},      // the same with q > 1
    {1, 5, 1, 2, 2000},   // rows of 20000 values: split over blocks, slices across segments
    {1, 20000, 2, 1, 1},  // the same channels last
};

std::string group_str(const corten::cpu::GroupShape& s) {
  return "(n " + std::to_string(s.n) + ", p " + std::to_string(s.p) + ", groups " +
         std::to_string(s.groups) + ", size " + std::to_string(s.group_size) + ", q " +
         std::to_string(s.q) + ")";
}

void check_group_norm(DType dtype, const corten::cpu::GroupShape& s, bool with_gamma,
                      bool with_beta, bool specials, uint32_t seed) {
  const std::string what = tag("group_norm", dtype, group_str(s)) + (with_gamma ? " gamma" : "") +
                           (with_beta ? " beta" : "");
  const size_t item = corten::itemsize(dtype);
  const int64_t C = s.groups * s.group_size, n = s.n * s.p * C * s.q, tasks = s.n * s.groups;
  const auto x = norm_values(dtype, n, seed, 3.0, specials);
  const auto gamma = norm_values(dtype, C, seed + 1, 2.0);
  const auto beta = norm_values(dtype, C, seed + 2, 1.0);
  auto y = norm_output(item, n), mean = norm_output(8, tasks), rstd = norm_output(8, tasks);
  auto wy = y, wmean = mean, wrstd = rstd;
  {
    NormBuffer bx(&x), bg(with_gamma ? &gamma : nullptr), bb(with_beta ? &beta : nullptr), by(&y),
        bm(&mean), br(&rstd);
    corten::cuda::group_norm(dtype, s, bx.get(), bg.get(), bb.get(), 1e-3, by.get(),
                             bm.as<double>(), br.as<double>());
    y = by.read();
    mean = bm.read();
    rstd = br.read();
  }
  {
    const BaselineIsa baseline;
    corten::cpu::group_norm(dtype, s, x.data(), with_gamma ? gamma.data() : nullptr,
                            with_beta ? beta.data() : nullptr, 1e-3, wy.data(),
                            reinterpret_cast<double*>(wmean.data()),
                            reinterpret_cast<double*>(wrstd.data()));
  }
  norm_compare(what + " y", dtype, y, wy, n, norm_tol(dtype, 3.0));
  norm_compare(what + " mean", DType::Float64, mean, wmean, tasks, norm_tol(dtype));
  norm_compare(what + " rstd", DType::Float64, rstd, wrstd, tasks, norm_tol(dtype));
}

void check_group_norm_backward(DType dtype, const corten::cpu::GroupShape& s, bool with_gamma,
                               int need, uint32_t seed) {
  const std::string what = tag("group_norm_backward", dtype, group_str(s)) +
                           (with_gamma ? " gamma" : "") + " need " + std::to_string(need);
  const size_t item = corten::itemsize(dtype);
  const int64_t C = s.groups * s.group_size, n = s.n * s.p * C * s.q, tasks = s.n * s.groups;
  const auto x = norm_values(dtype, n, seed, 3.0);
  const auto gamma = norm_values(dtype, C, seed + 1, 2.0);
  const auto dyv = norm_values(dtype, n, seed + 2, 1.0);
  auto y = norm_output(item, n), mean = norm_output(8, tasks), rstd = norm_output(8, tasks);
  {
    const BaselineIsa baseline;
    corten::cpu::group_norm(dtype, s, x.data(), nullptr, nullptr, 1e-3, y.data(),
                            reinterpret_cast<double*>(mean.data()),
                            reinterpret_cast<double*>(rstd.data()));
  }
  auto dx = norm_output(item, n), dgamma = norm_output(item, C), dbeta = norm_output(item, C);
  auto wdx = dx, wdgamma = dgamma, wdbeta = dbeta;
  {
    NormBuffer bx(&x), bg(with_gamma ? &gamma : nullptr), bm(&mean), br(&rstd), bdy(&dyv),
        bdx(need & 1 ? &dx : nullptr), bdg(need & 2 ? &dgamma : nullptr),
        bdb(need & 4 ? &dbeta : nullptr);
    corten::cuda::group_norm_backward(dtype, s, bx.get(), bg.get(), bm.as<double>(),
                                      br.as<double>(), bdy.get(), bdx.get(), bdg.get(), bdb.get());
    if (need & 1) dx = bdx.read();
    if (need & 2) dgamma = bdg.read();
    if (need & 4) dbeta = bdb.read();
  }
  {
    const BaselineIsa baseline;
    corten::cpu::group_norm_backward(
        dtype, s, x.data(), with_gamma ? gamma.data() : nullptr,
        reinterpret_cast<const double*>(mean.data()), reinterpret_cast<const double*>(rstd.data()),
        dyv.data(), need & 1 ? wdx.data() : nullptr, need & 2 ? wdgamma.data() : nullptr,
        need & 4 ? wdbeta.data() : nullptr);
  }
  norm_compare(what + " dx", dtype, dx, wdx, n, norm_tol(dtype, 10.0));
  const int64_t terms = s.n * s.p * s.q;
  norm_compare(what + " dgamma", dtype, dgamma, wdgamma, C, sum_tol(dtype, terms));
  norm_compare(what + " dbeta", dtype, dbeta, wdbeta, C, sum_tol(dtype, terms));
}

const RegisterCase group_norm_case("group_norm", [] {
  uint32_t seed = 8000;
  for (DType dtype : kDtypes) {
    for (const auto& s : kGroupShapes) {
      check_group_norm(dtype, s, true, true, false, seed += 3);
      check_group_norm(dtype, s, false, false, false, seed += 3);
    }
    check_group_norm(dtype, {2, 5, 3, 4, 1}, true, false, false, seed += 3);
    check_group_norm(dtype, {2, 5, 3, 4, 1}, false, true, false, seed += 3);
    check_group_norm(dtype, {3, 2, 2, 2, 5}, true, true, true, seed += 3);
  }
});

const RegisterCase group_norm_backward_case("group_norm_backward", [] {
  uint32_t seed = 8500;
  for (DType dtype : kDtypes) {
    for (const auto& s : kGroupShapes) {
      check_group_norm_backward(dtype, s, true, 7, seed += 3);
      check_group_norm_backward(dtype, s, false, 5, seed += 3);
    }
    for (int need = 0; need < 8; ++need) {
      check_group_norm_backward(dtype, {3, 2, 2, 2, 5}, need % 2 == 0, need, seed += 3);
    }
  }
});

// ----------------------------------------------------------------------------------- unit norm

void check_unit_norm(DType dtype, RowsCols s, double lo, double epsilon, bool specials,
                     uint32_t seed) {
  const std::string what =
      tag("unit_norm", dtype,
          "(" + std::to_string(s.rows) + ", " + std::to_string(s.cols) + ") lo " +
              std::to_string(lo) + " eps " + std::to_string(epsilon));
  const size_t item = corten::itemsize(dtype);
  const int64_t n = s.rows * s.cols;
  const auto x = norm_values(dtype, n, seed, lo, specials);
  auto y = norm_output(item, n), inv = norm_output(8, s.rows), cube = norm_output(8, s.rows);
  auto wy = y, winv = inv, wcube = cube;
  {
    NormBuffer bx(&x), by(&y), bi(&inv), bc(&cube);
    corten::cuda::unit_norm(dtype, s.rows, s.cols, bx.get(), epsilon, by.get(), bi.as<double>(),
                            bc.as<double>());
    y = by.read();
    inv = bi.read();
    cube = bc.read();
  }
  {
    const BaselineIsa baseline;
    corten::cpu::unit_norm(dtype, s.rows, s.cols, x.data(), epsilon, wy.data(),
                           reinterpret_cast<double*>(winv.data()),
                           reinterpret_cast<double*>(wcube.data()));
  }
  norm_compare(what + " y", dtype, y, wy, n, norm_tol(dtype));
  norm_compare(what + " inv", DType::Float64, inv, winv, s.rows, norm_tol(dtype));
  norm_compare(what + " cube", DType::Float64, cube, wcube, s.rows, norm_tol(dtype));
}

void check_unit_norm_backward(DType dtype, RowsCols s, double lo, double epsilon, uint32_t seed) {
  const std::string what = tag(
      "unit_norm_backward", dtype,
      "(" + std::to_string(s.rows) + ", " + std::to_string(s.cols) + ") lo " + std::to_string(lo));
  const size_t item = corten::itemsize(dtype);
  const int64_t n = s.rows * s.cols;
  const auto x = norm_values(dtype, n, seed, lo);
  const auto dyv = norm_values(dtype, n, seed + 1, 1.0);
  auto y = norm_output(item, n), inv = norm_output(8, s.rows), cube = norm_output(8, s.rows);
  {
    const BaselineIsa baseline;
    corten::cpu::unit_norm(dtype, s.rows, s.cols, x.data(), epsilon, y.data(),
                           reinterpret_cast<double*>(inv.data()),
                           reinterpret_cast<double*>(cube.data()));
  }
  auto dx = norm_output(item, n), wdx = dx;
  {
    NormBuffer bx(&x), bi(&inv), bc(&cube), bdy(&dyv), bdx(&dx);
    corten::cuda::unit_norm_backward(dtype, s.rows, s.cols, bx.get(), bi.as<double>(),
                                     bc.as<double>(), bdy.get(), bdx.get());
    dx = bdx.read();
  }
  {
    const BaselineIsa baseline;
    corten::cpu::unit_norm_backward(
        dtype, s.rows, s.cols, x.data(), reinterpret_cast<const double*>(inv.data()),
        reinterpret_cast<const double*>(cube.data()), dyv.data(), wdx.data());
  }
  norm_compare(what + " dx", dtype, dx, wdx, n, norm_tol(dtype, 10.0));
}

const RegisterCase unit_norm_case("unit_norm", [] {
  uint32_t seed = 9000;
  for (DType dtype : kDtypes) {
    for (const RowsCols& s : kLayerShapes) check_unit_norm(dtype, s, 3.0, 1e-12, false, seed += 3);
    // Rows whose sum of squares is under epsilon (the clamp), and NaN and infinities.
    check_unit_norm(dtype, {6, 10}, 0.01, 0.5, false, seed += 3);
    check_unit_norm(dtype, {12, 9}, 3.0, 1e-12, true, seed += 3);
  }
});

const RegisterCase unit_norm_backward_case("unit_norm_backward", [] {
  uint32_t seed = 9500;
  for (DType dtype : kDtypes) {
    for (const RowsCols& s : kLayerShapes)
      check_unit_norm_backward(dtype, s, 3.0, 1e-12, seed += 3);
    check_unit_norm_backward(dtype, {6, 10}, 0.01, 0.5, seed += 3);
  }
});

}  // namespace
