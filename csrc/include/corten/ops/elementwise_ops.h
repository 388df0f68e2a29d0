#pragma once
/// The elementwise op table: every unary and binary op, declared once.
///
/// Note [Elementwise op table]
/// Each row names an op and its properties; everything else is generated from these lists:
/// the `UnaryOp`/`BinaryOp` enums and their Python names (corten/ops/elementwise.h), the
/// dtype checks of the entry point and the kernel-table fill (csrc/cpu/elementwise_kernels.inc,
/// which pairs each op `Name` with the functor `NameF`), the parallel grain, the autograd
/// registry, and the op list Python reads (`corten._C.elementwise_ops()`). Adding a unary op
/// is: a row here, its functor, its case in `unary_grad` (csrc/autograd/grad_rules_elementwise.cpp)
/// when it is differentiable, and a test case (tests/python/ops/cases.py). See
/// docs/adding_an_op.md.
///
/// Columns:
///   Name     the enum value (the functor is NameF)
///   name     the Python name (`corten._C.name`, `tf.math.name` / `tf.nn.name`)
///   dtypes   which input dtypes it takes: Numeric (all but bool), Floating, Bool or All
///   cost     Cheap (a few instructions per element) or Costly (a transcendental function):
///            sets the element count above which the op runs on several threads
///   grad     Grad when it has a gradient, NoGrad when it is piecewise constant
///   result   (binary only) Same: the input dtype, or Bool: comparisons and logic

#include <corten/dtype.h>

#include <cstdint>

