// Note [Activation-derivative fusion]
// A Dense layer's backward multiplies the gradient of its output by its activation's derivative
// (grad_before_activation in autograd/grad_rules.h), and for every layer but the last that
// gradient is the next layer's gx = matmul(gz_next, w_next, false, true): in a traced step the
// matmul writes gx, and one or three elementwise nodes read it back with the saved output y:
//   relu:    gz = relu_grad(gx, y)
//   sigmoid: gz = multiply(gx, multiply(y, subtract(1, y)))
//   tanh:    gz = multiply(gx, subtract(1, multiply(y, y)))
// fuse_activation_grads (run by trace::end before the pointwise fusion, and gated with it)
// replaces each such chain, with the matmul, by one matmul_activation_grad node, which applies
// the derivative in the GEMM's write-back while the tile is in cache (Note [Activation-derivative
// epilogue] in cpu/gemm/gemm.cpp): the same row kernels in the same order, after the full K sum,
// so the fused plan gives the unfused plan's results bit for bit. A chain is fused when:
//   - the matmul is rank 2 (its transposes are its node attributes, Note [Node attributes]) and
//     nothing but the chain reads its output, nor the chain's intermediates; the plan does not
//     return any of them;
//   - the 1 is a constant scalar of the dtype (float32 or float64), y has the product's shape;
//   - y is available where the matmul runs (a plan input, a constant, or a value made before the
//     matmul, not a Variable) and no node between the matmul and the chain writes it in place:
//     the fused node runs at the matmul's position and reads y there.

#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include <optional>
#include <unordered_set>
#include <vector>

#include "trace/passes.h"

