// cuda::depthwise_conv, depthwise_conv_backward_input and depthwise_conv_backward_filter
// (csrc/cuda/depthwise.cu through the shim) against the CPU kernels: 1-D, 2-D and 3-D windows,
// strides, dilations, 'same' and 'valid' padding, depth multipliers 1-3, channels_last and
// channels_first, bias or none, an empty batch, size 1, a window past the CPU gather's limits,
// batches of several image groups, NaN and infinities. Against the reference kernels (the
// 'baseline' level) bit for bit where the sum is one thread's (forward, dx), against the fast
// kernels and the reference dw within 2 * terms * eps (Note [CUDA depthwise convolution]).
#include <corten/cpu_features.h>
#include <corten/dtype.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/pooling.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using corten::cpu::SpatialGeom;
using namespace corten_test;

struct DwCase {
  std::string name;
  int rank;
  int64_t n, c, m;
  std::vector<int64_t> in, k, stride, dil;
  bool same, channels_first, bias, specials;
};

// Element strides (n, c, d, h, w) of contiguous data in either layout, as the entry point
// (csrc/ops/pooling.cpp) fills them.
void fill_strides(int64_t n, int64_t c, const int64_t sp[3], bool cf, int64_t s[5]) {
  if (cf) {
    s[4] = 1;
    s[3] = sp[2];
    s[2] = sp[1] * sp[2];
    s[1] = sp[0] * sp[1] * sp[2];
    s[0] = c * s[1];
  } else {
    s[1] = 1;
    s[4] = c;
    s[3] = sp[2] * c;
    s[2] = sp[1] * sp[2] * c;
    s[0] = sp[0] * s[2];
  }
  (void)n;
}

SpatialGeom geom_of(const DwCase& dc) {
  SpatialGeom g;
  g.n = dc.n;
  g.c = dc.c;
  g.m = dc.m;
  for (int i = 0; i < dc.rank; ++i) {
    const int s = 3 - dc.rank + i;
    g.in[s] = dc.in[i];
    g.k[s] = dc.k[i];
    g.stride[s] = dc.stride[i];
    g.dil[s] = dc.dil[i];
    const int64_t eff = (dc.k[i] - 1) * dc.dil[i] + 1;
    if (dc.same) {
      g.out[s] = (dc.in[i] + dc.stride[i] - 1) / dc.stride[i];
      g.pad[s] = std::max<int64_t>((g.out[s] - 1) * dc.stride[i] + eff - dc.in[i], 0) / 2;
    } else {
      g.out[s] = (dc.in[i] - eff) / dc.stride[i] + 1;
    }
  }
  fill_strides(g.n, g.c, g.in, dc.channels_first, g.xs);
  fill_strides(g.n, g.c * g.m, g.out, dc.channels_first, g.ys);
  return g;
}

std::vector<DwCase> dw_cases() {
  return {
      {"2-d 3x3 same", 2, 5, 5, 1, {6, 7}, {3, 3}, {1, 1}, {1, 1}, true, false, true, false},
      {"2-d stride 2 valid m2 cf",
       2,
       2,
       3,
       2,
       {7, 8},
       {3, 2},
       {2, 2},
       {1, 1},
       false,
       true,
       true,
       false},
      {"1-d dilated m3", 1, 3, 4, 3, {11}, {5}, {1}, {2}, true, false, false, false},
      {"3-d strided dilated cf",
       3,
       2,
       3,
       1,
       {5, 6, 4},
       {2, 3, 2},
       {1, 2, 1},
       {2, 1, 1},
       true,
       true,
       true,
       false},
      {"size 1", 2, 1, 1, 1, {1, 1}, {1, 1}, {1, 1}, {1, 1}, false, false, true, false},
      {"tall window", 2, 2, 3, 1, {12, 5}, {9, 3}, {1, 1}, {1, 1}, true, false, true, false},
      {"empty batch", 2, 0, 3, 2, {4, 4}, {3, 3}, {1, 1}, {1, 1}, true, false, true, false},
      {"multi-block", 2, 9, 40, 1, {12, 12}, {3, 3}, {1, 1}, {1, 1}, true, false, true, false},
      {"specials", 2, 2, 6, 2, {5, 5}, {3, 3}, {2, 1}, {1, 1}, true, false, true, true},
  };
}

