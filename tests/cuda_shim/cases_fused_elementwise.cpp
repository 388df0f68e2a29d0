// cuda::fused_elementwise (csrc/cuda/fused_elementwise.cu through the shim) against
// cpu::fused_elementwise on the baseline ISA: programs of unary and binary ops with
// contiguous, scalar, broadcast, transposed and misaligned inputs, several outputs, every
// element of the op table that a fused group admits, float32 and float64, shapes from empty to
// several blocks. Bit for bit through the shim; on a GPU within Note [CUDA elementwise
// accuracy] for the transcendental ops.
#include <corten/cpu_features.h>
#include <corten/dtype.h>
#include <corten/ops/elementwise_ops.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/fused_elementwise.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::BinaryOp;
using corten::DType;
using corten::Shape;
using corten::UnaryOp;
using corten::cpu::FusedInput;
using corten::cpu::FusedInstr;
using corten::cpu::FusedProgram;
using namespace corten_test;

FusedInstr un(UnaryOp op, int32_t a, double alpha = 0.0) {
  FusedInstr i;
  i.op = static_cast<uint8_t>(op);
  i.a = a;
  i.alpha = alpha;
  return i;
}
FusedInstr bin(BinaryOp op, int32_t a, int32_t b) {
  FusedInstr i;
  i.binary = true;
  i.op = static_cast<uint8_t>(op);
  i.a = a;
  i.b = b;
  return i;
}

// An input of the case: its layout over the program's shape.
enum class Kind { Contiguous, Scalar, Row, Transposed, Offset };

struct ProgramCase {
  std::string name;
  FusedProgram program;
  std::vector<Kind> inputs;
  bool exact;  // only ops that are bit for bit on a GPU too
};

std::vector<ProgramCase> programs() {
  std::vector<ProgramCase> out;
  {  // relu derivative: g * (y > 0) as the backward of a Dense layer fuses it
    FusedProgram p;
    p.code = {bin(BinaryOp::ReluGrad, -1, -2)};
    p.stores = {0};
    p.num_inputs = 2;
    out.push_back({"relu_grad", p, {Kind::Contiguous, Kind::Transposed}, true});
  }
  {  // a * x + b, then relu and a second output
    FusedProgram p;
    p.code = {bin(BinaryOp::Multiply, -1, -2), bin(BinaryOp::Add, 0, -3), un(UnaryOp::Relu, 1)};
    p.stores = {2, 1};
    p.num_inputs = 3;
    out.push_back({"affine relu", p, {Kind::Contiguous, Kind::Scalar, Kind::Row}, true});
  }
  {  // the VAE's KL term: -0.5 * (1 + lv - m^2 - exp(lv))
    FusedProgram p;
    p.code = {un(UnaryOp::Exp, -1),         bin(BinaryOp::Multiply, -2, -2),
              bin(BinaryOp::Add, -3, -1),   bin(BinaryOp::Subtract, 2, 1),
              bin(BinaryOp::Subtract, 3, 0),     bin(BinaryOp::Multiply, 4, -4)};
    p.stores = {5};
    p.num_inputs = 4;
    out.push_back({"kl", p, {Kind::Offset, Kind::Contiguous, Kind::Scalar, Kind::Scalar}, false});
  }
  {  // activations with alpha, a square root and a division
    FusedProgram p;
    p.code = {un(UnaryOp::LeakyRelu, -1, 0.2), un(UnaryOp::Sigmoid, 0), un(UnaryOp::Abs, -2),
              un(UnaryOp::Sqrt, 2), bin(BinaryOp::Divide, 1, 3), un(UnaryOp::Tanh, 4)};
    p.stores = {5, 0};
    p.num_inputs = 2;
    out.push_back({"activations", p, {Kind::Row, Kind::Transposed}, false});
  }
  return out;
}

Operand make_input(Kind kind, DType dtype, const Shape& shape, uint32_t seed) {
  const int64_t rows = shape[0], cols = shape[1];
  switch (kind) {
    case Kind::Scalar:
      return make_operand(dtype, {}, {}, 0, seed, 3.0, false, 5);
    case Kind::Row:  // one row broadcast down the columns
      return make_operand(dtype, shape, {0, 1}, 0, seed, 3.0, false, 5);
    case Kind::Transposed:
      return make_operand(dtype, shape, {1, rows}, 0, seed, 3.0, false, 5);
    case Kind::Offset:
      return make_operand(dtype, shape, {cols, 1}, 1, seed, 3.0, false, 5);
    case Kind::Contiguous:
      break;
  }
  return make_operand(dtype, shape, {cols, 1}, 0, seed, 3.0, true, 5);
}

