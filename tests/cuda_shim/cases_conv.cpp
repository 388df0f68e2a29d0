// cuda::conv_forward, conv_backward_data and conv_backward_filter (csrc/cuda/conv.cu through the
// shim) against the CPU kernels, fast and reference: 1-D, 2-D, 3-D and pointwise convolutions,
// strides (also past the window), dilations, asymmetric padding, groups (up to one channel per
// group), bias and every fused activation, the CPU's Winograd shapes, size 1, no input
// channels, no filters, an empty batch, several row and column tiles, and sums over K split in
// chunks. The orders of the sums differ (Note [CUDA convolution]): each element must agree
// within 2 * (K + 1) * eps * (sum of the magnitudes of its terms and bias), times 1.2 for the
// activation's slope, plus the activation's own rounding (Note [CUDA elementwise accuracy]).
#include <corten/cpu_features.h>
#include <corten/dtype.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/conv.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::Activation;
using corten::DType;
using corten::cpu::ConvGeom;
using namespace corten_test;

struct ConvCase {
  std::string name;
  int64_t n, c, f, groups;
  std::vector<int64_t> in, k, stride, dil, pad_before, pad_after;
};

ConvGeom geom_of(const ConvCase& cc) {
  ConvGeom g{};
  g.n = cc.n;
  g.c = cc.c;
  g.f = cc.f;
  g.groups = cc.groups;
  const int nd = static_cast<int>(cc.in.size());
  for (int i = 0; i < 3; ++i) {
    const bool real = i >= 3 - nd;
    const int j = i - (3 - nd);
    g.in[i] = real ? cc.in[j] : 1;
    g.k[i] = real ? cc.k[j] : 1;
    g.stride[i] = real ? cc.stride[j] : 1;
    g.dil[i] = real ? cc.dil[j] : 1;
    g.pad[i] = real ? cc.pad_before[j] : 0;
    const int64_t after = real ? cc.pad_after[j] : 0;
    g.out[i] = (g.in[i] + g.pad[i] + after - g.dil[i] * (g.k[i] - 1) - 1) / g.stride[i] + 1;
  }
  return g;
}