int64_t numel_x(const SpatialGeom& g) { return g.n * g.c * g.in[0] * g.in[1] * g.in[2]; }
int64_t numel_y(const SpatialGeom& g) { return g.n * g.c * g.m * g.out[0] * g.out[1] * g.out[2]; }
int64_t taps(const SpatialGeom& g) { return g.k[0] * g.k[1] * g.k[2]; }

// Output bytes with a guard byte after them, prefilled with garbage the kernel must overwrite.
std::vector<unsigned char> out_bytes(DType dtype, int64_t n) {
  return std::vector<unsigned char>(static_cast<size_t>(n) * corten::itemsize(dtype) + 1, 0xAB);
}

// |got - want| <= 2 * terms * eps * mag elementwise (mag: the sum of the terms' magnitudes),
// NaN equal to NaN and infinities to themselves; bit for bit when terms == 0.
bool close_values(const std::string& what, DType dtype, const std::vector<unsigned char>& got,
                  const std::vector<unsigned char>& want, const std::vector<unsigned char>& mag,
                  int64_t n, int64_t terms) {
  if (terms == 0) return same_values(what, dtype, got.data(), want.data(), n, 0, 0);
  const double eps = dtype == DType::Float32 ? 1.1920929e-7 : 2.220446049250313e-16;
  for (int64_t i = 0; i < n; ++i) {
    const double a = element(dtype, got.data(), i), b = element(dtype, want.data(), i);
    const double tol = 2.0 * static_cast<double>(terms) * eps * element(dtype, mag.data(), i);
    const bool ok = (std::isnan(a) || std::isnan(b))   ? std::isnan(a) && std::isnan(b)
                    : (std::isinf(a) || std::isinf(b)) ? a == b
                                                       : std::fabs(a - b) <= tol;
    if (!ok) {
      std::printf("%s: element %lld: cuda %.17g, cpu %.17g, tolerance %.3g\n", what.c_str(),
                  static_cast<long long>(i), a, b, tol);
      return false;
    }
  }
  return true;
}

// Compares got with the CPU kernels' results at the current level (within rounding) and with
// the reference kernels (bit for bit unless inexact_ref), and checks the guard byte.
void compare(const std::string& what, DType dtype, const std::vector<unsigned char>& got,
             const std::vector<unsigned char>& fast, const std::vector<unsigned char>& ref,
             const std::vector<unsigned char>& mag, int64_t n, bool inexact_ref, int64_t terms) {
  CHECK(close_values(what + " (fast cpu)", dtype, got, fast, mag, n, std::max<int64_t>(terms, 1)));
  CHECK(close_values(what + " (reference cpu)", dtype, got, ref, mag, n, inexact_ref ? terms : 0));
  CHECK(got.back() == 0xAB);
}

// The operand with every value replaced by its magnitude.
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

