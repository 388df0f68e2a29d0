#pragma once
/// Traced control flow: corten.cond and corten.while_loop inside corten.function (tf.cond and
/// tf.while_loop inside tf.function). Each branch or loop body is traced as a sub-plan (Note
/// [Nested traces] in csrc/trace/plan.cpp) and the enclosing plan gets one node that runs the
/// chosen branch, or loops, on every replay. Note [Traced control flow] in
/// csrc/trace/control_flow.cpp describes the gradients.

#include <corten/tensor.h>
#include <corten/trace.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace corten::trace {

/// A traced branch, loop condition or loop body, with what its gradient needs.
struct TracedFn {
  /// Inputs: the explicit ones (a loop body's variables; none for a cond branch), then the
  /// implicit ones. Outputs: num_results results, then the tensors `grad` reads (saved).
  std::shared_ptr<const Plan> fwd;
  int64_t num_results = 0;
  /// Null when not differentiated. Inputs: one upstream gradient per result, then the saved
  /// tensors. Outputs: the gradients of the sources grad_source names, in that order.
  std::shared_ptr<const Plan> grad;
  /// The gradient sources are fwd's explicit inputs, its first num_implicit_sources implicit
  /// inputs, then `variables`; grad output k is the gradient of source grad_source[k].
  int64_t num_implicit_sources = 0;
  std::vector<Tensor> variables;
  std::vector<int64_t> grad_source;
  std::vector<Shape> source_shapes;
  std::vector<DType> source_dtypes;

  int64_t num_explicit() const { return fwd->num_inputs() - fwd->num_implicit(); }
  int64_t num_saved() const { return fwd->num_outputs() - num_results; }
  int64_t num_sources() const { return static_cast<int64_t>(source_shapes.size()); }
};

/// A branch's or loop body's node attributes: its plans, result count, gradient sources and
/// Variables (by identity) (Note [Node attributes]).
void append_attr(Attrs& attrs, const std::shared_ptr<const TracedFn>& fn);

/// Builds a TracedFn (checks that the plans and the sources agree; ValueError otherwise).
/// `sources` are the gradient sources' tensors (only their shapes, dtypes and, for Variables,
/// the handles are kept).
std::shared_ptr<const TracedFn> make_traced_fn(std::shared_ptr<const Plan> fwd, int64_t num_results,
                                               std::shared_ptr<const Plan> grad,
                                               const std::vector<Tensor>& sources,
                                               int64_t num_implicit_sources,
                                               const std::vector<int64_t>& grad_source);

/// tf.cond: runs true_fn's plan on true_inputs (its implicit inputs) when the scalar bool
/// `pred` is true, else false_fn's on false_inputs; returns the results. Recorded as one node
/// of the active trace and, when both branches have gradients, as one op on recording tapes.
std::vector<Tensor> cond(const Tensor& pred, const std::shared_ptr<const TracedFn>& true_fn,
                         const std::shared_ptr<const TracedFn>& false_fn,
                         const std::vector<Tensor>& true_inputs,
                         const std::vector<Tensor>& false_inputs);

/// tf.while_loop: while cond_fn(vars) (a scalar bool) and fewer than maximum_iterations (an
/// integer scalar tensor, or undefined for no limit) iterations ran, vars = body(vars).
/// cond_inputs and body_inputs are the plans' implicit inputs. Returns the final vars.
std::vector<Tensor> while_loop(const std::shared_ptr<const TracedFn>& cond_fn,
                               const std::shared_ptr<const TracedFn>& body,
                               const std::vector<Tensor>& loop_vars,
                               const std::vector<Tensor>& cond_inputs,
                               const std::vector<Tensor>& body_inputs,
                               const Tensor& maximum_iterations);

}  // namespace corten::trace
