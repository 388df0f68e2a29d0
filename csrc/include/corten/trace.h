#pragma once
/// Traced plans: the op calls of one run of a function, kept as a list and replayed on new
/// inputs without the code that made them (corten.function). Note [Traced plans] in
/// csrc/trace/plan.cpp describes what a plan holds and what it can and cannot capture.
///
/// While a trace is active on a thread, each op entry point called from outside another op
/// appends a node to it: the op's name, where each input comes from (a function input, an
/// earlier node's output, or a tensor captured by reference: a Variable, or a tensor that
/// existed before the trace began) and a replay function that calls the same entry point with
/// the same non-tensor arguments. The ops run normally meanwhile: tracing is an eager run that
/// also writes down what it did.

#include <corten/autograd.h>
#include <corten/denormals.h>
#include <corten/ops/elementwise_ops.h>
#include <corten/ops/reduce.h>
#include <corten/tensor.h>
#include <corten/trace_attrs.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace corten::trace {

using Tensors = std::vector<Tensor>;

/// Calls an op's entry point again on new input tensors, with the non-tensor arguments it was
/// traced with; returns its outputs (none for an op that only writes in place).
using ReplayFn = std::function<Tensors(const Tensors& inputs)>;

/// What a node does besides returning its outputs. Nodes with an effect are never removed as
/// dead code, and run in their traced order.
enum class Effect {
  None,
  Writes,        // updates one of its inputs in place (Variable.assign, optimizer updates)
  Random,        // advances a random stream
  Communicates,  // exchanges values with other processes (a collective)
};

/// What an elementwise node computes, for the fusion pass (Note [Pointwise fusion] in
/// csrc/trace/fusion.cpp): a unary op (with its alpha) or a binary op of the op table; or, with
/// `row_reduction`, a sum or mean over the last axis that a fused group can end with (Note [Row
/// reductions in fused nodes]).
struct Pointwise {
  bool binary = false;
  uint8_t op = 0;  // a UnaryOp or BinaryOp; a ReduceOp (Sum or Mean) for a row reduction
  double alpha = 0.0;
  bool row_reduction = false;
  bool keepdims = false;  // of a row reduction
  static Pointwise of(UnaryOp op, double alpha) { return {false, static_cast<uint8_t>(op), alpha}; }
  static Pointwise of(BinaryOp op) { return {true, static_cast<uint8_t>(op), 0.0}; }
  static Pointwise last_axis(ReduceOp op, bool keepdims) {
    return {false, static_cast<uint8_t>(op), 0.0, true, keepdims};
  }
};

struct TraceState;

namespace detail {
/// The trace recording on this thread, or null; counts one more op level when there is one.
TraceState* enter_op() noexcept;
/// Undoes enter_op.
void leave_op(TraceState* state) noexcept;
/// Whether the op that entered last is the outermost one.
bool outermost(const TraceState* state) noexcept;
void append(TraceState* state, const char* op, autograd::TensorSpan inputs,
            autograd::TensorSpan outputs, ReplayFn replay, Attrs attrs, Effect effect,
            std::optional<Pointwise> pointwise);
/// Calls the progress hook, if one is set.
void run_progress_hook();
}  // namespace detail

/// A function a plan run calls after each node that follows a Communicates node, so that
/// collectives in flight progress while the plan computes (corten::dist sets it to dist::poll).
void set_progress_hook(void (*hook)());

/// Held by an op entry point for the whole call: created first, then record() once the outputs
/// exist. Only the outermost op records (ops that other ops call are part of their caller's
/// node). Costs one thread-local read when no trace is active. It also holds the op's
/// denormal mode (Note [Denormals]), since every entry point holds one for its whole call.
class OpRecord {
 public:
  OpRecord() noexcept : state_(detail::enter_op()) {}
  ~OpRecord() {
    if (state_) detail::leave_op(state_);
  }
  OpRecord(const OpRecord&) = delete;
  OpRecord& operator=(const OpRecord&) = delete;

  /// Whether record() would append a node: an entry point may skip building its record()
  /// arguments otherwise (a braced list of tensors copies each one).
  bool active() const noexcept { return state_ && detail::outermost(state_); }

