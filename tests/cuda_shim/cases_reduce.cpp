// cuda::reduce (csrc/cuda/reduce.cu through the shim) against cpu::reduce: every op and dtype,
// over 0-d, empty (no outputs, or outputs of nothing), size-1, transposed and sliced inputs,
// rows, columns and several axes. Integers, max, min, any and all bit for bit; floating sums,
// means, products and logsumexp within rounding (Note [CUDA reductions]).
#include <corten/cpu_features.h>
#include <corten/dtype.h>
#include <corten/ops/reduce.h>

#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/reduce.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::ReduceOp;
using corten::Shape;
using namespace corten_test;

struct ReduceCase {
  std::string name;
  Shape shape, strides;
  std::vector<uint8_t> reduced;
};

std::vector<ReduceCase> reduce_cases() {
  return {
      {"0-d", {}, {}, {}},
      {"empty all", {0}, {1}, {1}},
      {"no outputs", {0, 3}, {3, 1}, {0, 1}},
      {"outputs of nothing", {0, 3}, {3, 1}, {1, 0}},
      {"size-1", {1}, {1}, {1}},
      {"row 5", {5}, {1}, {1}},
      {"row 1000", {1000}, {1}, {1}},
      {"keep nothing reduced", {3, 4}, {4, 1}, {0, 0}},
      {"rows", {3, 4}, {4, 1}, {0, 1}},
      {"columns", {70, 3}, {3, 1}, {1, 0}},
      {"all 2-d", {3, 4}, {4, 1}, {1, 1}},
      {"axes 0,2", {2, 3, 5}, {15, 5, 1}, {1, 0, 1}},
      {"transposed rows", {4, 3}, {1, 4}, {0, 1}},
      {"sliced rows", {6, 300}, {600, 2}, {0, 1}},
      {"broadcast input", {3, 50}, {0, 1}, {1, 0}},
  };
}

void check_reduce(ReduceOp op, DType dtype, const ReduceCase& rc, uint32_t seed) {
  const std::string what =
      std::string(corten::reduce_op_name(op)) + " " + corten::dtype_name(dtype) + " " + rc.name;
  // Products stay finite on values near 1; the rest take the general range.
  const bool floating = corten::is_floating(dtype);
  const double lo = op == ReduceOp::Prod ? 1.2 : 3.0;
  const int64_t ilo = op == ReduceOp::Prod ? 2 : 5;
  const Operand x = make_operand(dtype, rc.shape, rc.strides, 0, seed, lo, false, ilo);
  int64_t n_out = 1;
  for (size_t d = 0; d < rc.shape.size(); ++d) {
    if (!rc.reduced[d]) n_out *= rc.shape[d];
  }
  const size_t bytes = static_cast<size_t>(n_out) * corten::itemsize(dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  {
    KernelBuffer dx(x.storage), dout(got);
    corten::cuda::reduce(op, dtype, rc.shape, dx.get(x.byte_offset()), x.strides, rc.reduced,
                         dout.get());
    got = dout.read();
  }
  corten::cpu::reduce(op, dtype, rc.shape, x.data(), x.strides, rc.reduced, want.data());
  const bool tol = floating && op != ReduceOp::Max && op != ReduceOp::Min;
  const double rtol = dtype == DType::Float32 ? 1e-6 : 1e-12;
  CHECK(same_values(what, dtype, got.data(), want.data(), n_out, tol ? rtol : 0,
                    tol ? rtol * 10 : 0));
  CHECK(got[bytes - 1] == 0xAB);
}

const RegisterCase reduce_case("reduce", [] {
  uint32_t seed = 5000;
  const ReduceOp numeric[] = {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min,
                              ReduceOp::Prod};
  for (const ReduceCase& rc : reduce_cases()) {
    for (DType dtype : {DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
      for (ReduceOp op : numeric) check_reduce(op, dtype, rc, ++seed);
    }
    for (DType dtype : {DType::Float32, DType::Float64}) {
      check_reduce(ReduceOp::LogSumExp, dtype, rc, ++seed);
    }
    check_reduce(ReduceOp::Any, DType::Bool, rc, ++seed);
    check_reduce(ReduceOp::All, DType::Bool, rc, ++seed);
  }
  // NaN and infinities: NaN propagates through max, min and sums; logsumexp keeps its rules.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Shape shape{4, 46};
    const Operand x = make_operand(dtype, shape, c_strides(shape), 0, 77, 3.0, true, 5);
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::LogSumExp}) {
      std::vector<unsigned char> got(64), want(64);
      {
        KernelBuffer dx(x.storage), dout(got);
        corten::cuda::reduce(op, dtype, shape, dx.get(x.byte_offset()), x.strides, {0, 1},
                             dout.get());
        got = dout.read();
      }
      corten::cpu::reduce(op, dtype, shape, x.data(), x.strides, {0, 1}, want.data());
      CHECK(same_values(std::string("specials ") + corten::reduce_op_name(op), dtype, got.data(),
                        want.data(), 4, 1e-6, 1e-6));
    }
  }
});

}  // namespace