void check_case(const DwCase& dc, DType dtype, uint32_t seed, int which) {
  const SpatialGeom g = geom_of(dc);
  const std::string what = std::string(which == 0   ? "depthwise_conv "
                                       : which == 1 ? "depthwise_conv_backward_input "
                                                    : "depthwise_conv_backward_filter ") +
                           corten::dtype_name(dtype) + " " + dc.name;
  const int64_t nx = numel_x(g), ny = numel_y(g), nw = taps(g) * g.c * g.m, nb = g.c * g.m;
  const Operand x = make_operand(dtype, {nx}, {1}, 0, seed, 1.0, dc.specials, 3);
  const Operand w = make_operand(dtype, {nw}, {1}, 0, seed + 1, 1.0, false, 3);
  const Operand b = make_operand(dtype, {nb}, {1}, 0, seed + 2, 1.0, false, 3);
  const Operand dy = make_operand(dtype, {ny}, {1}, 0, seed + 3, 1.0, dc.specials, 3);
  const std::string level = corten::cpu_isa_name();
  // Runs the CPU kernel at the current level and at 'baseline' (the reference kernels).
  auto cpu_both = [&](auto&& run, int64_t n, std::vector<unsigned char>& fast,
                      std::vector<unsigned char>& ref) {
    fast = out_bytes(dtype, n);
    ref = out_bytes(dtype, n);
    run(fast);
    corten::set_cpu_isa("baseline");
    run(ref);
    corten::set_cpu_isa(level);
  };
  const Operand ax = abs_of(x, nx), aw = abs_of(w, nw), ady = abs_of(dy, ny);
  std::vector<unsigned char> fast, ref, mag;
  // The reference kernel on magnitudes: the sum of the terms' magnitudes per element.
  auto magnitudes = [&](auto&& run, int64_t n) {
    mag = out_bytes(dtype, n);
    corten::set_cpu_isa("baseline");
    run(mag);
    corten::set_cpu_isa(level);
  };
  if (which == 0) {
    std::vector<unsigned char> got = out_bytes(dtype, ny);
    {
      KernelBuffer dx(x.storage), dw(w.storage), db(b.storage), dout(got);
      corten::cuda::depthwise_conv(dtype, g, dx.get(), dw.get(), dc.bias ? db.get() : nullptr,
                                   dout.get());
      got = dout.read();
    }
    cpu_both(
        [&](std::vector<unsigned char>& o) {
          corten::cpu::depthwise_conv(dtype, g, x.data(), w.data(), dc.bias ? b.data() : nullptr,
                                      o.data());
        },
        ny, fast, ref);
    magnitudes(
        [&](std::vector<unsigned char>& o) {
          corten::cpu::depthwise_conv(dtype, g, ax.data(), aw.data(), nullptr, o.data());
        },
        ny);
    compare(what, dtype, got, fast, ref, mag, ny, false, taps(g));
  } else if (which == 1) {
    std::vector<unsigned char> got = out_bytes(dtype, nx);
    {
      KernelBuffer dw(w.storage), ddy(dy.storage), dout(got);
      corten::cuda::depthwise_conv_backward_input(dtype, g, dw.get(), ddy.get(), dout.get());
      got = dout.read();
    }
    cpu_both(
        [&](std::vector<unsigned char>& o) {
          corten::cpu::depthwise_conv_backward_input(dtype, g, w.data(), dy.data(), o.data());
        },
        nx, fast, ref);
    magnitudes(
        [&](std::vector<unsigned char>& o) {
          corten::cpu::depthwise_conv_backward_input(dtype, g, aw.data(), ady.data(), o.data());
        },
        nx);
    compare(what, dtype, got, fast, ref, mag, nx, false, taps(g) * g.m);
  } else {
    std::vector<unsigned char> got_w = out_bytes(dtype, nw), got_b = out_bytes(dtype, nb);
    {
      KernelBuffer dx(x.storage), ddy(dy.storage), dw(got_w), db(got_b);
      corten::cuda::depthwise_conv_backward_filter(dtype, g, dx.get(), ddy.get(), dw.get(),
                                                   dc.bias ? db.get() : nullptr);
      got_w = dw.read();
      got_b = db.read();
    }
    std::vector<unsigned char> fast_b, ref_b;
    // dw and db come from one call: run it for both, keeping the db of the same call.
    fast = out_bytes(dtype, nw);
    ref = out_bytes(dtype, nw);
    fast_b = out_bytes(dtype, nb);
    ref_b = out_bytes(dtype, nb);
    corten::cpu::depthwise_conv_backward_filter(dtype, g, x.data(), dy.data(), fast.data(),
                                                dc.bias ? fast_b.data() : nullptr);
    corten::set_cpu_isa("baseline");
    corten::cpu::depthwise_conv_backward_filter(dtype, g, x.data(), dy.data(), ref.data(),
                                                dc.bias ? ref_b.data() : nullptr);
    corten::set_cpu_isa(level);
    std::vector<unsigned char> mag_b = out_bytes(dtype, nb);
    mag = out_bytes(dtype, nw);
    corten::set_cpu_isa("baseline");
    corten::cpu::depthwise_conv_backward_filter(dtype, g, ax.data(), ady.data(), mag.data(),
                                                mag_b.data());
    corten::set_cpu_isa(level);
    const int64_t terms = g.n * g.out[0] * g.out[1] * g.out[2];
    compare(what + " dw", dtype, got_w, fast, ref, mag, nw, true, terms);
    if (dc.bias) {
      compare(what + " db", dtype, got_b, fast_b, ref_b, mag_b, nb, true, terms);
    } else {
      CHECK(got_b == out_bytes(dtype, nb));  // db untouched
    }
  }
}

void run_all(int which) {
  uint32_t seed = 9100 + 100 * static_cast<uint32_t>(which);
  for (const DwCase& dc : dw_cases()) {
    for (DType dtype : {DType::Float32, DType::Float64}) check_case(dc, dtype, seed += 4, which);
  }
}

const RegisterCase forward_case("depthwise_conv", [] { run_all(0); });
const RegisterCase input_case("depthwise_conv_backward_input", [] { run_all(1); });
const RegisterCase filter_case("depthwise_conv_backward_filter", [] { run_all(2); });

}  // namespace