  /// Appends the node when this op is the outermost one of an active trace. `replay` is a
  /// lambda that captures nothing: it is called as replay(input_tensors, attrs...) and returns
  /// a Tensor, Tensors or nothing, so that everything a replay depends on besides its tensors
  /// is in `attrs`, which the node keeps as data (Note [Node attributes]).
  template <class F, class... A>
  void record(const char* op, autograd::TensorSpan inputs, autograd::TensorSpan outputs, F replay,
              const A&... attrs) {
    record_effect(Effect::None, op, inputs, outputs, replay, attrs...);
  }
  /// record() of a node with an effect (an in-place write, a random stream's advance).
  template <class F, class... A>
  void record_effect(Effect effect, const char* op, autograd::TensorSpan inputs,
                     autograd::TensorSpan outputs, F replay, const A&... attrs) {
    if (state_ && detail::outermost(state_)) {
      detail::append(state_, op, inputs, outputs, bind(replay, attrs...), attrs_of(attrs...),
                     effect, std::nullopt);
    }
  }
  /// record() of an elementwise op, described for the fusion pass.
  template <class F, class... A>
  void record_pointwise(const char* op, autograd::TensorSpan inputs, autograd::TensorSpan outputs,
                        Pointwise pointwise, F replay, const A&... attrs) {
    if (state_ && detail::outermost(state_)) {
      detail::append(state_, op, inputs, outputs, bind(replay, attrs...), attrs_of(attrs...),
                     Effect::None, pointwise);
    }
  }

  /// The attributes of `attrs...`, in order.
  template <class... A>
  static Attrs attrs_of(const A&... attrs) {
    Attrs out;
    (append_attr(out, attrs), ...);
    return out;
  }

  /// `replay` bound to its attributes: the node's replay function.
  template <class F, class... A>
  static ReplayFn bind(F replay, const A&... attrs) {
    static_assert(std::is_empty_v<F>,
                  "a replay lambda captures nothing: pass what it needs as attributes");
    using R = std::invoke_result_t<F&, const Tensors&, const A&...>;
    auto call = [replay, args = std::make_tuple(attrs...)](const Tensors& in) {
      return std::apply([&](const auto&... a) { return replay(in, a...); }, args);
    };
    if constexpr (std::is_same_v<R, Tensor>) {
      return [call](const Tensors& in) {
        Tensors out;  // not Tensors{...}: a braced list would copy the tensor
        out.reserve(1);
        out.push_back(call(in));
        return out;
      };
    } else if constexpr (std::is_void_v<R>) {
      return [call](const Tensors& in) {
        call(in);
        return Tensors{};
      };
    } else {
      return ReplayFn(call);
    }
  }

 private:
  FlushDenormals flush_;
  TraceState* state_;
};

/// A traced function: nodes in order, the plan's inputs and outputs, and the tensors it
/// captured. Immutable once built; run() may be called from several threads.
class DenseChain;

class Plan {
 public:
  /// An input that is an undefined Tensor (an absent bias, an unrequested gradient).
  static constexpr int32_t kUndefined = INT32_MIN;

  struct Node {
    std::string op;
    std::vector<int32_t> inputs;  // >= 0: a value slot; kUndefined; other < 0: capture -1 - k
    int32_t first_output = 0;     // its outputs fill slots first_output, first_output + 1, ...
    int32_t num_outputs = 0;
    Effect effect = Effect::None;
    ReplayFn replay;
    std::vector<int32_t> release;  // slots no later node reads: dropped after this node
    // Per input: this node reads the slot last, and once, so run() moves it in (a copy of a
    // tensor is an atomic reference-count update, a visible cost on small models).
    std::vector<uint8_t> moves;
    std::optional<Pointwise> pointwise;  // set for elementwise ops (the fusion pass)
    Attrs attrs;  // what `replay` was bound with besides tensors (Note [Node attributes])
  };

