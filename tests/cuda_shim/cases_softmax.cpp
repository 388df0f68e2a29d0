// cuda::softmax and cuda::softmax_backward (csrc/cuda/softmax.cu through the shim) against the
// CPU kernels, softmax and log_softmax, float32 and float64: empty, size-1, short and long rows
// (one warp, a block, several elements per thread), many rows (many blocks), the axis in the
// middle and first (lanes layout), transposed, sliced and broadcast inputs, NaN and infinities.
// Tolerances: Note [CUDA softmax accuracy].
#include <corten/cpu_features.h>
#include <corten/dtype.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/softmax.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using namespace corten_test;

const std::string& native_isa() {
  static const std::string isa = corten::cpu_isa_name();
  return isa;
}

// Note [CUDA softmax accuracy]: `exact` where the kernel takes the lanes layout (the CPU loop)
// and runs through the shim; otherwise the rows bound (shim) or the device bound.
double tolerance(DType dtype, bool exact) {
  if (dtype == DType::Float64) return exact && !kOnDevice ? 0 : 1e-12;
  if (kOnDevice) return 1e-5;
  return exact ? 0 : 1e-6;
}
double isa_tolerance(DType dtype) { return dtype == DType::Float64 ? 1e-12 : 1e-5; }

struct SoftmaxCase {
  std::string name;
  Shape shape, strides;
  int64_t offset, axis;
  bool lanes;  // the kernel walks each line in one thread
};

std::vector<SoftmaxCase> softmax_cases() {
  return {
      {"empty", {0}, {1}, 0, 0, false},
      {"empty lines", {3, 0}, {1, 1}, 0, 1, false},
      {"no lines", {0, 4}, {4, 1}, 0, 1, false},
      {"size-1", {1}, {1}, 0, 0, false},
      {"row 5", {5}, {1}, 0, 0, false},
      {"rows 7x33", {7, 33}, {33, 1}, 0, 1, false},
      {"rows 3x1000", {3, 1000}, {1000, 1}, 0, 1, false},
      {"rows 2x5000", {2, 5000}, {5000, 1}, 0, 1, false},
      {"many rows", {601, 9}, {9, 1}, 0, 1, false},
      {"columns", {33, 7}, {7, 1}, 0, 0, false},
      {"middle axis, lanes", {4, 3, 700}, {2100, 700, 1}, 0, 1, true},
      {"first axis, lanes", {5, 2100}, {2100, 1}, 0, 0, true},
      {"transposed", {6, 40}, {1, 6}, 0, 1, false},
      {"sliced", {3, 300}, {600, 2}, 1, 1, false},
      {"broadcast", {3, 4, 50}, {0, 50, 1}, 0, 2, false},
  };
}

void check_softmax(bool log, DType dtype, const SoftmaxCase& c, const Operand& x) {
  const std::string what = std::string(log ? "log_softmax " : "softmax ") +
                           corten::dtype_name(dtype) + " " + c.name + " " + shape_str(c.shape);
  const int64_t n = corten::shape_numel(c.shape);
  const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), base(bytes, 0xAB), isa(bytes, 0xAB);
  {
    KernelBuffer dx(x.storage), dout(got);
    corten::cuda::softmax(log, dtype, c.shape, dx.get(x.byte_offset()), x.strides, c.axis,
                          dout.get());
    got = dout.read();
  }
  corten::set_cpu_isa("baseline");
  corten::cpu::softmax(log, dtype, c.shape, x.data(), x.strides, c.axis, base.data());
  corten::set_cpu_isa(native_isa());
  corten::cpu::softmax(log, dtype, c.shape, x.data(), x.strides, c.axis, isa.data());
  const double tol = tolerance(dtype, c.lanes);
  CHECK(same_values(what + " vs baseline", dtype, got.data(), base.data(), n, tol, tol));
  const double itol = isa_tolerance(dtype);
  CHECK(same_values(what + " vs " + native_isa(), dtype, got.data(), isa.data(), n, itol, itol));
  CHECK(got[bytes - 1] == 0xAB);
}

