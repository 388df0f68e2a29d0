// cuda::unary and cuda::binary (csrc/cuda/elementwise.cu through the shim) against
// cpu::unary and cpu::binary: every op of the elementwise op table, every dtype it accepts,
// over 0-d, empty, size-1, broadcast, transposed, sliced and misaligned operands and a long
// row (vector loads and their tail). Bit for bit against the baseline CPU kernels; within
// Note [CUDA elementwise accuracy] against the CPU kernels of the machine's ISA.
#include <corten/cpu_features.h>
#include <corten/dtype.h>
#include <corten/errors.h>
#include <corten/ops/elementwise_ops.h>

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

// One operand layout of a test shape: strides and an element offset.
struct Layout {
  std::string name;
  Shape strides;
  int64_t offset;
};

struct ShapeCase {
  Shape shape;
  std::vector<Layout> layouts;
};

// The layouts of one operand of `shape`: contiguous, misaligned, and where the rank allows,
// transposed (last two dimensions swapped in memory), sliced (every other element of the last
// dimension) and broadcast along the first dimension.
std::vector<Layout> layouts_of(const Shape& shape) {
  std::vector<Layout> out{{"contiguous", c_strides(shape), 0}, {"offset", c_strides(shape), 1}};
  const size_t r = shape.size();
  if (r >= 2) {
    Shape mem = shape;
    std::swap(mem[r - 1], mem[r - 2]);
    Shape st = c_strides(mem);
    std::swap(st[r - 1], st[r - 2]);
    out.push_back({"transposed", st, 0});
  }
  if (r >= 1) {
    Shape mem = shape;
    mem[r - 1] *= 2;
    Shape st = c_strides(mem);
    st[r - 1] = 2;
    out.push_back({"sliced", st, 0});
    Shape b = c_strides(shape);
    b[0] = 0;
    out.push_back({"broadcast", b, 0});
  }
  return out;
}

const std::vector<Shape> kShapes = {{},     {0},       {1},       {7},   {0, 3},
                                    {3, 4}, {2, 3, 5}, {1, 1, 6}, {2053}};

// Ops whose CUDA results match the baseline CPU kernels bit for bit on a GPU too (Note [CUDA
// elementwise accuracy]); the others use CUDA's math library there and are compared within the
// tolerance. The AVX2/AVX-512 CPU rows are compared with the same split, except hard_sigmoid,
// whose vector rows fuse the multiply-add.
bool exact_unary(corten::UnaryOp op) {
  using U = corten::UnaryOp;
  switch (op) {
    case U::Negative:
    case U::Abs:
    case U::Sign:
    case U::Square:
    case U::Sqrt:
    case U::Rsqrt:
    case U::Round:
    case U::Floor:
    case U::Ceil:
    case U::LogicalNot:
    case U::Reciprocal:
    case U::Relu:
    case U::Relu6:
    case U::LeakyRelu:
    case U::HardSigmoid:
    case U::Softsign:
      return true;
    default:
      return false;
  }
}

// The ISA the process started with (set_cpu_isa switches it for the baseline comparisons).
const std::string& native_isa() {
  static const std::string isa = corten::cpu_isa_name();
  return isa;
}

double rtol_of(DType d) { return d == DType::Float32 ? 1e-5 : 1e-12; }

void check_unary(corten::UnaryOp op, DType dtype, const Shape& shape, const Layout& lay,
                 uint32_t seed) {
  const auto& info = corten::op_info(op);
  const std::string what = std::string("unary ") + info.name + " " + corten::dtype_name(dtype) +
                           " " + shape_str(shape) + " " + lay.name;
  const bool floating = corten::is_floating(dtype);
  const Operand x = make_operand(dtype, shape, lay.strides, lay.offset, seed, 8.0, floating, 20);
  const int64_t n = corten::shape_numel(shape);
  const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), base(bytes, 0xAB), isa(bytes, 0xAB);
  const double alpha = 0.3;
  {
    KernelBuffer dx(x.storage), dout(got);
    corten::cuda::unary(op, dtype, shape, dx.get(x.byte_offset()), x.strides, dout.get(), alpha);
    got = dout.read();
  }
  corten::set_cpu_isa("baseline");
  corten::cpu::unary(op, dtype, shape, x.data(), x.strides, base.data(), alpha);
  corten::set_cpu_isa(native_isa());
  corten::cpu::unary(op, dtype, shape, x.data(), x.strides, isa.data(), alpha);
  const bool tol = floating && !exact_unary(op);
  // Through the shim the kernels call the host's libm: bit for bit the baseline kernels. On a
  // GPU, CUDA's math library: within the tolerance of Note [CUDA elementwise accuracy].
  const double base_tol = kOnDevice && tol ? rtol_of(dtype) : 0;
  CHECK(same_values(what + " vs baseline", dtype, got.data(), base.data(), n, base_tol, base_tol));
  const bool isa_tol = tol || (floating && op == corten::UnaryOp::HardSigmoid);
  CHECK(same_values(what + " vs " + corten::cpu_isa_name(), dtype, got.data(), isa.data(), n,
                    isa_tol ? rtol_of(dtype) : 0, isa_tol ? rtol_of(dtype) : 0));
  CHECK(got[bytes - 1] == 0xAB);  // nothing written past the output
}

