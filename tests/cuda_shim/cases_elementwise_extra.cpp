// cuda::where and cuda::cast (csrc/cuda/elementwise_extra.cu through the shim) against
// cpu::where and cpu::cast, bit for bit (NaN equal to NaN): every dtype (every pair for cast),
// over 0-d, empty, size-1, broadcast, transposed, sliced and misaligned operands and long rows
// (vector loads and their tail, several blocks). cast also writes strided outputs and converts
// NaN, infinities and values beyond the range of the integer dtypes.
#include <corten/dtype.h>

#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/elementwise.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using namespace corten_test;

constexpr DType kDTypes[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32,
                             DType::Float64};

struct WhereCase {
  std::string name;
  Shape shape;
  Shape c_strides, x_strides, y_strides;
  int64_t c_offset = 0, x_offset = 0, y_offset = 0;
};

std::vector<WhereCase> where_cases() {
  const Shape s34{3, 4}, s234{2, 3, 4}, row{2053};
  return {
      {"0-d", {}, {}, {}, {}},
      {"empty", {0}, {1}, {1}, {1}},
      {"empty 2-d", {0, 3}, {3, 1}, {0, 1}, {3, 1}},
      {"size-1", {1}, {1}, {1}, {1}},
      {"same", {7}, {1}, {1}, {1}},
      {"long", row, {1}, {1}, {1}},
      {"long misaligned", row, {1}, {1}, {1}, 1, 1, 0},
      {"relu gradient", row, {1}, {1}, {0}},
      {"scalar condition", row, {0}, {1}, {1}},
      {"all scalar", {5}, {0}, {0}, {0}},
      {"broadcast", s234, {0, 0, 1}, {4, 0, 1}, c_strides(s234)},
      {"transposed", s34, {1, 3}, c_strides(s34), {1, 3}},
      {"sliced", s34, {8, 2}, {4, 1}, {8, 2}, 0, 1, 3},
  };
}

void check_where(DType dtype, const WhereCase& wc, uint32_t seed) {
  const std::string what = std::string("where ") + corten::dtype_name(dtype) + " " + wc.name;
  const bool floating = corten::is_floating(dtype);
  const Operand c =
      make_operand(DType::Bool, wc.shape, wc.c_strides, wc.c_offset, seed, 1, false, 1);
  const Operand x =
      make_operand(dtype, wc.shape, wc.x_strides, wc.x_offset, seed + 1, 5.0, floating, 20);
  const Operand y =
      make_operand(dtype, wc.shape, wc.y_strides, wc.y_offset, seed + 2, 5.0, floating, 20);
  const int64_t n = corten::shape_numel(wc.shape);
  const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  {
    KernelBuffer dc(c.storage), dx(x.storage), dy(y.storage), dout(got);
    corten::cuda::where(dtype, wc.shape, static_cast<const bool*>(dc.get(c.byte_offset())),
                        c.strides, dx.get(x.byte_offset()), x.strides, dy.get(y.byte_offset()),
                        y.strides, dout.get());
    got = dout.read();
  }
  corten::cpu::where(dtype, wc.shape, static_cast<const bool*>(c.data()), c.strides, x.data(),
                     x.strides, y.data(), y.strides, want.data());
  CHECK(same_values(what, dtype, got.data(), want.data(), n, 0, 0));
  CHECK(got[bytes - 1] == 0xAB);
}

const RegisterCase where_case("where", [] {
  uint32_t seed = 7000;
  for (const WhereCase& wc : where_cases()) {
    for (DType dtype : kDTypes) check_where(dtype, wc, seed += 3);
  }
});

struct CastCase {
  std::string name;
  Shape shape;
  Shape x_strides, out_strides;
  int64_t x_offset = 0, out_offset = 0;
};

std::vector<CastCase> cast_cases() {
  const Shape s34{3, 4}, row{2053};
  return {
      {"0-d", {}, {}, {}},
      {"empty", {0}, {1}, {1}},
      {"empty 2-d", {0, 3}, {3, 1}, {3, 1}},
      {"size-1", {1}, {1}, {1}},
      {"same", {7}, {1}, {1}},
      {"long", row, {1}, {1}},
      {"long misaligned input", row, {1}, {1}, 1, 0},
      {"long misaligned output", row, {1}, {1}, 0, 3},
      {"broadcast scalar", row, {0}, {1}},
      {"broadcast rows", s34, {0, 1}, {4, 1}},
      {"transposed input", s34, {1, 3}, {4, 1}},
      {"transposed output", s34, {4, 1}, {1, 3}},
      {"sliced output", s34, {4, 1}, {8, 2}, 0, 1},
  };
}

