// cuda::matmul, matmul_bias_act and matmul_activation_grad (csrc/cuda/matmul.cu through the shim:
// the tiled kernel) against the CPU kernels: int32 and int64 bit for bit; float32 and float64
// within the bound of Note [CUDA GEMM], computed per element: 4 (k + 2) u sum_p |a_ip b_pj|,
// plus 4 u |cpu| and, after sigmoid, tanh or gelu, the tolerance of Note [CUDA elementwise
// accuracy] (rtol = atol = 1e-5 in float32, 1e-12 in float64). Odd sizes across several tiles,
// k = 0, size-1 and empty products, batches with regular and broadcast (irregular) offsets, every
// transpose combination, padded and broadcast (stride 0) operands, every epilogue, and NaN and
// infinities. The epilogues run both in the tiled kernel's write-back and, through the shim, after
// the product (epilogue_kernel, the cuBLASLt engine's path).
#include <corten/dtype.h>
#include <corten/ops/linalg.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/matmul.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

#ifndef CORTEN_TEST_ON_DEVICE
namespace corten::cuda {
extern bool shim_split_epilogue;  // csrc/cuda/matmul.cu, test shim only
}  // namespace corten::cuda
#endif

namespace {

using corten::Activation;
using corten::DType;
using corten::Shape;
using namespace corten_test;

// One matrix operand of a product: `rows` x `cols` per batch, element (r, c) of batch matrix i
// at off[i] + r * rs + c * cs.
struct MatrixOperand {
  Operand data;
  std::vector<int64_t> off;
  int64_t rs, cs;
};

// Layouts of an operand: row-major, column-major (a transposed view), row-major with padded rows
// (a slice), and a broadcast row (stride 0 down the rows).
enum class Layout { RowMajor, ColMajor, Padded, BroadcastRows };

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::RowMajor:
      return "N";
    case Layout::ColMajor:
      return "T";
    case Layout::Padded:
      return "padded";
    case Layout::BroadcastRows:
      return "broadcast";
  }
  return "?";
}

// `distinct` matrices in storage; the batch offsets pick them (irregular when `broadcast`:
// 0, 0, 1, 1, 2, ... matrices).
MatrixOperand make_matrix(DType dtype, int64_t batch, int64_t rows, int64_t cols, Layout layout,
                          bool broadcast, uint32_t seed, bool specials) {
  MatrixOperand mo;
  int64_t per = 0;
  switch (layout) {
    case Layout::RowMajor:
      mo.rs = cols, mo.cs = 1, per = rows * cols;
      break;
    case Layout::ColMajor:
      mo.rs = 1, mo.cs = rows, per = rows * cols;
      break;
    case Layout::Padded:
      mo.rs = cols + 3, mo.cs = 1, per = rows * (cols + 3);
      break;
    case Layout::BroadcastRows:
      mo.rs = 0, mo.cs = 1, per = cols;
      break;
  }
  const int64_t distinct = broadcast ? (batch + 1) / 2 : batch;
  const Shape shape{std::max<int64_t>(distinct * per + 5, 1)};
  mo.data = make_operand(dtype, shape, {1}, 2, seed, 1.0, specials, 3);
  mo.off.resize(static_cast<size_t>(std::max<int64_t>(batch, 1)));
  for (int64_t i = 0; i < batch; ++i) mo.off[i] = (broadcast ? i / 2 : i) * per;
  return mo;
}

double at(DType dtype, const MatrixOperand& mo, int64_t bi, int64_t r, int64_t c) {
  return element(dtype, mo.data.data(), mo.off[bi] + r * mo.rs + c * mo.cs);
}

// What a test product computes: plain, with bias and activation, or with the activation
// derivative from aux.
enum class Kind { Matmul, BiasAct, ActGrad };

struct Product {
  int64_t batch, m, n, k;
};

