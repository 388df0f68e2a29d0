// The CUDA pooling and resize kernels (csrc/cuda/pooling.cu and resize.cu through the shim)
// against the CPU ones, bit for bit (Notes [CUDA pooling backward] and [CUDA resize backward]):
// max and average pooling and their gradients over 1-D, 2-D and 3-D windows ('valid', 'same',
// strided, dilated, windows wholly in the padding), nearest and linear resizing with every
// align_corners / half_pixel_centers combination, up- and downsampling, and their gradients;
// channels_last, channels_first, padded (non-contiguous) and mixed layouts; empty, size-1 and
// multi-block sizes; float32 and float64; NaN, infinities and ties (max pooling routes the
// gradient to the first maximum, as on the CPU). Every case compares with the CPU kernel at the
// native ISA and at 'baseline' (the reference kernels), and checks that the CUDA kernel writes
// nothing outside its output (gaps of padded layouts and a guard after the buffer).
#include <corten/cpu_features.h>
#include <corten/dtype.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/pooling.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using corten::cpu::PoolKind;
using corten::cpu::ResizeSpec;
using corten::cpu::SpatialGeom;
using namespace corten_test;

const std::string& native_isa() {
  static const std::string isa = corten::cpu_isa_name();
  return isa;
}

// How an operand is laid out in memory: channels last or first, and `gap` extra elements after
// every innermost row (a sliced, non-contiguous view).
struct Layout {
  bool channels_last;
  int64_t gap;
};

// Element strides (n, c, d, h, w) of an (n, c, s0, s1, s2) operand under `lay`.
void layout_strides(int64_t c, const int64_t (&s)[3], const Layout& lay, int64_t (&st)[5]) {
  if (lay.channels_last) {
    st[1] = 1;
    st[4] = c + lay.gap;
    st[3] = st[4] * s[2];
    st[2] = st[3] * s[1];
    st[0] = st[2] * s[0];
  } else {
    st[4] = 1;
    st[3] = s[2] + lay.gap;
    st[2] = st[3] * s[1];
    st[1] = st[2] * s[0];
    st[0] = st[1] * c;
  }
}

// Elements spanned by an (n, c, s...) operand with strides st (0 when empty).
int64_t extent(int64_t n, int64_t c, const int64_t (&s)[3], const int64_t (&st)[5]) {
  if (n == 0 || c == 0 || s[0] == 0 || s[1] == 0 || s[2] == 0) return 0;
  return (n - 1) * st[0] + (c - 1) * st[1] + (s[0] - 1) * st[2] + (s[1] - 1) * st[3] +
         (s[2] - 1) * st[4] + 1;
}

// Values for an operand: `specials` adds NaN, infinities and signed zeros; `ties` rounds every
// value to an integer in [-2, 2], so that windows hold several equal maxima.
std::vector<unsigned char> values(DType dtype, int64_t count, uint32_t seed, bool specials,
                                  bool ties) {
  const size_t item = corten::itemsize(dtype);
  std::vector<unsigned char> v(static_cast<size_t>(count) * item + 2 * item, 0);
  fill(dtype, v.data(), count, seed, ties ? 2.4 : 3.0, specials, 1);
  if (ties) {
    for (int64_t i = 0; i < count; ++i) {
      if (dtype == DType::Float32) {
        float& f = reinterpret_cast<float*>(v.data())[i];
        f = std::round(f);
      } else {
        double& d = reinterpret_cast<double*>(v.data())[i];
        d = std::round(d);
      }
    }
  }
  return v;
}