// Elements of an operand's storage.
int64_t storage_elements(const Operand& op) {
  return static_cast<int64_t>(op.storage.size() / corten::itemsize(op.dtype));
}

void check_cast(DType from, DType to, const CastCase& cc, double lo, uint32_t seed) {
  const std::string what = std::string("cast ") + corten::dtype_name(from) + " -> " +
                           corten::dtype_name(to) + " " + cc.name + " range " + std::to_string(lo);
  const Operand x = make_operand(from, cc.shape, cc.x_strides, cc.x_offset, seed, lo,
                                 corten::is_floating_point(from), 1000000);
  // The output's storage starts with arbitrary values: a strided output leaves its gaps alone.
  Operand want = make_operand(to, cc.shape, cc.out_strides, cc.out_offset, seed + 1, 1.0, false, 3);
  std::vector<unsigned char> got;
  {
    KernelBuffer dx(x.storage), dout(want.storage);
    corten::cuda::cast(from, to, cc.shape, dx.get(x.byte_offset()), x.strides,
                       dout.get(want.byte_offset()), want.strides);
    got = dout.read();
  }
  corten::cpu::cast(from, to, cc.shape, x.data(), x.strides,
                    want.storage.data() + want.byte_offset(), want.strides);
  CHECK(same_values(what, to, got.data(), want.storage.data(), storage_elements(want), 0, 0));
}

const RegisterCase cast_case("cast", [] {
  uint32_t seed = 8000;
  // The 16-bit floats convert to and from every dtype (Note [Half conversions]).
  const std::vector<DType> cast_dtypes = {DType::Bool,    DType::Int32,   DType::Int64,
                                          DType::Float32, DType::Float64, DType::Float16,
                                          DType::BFloat16};
  for (const CastCase& cc : cast_cases()) {
    for (DType from : cast_dtypes) {
      for (DType to : cast_dtypes) {
        check_cast(from, to, cc, 100.0, seed += 2);
        // Beyond the range of int32 (and, at 1e19, of int64): the saturating conversions.
        if (corten::is_floating(from)) {
          check_cast(from, to, cc, 1e10, seed += 2);
          check_cast(from, to, cc, 1e19, seed += 2);
        }
      }
    }
  }
  // The edges of the integer ranges, exactly: the largest floats below, at and above them.
  for (DType from : {DType::Float32, DType::Float64}) {
    const std::vector<double> edges = {2147483647.0,
                                       2147483648.0,
                                       2147483520.0,
                                       -2147483648.0,
                                       -2147483904.0,
                                       -2147483649.0,
                                       9223372036854775807.0,
                                       9.2233720368547748e18,
                                       -9223372036854775808.0,
                                       -9.223373e18,
                                       0.9999,
                                       -0.9999,
                                       -0.0};
    const Shape shape{static_cast<int64_t>(edges.size())};
    Operand x = make_operand(from, shape, {1}, 0, 1, 1.0, false, 1);
    for (size_t i = 0; i < edges.size(); ++i) {
      if (from == DType::Float32) {
        reinterpret_cast<float*>(x.storage.data())[i] = static_cast<float>(edges[i]);
      } else {
        reinterpret_cast<double*>(x.storage.data())[i] = edges[i];
      }
    }
    for (DType to : kDTypes) {
      const size_t bytes = edges.size() * corten::itemsize(to) + 1;
      std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
      {
        KernelBuffer dx(x.storage), dout(got);
        corten::cuda::cast(from, to, shape, dx.get(), {1}, dout.get(), {1});
        got = dout.read();
      }
      corten::cpu::cast(from, to, shape, x.data(), {1}, want.data(), {1});
      CHECK(same_values(
          std::string("cast edges ") + corten::dtype_name(from) + " -> " + corten::dtype_name(to),
          to, got.data(), want.data(), static_cast<int64_t>(edges.size()), 0, 0));
      CHECK(got[bytes - 1] == 0xAB);
    }
  }
});

}  // namespace