// Runs the CUDA and the CPU kernel on the same operands and compares.
void check_product(Kind kind, DType dtype, const Product& p, Layout la, Layout lb,
                   bool broadcast_batch, bool with_bias, Activation act, uint32_t seed,
                   bool specials = false) {
  const std::string what = std::string(kind == Kind::Matmul    ? "matmul"
                                       : kind == Kind::BiasAct ? "bias_act"
                                                               : "grad") +
                           " " + corten::dtype_name(dtype) + " b" + std::to_string(p.batch) + " m" +
                           std::to_string(p.m) + " n" + std::to_string(p.n) + " k" +
                           std::to_string(p.k) + " " + layout_name(la) + "/" + layout_name(lb) +
                           (broadcast_batch ? " bcast" : "") + (with_bias ? " bias" : "") + " " +
                           corten::activation_name(act);
  const MatrixOperand a =
      make_matrix(dtype, p.batch, p.m, p.k, la, broadcast_batch, seed, specials);
  const MatrixOperand b = make_matrix(dtype, p.batch, p.k, p.n, lb, false, seed + 1, specials);
  const int64_t total = p.batch * p.m * p.n;
  const Operand bias =
      make_operand(dtype, {std::max<int64_t>(p.n, 1)}, {1}, 0, seed + 2, 1.0, false, 3);
  // aux is an activation's output: in [0, 1) for sigmoid and relu tests, (-1, 1) for tanh.
  Operand aux = make_operand(dtype, {std::max<int64_t>(total, 1)}, {1}, 0, seed + 3, 1.0, false, 3);
  if (act != Activation::Tanh && kind == Kind::ActGrad) {
    for (int64_t i = 0; i < total; ++i) {
      if (dtype == DType::Float32) {
        float* v = reinterpret_cast<float*>(aux.storage.data()) + i;
        *v = std::fabs(*v);
        if (act == Activation::Relu && i % 3 == 0) *v = 0.0f;
      } else {
        double* v = reinterpret_cast<double*>(aux.storage.data()) + i;
        *v = std::fabs(*v);
        if (act == Activation::Relu && i % 3 == 0) *v = 0.0;
      }
    }
  }
  const size_t isz = corten::itemsize(dtype);
  const size_t bytes = static_cast<size_t>(total) * isz + 8;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  {
    KernelBuffer da(a.data.storage), db(b.data.storage), dbias(bias.storage), daux(aux.storage),
        dc(got);
    const void* ap = da.get(a.data.byte_offset());
    const void* bp = db.get(b.data.byte_offset());
    switch (kind) {
      case Kind::Matmul:
        corten::cuda::matmul(dtype, p.batch, p.m, p.n, p.k, ap, a.off.data(), a.rs, a.cs, bp,
                             b.off.data(), b.rs, b.cs, dc.get());
        break;
      case Kind::BiasAct:
        corten::cuda::matmul_bias_act(dtype, p.batch, p.m, p.n, p.k, ap, a.off.data(), a.rs, a.cs,
                                      bp, b.off.data(), b.rs, b.cs, dc.get(),
                                      with_bias ? dbias.get() : nullptr, act);
        break;
      case Kind::ActGrad:
        corten::cuda::matmul_activation_grad(dtype, p.m, p.n, p.k, ap, a.rs, a.cs, bp, b.rs, b.cs,
                                             dc.get(), daux.get(), act);
        break;
    }
    got = dc.read();
  }
  switch (kind) {
    case Kind::Matmul:
      corten::cpu::matmul(dtype, p.batch, p.m, p.n, p.k, a.data.data(), a.off.data(), a.rs, a.cs,
                          b.data.data(), b.off.data(), b.rs, b.cs, want.data());
      break;
    case Kind::BiasAct:
      corten::cpu::matmul_bias_act(dtype, p.batch, p.m, p.n, p.k, a.data.data(), a.off.data(), a.rs,
                                   a.cs, b.data.data(), b.off.data(), b.rs, b.cs, want.data(),
                                   with_bias ? bias.data() : nullptr, act);
      break;
    case Kind::ActGrad:
      corten::cpu::matmul_activation_grad(dtype, p.m, p.n, p.k, a.data.data(), a.rs, a.cs,
                                          b.data.data(), b.rs, b.cs, want.data(), aux.data(), act);
      break;
  }
  CHECK(got[bytes - 1] == 0xAB && got[bytes - 8] == 0xAB);
  if (!corten::is_floating(dtype) || specials) {
    CHECK(same_values(what, dtype, got.data(), want.data(), total, specials ? 1e-5 : 0,
                      specials ? 1e-5 : 0));
    return;
  }
  const double u = dtype == DType::Float32 ? std::ldexp(1.0, -24) : std::ldexp(1.0, -53);
  const double act_tol = dtype == DType::Float32 ? 1e-5 : 1e-12;
  const bool transcendental =
      act == Activation::Sigmoid || act == Activation::Tanh || act == Activation::Gelu;
  for (int64_t bi = 0; bi < p.batch; ++bi) {
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        double s = 0;
        for (int64_t q = 0; q < p.k; ++q)
          s += std::fabs(at(dtype, a, bi, i, q) * at(dtype, b, bi, q, j));
        const int64_t e = (bi * p.m + i) * p.n + j;
        const double g = element(dtype, got.data(), e), w = element(dtype, want.data(), e);
        double tol = 4.0 * static_cast<double>(p.k + 2) * u * s + 4.0 * u * std::fabs(w);
        if (kind == Kind::BiasAct && transcendental) tol += act_tol * (1 + std::fabs(w));
        if (!(std::fabs(g - w) <= tol)) {
          std::printf("%s: element %lld: cuda %.17g, cpu %.17g, tolerance %.3g\n", what.c_str(),
                      static_cast<long long>(e), g, w, tol);
          CHECK(false);
          return;
        }
      }
    }
  }
  CHECK(true);
}