void check_program(const ProgramCase& pc, DType dtype, const Shape& shape, uint32_t seed) {
  const std::string what =
      "fused " + pc.name + " " + corten::dtype_name(dtype) + " " + shape_str(shape);
  const int64_t n = corten::shape_numel(shape);
  const size_t isz = corten::itemsize(dtype);
  std::vector<Operand> ops;
  for (size_t k = 0; k < pc.inputs.size(); ++k) {
    ops.push_back(make_input(pc.inputs[k], dtype, shape, seed + static_cast<uint32_t>(k)));
  }
  // The inputs as the trace hands them over (Note [Pointwise fusion]): contiguous arrays are
  // read in place, single values as scalars, the rest through strides.
  auto describe = [&](const Operand& o, Kind kind, const void* data) {
    FusedInput in;
    in.data = data;
    in.scalar = kind == Kind::Scalar && n != 1;
    if (kind == Kind::Row || kind == Kind::Transposed) {
      in.strides.assign(o.strides.begin(), o.strides.end());
    }
    return in;
  };
  const size_t out_bytes = static_cast<size_t>(n) * isz + 1;
  const size_t n_out = pc.program.stores.size();
  std::vector<std::vector<unsigned char>> got(n_out), want(n_out);
  {
    std::vector<std::unique_ptr<KernelBuffer>> bufs;
    std::vector<FusedInput> ins;
    for (size_t k = 0; k < ops.size(); ++k) {
      bufs.push_back(std::make_unique<KernelBuffer>(ops[k].storage));
      ins.push_back(describe(ops[k], pc.inputs[k], bufs.back()->get(ops[k].byte_offset())));
    }
    std::vector<std::unique_ptr<KernelBuffer>> outs;
    std::vector<void*> out_ptrs;
    for (size_t k = 0; k < n_out; ++k) {
      outs.push_back(std::make_unique<KernelBuffer>(std::vector<unsigned char>(out_bytes, 0xAB)));
      out_ptrs.push_back(outs.back()->get());
    }
    corten::cuda::fused_elementwise(pc.program, dtype, shape, ins, out_ptrs.data());
    for (size_t k = 0; k < n_out; ++k) got[k] = outs[k]->read();
  }
  std::vector<FusedInput> ins;
  for (size_t k = 0; k < ops.size(); ++k) ins.push_back(describe(ops[k], pc.inputs[k], ops[k].data()));
  std::vector<void*> out_ptrs;
  for (size_t k = 0; k < n_out; ++k) {
    want[k].assign(out_bytes, 0xAB);
    out_ptrs.push_back(want[k].data());
  }
  const std::string isa = corten::cpu_isa_name();
  corten::set_cpu_isa("baseline");
  corten::cpu::fused_elementwise(pc.program, dtype, shape, ins, out_ptrs.data());
  corten::set_cpu_isa(isa);
  const double tol = kOnDevice && !pc.exact ? (dtype == DType::Float32 ? 1e-5 : 1e-12) : 0;
  for (size_t k = 0; k < n_out; ++k) {
    CHECK(same_values(what + " output " + std::to_string(k), dtype, got[k].data(),
                      want[k].data(), n, tol, tol));
    CHECK(got[k][out_bytes - 1] == 0xAB);
  }
}

const RegisterCase fused_case("fused_elementwise", [] {
  uint32_t seed = 9000;
  const std::vector<Shape> shapes{{0, 5}, {1, 1}, {3, 7}, {33, 65}, {130, 300}};
  for (const ProgramCase& pc : programs()) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (const Shape& shape : shapes) check_program(pc, dtype, shape, seed += 10);
    }
  }
  // Programs beyond the kernel's limits are refused with the op's name, not run.
  FusedProgram big;
  for (int i = 0; i < 40; ++i) big.code.push_back(un(UnaryOp::Relu, i == 0 ? -1 : i - 1));
  big.stores = {39};
  big.num_inputs = 1;
  std::vector<unsigned char> x(64), y(64);
  KernelBuffer dx(x), dy(y);
  std::vector<FusedInput> ins(1);
  ins[0].data = dx.get();
  void* out = dy.get();
  CHECK_THROWS(corten::ValueError,
               corten::cuda::fused_elementwise(big, DType::Float32, {4}, ins, &out));
});

}  // namespace