// Runs `cuda` on device copies of the inputs and an output buffer of `out_count` elements
// (pre-filled with a pattern), `cpu` on host copies at the native ISA and at 'baseline', and
// compares the three whole buffers bit for bit (the pattern where nothing is written).
void compare(const std::string& what, DType dtype,
             const std::vector<std::vector<unsigned char>>& in, int64_t out_count,
             const std::function<void(const std::vector<void*>&, void*)>& cuda,
             const std::function<void(const std::vector<const void*>&, void*)>& cpu) {
  const size_t item = corten::itemsize(dtype);
  const size_t bytes = static_cast<size_t>(out_count + 3) * item;  // 3 guard elements
  std::vector<unsigned char> got(bytes, 0xAB), native(bytes, 0xAB), base(bytes, 0xAB);
  {
    std::vector<std::unique_ptr<KernelBuffer>> bufs;
    std::vector<void*> ptrs;
    for (const auto& b : in) {
      bufs.push_back(std::make_unique<KernelBuffer>(b));
      ptrs.push_back(bufs.back()->get());
    }
    KernelBuffer out(got);
    cuda(ptrs, out.get());
    got = out.read();
  }
  std::vector<const void*> hp;
  for (const auto& b : in) hp.push_back(b.data());
  cpu(hp, native.data());
  corten::set_cpu_isa("baseline");
  cpu(hp, base.data());
  corten::set_cpu_isa(native_isa());
  const int64_t n = static_cast<int64_t>(bytes / item);
  CHECK(same_values(what + " (native cpu)", dtype, got.data(), native.data(), n, 0, 0));
  CHECK(same_values(what + " (baseline cpu)", dtype, got.data(), base.data(), n, 0, 0));
}

// ---- pooling -------------------------------------------------------------------------------

struct PoolGeom {
  std::string name;
  int64_t n, c;
  int64_t in[3], k[3], stride[3], dil[3], pad[3];
};

// The output size of an axis: the last window must start inside the padded input.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pad, bool same) {
  if (same) return (in + s - 1) / s;
  return (in + 2 * pad - ((k - 1) * d + 1)) / s + 1;
}

std::vector<PoolGeom> pool_geoms() {
  return {
      // name, n, c, in, k, stride, dil, pad (pad > 0 marks 'same' output sizes)
      {"1-d valid", 2, 3, {1, 1, 17}, {1, 1, 3}, {1, 1, 2}, {1, 1, 1}, {0, 0, 0}},
      {"1-d same", 2, 3, {1, 1, 17}, {1, 1, 4}, {1, 1, 3}, {1, 1, 1}, {0, 0, 1}},
      {"2-d valid overlapping", 2, 5, {1, 9, 10}, {1, 3, 3}, {1, 1, 2}, {1, 1, 1}, {0, 0, 0}},
      {"2-d same", 1, 7, {1, 11, 9}, {1, 3, 2}, {1, 2, 2}, {1, 1, 1}, {0, 1, 0}},
      {"2-d gaps (stride > window)", 2, 3, {1, 10, 11}, {1, 2, 2}, {1, 3, 4}, {1, 1, 1}, {0, 0, 0}},
      {"2-d dilated", 1, 4, {1, 12, 13}, {1, 3, 2}, {1, 1, 2}, {1, 2, 3}, {0, 1, 2}},
      {"3-d", 2, 3, {5, 6, 7}, {2, 3, 2}, {2, 1, 2}, {1, 1, 1}, {0, 1, 1}},
      {"empty windows", 1, 2, {1, 5, 5}, {1, 2, 2}, {1, 3, 3}, {1, 1, 1}, {0, 2, 2}},
      {"size-1", 1, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}},
      {"empty batch", 0, 3, {1, 4, 4}, {1, 2, 2}, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}},
      {"no channels", 2, 0, {1, 4, 4}, {1, 2, 2}, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}},
      {"multi-block", 2, 37, {1, 23, 21}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}},
  };
}

SpatialGeom make_geom(const PoolGeom& pg) {
  SpatialGeom g;
  g.n = pg.n;
  g.c = pg.c;
  for (int a = 0; a < 3; ++a) {
    g.in[a] = pg.in[a];
    g.k[a] = pg.k[a];
    g.stride[a] = pg.stride[a];
    g.dil[a] = pg.dil[a];
    g.pad[a] = pg.pad[a];
    g.out[a] = pool_out(pg.in[a], pg.k[a], pg.stride[a], pg.dil[a], pg.pad[a], false);
  }
  return g;
}