const Layout kTransposes[][2] = {{Layout::RowMajor, Layout::RowMajor},
                                 {Layout::RowMajor, Layout::ColMajor},
                                 {Layout::ColMajor, Layout::RowMajor},
                                 {Layout::ColMajor, Layout::ColMajor}};

const Product kShapes[] = {
    {1, 1, 1, 1},    {1, 0, 3, 4},    {1, 3, 0, 4},    {1, 5, 7, 0},
    {0, 3, 3, 3},    {1, 67, 45, 33}, {3, 17, 70, 21}, {1, 130, 3, 29},
    {2, 1, 150, 18}, {2, 2, 1, 40},   {1, 33, 20, 70},
};

const RegisterCase matmul_case("matmul", [] {
  uint32_t seed = 7000;
  for (const Product& p : kShapes) {
    for (const auto& t : kTransposes) {
      for (DType dtype : {DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
        check_product(Kind::Matmul, dtype, p, t[0], t[1], false, false, Activation::Identity,
                      seed += 4);
      }
    }
  }
  // Broadcast batch offsets (a table on the device), padded rows, broadcast rows.
  for (DType dtype : {DType::Int32, DType::Float32, DType::Float64}) {
    check_product(Kind::Matmul, dtype, {5, 19, 23, 37}, Layout::RowMajor, Layout::ColMajor, true,
                  false, Activation::Identity, seed += 4);
    check_product(Kind::Matmul, dtype, {2, 9, 70, 17}, Layout::Padded, Layout::Padded, false, false,
                  Activation::Identity, seed += 4);
    check_product(Kind::Matmul, dtype, {2, 70, 9, 17}, Layout::BroadcastRows, Layout::RowMajor,
                  true, false, Activation::Identity, seed += 4);
  }
  // NaN and infinities propagate as on the CPU (their results do not depend on the order).
  for (DType dtype : {DType::Float32, DType::Float64}) {
    check_product(Kind::Matmul, dtype, {1, 23, 31, 46}, Layout::RowMajor, Layout::RowMajor, false,
                  false, Activation::Identity, seed += 4, true);
  }
});

// Runs fn(split) twice through the shim: with the epilogue in the product's write-back, then after
// it (epilogue_kernel, as the cuBLASLt engine runs the epilogues it does not fuse).
template <class F>
void both_epilogue_paths(const F& fn) {
  fn(false);
#ifndef CORTEN_TEST_ON_DEVICE
  corten::cuda::shim_split_epilogue = true;
  fn(true);
  corten::cuda::shim_split_epilogue = false;
#endif
}

const Activation kActivations[] = {Activation::Identity, Activation::Relu, Activation::Sigmoid,
                                   Activation::Tanh, Activation::Gelu};

const RegisterCase bias_act_case("matmul_bias_act", [] {
  both_epilogue_paths([](bool split) {
    uint32_t seed = 8000;
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (const auto& t : kTransposes) {
        if (split && t[0] != t[1]) continue;  // (the shim's time: the write-back is the same)
        for (Activation act : kActivations) {
          for (bool bias : {false, true}) {
            check_product(Kind::BiasAct, dtype, {2, 37, 70, 19}, t[0], t[1], false, bias, act,
                          seed += 4);
          }
        }
      }
      for (Activation act : kActivations) {
        check_product(Kind::BiasAct, dtype, {1, 5, 7, 0}, Layout::RowMajor, Layout::RowMajor, false,
                      true, act, seed += 4);
        check_product(Kind::BiasAct, dtype, {3, 66, 5, 40}, Layout::Padded, Layout::ColMajor, true,
                      true, act, seed += 4);
        check_product(Kind::BiasAct, dtype, {1, 1, 1, 1}, Layout::RowMajor, Layout::RowMajor, false,
                      true, act, seed += 4);
      }
    }
  });
});

const RegisterCase activation_grad_case("matmul_activation_grad", [] {
  both_epilogue_paths([](bool split) {
    uint32_t seed = 9000;
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (Activation act : {Activation::Relu, Activation::Sigmoid, Activation::Tanh}) {
        for (const auto& t : kTransposes) {
          if (split && t[0] != t[1]) continue;
          check_product(Kind::ActGrad, dtype, {1, 45, 67, 33}, t[0], t[1], false, false, act,
                        seed += 4);
        }
        check_product(Kind::ActGrad, dtype, {1, 6, 9, 0}, Layout::RowMajor, Layout::RowMajor, false,
                      false, act, seed += 4);
        check_product(Kind::ActGrad, dtype, {1, 1, 1, 1}, Layout::Padded, Layout::RowMajor, false,
                      false, act, seed += 4);
        check_product(Kind::ActGrad, dtype, {1, 70, 3, 20}, Layout::Padded, Layout::ColMajor, false,
                      false, act, seed += 4);
      }
    }
  });
});

}  // namespace
