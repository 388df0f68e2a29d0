#include <cmath>

#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

// The differentiable rows of the op table (Note [Elementwise op table]), and where and cast.
bool register_elementwise() {
  for (const ElementwiseOpInfo& info : detail::kUnaryOps)
    if (info.differentiable) register_ops({info.name});
  for (const ElementwiseOpInfo& info : detail::kBinaryOps)
    if (info.differentiable) register_ops({info.name});
  return register_ops({"where", "cast"});
}

const bool kRegistered = register_elementwise();

Tensor scalar(double v, const Tensor& like) { return full({}, v, like.dtype()); }
Tensor mul(const Tensor& a, double v) { return multiply(a, scalar(v, a)); }
Tensor zero_like_scalar(const Tensor& like) { return full({}, 0.0, like.dtype()); }

}  // namespace

// d/dx of each unary op, given x, out = f(x) and the incoming gradient g.
Tensor unary_grad(UnaryOp op, const Tensor& x, const Tensor& out, const Tensor& g, double alpha) {
  switch (op) {
    case UnaryOp::Negative: return negative(g);
    case UnaryOp::Abs: return multiply(g, unary(UnaryOp::Sign, x));
    case UnaryOp::Sign: return zeros(x.shape(), x.dtype());
    case UnaryOp::Square: return multiply(g, mul(x, 2.0));
    case UnaryOp::Sqrt: return divide(mul(g, 0.5), out);
    case UnaryOp::Rsqrt: return multiply(mul(g, -0.5), multiply(out, multiply(out, out)));
    case UnaryOp::Exp: return multiply(g, out);
    case UnaryOp::Log: return divide(g, x);
    case UnaryOp::Log1p: return divide(g, add(x, scalar(1.0, x)));
    case UnaryOp::Expm1: return multiply(g, add(out, scalar(1.0, out)));
    case UnaryOp::Sin: return multiply(g, unary(UnaryOp::Cos, x));
    case UnaryOp::Cos: return negative(multiply(g, unary(UnaryOp::Sin, x)));
    case UnaryOp::Tanh: return multiply(g, subtract(scalar(1.0, out), multiply(out, out)));
    case UnaryOp::Sigmoid: return multiply(g, multiply(out, subtract(scalar(1.0, out), out)));
    case UnaryOp::Reciprocal: return negative(multiply(g, multiply(out, out)));
    case UnaryOp::Relu:
      return binary(BinaryOp::ReluGrad, g, x);
    case UnaryOp::Relu6: {
      const Tensor inside = binary(BinaryOp::LogicalAnd, binary(BinaryOp::Greater, x, zero_like_scalar(x)),
                                   binary(BinaryOp::Less, x, scalar(6.0, x)));
      return where(inside, g, zero_like_scalar(g));
    }
    case UnaryOp::LeakyRelu:
      return where(binary(BinaryOp::Greater, x, zero_like_scalar(x)), g, mul(g, alpha));
    case UnaryOp::Elu:
      return where(binary(BinaryOp::Greater, x, zero_like_scalar(x)), g,
                   multiply(g, add(out, scalar(alpha, out))));
    case UnaryOp::Selu: {
      constexpr double scale = 1.0507009873554804934193349852946;
      constexpr double a = 1.6732632423543772848170429916717;
      return where(binary(BinaryOp::Greater, x, zero_like_scalar(x)), mul(g, scale),
                   multiply(g, add(out, scalar(scale * a, out))));
    }
    case UnaryOp::GeluExact: {
      // Phi(x) + x * phi(x)
      const Tensor cdf = mul(add(scalar(1.0, x), unary(UnaryOp::Erf, mul(x, M_SQRT1_2))), 0.5);
      const Tensor pdf = mul(exp(mul(multiply(x, x), -0.5)), 0.3989422804014327);
      return multiply(g, add(cdf, multiply(x, pdf)));
    }
    case UnaryOp::GeluTanh: {
      constexpr double k = 0.79788456080286535587989211986876, c = 0.044715;
      const Tensor x2 = multiply(x, x);
      const Tensor t = tanh(mul(add(x, mul(multiply(x2, x), c)), k));
      const Tensor dt = subtract(scalar(1.0, t), multiply(t, t));
      const Tensor du = mul(add(scalar(1.0, x), mul(x2, 3.0 * c)), k);
      const Tensor d = add(mul(add(scalar(1.0, t), t), 0.5),
                           mul(multiply(x, multiply(dt, du)), 0.5));
      return multiply(g, d);
    }
    case UnaryOp::Softplus: return multiply(g, sigmoid(x));
    case UnaryOp::Softsign: {
      const Tensor d = add(scalar(1.0, x), unary(UnaryOp::Abs, x));
      return divide(g, multiply(d, d));
    }
    case UnaryOp::Silu: {
      const Tensor s = sigmoid(x);
      return multiply(g, multiply(s, add(scalar(1.0, x), multiply(x, subtract(scalar(1.0, s), s)))));
    }
    case UnaryOp::HardSigmoid: {  // 0.2 inside (-2.5, 2.5), 0 where the output is clipped
      const Tensor inside = binary(BinaryOp::LogicalAnd, binary(BinaryOp::Greater, x, scalar(-2.5, x)),
                                   binary(BinaryOp::Less, x, scalar(2.5, x)));
      return where(inside, mul(g, 0.2), zero_like_scalar(g));
    }
    case UnaryOp::Erf:
      return multiply(g, mul(exp(negative(multiply(x, x))), 1.1283791670955126));  // 2/sqrt(pi)
    default:
      return Tensor();
  }
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.ndim() - static_cast<int64_t>(shape.size());
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < g.ndim(); ++d) {
    if (d < lead || (shape[d - lead] == 1 && g.dim(d) != 1)) axes.push_back(d);
  }
  Tensor r = axes.empty() ? g : reduce(ReduceOp::Sum, g, axes, /*keepdims=*/true, false);
  return reshape(r, shape);
}