const Layout kLayouts[][2] = {
    // x (and dx), y (and dy)
    {{true, 0}, {true, 0}},
    {{false, 0}, {false, 0}},
    {{true, 3}, {false, 1}},
    {{false, 2}, {true, 0}},
};

constexpr int kNumLayouts = 4;

// Every layout in float32; float64 (the same code paths) in two of them, to keep the cases short.
std::vector<DType> dtypes_for_layout(int li) {
  if (li == 1 || li == 2) return {DType::Float32, DType::Float64};
  return {DType::Float32};
}

void check_pool(const PoolGeom& pg, DType dtype, PoolKind kind, const Layout (&lay)[2],
                bool backward, bool specials, bool ties, uint32_t seed) {
  SpatialGeom g = make_geom(pg);
  layout_strides(g.c, g.in, lay[0], g.xs);
  layout_strides(g.c, g.out, lay[1], g.ys);
  const int64_t nx = extent(g.n, g.c, g.in, g.xs), ny = extent(g.n, g.c, g.out, g.ys);
  const std::string what = std::string(kind == PoolKind::Max ? "max" : "avg") + "_pool" +
                           (backward ? "_backward " : " ") + corten::dtype_name(dtype) + " " +
                           pg.name + (lay[0].channels_last ? " cl" : " cf") +
                           std::to_string(lay[0].gap) + (lay[1].channels_last ? "/cl" : "/cf") +
                           std::to_string(lay[1].gap) + (specials ? " specials" : "") +
                           (ties ? " ties" : "");
  const auto x = values(dtype, nx, seed, specials, ties);
  if (!backward) {
    compare(
        what, dtype, {x}, ny,
        [&](const std::vector<void*>& p, void* y) { corten::cuda::pool(dtype, kind, g, p[0], y); },
        [&](const std::vector<const void*>& p, void* y) {
          corten::cpu::pool(dtype, kind, g, p[0], y);
        });
    return;
  }
  const auto dy = values(dtype, ny, seed + 1, false, false);
  compare(
      what, dtype, {x, dy}, nx,
      [&](const std::vector<void*>& p, void* dx) {
        corten::cuda::pool_backward(dtype, kind, g, p[0], p[1], dx);
      },
      [&](const std::vector<const void*>& p, void* dx) {
        corten::cpu::pool_backward(dtype, kind, g, p[0], p[1], dx);
      });
}

void pool_cases(bool backward) {
  uint32_t seed = backward ? 9100 : 9000;
  for (const PoolGeom& pg : pool_geoms()) {
    for (int li = 0; li < kNumLayouts; ++li) {
      for (DType dtype : dtypes_for_layout(li)) {
        for (PoolKind kind : {PoolKind::Max, PoolKind::Avg}) {
          check_pool(pg, dtype, kind, kLayouts[li], backward, false, false, ++seed);
        }
      }
    }
    // Ties and special values, in one layout each.
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (PoolKind kind : {PoolKind::Max, PoolKind::Avg}) {
        check_pool(pg, dtype, kind, kLayouts[0], backward, false, true, ++seed);
        check_pool(pg, dtype, kind, kLayouts[1], backward, true, false, ++seed);
      }
    }
  }
}

const RegisterCase pool_case("pool", [] { pool_cases(false); });
const RegisterCase pool_backward_case("pool_backward", [] { pool_cases(true); });

// ---- resize --------------------------------------------------------------------------------

struct ResizeGeom {
  std::string name;
  int64_t n, c;
  int64_t in[3], out[3];
};

