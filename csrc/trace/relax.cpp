// Note [Relaxed plans]
// ~~~~~~~~~~~~~~~~~~~~
// corten.function(reduce_retracing=True): tf.function then generalises a shape that changes
// between calls to None and traces once more for every size. A plan is specialised to what
// its trace saw, but most of it does not depend on the sizes: each node's replay calls its
// entry point, which takes the sizes from its inputs. What can depend on them is in the plan
// as data: node attributes (a reshape's target, a random draw's shape, Note [Node
// attributes]), captured constants (a folded ones((64, 1))) and the input ranks. So when a
// call with new sizes traces a plan that is the same computation as an earlier plan of the
// function (same nodes, attributes, wiring and captures; Plan::same_computation), the sizes
// did not reach the plan, and the plan serves every size in the dimensions where the two
// traces differed: Plan::relaxed marks them unknown, and run() checks the others. When the
// plans differ (a size reached an attribute or a constant), the function keeps one plan per
// shape, as without reduce_retracing.

#include <corten/errors.h>
#include <corten/trace.h>

#include <cstring>

namespace corten::trace {

namespace {

// Whether two captures are the same: a Variable (or any tensor captured by reference) by
// identity, a constant by dtype, shape and bytes.
bool same_capture(const Tensor& a, const Tensor& b) {
  if (a.is_same(b)) return true;
  if (a.is_variable() || b.is_variable() || !a.defined() || !b.defined()) return false;
  if (a.dtype() != b.dtype() || a.shape() != b.shape() || a.is_meta() || b.is_meta()) {
    return a.is_meta() && b.is_meta() && a.dtype() == b.dtype() && a.shape() == b.shape();
  }
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), ca.nbytes()) == 0;
}

bool same_pointwise(const std::optional<Pointwise>& a, const std::optional<Pointwise>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->binary == b->binary && a->op == b->op &&
         std::memcmp(&a->alpha, &b->alpha, sizeof a->alpha) == 0 &&
         a->row_reduction == b->row_reduction && a->keepdims == b->keepdims;
}

}  // namespace

bool Plan::same_computation(const Plan& o) const {
  if (nodes_.size() != o.nodes_.size() || captures_.size() != o.captures_.size() ||
      input_dtypes_ != o.input_dtypes_ || input_slots_ != o.input_slots_ ||
      outputs_ != o.outputs_ || num_slots_ != o.num_slots_ || num_implicit_ != o.num_implicit_ ||
      sub_ != o.sub_) {
    return false;
  }
  for (size_t i = 0; i < input_shapes_.size(); ++i) {
    if (input_shapes_[i].size() != o.input_shapes_[i].size()) return false;
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& a = nodes_[i];
    const Node& b = o.nodes_[i];
    if (a.op != b.op || a.inputs != b.inputs || a.first_output != b.first_output ||
        a.num_outputs != b.num_outputs || a.effect != b.effect || a.release != b.release ||
        !same_pointwise(a.pointwise, b.pointwise) || a.attrs != b.attrs) {
      return false;
    }
  }
  for (size_t k = 0; k < captures_.size(); ++k) {
    if (!same_capture(captures_[k], o.captures_[k])) return false;
  }
  return true;
}

std::shared_ptr<Plan> Plan::relaxed(const Plan& other) const {
  CORTEN_CHECK_VALUE(same_computation(other), "corten.function: plans of different computations ",
                     "cannot be relaxed into one");
  auto plan = std::make_shared<Plan>(*this);
  for (size_t i = 0; i < plan->input_shapes_.size(); ++i) {
    Shape& shape = plan->input_shapes_[i];
    const Shape& theirs = other.input_shapes_[i];
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] != theirs[d]) shape[d] = kUnknownDim;
    }
  }
  return plan;
}

}  // namespace corten::trace