struct BinaryCase {
  std::string name;
  Shape shape;
  Shape a_strides, b_strides;
  int64_t a_offset = 0, b_offset = 0;
};

std::vector<BinaryCase> binary_cases() {
  const Shape s34{3, 4}, s234{2, 3, 4};
  std::vector<BinaryCase> c = {
      {"0-d", {}, {}, {}},
      {"empty", {0}, {1}, {1}},
      {"empty broadcast", {0, 3}, {0, 1}, {3, 1}},
      {"size-1", {1}, {1}, {1}},
      {"same", {7}, {1}, {1}},
      {"long", {2053}, {1}, {1}},
      {"long misaligned", {2053}, {1}, {1}, 1, 0},
      {"scalar rhs", {2053}, {1}, {0}},
      {"scalar lhs", {7}, {0}, {1}},
      {"both scalar", {5}, {0}, {0}},
      {"(3,1)+(1,4)", s34, {1, 0}, {0, 1}},
      {"(4,)+(2,3,4)", s234, {0, 0, 1}, c_strides(s234)},
      {"transposed", s34, {1, 3}, c_strides(s34)},
      {"sliced", s34, {8, 2}, {4, 1}, 0, 1},
  };
  return c;
}

void check_binary(corten::BinaryOp op, DType dtype, const BinaryCase& bc, uint32_t seed) {
  const auto& info = corten::op_info(op);
  const std::string what =
      std::string("binary ") + info.name + " " + corten::dtype_name(dtype) + " " + bc.name;
  const bool floating = corten::is_floating(dtype);
  // pow of integers: small exponents; everything else: the general ranges.
  const int64_t ilo = op == corten::BinaryOp::Pow ? 4 : 20;
  const Operand a =
      make_operand(dtype, bc.shape, bc.a_strides, bc.a_offset, seed, 3.0, floating, ilo);
  const Operand b =
      make_operand(dtype, bc.shape, bc.b_strides, bc.b_offset, seed + 7, 3.0, floating, ilo);
  const DType out_dtype = info.returns_bool ? DType::Bool : dtype;
  const int64_t n = corten::shape_numel(bc.shape);
  const size_t bytes = static_cast<size_t>(n) * corten::itemsize(out_dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), base(bytes, 0xAB), isa(bytes, 0xAB);
  {
    KernelBuffer da(a.storage), db(b.storage), dout(got);
    corten::cuda::binary(op, dtype, bc.shape, da.get(a.byte_offset()), a.strides,
                         db.get(b.byte_offset()), b.strides, dout.get());
    got = dout.read();
  }
  corten::set_cpu_isa("baseline");
  corten::cpu::binary(op, dtype, bc.shape, a.data(), a.strides, b.data(), b.strides, base.data());
  corten::set_cpu_isa(native_isa());
  corten::cpu::binary(op, dtype, bc.shape, a.data(), a.strides, b.data(), b.strides, isa.data());
  const bool tol = floating && op == corten::BinaryOp::Pow;
  const double base_tol = kOnDevice && tol ? rtol_of(dtype) : 0;
  CHECK(same_values(what + " vs baseline", out_dtype, got.data(), base.data(), n, base_tol,
                    base_tol));
  CHECK(same_values(what + " vs " + corten::cpu_isa_name(), out_dtype, got.data(), isa.data(), n,
                    tol ? rtol_of(dtype) : 0, tol ? rtol_of(dtype) : 0));
  CHECK(got[bytes - 1] == 0xAB);
}

const RegisterCase unary_case("unary", [] {
  native_isa();
  uint32_t seed = 1;
  for (int o = 0; o < static_cast<int>(corten::UnaryOp::kCount); ++o) {
    const auto op = static_cast<corten::UnaryOp>(o);
    for (DType dtype : kDTypes) {
      if (!corten::accepts(corten::op_info(op).accepts, dtype)) continue;
      for (const Shape& shape : kShapes) {
        for (const Layout& lay : layouts_of(shape)) check_unary(op, dtype, shape, lay, ++seed);
      }
    }
  }
  // More dimensions than the kernel's indexer takes, none mergeable: a ValueError naming the op.
  Shape shape(17, 2), strides(17);
  for (int d = 0; d < 17; ++d) strides[d] = int64_t{1} << d;  // reversed memory order
  std::vector<float> x(1 << 17), y(1 << 17);
  bool named = false;
  try {
    corten::cuda::unary(corten::UnaryOp::Exp, DType::Float32, shape, x.data(), strides, y.data(),
                        0.0);  // throws on the host, before any device access
  } catch (const corten::ValueError& e) {
    named = std::string(e.what()).find("exp") != std::string::npos &&
            std::string(e.what()).find("(2, 2") != std::string::npos;
  }
  CHECK(named);
});

const RegisterCase binary_case("binary", [] {
  native_isa();
  uint32_t seed = 1000;
  for (int o = 0; o < static_cast<int>(corten::BinaryOp::kCount); ++o) {
    const auto op = static_cast<corten::BinaryOp>(o);
    for (DType dtype : kDTypes) {
      const auto& info = corten::op_info(op);
      if (!corten::accepts(info.accepts, dtype)) continue;
      if (dtype == DType::Bool && !info.returns_bool) continue;
      for (const BinaryCase& bc : binary_cases()) check_binary(op, dtype, bc, ++seed);
    }
  }
});

}  // namespace