std::vector<ResizeGeom> resize_geoms() {
  return {
      {"1-d up", 2, 3, {1, 1, 7}, {1, 1, 16}},         {"1-d down", 2, 3, {1, 1, 16}, {1, 1, 5}},
      {"2-d up", 2, 3, {1, 5, 4}, {1, 11, 9}},         {"2-d down", 1, 5, {1, 13, 12}, {1, 4, 5}},
      {"2-d mixed", 2, 2, {1, 3, 10}, {1, 8, 3}},      {"3-d", 1, 3, {3, 4, 5}, {7, 3, 8}},
      {"from size-1", 2, 3, {1, 1, 1}, {1, 4, 3}},     {"to size-1", 2, 3, {1, 5, 4}, {1, 1, 1}},
      {"same size", 1, 4, {1, 6, 7}, {1, 6, 7}},       {"empty batch", 0, 3, {1, 4, 4}, {1, 8, 8}},
      {"multi-block", 2, 33, {1, 9, 10}, {1, 19, 21}},
  };
}

const ResizeSpec kSpecs[] = {
    // linear, align_corners, half_pixel_centers
    {false, false, true}, {false, false, false}, {false, true, false},
    {true, false, true},  {true, false, false},  {true, true, false},
};

void check_resize(const ResizeGeom& rg, DType dtype, const ResizeSpec& spec, const Layout (&lay)[2],
                  bool backward, bool specials, uint32_t seed) {
  SpatialGeom g;
  g.n = rg.n;
  g.c = rg.c;
  for (int a = 0; a < 3; ++a) {
    g.in[a] = rg.in[a];
    g.out[a] = rg.out[a];
  }
  layout_strides(g.c, g.in, lay[0], g.xs);
  layout_strides(g.c, g.out, lay[1], g.ys);
  const int64_t nx = extent(g.n, g.c, g.in, g.xs), ny = extent(g.n, g.c, g.out, g.ys);
  const std::string what =
      std::string(backward ? "resize_backward " : "resize ") + corten::dtype_name(dtype) + " " +
      rg.name + (spec.linear ? " linear" : " nearest") +
      (spec.align_corners ? " align_corners" : "") +
      (spec.half_pixel_centers ? " half_pixel" : "") + (lay[0].channels_last ? " cl" : " cf") +
      std::to_string(lay[0].gap) + (lay[1].channels_last ? "/cl" : "/cf") +
      std::to_string(lay[1].gap) + (specials ? " specials" : "");
  if (!backward) {
    const auto x = values(dtype, nx, seed, specials, false);
    compare(
        what, dtype, {x}, ny,
        [&](const std::vector<void*>& p, void* y) {
          corten::cuda::resize(dtype, spec, g, p[0], y);
        },
        [&](const std::vector<const void*>& p, void* y) {
          corten::cpu::resize(dtype, spec, g, p[0], y);
        });
    return;
  }
  const auto dy = values(dtype, ny, seed, specials, false);
  compare(
      what, dtype, {dy}, nx,
      [&](const std::vector<void*>& p, void* dx) {
        corten::cuda::resize_backward(dtype, spec, g, p[0], dx);
      },
      [&](const std::vector<const void*>& p, void* dx) {
        corten::cpu::resize_backward(dtype, spec, g, p[0], dx);
      });
}

void resize_cases(bool backward) {
  uint32_t seed = backward ? 9300 : 9200;
  for (const ResizeGeom& rg : resize_geoms()) {
    for (const ResizeSpec& spec : kSpecs) {
      for (int li = 0; li < kNumLayouts; ++li) {
        for (DType dtype : dtypes_for_layout(li)) {
          check_resize(rg, dtype, spec, kLayouts[li], backward, false, ++seed);
        }
      }
      check_resize(rg, DType::Float32, spec, kLayouts[0], backward, true, ++seed);
    }
  }
}

const RegisterCase resize_case("resize", [] { resize_cases(false); });
const RegisterCase resize_backward_case("resize_backward", [] { resize_cases(true); });

}  // namespace
