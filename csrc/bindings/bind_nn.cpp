#include <corten/ops.h>

#include "bindings/bindings.h"

namespace corten::py_bind {

void bind_nn(py::module_& m) {
  m.def(
      "softmax", [](py::handle x, int64_t axis) { return softmax(to_tensor(x), axis); },
      py::arg("logits"), py::arg("axis") = -1);
  m.def(
      "log_softmax", [](py::handle x, int64_t axis) { return log_softmax(to_tensor(x), axis); },
      py::arg("logits"), py::arg("axis") = -1);
  m.def(
      "scaled_dot_product_attention",
      [](py::handle query, py::handle key, py::handle value, py::handle mask, bool causal,
         py::handle scale, double dropout_rate, uint64_t seed_key, py::handle seed_offset,
         bool reference, const std::string& kernel) {
        const Tensor q = to_tensor(query);
        AttentionOptions o;
        o.causal = causal;
        if (!scale.is_none()) o.scale = scale.cast<double>();
        o.dropout_rate = dropout_rate;
        o.reference = reference;
        CORTEN_CHECK_VALUE(kernel == "auto" || kernel == "tiled" || kernel == "direct",
                           "scaled_dot_product_attention: kernel must be 'auto', 'tiled' or "
                           "'direct'; got '",
                           kernel, "'");
        o.kernel = kernel == "tiled"    ? AttentionOptions::Kernel::Tiled
                   : kernel == "direct" ? AttentionOptions::Kernel::Direct
                                        : AttentionOptions::Kernel::Auto;
        const Tensor k = to_tensor(key), v = to_tensor(value);
        const Tensor m = mask.is_none() ? Tensor() : to_tensor(mask);
        // offset None: the stateful stream `seed_key` (Note [Attention dropout counters]).
        if (seed_offset.is_none()) {
          return scaled_dot_product_attention(q, k, v, m, o, PhiloxStream{seed_key});
        }
        return scaled_dot_product_attention(
            q, k, v, m, o, philox_seed_tensor({seed_key, seed_offset.cast<uint64_t>()}));
      },
      py::arg("query"), py::arg("key"), py::arg("value"), py::arg("mask") = py::none(),
      py::arg("causal") = false, py::arg("scale") = py::none(), py::arg("dropout_rate") = 0.0,
      py::arg("seed_key") = 0, py::arg("seed_offset") = py::none(), py::arg("reference") = false,
      py::arg("kernel") = "auto");
  m.def(
      "layer_norm",
      [](py::handle x, py::handle gamma, py::handle beta, double epsilon) {
        const Tensor xt = to_tensor(x);
        return layer_norm(xt, gamma.is_none() ? Tensor() : to_tensor(gamma, xt.dtype()),
                          beta.is_none() ? Tensor() : to_tensor(beta, xt.dtype()), epsilon);
      },
      py::arg("x"), py::arg("gamma") = py::none(), py::arg("beta") = py::none(),
      py::arg("epsilon") = 1e-3);
  m.def(
      "batch_norm",
      [](py::handle x, py::handle gamma, py::handle beta, py::object moving_mean,
         py::object moving_variance, int64_t axis, bool training, double momentum,
         double epsilon, bool bessel, py::handle mask) {
        const Tensor xt = to_tensor(x);
        auto opt = [&](py::handle t) { return t.is_none() ? Tensor() : to_tensor(t, xt.dtype()); };
        // The moving statistics are written in place: they must be corten tensors (Variables).
        auto inplace = [](py::handle t) {
          return t.is_none() ? Tensor() : py::cast<Tensor>(t);
        };
        return batch_norm(xt, opt(gamma), opt(beta), inplace(moving_mean),
                          inplace(moving_variance), axis, training, momentum, epsilon, bessel,
                          opt(mask));
      },
      py::arg("x"), py::arg("gamma") = py::none(), py::arg("beta") = py::none(),
      py::arg("moving_mean") = py::none(), py::arg("moving_variance") = py::none(),
      py::arg("axis") = -1, py::arg("training") = false, py::arg("momentum") = 0.99,
      py::arg("epsilon") = 1e-3, py::arg("bessel") = false, py::arg("mask") = py::none());
  m.def(
      "group_norm",
      [](py::handle x, py::handle gamma, py::handle beta, int64_t groups, int64_t axis,
         double epsilon) {
        const Tensor xt = to_tensor(x);
        auto opt = [&](py::handle t) { return t.is_none() ? Tensor() : to_tensor(t, xt.dtype()); };
        return group_norm(xt, opt(gamma), opt(beta), groups, axis, epsilon);
      },
      py::arg("x"), py::arg("gamma") = py::none(), py::arg("beta") = py::none(),
      py::arg("groups") = 32, py::arg("axis") = -1, py::arg("epsilon") = 1e-3);
  m.def(
      "unit_norm", [](py::handle x, double epsilon) { return unit_norm(to_tensor(x), epsilon); },
      py::arg("x"), py::arg("epsilon") = 1e-12);
}

}  // namespace corten::py_bind
