#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered =
    register_ops({"matmul", "linear", "reduce_sum", "reduce_mean", "reduce_max", "reduce_min",
                  "reduce_prod", "reduce_logsumexp", "softmax", "log_softmax", "softmax_grad",
                  "log_softmax_grad", "reduce_grad"});

Tensor scalar(double v, const Tensor& like) { return full({}, v, like.dtype()); }

std::vector<int64_t> axes_of(const std::vector<uint8_t>& reduced) {
  std::vector<int64_t> axes;
  for (size_t d = 0; d < reduced.size(); ++d)
    if (reduced[d]) axes.push_back(static_cast<int64_t>(d));
  return axes;
}

// The shape of the reduction's output with keepdims=True.
Shape kept_shape(const Shape& x_shape, const std::vector<uint8_t>& reduced) {
  Shape s = x_shape;
  for (size_t d = 0; d < s.size(); ++d)
    if (reduced[d]) s[d] = 1;
  return s;
}

}  // namespace

void record_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb, const Tensor& out) {
  record("matmul", {a, b}, {out}, [&]() -> BackwardFn {
    return [a, b, ta, tb](const std::vector<Tensor>& grads) {
      const Tensor& g = grads[0];
      // out = op_a(a) @ op_b(b); transposes are absorbed by the operand flags.
      Tensor ga, gb;
      if (needs_input_grad(0))
        ga = sum_to_shape(ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb), a.shape());
      if (needs_input_grad(1))
        gb = sum_to_shape(tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false), b.shape());
      return std::vector<Tensor>{ga, gb};
    };
  });
}

void record_linear(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act,
                   const Tensor& out) {
  record("linear", {x, w, bias}, {out}, [&]() -> BackwardFn {
    return [x, w, bias, act, out](const std::vector<Tensor>& grads) {
      const Tensor& g = grads[0];
      // Gradient before the activation, from the saved output (the pre-activation is
      // recomputed only for gelu).
      const Tensor gz = grad_before_activation(
          act, out, g, [&] { return linear(x, w, bias, Activation::Identity); });
      const int64_t k = w.dim(0), n = w.dim(1);
      // The input of a first layer is usually data: its gradient is often not wanted.
      Tensor gx, gw, gb;
      if (needs_input_grad(0)) gx = matmul(gz, w, false, true);
      // Rows of every leading dimension at once (a 2-D input needs no reshape: in a traced
      // step each reshape is a node).
      const Tensor g2 = gz.ndim() == 2 ? gz : reshape(gz, {-1, n});
      if (needs_input_grad(1)) gw = matmul(x.ndim() == 2 ? x : reshape(x, {-1, k}), g2, true, false);
      if (bias.defined() && needs_input_grad(2)) gb = reduce(ReduceOp::Sum, g2, {0}, false);
      return std::vector<Tensor>{gx, gw, gb};
    };
  });
}

void record_reduce_grad(ReduceOp op, const Tensor& g, const std::vector<uint8_t>& reduced,
                        bool keepdims, const Tensor& out) {
  record("reduce_grad", {g}, {out}, [&]() -> BackwardFn {
    return [op, reduced, keepdims](const std::vector<Tensor>& grads) {
      // Linear in g: its adjoint sums (or averages) the spread gradient back.
      return std::vector<Tensor>{reduce(op, grads[0], axes_of(reduced), keepdims, false)};
    };
  });
}

void record_reduce(ReduceOp op, const Tensor& x, const std::vector<uint8_t>& reduced,
                   bool keepdims, const Tensor& out) {
  if (op == ReduceOp::Any || op == ReduceOp::All) return;
  record(reduce_op_name(op), {x}, {out}, [&]() -> BackwardFn {
    return [op, x, reduced, keepdims, out](const std::vector<Tensor>& grads) {
      const Shape ks = kept_shape(x.shape(), reduced);
      const Tensor g = keepdims ? grads[0] : reshape(grads[0], ks);
      const Tensor o = keepdims ? out : reshape(out, ks);
      const std::vector<int64_t> axes = axes_of(reduced);
      Tensor gx;
      switch (op) {
        case ReduceOp::Sum:
        case ReduceOp::Mean:
          gx = reduce_grad(op, grads[0], x, reduced, keepdims);
          break;
        case ReduceOp::Max: case ReduceOp::Min: {
          // Ties share the gradient equally (TensorFlow's rule).
          const Tensor mask = binary(BinaryOp::Equal, x, o);
          const Tensor count = reduce(ReduceOp::Sum, cast(mask, x.dtype()), axes, true, false);
          gx = where(mask, divide(g, count), scalar(0.0, g));
          break;
        }
        case ReduceOp::Prod: {
          // Product of the other elements, correct with zeros present.
          const Tensor z = scalar(0.0, x);
          const Tensor is_zero = binary(BinaryOp::Equal, x, z);
          const Tensor nz = where(is_zero, scalar(1.0, x), x);
          const Tensor nz_prod = reduce(ReduceOp::Prod, nz, axes, true, false);
          const Tensor zeros_n = reduce(ReduceOp::Sum, cast(is_zero, x.dtype()), axes, true, false);
          const Tensor others =
              where(is_zero, where(binary(BinaryOp::Equal, zeros_n, scalar(1.0, x)), nz_prod, z),
                    where(binary(BinaryOp::Equal, zeros_n, z), divide(nz_prod, nz), z));
          gx = multiply(g, others);
          break;
        }
        case ReduceOp::LogSumExp: gx = multiply(g, exp(subtract(x, o))); break;
        default: break;
      }
      return std::vector<Tensor>{gx};
    };
  });
}

void record_softmax(bool log, const Tensor& x, int64_t axis, const Tensor& out) {
  record(log ? "log_softmax" : "softmax", {x}, {out}, [&]() -> BackwardFn {
    return [log, axis, out](const std::vector<Tensor>& grads) {
      return std::vector<Tensor>{log ? log_softmax_grad(out, grads[0], axis)
                                     : softmax_grad(out, grads[0], axis)};
    };
  });
}

void record_softmax_grad(bool log, const Tensor& y, const Tensor& g, int64_t axis,
                         const Tensor& out) {
  record(log ? "log_softmax_grad" : "softmax_grad", {y, g}, {out}, [&]() -> BackwardFn {
    return [log, y, g, axis](const std::vector<Tensor>& grads) {
      // u: the gradient of dx. The op is linear in g, so d/dg is the same op applied to u.
      const Tensor& u = grads[0];
      const std::vector<int64_t> ax{axis};
      auto sum = [&](const Tensor& t) { return reduce(ReduceOp::Sum, t, ax, true, false); };
      Tensor gy, gg;
      if (log) {
        // dx = g - exp(y) * sum(g)
        const Tensor e = exp(y);
        gy = negative(multiply(multiply(u, e), sum(g)));
        gg = subtract(u, sum(multiply(u, e)));
      } else {
        // dx = y * (g - sum(g * y))
        gy = subtract(multiply(u, subtract(g, sum(multiply(g, y)))),
                      multiply(g, sum(multiply(u, y))));
        gg = softmax_grad(y, u, axis);
      }
      return std::vector<Tensor>{gy, gg};
    };
  });
}

}  // namespace corten::autograd