  /// Runs the nodes on `inputs` (the traced inputs' shapes and dtypes; ValueError otherwise)
  /// and returns the outputs. Tapes on the calling thread do not record the nodes.
  Tensors run(const Tensors& inputs) const;
  /// Runs the plan `runs` times and returns each node's mean wall time in seconds (the op's
  /// entry point and kernels, without the plan's own bookkeeping).
  std::vector<double> profile(const Tensors& inputs, int runs) const;
  /// One replay per batch of rows, all in C++ (Note [Epoch replay]): replay s (0 <= s <
  /// num_steps) takes rows [first_row + s * batch_rows, + batch_rows) of every source, in the
  /// order of `order` (int64 row indices) or in storage order when `order` is undefined, and
  /// feeds input i with the rows of sources[input_source[i]]. Returns the last replay's
  /// outputs, or with `stack` every replay's outputs concatenated along their first axis
  /// (each output must have one; ValueError otherwise). The inputs must have the traced
  /// shapes, as for run().
  Tensors run_batches(const Tensors& sources, const std::vector<int64_t>& input_source,
                      const Tensor& order, int64_t batch_rows, int64_t first_row, int64_t num_steps,
                      bool stack = false) const;
  /// Nodes (what each reads, writes and returns, with dtypes and shapes, and the buffers
  /// released after it), captures and outputs, one line each.
  std::string summary() const;
  int64_t num_nodes() const { return static_cast<int64_t>(nodes_.size()); }
  int64_t num_inputs() const { return static_cast<int64_t>(input_shapes_.size()); }
  int64_t num_outputs() const { return static_cast<int64_t>(outputs_.size()); }
  int64_t num_captures() const { return static_cast<int64_t>(captures_.size()); }
  /// Nodes that the trace recorded but no output or effect needs (dropped from the plan).
  int64_t num_dead() const { return dead_; }
  /// Nodes whose inputs were all constants: their traced outputs became captures.
  int64_t num_folded() const { return folded_; }
  /// Groups of elementwise nodes fused into one pass each, and the nodes they replaced.
  int64_t num_fused_groups() const { return fused_groups_; }
  int64_t num_fused_nodes() const { return fused_nodes_; }
  /// Most bytes of node outputs alive at once during a run (views of one buffer counted once;
  /// inputs, captures and an op's internal scratch not counted).
  int64_t peak_bytes() const { return peak_bytes_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  /// The inputs after the explicit ones: values of enclosing traces that a sub-plan read
  /// (Note [Nested traces]); 0 for a function's plan.
  int64_t num_implicit() const { return num_implicit_; }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  const std::vector<DType>& input_dtypes() const { return input_dtypes_; }
  /// The strongest effect of its nodes (Random over Writes over None).
  Effect effect() const;
  /// Whether `other` runs the same computation: the same nodes (ops, attributes, wiring,
  /// effects), the same captures (Variables by identity, constants by value), outputs, input
  /// dtypes and ranks. Input sizes may differ (Note [Relaxed plans]).
  bool same_computation(const Plan& other) const;
  /// This plan for inputs of any size where `other`'s differ from this one's (those
  /// dimensions become unknown in input_shapes()). Only for a plan with
  /// same_computation(other) (ValueError otherwise).
  std::shared_ptr<Plan> relaxed(const Plan& other) const;

  /// The tensors the plan captured (Variables, constants), in capture order.
  const std::vector<Tensor>& captures() const { return captures_; }
  /// The plan as a document of the saved-plan schema (Note [Saved plans], docs/model_format.md),
  /// its captures named by `capture_names`. ValueError when a node cannot be saved: an effect,
  /// a sub-plan or stateful attribute, or an op without a registered replay.
  std::string to_json(const std::vector<std::string>& capture_names) const;
  /// The plan of a to_json document (`source` names it in errors); `capture(index, name)` gives
  /// each capture, checked against its declared dtype and shape. ValueError for anything the
  /// document gets wrong; no code comes from it.
  static std::shared_ptr<Plan> from_json(
      const std::string& text, const std::string& source,
      const std::function<Tensor(size_t, const std::string&)>& capture);

 private:
  friend struct PlanBuilder;
  friend class DenseChain;
  // Sets dense_ once the plan is complete (Note [Dense chains] in trace/dense_chain.cpp).
  void find_dense_chain();
  /// Sets each node's release list from the last node that reads each slot.
  static void compute_releases(std::vector<Node>& nodes, const std::vector<int32_t>& outputs,
                               int32_t num_slots);
  const Tensor& value(const Tensors& vals, int32_t r) const;
  Tensors run_timed(const Tensors& inputs, std::vector<double>* seconds) const;
  std::vector<Node> nodes_;
  std::vector<int32_t> input_slots_;  // the slot each input fills
  int64_t num_implicit_ = 0;
  bool sub_ = false;  // a branch or loop body: run() checks its inputs' ranks, not sizes
  std::vector<Shape> input_shapes_;
  std::vector<DType> input_dtypes_;
  std::vector<Tensor> captures_;
  std::vector<int32_t> outputs_;
  int32_t num_slots_ = 0;
  int64_t dead_ = 0;
  int64_t folded_ = 0;
  int64_t fused_groups_ = 0;
  int64_t fused_nodes_ = 0;
  int64_t peak_bytes_ = 0;
  std::vector<std::string> slot_types_;  // dtype and shape of each slot's traced value
  std::shared_ptr<const DenseChain> dense_;  // set when the plan is one (Note [Dense chains])
};

/// Starts a trace on this thread with `inputs` as the function's inputs (ValueError when one
/// is already active on it, or an input is undefined).
void begin(const Tensors& inputs);
/// Ends this thread's trace; `outputs` are the function's results, each an input, an output of
/// a recorded op or a captured tensor. ValueError when no trace is active. `fuse` runs the
/// pointwise fusion pass (Note [Pointwise fusion]); without it every traced op stays a node.
std::shared_ptr<Plan> end(const Tensors& outputs, bool fuse = true);
/// Drops this thread's trace, if any (the traced function raised), and puts back the values
/// of the tensors that its ops wrote in place (will_write) and the random streams' offsets: a
/// failed trace leaves variables and random state as they were before the call.
void cancel() noexcept;
/// Called by an op that writes tensors in place, before it writes: an active trace keeps a copy
/// of each (once per tensor) for cancel(). Nothing without a trace.
void will_write(autograd::TensorSpan targets);
/// Whether a trace records on this thread.
bool active() noexcept;
/// Called first thing by an op that a plan cannot replay yet (it draws random numbers or keeps
/// internal tensors for its gradient): NotImplementedError naming the op when a trace would
/// record it; nothing otherwise (a thread-local read).
void not_traceable(const char* op);
/// Whether `t`'s value can change from run to run of this thread's trace: an input, an op's
/// output or a Variable, as opposed to a constant. Python must not read such a value while
/// tracing (it would be frozen into the plan).
bool holds(const Tensor& t) noexcept;
/// Marks a tensor made during the trace from Python data (numpy, lists, scalars) as a constant
/// of the plan. Ops may read it; no-op without a trace.
void note_constant(const Tensor& t);

/// Starts a sub-trace nested in this thread's active trace, for a branch or loop body of traced
/// control flow (Note [Nested traces] in csrc/trace/plan.cpp). Returns its explicit inputs:
/// new handles of `inputs`, or zeros of their shapes and dtypes with `zeros_like`. ValueError
/// without an active trace.
Tensors begin_sub(const Tensors& inputs, bool zeros_like);
/// A traced branch: its plan (inputs: the explicit ones, then the implicit ones) and the outer
/// tensors to pass as its implicit inputs, in order.
struct SubPlan {
  std::shared_ptr<Plan> plan;
  Tensors implicit;
};
/// Ends the innermost sub-trace with `outputs` as its results; puts back what its ops wrote in
/// place and the random streams (the node runs the sub-plan for real). ValueError when none.
SubPlan end_sub(const Tensors& outputs);
/// Drops the innermost sub-trace, if any (the branch raised), restoring as end_sub does.
void cancel_sub() noexcept;
/// The innermost trace's implicit inputs so far (empty for a function's trace).
Tensors sub_implicit();
/// The Variables the innermost trace has captured so far.
Tensors sub_variables();

/// Stops recording on this thread for its lifetime (Keras builds weights under it, as
/// TensorFlow's init_scope lifts variable initialisers out of a function).
class Pause {
 public:
  Pause() noexcept;
  ~Pause();
  Pause(const Pause&) = delete;
  Pause& operator=(const Pause&) = delete;

 private:
  TraceState* paused_;
};

}  // namespace corten::trace
