// cuda::arg_reduce (csrc/cuda/arg_reduce.cu through the shim) against cpu::arg_reduce, the
// baseline and the machine's ISA: argmax and argmin, every numeric dtype, int32 and int64
// indices, over size-1, no outputs, short and long lines (one warp, a block, several elements
// per thread), many lines, the axis first and in the middle (lanes layout), transposed, sliced
// and broadcast inputs; ties (small integers, +0 and -0), NaN and infinities. Bit for bit.
#include <corten/cpu_features.h>
#include <corten/dtype.h>

#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/reduce.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using namespace corten_test;

struct ArgCase {
  std::string name;
  Shape shape, strides;
  int64_t offset, axis;
};

std::vector<ArgCase> arg_cases() {
  return {
      {"size-1", {1}, {1}, 0, 0},
      {"row 5", {5}, {1}, 0, 0},
      {"no lines", {0, 3}, {3, 1}, 0, 1},
      {"rows 7x33", {7, 33}, {33, 1}, 0, 1},
      {"rows 3x1000", {3, 1000}, {1000, 1}, 0, 1},
      {"rows 2x5000", {2, 5000}, {5000, 1}, 0, 1},
      {"many rows", {601, 9}, {9, 1}, 0, 1},
      {"columns", {33, 7}, {7, 1}, 0, 0},
      {"first axis, lanes", {5, 2100}, {2100, 1}, 0, 0},
      {"middle axis, lanes", {4, 3, 700}, {2100, 700, 1}, 0, 1},
      {"transposed", {6, 40}, {1, 6}, 0, 1},
      {"sliced", {3, 300}, {600, 2}, 1, 1},
      {"broadcast", {3, 4, 50}, {0, 50, 1}, 0, 2},
  };
}

void check_arg(bool is_max, DType dtype, DType idx, const ArgCase& c, const Operand& x,
               bool specials) {
  const std::string what = std::string(is_max ? "argmax " : "argmin ") + corten::dtype_name(dtype) +
                           " -> " + corten::dtype_name(idx) + " " + c.name +
                           (specials ? " specials" : "");
  Shape kept = c.shape;
  kept.erase(kept.begin() + c.axis);
  const int64_t n_out = corten::shape_numel(kept);
  const size_t bytes = static_cast<size_t>(n_out) * corten::itemsize(idx) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), base(bytes, 0xAB), isa(bytes, 0xAB);
  {
    KernelBuffer dx(x.storage), dout(got);
    corten::cuda::arg_reduce(is_max, dtype, c.shape, dx.get(x.byte_offset()), x.strides, c.axis,
                             idx, dout.get());
    got = dout.read();
  }
  static const std::string native = corten::cpu_isa_name();
  corten::set_cpu_isa("baseline");
  corten::cpu::arg_reduce(is_max, dtype, c.shape, x.data(), x.strides, c.axis, idx, base.data());
  corten::set_cpu_isa(native);
  corten::cpu::arg_reduce(is_max, dtype, c.shape, x.data(), x.strides, c.axis, idx, isa.data());
  CHECK(same_values(what + " vs baseline", idx, got.data(), base.data(), n_out, 0, 0));
  CHECK(same_values(what + " vs " + native, idx, got.data(), isa.data(), n_out, 0, 0));
  CHECK(got[bytes - 1] == 0xAB);
}

const RegisterCase arg_reduce_case("arg_reduce", [] {
  uint32_t seed = 16000;
  for (const ArgCase& c : arg_cases()) {
    for (DType dtype : {DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
      const bool floating = corten::is_floating(dtype);
      for (bool specials : {false, true}) {
        if (specials && !floating) continue;
        // Integers in [-3, 3]: many ties.
        const Operand x =
            make_operand(dtype, c.shape, c.strides, c.offset, ++seed, 5.0, specials, 3);
        for (bool is_max : {true, false}) {
          // Both index dtypes over the dtypes: int64 for argmax of floats and argmin of ints.
          const DType idx = is_max == floating ? DType::Int64 : DType::Int32;
          check_arg(is_max, dtype, idx, c, x, specials);
        }
      }
    }
  }
});

}  // namespace