const RegisterCase softmax_case("softmax", [] {
  native_isa();
  uint32_t seed = 9000;
  for (const SoftmaxCase& c : softmax_cases()) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      const Operand x = make_operand(dtype, c.shape, c.strides, c.offset, ++seed, 8.0, false, 0);
      for (bool log : {false, true}) check_softmax(log, dtype, c, x);
    }
  }
  // NaN and infinities: lines of all -inf, with +inf, with NaN, with -inf among finite values,
  // in rows (one warp and one block per line) and in lanes.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const int64_t len : {int64_t{20}, int64_t{700}}) {
      const Shape shape{5, len};
      Operand x = make_operand(dtype, shape, c_strides(shape), 0, ++seed, 4.0, false, 0);
      auto set = [&](int64_t row, int64_t i, double v) {
        const int64_t k = row * len + i;
        if (dtype == DType::Float32) {
          reinterpret_cast<float*>(x.storage.data())[k] = static_cast<float>(v);
        } else {
          reinterpret_cast<double*>(x.storage.data())[k] = v;
        }
      };
      const double inf = std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < len; ++i) set(0, i, -inf);
      set(1, 3, inf);
      set(2, len - 1, std::nan(""));
      set(3, 0, -inf);
      set(3, len / 2, -inf);
      for (bool log : {false, true}) {
        check_softmax(log, dtype, {"specials", shape, c_strides(shape), 0, 1, false}, x);
      }
    }
    const Shape lanes{3, 2100};
    const Operand x = make_operand(dtype, lanes, c_strides(lanes), 0, ++seed, 4.0, true, 0);
    for (bool log : {false, true}) {
      check_softmax(log, dtype, {"specials, lanes", lanes, c_strides(lanes), 0, 0, true}, x);
    }
  }
});

struct BackwardCase {
  std::string name;
  int64_t outer, n, inner;
  bool lanes;
};

const RegisterCase softmax_backward_case("softmax_backward", [] {
  native_isa();
  const BackwardCase cases[] = {
      {"no lines", 0, 3, 1, false},       {"empty lines", 3, 0, 1, false},
      {"size-1", 1, 1, 1, false},         {"rows 5x7", 5, 7, 1, false},
      {"rows 3x1000", 3, 1000, 1, false}, {"rows 2x5000", 2, 5000, 1, false},
      {"many rows", 601, 9, 1, false},    {"strided rows", 4, 5, 3, false},
      {"lanes", 3, 6, 700, true},         {"lanes, one outer", 1, 5, 2049, true},
  };
  uint32_t seed = 9500;
  for (const BackwardCase& c : cases) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      const Shape shape{c.outer, c.n, c.inner};
      const int64_t numel = c.outer * c.n * c.inner;
      const Operand y = make_operand(dtype, shape, c_strides(shape), 0, ++seed, 1.0, false, 0);
      const Operand g = make_operand(dtype, shape, c_strides(shape), 0, ++seed, 3.0, false, 0);
      for (bool log : {false, true}) {
        const std::string what = std::string(log ? "log_softmax_grad " : "softmax_grad ") +
                                 corten::dtype_name(dtype) + " " + c.name;
        const size_t bytes = static_cast<size_t>(numel) * corten::itemsize(dtype) + 1;
        std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
        {
          KernelBuffer dy(y.storage), dg(g.storage), ddx(got);
          corten::cuda::softmax_backward(log, dtype, c.outer, c.n, c.inner, dy.get(), dg.get(),
                                         ddx.get());
          got = ddx.read();
        }
        corten::cpu::softmax_backward(log, dtype, c.outer, c.n, c.inner, y.data(), g.data(),
                                      want.data());
        // The CPU backward has no ISA rows.
        const double tol = tolerance(dtype, c.lanes);
        CHECK(same_values(what, dtype, got.data(), want.data(), numel, tol, tol));
        CHECK(got[bytes - 1] == 0xAB);
      }
    }
  }
});

}  // namespace