namespace corten {

enum class Accepts : uint8_t { Numeric, Floating, Bool, All };

/// Whether dtype `t` is in the set `a`.
constexpr bool accepts(Accepts a, DType t) {
  switch (a) {
    case Accepts::Numeric:
      return is_integral(t) || is_floating(t);
    case Accepts::Floating: return is_floating(t);
    case Accepts::Bool: return t == DType::Bool;
    case Accepts::All:  // the dtypes with kernels: the 16-bit floats are cast first
      return static_cast<int>(t) < kNumDTypes;
  }
  return false;
}
enum class OpCost : uint8_t { Cheap, Costly };

// X(Name, "name", dtypes, cost, grad)
#define CORTEN_UNARY_OPS(X)                                 \
  X(Negative, "negative", Numeric, Cheap, Grad)             \
  X(Abs, "abs", Numeric, Cheap, Grad)                       \
  X(Sign, "sign", Numeric, Cheap, Grad)                     \
  X(Square, "square", Numeric, Cheap, Grad)                 \
  X(Sqrt, "sqrt", Floating, Costly, Grad)                   \
  X(Rsqrt, "rsqrt", Floating, Costly, Grad)                 \
  X(Exp, "exp", Floating, Costly, Grad)                     \
  X(Log, "log", Floating, Costly, Grad)                     \
  X(Log1p, "log1p", Floating, Costly, Grad)                 \
  X(Expm1, "expm1", Floating, Costly, Grad)                 \
  X(Sin, "sin", Floating, Costly, Grad)                     \
  X(Cos, "cos", Floating, Costly, Grad)                     \
  X(Tanh, "tanh", Floating, Costly, Grad)                   \
  X(Sigmoid, "sigmoid", Floating, Costly, Grad)             \
  X(Round, "round", Numeric, Costly, NoGrad)                \
  X(Floor, "floor", Numeric, Costly, NoGrad)                \
  X(Ceil, "ceil", Numeric, Costly, NoGrad)                  \
  X(LogicalNot, "logical_not", Bool, Cheap, NoGrad)         \
  X(Reciprocal, "reciprocal", Floating, Costly, Grad)       \
  X(Relu, "relu", Numeric, Cheap, Grad)                     \
  X(Relu6, "relu6", Numeric, Cheap, Grad)                   \
  X(LeakyRelu, "leaky_relu", Floating, Costly, Grad)        \
  X(Elu, "elu", Floating, Costly, Grad)                     \
  X(Selu, "selu", Floating, Costly, Grad)                   \
  X(GeluExact, "gelu", Floating, Costly, Grad)              \
  X(GeluTanh, "gelu_tanh", Floating, Costly, Grad)          \
  X(Softplus, "softplus", Floating, Costly, Grad)           \
  X(Softsign, "softsign", Floating, Costly, Grad)           \
  X(Silu, "silu", Floating, Costly, Grad)                   \
  X(HardSigmoid, "hard_sigmoid", Floating, Cheap, Grad)     \
  X(Erf, "erf", Floating, Costly, Grad)

// X(Name, "name", dtypes, cost, grad, result)
#define CORTEN_BINARY_OPS(X)                                     \
  X(Add, "add", Numeric, Cheap, Grad, Same)                      \
  X(Subtract, "subtract", Numeric, Cheap, Grad, Same)            \
  X(Multiply, "multiply", Numeric, Cheap, Grad, Same)            \
  X(Divide, "divide", Numeric, Cheap, Grad, Same)                \
  X(FloorDiv, "floordiv", Numeric, Cheap, NoGrad, Same)          \
  X(FloorMod, "floormod", Numeric, Cheap, Grad, Same)            \
  X(Pow, "pow", Numeric, Costly, Grad, Same)                     \
  X(Maximum, "maximum", Numeric, Cheap, Grad, Same)              \
  X(Minimum, "minimum", Numeric, Cheap, Grad, Same)              \
  X(DivideNoNan, "divide_no_nan", Floating, Cheap, Grad, Same)   \
  X(ReluGrad, "relu_grad", Numeric, Cheap, Grad, Same)           \
  X(Equal, "equal", All, Cheap, NoGrad, Bool)                    \
  X(NotEqual, "not_equal", All, Cheap, NoGrad, Bool)             \
  X(Less, "less", Numeric, Cheap, NoGrad, Bool)                  \
  X(LessEqual, "less_equal", Numeric, Cheap, NoGrad, Bool)       \
  X(Greater, "greater", Numeric, Cheap, NoGrad, Bool)            \
  X(GreaterEqual, "greater_equal", Numeric, Cheap, NoGrad, Bool) \
  X(LogicalAnd, "logical_and", Bool, Cheap, NoGrad, Bool)        \
  X(LogicalOr, "logical_or", Bool, Cheap, NoGrad, Bool)

#define CORTEN_OP_ENUM_(Name, ...) Name,
enum class UnaryOp : uint8_t { CORTEN_UNARY_OPS(CORTEN_OP_ENUM_) kCount };
enum class BinaryOp : uint8_t { CORTEN_BINARY_OPS(CORTEN_OP_ENUM_) kCount };
#undef CORTEN_OP_ENUM_

/// The properties of one row of the table.
struct ElementwiseOpInfo {
  const char* name;
  Accepts accepts;
  OpCost cost;
  bool differentiable;
  bool returns_bool;  // binary ops only
};

namespace detail {
constexpr bool kGrad = true, kNoGrad = false;
constexpr bool kSame = false, kBool = true;
#define CORTEN_UNARY_INFO_(Name, py, acc, cost, grad) \
  ElementwiseOpInfo{py, Accepts::acc, OpCost::cost, k##grad, false},
#define CORTEN_BINARY_INFO_(Name, py, acc, cost, grad, result) \
  ElementwiseOpInfo{py, Accepts::acc, OpCost::cost, k##grad, k##result},
inline constexpr ElementwiseOpInfo kUnaryOps[] = {CORTEN_UNARY_OPS(CORTEN_UNARY_INFO_)};
inline constexpr ElementwiseOpInfo kBinaryOps[] = {CORTEN_BINARY_OPS(CORTEN_BINARY_INFO_)};
#undef CORTEN_UNARY_INFO_
#undef CORTEN_BINARY_INFO_
}  // namespace detail

/// The table row of `op`.
constexpr const ElementwiseOpInfo& op_info(UnaryOp op) {
  return detail::kUnaryOps[static_cast<int>(op)];
}
constexpr const ElementwiseOpInfo& op_info(BinaryOp op) {
  return detail::kBinaryOps[static_cast<int>(op)];
}

}  // namespace corten