void record_unary(UnaryOp op, const Tensor& x, const Tensor& out, double alpha) {
  if (!op_info(op).differentiable) return;
  record(unary_op_name(op), {x}, {out}, [&]() -> BackwardFn {
    return [op, x, out, alpha](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{unary_grad(op, x, out, g[0], alpha)};
    };
  });
}

void record_binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  if (!op_info(op).differentiable) return;  // floordiv and the comparisons
  record(binary_op_name(op), {a, b}, {out}, [&]() -> BackwardFn {
    return [op, a, b, out](const std::vector<Tensor>& grads) {
      const Tensor& g = grads[0];
      // A constant operand (a scalar, a count) needs no gradient: skip its computation.
      const bool need_a = needs_input_grad(0), need_b = needs_input_grad(1);
      Tensor ga, gb;
      switch (op) {
        case BinaryOp::Add: ga = g; gb = g; break;
        case BinaryOp::Subtract: ga = g; if (need_b) gb = negative(g); break;
        case BinaryOp::Multiply:
          if (need_a) ga = multiply(g, b);
          if (need_b) gb = multiply(g, a);
          break;
        case BinaryOp::Divide:
          if (need_a) ga = divide(g, b);
          if (need_b) gb = negative(divide(multiply(g, out), b));
          break;
        case BinaryOp::DivideNoNan:
          // TensorFlow's rule: both parts are 0 where b == 0.
          if (need_a) ga = divide_no_nan(g, b);
          if (need_b) gb = multiply(g, divide_no_nan(divide_no_nan(negative(a), b), b));
          break;
        case BinaryOp::Pow: {
          // d/da = b a^(b-1); d/db = out log(a), taken as 0 where a <= 0 (TensorFlow's rule).
          if (need_a)
            ga = multiply(g, multiply(b, binary(BinaryOp::Pow, a, subtract(b, scalar(1.0, b)))));
          if (need_b) {
            const Tensor pos = binary(BinaryOp::Greater, a, zero_like_scalar(a));
            const Tensor safe_log = log(where(pos, a, scalar(1.0, a)));
            gb = multiply(g, multiply(out, where(pos, safe_log, zero_like_scalar(a))));
          }
          break;
        }
        case BinaryOp::Maximum: case BinaryOp::Minimum: {
          // Ties send the gradient to the first operand (TensorFlow's rule).
          const Tensor first = binary(op == BinaryOp::Maximum ? BinaryOp::GreaterEqual
                                                                : BinaryOp::LessEqual, a, b);
          const Tensor z = zero_like_scalar(g);
          if (need_a) ga = where(first, g, z);
          if (need_b) gb = where(first, z, g);
          break;
        }
        case BinaryOp::ReluGrad:
          // Linear in the gradient; the features only select (TensorFlow's ReluGradGrad).
          if (need_a) ga = binary(BinaryOp::ReluGrad, g, b);
          if (need_b) gb = zeros(b.shape(), b.dtype());
          break;
        case BinaryOp::FloorMod:
          ga = g;
          if (need_b) gb = negative(multiply(g, unary(UnaryOp::Floor, divide(a, b))));
          break;
        default: break;
      }
      return std::vector<Tensor>{need_a && ga.defined() ? sum_to_shape(ga, a.shape()) : Tensor(),
                                 need_b && gb.defined() ? sum_to_shape(gb, b.shape()) : Tensor()};
    };
  });
}

void record_where(const Tensor& cond, const Tensor& x, const Tensor& y, const Tensor& out) {
  record("where", {cond, x, y}, {out}, [&]() -> BackwardFn {
    return [cond, x, y](const std::vector<Tensor>& grads) {
      const Tensor& g = grads[0];
      const Tensor z = zero_like_scalar(g);
      return std::vector<Tensor>{Tensor(), sum_to_shape(where(cond, g, z), x.shape()),
                                 sum_to_shape(where(cond, z, g), y.shape())};
    };
  });
}

void record_cast(const Tensor& x, const Tensor& out) {
  if (!is_floating_point(x.dtype())) return;
  record("cast", {x}, {out}, [&]() -> BackwardFn {
    const DType dt = x.dtype();
    return [dt](const std::vector<Tensor>& grads) {
      return std::vector<Tensor>{cast(grads[0], dt)};
    };
  });
}

}  // namespace corten::autograd