std::vector<ConvCase> conv_cases() {
  return {
      {"2-d 3x3 same", 2, 3, 5, 1, {7, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
      {"2-d strided dilated grouped", 2, 4, 6, 2, {9, 8}, {3, 2}, {2, 1}, {2, 1}, {2, 0}, {1, 1}},
      {"1-d stride past window", 3, 5, 4, 1, {13}, {2}, {3}, {1}, {1}, {2}},
      {"3-d", 1, 2, 3, 1, {4, 5, 3}, {2, 3, 2}, {1, 2, 1}, {1, 1, 2}, {1, 1, 1}, {0, 1, 1}},
      {"pointwise", 2, 7, 9, 1, {5, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}},
      {"tiles", 2, 20, 70, 1, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
      {"channel per group", 1, 6, 12, 6, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
      {"size 1", 1, 1, 1, 1, {1}, {1}, {1}, {1}, {0}, {0}},
      {"long reduction", 4, 2, 3, 1, {24, 24}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
      // A long K on one tile: the forward and dx split K too.
      {"split reduction", 1, 64, 64, 1, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
      // 3x3 stride 1 with 16 channels and 512 tiles of 2x2 pixels: the CPU's Winograd paths.
      {"winograd sized", 2, 16, 16, 1, {32, 32}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
  };
}

std::vector<unsigned char> out_bytes(DType dtype, int64_t n) {
  return std::vector<unsigned char>(static_cast<size_t>(n) * corten::itemsize(dtype) + 1, 0xAB);
}

Operand values(DType dtype, int64_t n, uint32_t seed) {
  return make_operand(dtype, {n}, {1}, 0, seed, 1.0, false, 3);
}

Operand abs_of(const Operand& op, int64_t n) {
  Operand a = op;
  for (int64_t i = 0; i < n; ++i) {
    if (op.dtype == DType::Float32) {
      float* p = reinterpret_cast<float*>(a.storage.data()) + i;
      *p = std::fabs(*p);
    } else {
      double* p = reinterpret_cast<double*>(a.storage.data()) + i;
      *p = std::fabs(*p);
    }
  }
  return a;
}

// Element-wise bound of Note [CUDA convolution] (see the header comment).
bool close_values(const std::string& what, DType dtype, const std::vector<unsigned char>& got,
                  const std::vector<unsigned char>& want, const std::vector<unsigned char>& mag,
                  int64_t n, int64_t K, Activation act) {
  const bool f32 = dtype == DType::Float32;
  const double eps = f32 ? 1.1920929e-7 : 2.220446049250313e-16;
  const double act_tol = act == Activation::Identity || act == Activation::Relu ? 0
                         : f32                                                  ? 1e-5
                                                                                : 1e-12;
  for (int64_t i = 0; i < n; ++i) {
    const double a = element(dtype, got.data(), i), b = element(dtype, want.data(), i);
    const double tol = 2.4 * static_cast<double>(K + 1) * eps * element(dtype, mag.data(), i) +
                       act_tol * (1 + std::fabs(b));
    if (!(std::fabs(a - b) <= tol)) {
      std::printf("%s: element %lld: cuda %.17g, cpu %.17g, tolerance %.3g\n", what.c_str(),
                  static_cast<long long>(i), a, b, tol);
      return false;
    }
  }
  return true;
}

// The CPU kernel `run(g, out)` at the current level (fast) and as the reference kernels.
template <class Run>
void cpu_runs(ConvGeom g, DType dtype, int64_t n, const Run& run, std::vector<unsigned char>& fast,
              std::vector<unsigned char>& ref) {
  fast = out_bytes(dtype, n);
  ref = out_bytes(dtype, n);
  g.reference = false;
  run(g, fast);
  g.reference = true;
  run(g, ref);
}

void check(const std::string& what, DType dtype, const std::vector<unsigned char>& got,
           const std::vector<unsigned char>& fast, const std::vector<unsigned char>& ref,
           const std::vector<unsigned char>& mag, int64_t n, int64_t K, Activation act) {
  CHECK(close_values(what + " (fast cpu)", dtype, got, fast, mag, n, K, act));
  CHECK(close_values(what + " (reference cpu)", dtype, got, ref, mag, n, K, act));
  CHECK(got.back() == 0xAB);
}

constexpr Activation kActs[] = {Activation::Identity, Activation::Relu, Activation::Sigmoid,
                                Activation::Tanh, Activation::Gelu};

// Forward (which 0) or backward_data (1): act(conv(x, w) + bias) or its adjoint.
void check_forward_or_data(const ConvCase& cc, DType dtype, uint32_t seed, int which,
                           Activation act, bool with_bias) {
  ConvGeom g = geom_of(cc);
  const int64_t in_px = g.in[0] * g.in[1] * g.in[2], out_px = g.out[0] * g.out[1] * g.out[2];
  const int64_t kk = g.k[0] * g.k[1] * g.k[2];
  const int64_t nx = g.n * in_px * g.c, ny = g.n * out_px * g.f, nw = kk * (g.c / g.groups) * g.f;
  const bool fwd = which == 0;
  const int64_t n_in = fwd ? nx : ny, n_out = fwd ? ny : nx, nb = fwd ? g.f : g.c;
  const int64_t K = fwd ? kk * (g.c / g.groups) : kk * (g.f / g.groups);
  const std::string what = std::string(fwd ? "conv_forward " : "conv_backward_data ") +
                           corten::dtype_name(dtype) + " " + cc.name + " " +
                           std::to_string(static_cast<int>(act)) + (with_bias ? " bias" : "");
  const Operand in = values(dtype, n_in, seed), w = values(dtype, nw, seed + 1),
                b = values(dtype, nb, seed + 2);
  auto cpu = [&](const Operand& i, const Operand& ww, const Operand& bb, Activation a) {
    return [&, a](const ConvGeom& gg, std::vector<unsigned char>& o) {
      const void* bp = with_bias ? bb.data() : nullptr;
      if (fwd)
        corten::cpu::conv_forward(dtype, gg, i.data(), ww.data(), bp, a, o.data());
      else
        corten::cpu::conv_backward_data(dtype, gg, i.data(), ww.data(), bp, a, o.data());
    };
  };
  std::vector<unsigned char> got = out_bytes(dtype, n_out), fast, ref, mag, unused;
  {
    KernelBuffer din(in.storage), dw(w.storage), db(b.storage), dout(got);
    void* bp = with_bias ? db.get() : nullptr;
    if (fwd)
      corten::cuda::conv_forward(dtype, g, din.get(), dw.get(), bp, act, dout.get());
    else
      corten::cuda::conv_backward_data(dtype, g, din.get(), dw.get(), bp, act, dout.get());
    got = dout.read();
  }
  cpu_runs(g, dtype, n_out, cpu(in, w, b, act), fast, ref);
  const Operand ain = abs_of(in, n_in), aw = abs_of(w, nw), ab = abs_of(b, nb);
  cpu_runs(g, dtype, n_out, cpu(ain, aw, ab, Activation::Identity), unused, mag);
  check(what, dtype, got, fast, ref, mag, n_out, K, act);
}

void check_filter(const ConvCase& cc, DType dtype, uint32_t seed) {
  ConvGeom g = geom_of(cc);
  const int64_t in_px = g.in[0] * g.in[1] * g.in[2], out_px = g.out[0] * g.out[1] * g.out[2];
  const int64_t kk = g.k[0] * g.k[1] * g.k[2];
  const int64_t nx = g.n * in_px * g.c, ny = g.n * out_px * g.f, nw = kk * (g.c / g.groups) * g.f;
  const std::string what =
      std::string("conv_backward_filter ") + corten::dtype_name(dtype) + " " + cc.name;
  const Operand x = values(dtype, nx, seed), dy = values(dtype, ny, seed + 1);
  std::vector<unsigned char> got = out_bytes(dtype, nw), fast, ref, mag, unused;
  {
    KernelBuffer dx(x.storage), ddy(dy.storage), dout(got);
    corten::cuda::conv_backward_filter(dtype, g, dx.get(), ddy.get(), dout.get());
    got = dout.read();
  }
  auto cpu = [&](const Operand& xx, const Operand& gg) {
    return [&](const ConvGeom& geom, std::vector<unsigned char>& o) {
      corten::cpu::conv_backward_filter(dtype, geom, xx.data(), gg.data(), o.data());
    };
  };
  cpu_runs(g, dtype, nw, cpu(x, dy), fast, ref);
  const Operand ax = abs_of(x, nx), ady = abs_of(dy, ny);
  cpu_runs(g, dtype, nw, cpu(ax, ady), unused, mag);
  check(what, dtype, got, fast, ref, mag, nw, g.n * out_px, Activation::Identity);
}

const RegisterCase forward_case("conv_forward", [] {
  uint32_t seed = 7300;
  int a = 0;
  std::vector<ConvCase> cases = conv_cases();
  // No input channels: act(bias).
  cases.push_back(
      {"no input channels", 2, 0, 3, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}});
  for (const ConvCase& cc : cases)
    for (DType dtype : {DType::Float32, DType::Float64}) {
      check_forward_or_data(cc, dtype, seed += 3, 0, kActs[a % 5], a % 3 != 1);
      ++a;
    }
});

const RegisterCase data_case("conv_backward_data", [] {
  uint32_t seed = 7600;
  int a = 0;
  std::vector<ConvCase> cases = conv_cases();
  // No filters (the transposed convolution of an empty x): act(bias).
  cases.push_back({"no filters", 2, 3, 0, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}});
  for (const ConvCase& cc : cases)
    for (DType dtype : {DType::Float32, DType::Float64}) {
      check_forward_or_data(cc, dtype, seed += 3, 1, kActs[(a + 2) % 5], a % 3 != 2);
      ++a;
    }
});

const RegisterCase filter_case("conv_backward_filter", [] {
  uint32_t seed = 7900;
  std::vector<ConvCase> cases = conv_cases();
  cases.push_back({"empty batch", 0, 3, 4, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}});
  for (const ConvCase& cc : cases)
    for (DType dtype : {DType::Float32, DType::Float64}) check_filter(cc, dtype, seed += 2);
});

}  // namespace