namespace corten::trace {
namespace {

bool is_binary(const Plan::Node& node, BinaryOp op) {
  return node.pointwise && node.pointwise->binary &&
         node.pointwise->op == static_cast<uint8_t>(op) && node.inputs.size() == 2 &&
         node.num_outputs == 1;
}

}  // namespace

FusionStats fuse_activation_grads(std::vector<Plan::Node>& nodes,
                                  const std::vector<int32_t>& outputs,
                                  const std::vector<Tensor>& slot_values,
                                  const std::vector<Tensor>& captures) {
  FusionStats stats;
  const size_t num_slots = slot_values.size();
  std::vector<int32_t> producer(num_slots, -1), readers(num_slots, 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Plan::Node& node = nodes[i];
    for (int32_t k = 0; k < node.num_outputs; ++k)
      producer[static_cast<size_t>(node.first_output + k)] = static_cast<int32_t>(i);
    for (int32_t r : node.inputs)
      if (r >= 0) ++readers[static_cast<size_t>(r)];
  }
  for (int32_t r : outputs)
    if (r >= 0) readers[static_cast<size_t>(r)] += 2;  // never an intermediate of a chain

  auto value = [&](int32_t r) -> const Tensor& {
    return r >= 0 ? slot_values[static_cast<size_t>(r)] : captures[static_cast<size_t>(-1 - r)];
  };
  // The node making slot r, when r is a slot read by one node only.
  auto sole = [&](int32_t r) -> int32_t {
    if (r < 0 || readers[static_cast<size_t>(r)] != 1) return -1;
    return producer[static_cast<size_t>(r)];
  };
  auto is_one = [&](int32_t r, DType dtype) {
    if (r >= 0 || r == Plan::kUndefined) return false;
    const Tensor& t = captures[static_cast<size_t>(-1 - r)];
    if (!t.defined() || t.is_variable() || t.numel() != 1 || t.dtype() != dtype) return false;
    return dtype == DType::Float32 ? *static_cast<const float*>(t.raw_data()) == 1.0f
                                   : *static_cast<const double*>(t.raw_data()) == 1.0;
  };

  std::vector<char> removed(nodes.size(), 0);
  for (size_t ri = 0; ri < nodes.size(); ++ri) {
    const Plan::Node& last = nodes[ri];
    // The chain ending at `last`: the product's slot g, y, the activation and the nodes between.
    int32_t g = -1, y = Plan::kUndefined;
    Activation act = Activation::Identity;
    std::vector<int32_t> middle;
    if (is_binary(last, BinaryOp::ReluGrad)) {
      g = last.inputs[0];
      y = last.inputs[1];
      act = Activation::Relu;
    } else if (is_binary(last, BinaryOp::Multiply)) {
      for (int side = 0; side < 2 && act == Activation::Identity; ++side) {
        const int32_t gx = last.inputs[side], d = last.inputs[1 - side];
        const int32_t dn = sole(d);
        if (gx < 0 || dn < 0 || removed[dn] || gx == d) continue;
        const Plan::Node& dnode = nodes[static_cast<size_t>(dn)];
        const DType dt = value(gx).dtype();
        if (is_binary(dnode, BinaryOp::Multiply)) {  // sigmoid: y * (1 - y)
          for (int s2 = 0; s2 < 2; ++s2) {
            const int32_t yy = dnode.inputs[s2], t = dnode.inputs[1 - s2];
            const int32_t tn = sole(t);
            if (tn < 0 || removed[tn] || yy == t) continue;
            const Plan::Node& tnode = nodes[static_cast<size_t>(tn)];
            if (is_binary(tnode, BinaryOp::Subtract) && is_one(tnode.inputs[0], dt) &&
                tnode.inputs[1] == yy) {
              g = gx, y = yy, act = Activation::Sigmoid, middle = {dn, tn};
              break;
            }
          }
        } else if (is_binary(dnode, BinaryOp::Subtract) && is_one(dnode.inputs[0], dt)) {
          const int32_t t = dnode.inputs[1];  // tanh: 1 - y * y
          const int32_t tn = sole(t);
          if (tn < 0 || removed[tn]) continue;
          const Plan::Node& tnode = nodes[static_cast<size_t>(tn)];
          if (is_binary(tnode, BinaryOp::Multiply) && tnode.inputs[0] == tnode.inputs[1]) {
            g = gx, y = tnode.inputs[0], act = Activation::Tanh, middle = {dn, tn};
          }
        }
      }
    }
    if (act == Activation::Identity || y == Plan::kUndefined) continue;
    const int32_t mi = sole(g);
    if (mi < 0 || removed[mi]) continue;
    Plan::Node& mm = nodes[static_cast<size_t>(mi)];
    if (mm.op != "matmul" || mm.attrs.size() != 2 || mm.inputs.size() != 2 || mm.num_outputs != 1) {
      continue;
    }
    const Tensor& gv = value(g);
    const Tensor& yv = value(y);
    if (!gv.defined() || !yv.defined() || gv.ndim() != 2 || gv.shape() != yv.shape() ||
        yv.dtype() != gv.dtype() || (gv.dtype() != DType::Float32 && gv.dtype() != DType::Float64))
      continue;
    if (value(mm.inputs[0]).ndim() != 2 || value(mm.inputs[1]).ndim() != 2) continue;
    // y where the matmul runs: made before it, and not written in place before the chain.
    if (y < 0 && captures[static_cast<size_t>(-1 - y)].is_variable()) continue;
    if (y >= 0 && producer[static_cast<size_t>(y)] >= mi) continue;
    bool written = false;
    for (size_t j = static_cast<size_t>(mi) + 1; j < ri && !written; ++j) {
      if (nodes[j].effect != Effect::Writes) continue;
      for (int32_t r : nodes[j].inputs) written = written || r == y;
    }
    if (written) continue;
    bool middle_ok = true;  // the chain's nodes all after the matmul (they read g's result)
    for (int32_t n : middle) middle_ok = middle_ok && !removed[static_cast<size_t>(n)];
    if (!middle_ok) continue;

    const bool ta = mm.attrs[0].i != 0, tb = mm.attrs[1].i != 0;
    Plan::Node fused;
    fused.op = "matmul_activation_grad";
    fused.inputs = {mm.inputs[0], mm.inputs[1], y};
    fused.first_output = last.first_output;
    fused.num_outputs = 1;
    fused.effect = Effect::None;
    fused.attrs = OpRecord::attrs_of(ta, tb, act);
    fused.replay = [ta, tb, act](const Tensors& in) {
      return Tensors{matmul_activation_grad(in[0], in[1], ta, tb, act, in[2])};
    };
    mm = std::move(fused);
    removed[ri] = 1;
    for (int32_t n : middle) removed[static_cast<size_t>(n)] = 1;
    ++stats.groups;
    stats.nodes += 2 + static_cast<int64_t>(middle.size());
  }
  if (stats.groups == 0) return stats;
  std::vector<Plan::Node> kept;
  kept.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(nodes[i]));
  nodes = std::move(kept);
  return stats;
}

}  // namespace corten::trace
