// Note [Traced plans]
// corten.function runs a Python function once per input signature with a trace active, and
// keeps what the ops did as a Plan; later calls with that signature replay the plan from C++
// in one call, without the Python code that made it (no layer objects, no tape walk, no
// optimizer loop). A node is an op entry point called again with its traced non-tensor
// arguments, so a replay validates, allocates and dispatches exactly as eager mode does and
// raises the same errors (a data-dependent check, such as an embedding id out of range, runs on
// every replay).
//
// Where a node's input comes from is decided when the op records it:
//   - a function input or an earlier node's output: a value slot, filled per run;
//   - a Variable: captured by reference, read at each run (assign writes in place, so the
//     reference sees every update, including those of earlier nodes of the same run);
//   - a tensor that existed before the trace began, or one made from Python data during it
//     (note_constant), or under trace::Pause: captured as a constant;
//   - anything else is a tensor that some op made without recording itself: an error here,
//     since replaying the plan would silently reuse its traced value.
// Only the outermost op records (OpRecord counts the op levels), so an op built from other ops
// is one node and replays as one call. The backward of a GradientTape that runs inside the
// function is recorded too, op by op, since the backward rules call the same entry points:
// a replay needs no tape.
//
// end() drops the nodes that neither lead to an output nor have an effect (dead code), and
// works out after which node each slot is last read, so that a run lets go of its
// intermediates as early as eager Python would (the caching allocator reuses their blocks).

#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "trace/dense_chain.h"
#include "trace/passes.h"

namespace corten::trace {

struct TraceState {
  uint64_t first_id = 0;             // tensors with a smaller id existed before the trace
  int depth = 0;                     // op levels entered
  TraceState* parent = nullptr;      // the enclosing trace of a sub-trace (Note [Nested traces])
  std::vector<Tensor> implicit;      // the enclosing traces' values this sub-trace read
  std::vector<int32_t> input_slots;  // the slot of each plan input: explicit, then implicit
  std::unordered_map<uint64_t, int32_t> slot_of;     // tensor id -> value slot
  std::unordered_map<uint64_t, int32_t> capture_of;  // tensor id -> capture index
  std::unordered_set<uint64_t> constants;            // made during the trace, allowed as captures
  std::vector<std::pair<uint64_t, uint64_t>> paused_ids;  // id ranges made under Pause
  std::vector<Tensor> keep;  // each slot's traced value (no id is read from a freed tensor)
  std::vector<Tensor> captures;
  std::vector<Plan::Node> nodes;
  std::vector<std::pair<Tensor, Tensor>> undo;  // (written tensor, its value before the trace)
  std::vector<std::pair<uint64_t, uint64_t>> streams;  // the random streams' offsets at begin
  std::unordered_set<uint64_t> saved;
  std::vector<Shape> input_shapes;
  std::vector<DType> input_dtypes;
  int32_t num_slots = 0;

  bool made_before(const Tensor& t) const {
    if (t.is_variable()) return true;
    for (const TraceState* s = this; s; s = s->parent) {
      if ((!s->parent && t.id() < s->first_id) || s->constants.count(t.id())) return true;
      if (std::any_of(s->paused_ids.begin(), s->paused_ids.end(),
                      [&](const auto& r) { return t.id() >= r.first && t.id() < r.second; })) {
        return true;
      }
    }
    return false;
  }

  // Whether an enclosing trace holds `t` as a value slot.
  bool outer_slot(const Tensor& t) const {
    for (const TraceState* s = parent; s; s = s->parent) {
      if (s->slot_of.count(t.id())) return true;
    }
    return false;
  }

  int32_t ref(const Tensor& t, const char* op) {
    if (!t.defined()) return Plan::kUndefined;
    const auto slot = slot_of.find(t.id());
    if (slot != slot_of.end()) return slot->second;
    const auto cap = capture_of.find(t.id());
    if (cap != capture_of.end()) return -1 - cap->second;
    if (outer_slot(t)) {
      // An implicit input of the sub-plan: the node that runs it passes the outer value.
      const int32_t s = new_slot(t);
      implicit.push_back(t);
      input_slots.push_back(s);
      input_shapes.push_back(t.shape());
      input_dtypes.push_back(t.dtype());
      return s;
    }
    if (!made_before(t)) {
      throw ValueError(std::string("corten.function: '") + op +
                       "' read a tensor made during tracing by an operation that cannot be "
                       "traced; its value would be frozen into the plan");
    }
    const auto k = static_cast<int32_t>(captures.size());
    captures.push_back(t);
    capture_of.emplace(t.id(), k);
    return -1 - k;
  }

  int32_t new_slot(const Tensor& t) {
    const int32_t s = num_slots++;
    if (t.defined()) slot_of[t.id()] = s;
    keep.push_back(t);
    return s;
  }
};

struct PlanBuilder {
  static std::shared_ptr<Plan> build(TraceState& s, const Tensors& outputs, bool sub = false,
                                     bool fuse = true);
};

namespace {

thread_local TraceState* tls_trace = nullptr;

using Clock = std::chrono::steady_clock;

std::string show_ref(int32_t r) {
  if (r == Plan::kUndefined) return "_";
  return r >= 0 ? "%" + std::to_string(r) : "c" + std::to_string(-1 - r);
}

const char* effect_name(Effect e) {
  switch (e) {
    case Effect::None:
      return "";
    case Effect::Writes:
      return "  [writes]";
    case Effect::Random:
      return "  [random]";
    case Effect::Communicates:
      return "  [communicates]";
  }
  return "";
}

}  // namespace

namespace detail {

TraceState* enter_op() noexcept {
  TraceState* s = tls_trace;
  if (s) ++s->depth;
  return s;
}

void leave_op(TraceState* state) noexcept { --state->depth; }

namespace {
std::atomic<void (*)()> progress_hook{nullptr};
}  // namespace

void run_progress_hook() {
  if (auto* hook = progress_hook.load(std::memory_order_relaxed)) hook();
}

bool outermost(const TraceState* state) noexcept { return state->depth == 1; }

void append(TraceState* s, const char* op, autograd::TensorSpan inputs,
            autograd::TensorSpan outputs, ReplayFn replay, Attrs attrs, Effect effect,
            std::optional<Pointwise> pointwise) {
  Plan::Node node;
  node.op = op;
  node.effect = effect;
  node.pointwise = pointwise;
  node.replay = std::move(replay);
  node.attrs = std::move(attrs);
  node.inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) node.inputs.push_back(s->ref(t, op));
  node.first_output = s->num_slots;
  node.num_outputs = static_cast<int32_t>(outputs.size());
  for (const Tensor& t : outputs) s->new_slot(t);
  s->nodes.push_back(std::move(node));
}

}  // namespace detail

void set_progress_hook(void (*hook)()) { detail::progress_hook.store(hook); }

void begin(const Tensors& inputs) {
  if (tls_trace) throw ValueError("corten.function: a trace is already active on this thread");
  auto state = std::make_unique<TraceState>();
  state->first_id = corten::detail::next_tensor_id();
  state->streams = philox_stream_offsets();
  for (const Tensor& t : inputs) {
    if (!t.defined()) throw ValueError("corten.function: an input tensor is undefined");
    // An input passed twice is one slot per position: a run may pass different tensors there.
    state->slot_of.erase(t.id());
    state->input_slots.push_back(state->new_slot(t));
    state->input_shapes.push_back(t.shape());
    state->input_dtypes.push_back(t.dtype());
  }
  tls_trace = state.release();
}

namespace {

// Puts back what a trace changed outside its plan: the random streams' offsets (so that running
// the function again draws what it would have drawn) and the values of the tensors its ops
// wrote in place. Called with no trace active on the thread, so that the copies are not nodes.
void restore(const TraceState& s) noexcept {
  try {
    reset_philox_streams();
    for (const auto& [key, offset] : s.streams) set_philox_stream_offset(key, offset);
  } catch (...) {  // a map insertion short of memory: the streams then stay advanced
  }
  // Newest first, so that a tensor written twice ends with its value from before the trace.
  for (auto it = s.undo.rbegin(); it != s.undo.rend(); ++it) {
    try {
      copy_(it->first, it->second);
    } catch (...) {  // same shape and dtype as when copied: cannot fail short of memory
    }
  }
}

// Ends the innermost trace: restores what it changed and makes its parent the active trace.
std::unique_ptr<TraceState> pop_and_restore() noexcept {
  std::unique_ptr<TraceState> s(tls_trace);
  tls_trace = nullptr;
  restore(*s);
  tls_trace = s->parent;
  return s;
}

}  // namespace

void cancel() noexcept {
  // Innermost first: a sub-trace's writes are undone before those of the traces around it.
  while (tls_trace) pop_and_restore();
}

void will_write(autograd::TensorSpan targets) {
  TraceState* s = tls_trace;
  if (!s) return;
  const Pause copies_are_not_nodes;
  for (const Tensor& t : targets) {
    if (!t.defined() || t.is_meta() || !s->saved.insert(t.id()).second) continue;
    s->undo.emplace_back(t, clone(t));
  }
}

bool active() noexcept { return tls_trace != nullptr; }

void not_traceable(const char* op) {
  if (tls_trace && tls_trace->depth == 0) {
    throw NotImplementedError(std::string("corten.function cannot trace '") + op +
                              "' yet (it draws random numbers or keeps internal tensors for its "
                              "gradient); run this function eagerly");
  }
}

bool holds(const Tensor& t) noexcept {
  if (!tls_trace || !t.defined()) return false;
  if (t.is_variable()) return true;
  for (const TraceState* s = tls_trace; s; s = s->parent) {
    if (s->slot_of.count(t.id())) return true;
  }
  return false;
}

void note_constant(const Tensor& t) {
  if (tls_trace && t.defined()) tls_trace->constants.insert(t.id());
}

Pause::Pause() noexcept : paused_(tls_trace) {
  if (paused_) {
    // Consecutive pauses with nothing made between them share one range.
    const uint64_t id = corten::detail::next_tensor_id();
    auto& ids = paused_->paused_ids;
    if (ids.empty() || ids.back().second + 1 < id) ids.emplace_back(id, 0);
    tls_trace = nullptr;
  }
}

Pause::~Pause() {
  if (paused_) {
    paused_->paused_ids.back().second = corten::detail::next_tensor_id();
    tls_trace = paused_;
  }
}

std::shared_ptr<Plan> end(const Tensors& outputs, bool fuse) {
  if (!tls_trace) throw ValueError("corten.function: no trace is active on this thread");
  if (tls_trace->parent) {
    throw ValueError("corten.function: a branch or loop body is still being traced");
  }
  std::unique_ptr<TraceState> s(tls_trace);
  tls_trace = nullptr;
  return PlanBuilder::build(*s, outputs, false, fuse);
}

std::shared_ptr<Plan> PlanBuilder::build(TraceState& state, const Tensors& outputs, bool sub,
                                         bool fuse) {
  TraceState* s = &state;
  auto plan = std::make_shared<Plan>();
  plan->sub_ = sub;
  for (const Tensor& t : outputs) {
    if (!t.defined()) throw ValueError("corten.function: an output tensor is undefined");
    plan->outputs_.push_back(s->ref(t, "return"));
  }
  // Dead code: walk back from the outputs and the effects.
  const size_t n = s->nodes.size();
  std::vector<char> live_slot(static_cast<size_t>(s->num_slots), 0), live(n, 0);
  for (int32_t r : plan->outputs_) {
    if (r >= 0) live_slot[static_cast<size_t>(r)] = 1;
  }
  for (size_t i = n; i-- > 0;) {
    const Plan::Node& node = s->nodes[i];
    bool needed = node.effect != Effect::None;
    for (int32_t k = 0; k < node.num_outputs && !needed; ++k) {
      needed = live_slot[static_cast<size_t>(node.first_output + k)] != 0;
    }
    if (!needed) continue;
    live[i] = 1;
    for (int32_t r : node.inputs) {
      if (r >= 0) live_slot[static_cast<size_t>(r)] = 1;
    }
  }
  // Constant folding: a live node without effects whose inputs are all constants (captured
  // non-Variable tensors, absent inputs or outputs of nodes folded before it) gives the same
  // outputs on every run, so its traced outputs become constants of the plan and the node
  // goes. A slot that a node writes in place stays a value (its traced value is not final).
  std::vector<char> written(static_cast<size_t>(s->num_slots), 0);
  for (size_t i = 0; i < n; ++i) {
    if (!live[i] || s->nodes[i].effect != Effect::Writes) continue;
    for (int32_t r : s->nodes[i].inputs) {
      if (r >= 0) written[static_cast<size_t>(r)] = 1;
    }
  }
  std::vector<int32_t> folded(static_cast<size_t>(s->num_slots), 0);  // capture ref, or 0
  std::vector<char> folded_node(n, 0);
  auto constant = [&](int32_t r) {
    return r == Plan::kUndefined ||
           (r < 0 && !s->captures[static_cast<size_t>(-1 - r)].is_variable());
  };
  for (size_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    Plan::Node& node = s->nodes[i];
    for (int32_t& r : node.inputs) {
      if (r >= 0 && folded[static_cast<size_t>(r)]) r = folded[static_cast<size_t>(r)];
    }
    bool fold = node.effect == Effect::None && node.num_outputs > 0 &&
                std::all_of(node.inputs.begin(), node.inputs.end(), constant);
    for (int32_t k = 0; k < node.num_outputs && fold; ++k) {
      const auto slot = static_cast<size_t>(node.first_output + k);
      fold = !written[slot] && s->keep[slot].defined();
    }
    if (!fold) continue;
    for (int32_t k = 0; k < node.num_outputs; ++k) {
      const auto slot = static_cast<size_t>(node.first_output + k);
      folded[slot] = -1 - static_cast<int32_t>(s->captures.size());
      s->captures.push_back(s->keep[slot]);
    }
    live[i] = 0;
    folded_node[i] = 1;
    ++plan->folded_;
  }
  for (int32_t& r : plan->outputs_) {
    if (r >= 0 && folded[static_cast<size_t>(r)]) r = folded[static_cast<size_t>(r)];
  }
  for (size_t i = 0; i < n; ++i) {
    if (live[i]) {
      plan->nodes_.push_back(std::move(s->nodes[i]));
    } else if (!folded_node[i]) {
      ++plan->dead_;
    }
  }
  // Sub-plans are not fused: their sizes may vary from run to run (Note [Traced control flow]),
  // and a fused node runs at its traced size.
  if (fuse && !sub) fuse_activation_grads(plan->nodes_, plan->outputs_, s->keep, s->captures);
  const FusionStats fusion =
      fuse && !sub ? fuse_pointwise(plan->nodes_, plan->outputs_, s->keep, s->captures)
                   : FusionStats{};
  plan->fused_groups_ = fusion.groups;
  plan->fused_nodes_ = fusion.nodes;
  s->num_slots = static_cast<int32_t>(s->keep.size());
  Plan::compute_releases(plan->nodes_, plan->outputs_, s->num_slots);
  // Peak bytes of the values a run holds at once: each node's outputs from that node until
  // their release, a storage shared by views counted once; the inputs' and captures'
  // storages are not the plan's. (Scratch memory inside an op is not counted.)
  std::unordered_map<const void*, int> holders;
  for (int32_t slot : s->input_slots)
    holders[s->keep[static_cast<size_t>(slot)].storage().get()] = -1;
  for (const Tensor& c : s->captures) holders[c.storage().get()] = -1;
  int64_t live_bytes = 0;
  auto hold = [&](int32_t slot, int delta) {
    const Tensor& t = s->keep[static_cast<size_t>(slot)];
    if (!t.defined() || !t.storage()) return;
    int& h = holders[t.storage().get()];
    if (h < 0) return;
    const auto bytes = static_cast<int64_t>(t.storage()->nbytes());
    if (delta > 0 && h++ == 0) live_bytes += bytes;
    if (delta < 0 && --h == 0) live_bytes -= bytes;
  };
  for (const Plan::Node& node : plan->nodes_) {
    for (int32_t k = 0; k < node.num_outputs; ++k) hold(node.first_output + k, 1);
    plan->peak_bytes_ = std::max(plan->peak_bytes_, live_bytes);
    for (int32_t slot : node.release) hold(slot, -1);
  }
  // What each slot holds, for summary().
  plan->slot_types_.resize(s->keep.size());
  for (size_t slot = 0; slot < s->keep.size(); ++slot) {
    const Tensor& t = s->keep[slot];
    if (t.defined()) {
      std::ostringstream d;
      d << dtype_name(t.dtype()) << show(t.shape());
      plan->slot_types_[slot] = d.str();
    }
  }
  plan->input_slots_ = std::move(s->input_slots);
  plan->num_implicit_ = static_cast<int64_t>(s->implicit.size());
  plan->input_shapes_ = std::move(s->input_shapes);
  plan->input_dtypes_ = std::move(s->input_dtypes);
  // Captures no node or output reads any more (the inputs of folded nodes) are dropped, so
  // that folding a chain keeps only its results alive.
  std::vector<int32_t> new_ref(s->captures.size(), 0);
  auto mark = [&](int32_t r) {
    if (r < 0 && r != Plan::kUndefined) new_ref[static_cast<size_t>(-1 - r)] = 1;
  };
  for (const Plan::Node& node : plan->nodes_) {
    for (int32_t r : node.inputs) mark(r);
  }
  for (int32_t r : plan->outputs_) mark(r);
  for (size_t k = 0; k < s->captures.size(); ++k) {
    if (!new_ref[k]) continue;
    new_ref[k] = -1 - static_cast<int32_t>(plan->captures_.size());
    plan->captures_.push_back(std::move(s->captures[k]));
  }
  auto remap = [&](int32_t& r) {
    if (r < 0 && r != Plan::kUndefined) r = new_ref[static_cast<size_t>(-1 - r)];
  };
  for (Plan::Node& node : plan->nodes_) {
    for (int32_t& r : node.inputs) remap(r);
  }
  for (int32_t& r : plan->outputs_) remap(r);
  plan->num_slots_ = s->num_slots;
  plan->find_dense_chain();
  return plan;
}

// Note [Nested traces]
// Traced control flow (csrc/trace/control_flow.cpp) traces each branch or loop body as a plan
// of its own while the function's trace is active: begin_sub() pushes a TraceState whose parent
// is the active one. Within it, a tensor is
//   - one of its explicit inputs (new handles made by begin_sub, so that a loop variable and a
//     tensor the body reads from outside stay apart even when they are the same tensor);
//   - an implicit input when an enclosing trace holds it as a value slot: it gets a slot, and
//     end_sub() hands the outer tensors back so that the node running the sub-plan passes
//     them (the enclosing trace then resolves them in turn, maybe as its own implicit inputs);
//   - a capture, by the rules of Note [Traced plans] applied to the whole chain.
// The branch runs eagerly while traced, as a function does; but it is not the branch's real
// run (a cond traces both branches; the node runs one): end_sub() puts back the writes its ops
// made in place and the random streams, as cancel() does, and the node then runs the chosen
// sub-plan for real, inside the enclosing trace.

Tensors begin_sub(const Tensors& inputs, bool zeros_like) {
  if (!tls_trace) throw ValueError("corten: traced control flow needs an active trace");
  auto state = std::make_unique<TraceState>();
  state->parent = tls_trace;
  Tensors handles;
  {
    const Pause not_nodes;
    for (const Tensor& t : inputs) {
      if (!t.defined()) throw ValueError("corten: an input of a traced branch is undefined");
      handles.push_back(zeros_like ? zeros(t.shape(), t.dtype())
                                   : t.as_strided(t.shape(), t.strides(), t.offset()));
    }
  }
  state->first_id = corten::detail::next_tensor_id();
  state->streams = philox_stream_offsets();
  for (const Tensor& t : handles) {
    state->input_slots.push_back(state->new_slot(t));
    state->input_shapes.push_back(t.shape());
    state->input_dtypes.push_back(t.dtype());
  }
  tls_trace = state.release();
  return handles;
}

SubPlan end_sub(const Tensors& outputs) {
  if (!tls_trace || !tls_trace->parent) {
    throw ValueError("corten: no branch or loop body is being traced on this thread");
  }
  for (const Tensor& t : outputs) {
    if (!t.defined()) throw ValueError("corten: an output of a traced branch is undefined");
  }
  // The outputs' refs first: one may be a value of an enclosing trace (an implicit input).
  std::shared_ptr<Plan> plan = PlanBuilder::build(*tls_trace, outputs, true);
  std::unique_ptr<TraceState> s = pop_and_restore();
  return {std::move(plan), std::move(s->implicit)};
}

void cancel_sub() noexcept {
  if (tls_trace && tls_trace->parent) pop_and_restore();
}

Tensors sub_implicit() { return tls_trace ? tls_trace->implicit : Tensors{}; }

Tensors sub_variables() {
  Tensors out;
  if (!tls_trace) return out;
  for (const Tensor& t : tls_trace->captures) {
    if (t.is_variable()) out.push_back(t);
  }
  return out;
}

void Plan::compute_releases(std::vector<Node>& nodes, const std::vector<int32_t>& outputs,
                            int32_t num_slots) {
  // Last reads: a slot is released after the last node that reads it, unless it is an output;
  // slots no node reads are released right after the node that makes them.
  std::vector<int32_t> last(static_cast<size_t>(num_slots), -1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto at = static_cast<int32_t>(i);
    const Node& node = nodes[i];
    for (int32_t r : node.inputs) {
      if (r >= 0) last[static_cast<size_t>(r)] = at;
    }
    for (int32_t k = 0; k < node.num_outputs; ++k) {
      const auto slot = static_cast<size_t>(node.first_output + k);
      if (last[slot] < 0) last[slot] = at;
    }
  }
  for (int32_t r : outputs) {
    if (r >= 0) last[static_cast<size_t>(r)] = -1;
  }
  for (Node& node : nodes) node.release.clear();
  for (size_t slot = 0; slot < last.size(); ++slot) {
    if (last[slot] >= 0) {
      nodes[static_cast<size_t>(last[slot])].release.push_back(static_cast<int32_t>(slot));
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& node = nodes[i];
    node.moves.assign(node.inputs.size(), 0);
    for (size_t j = 0; j < node.inputs.size(); ++j) {
      const int32_t r = node.inputs[j];
      node.moves[j] = r >= 0 && last[static_cast<size_t>(r)] == static_cast<int32_t>(i) &&
                      std::count(node.inputs.begin(), node.inputs.end(), r) == 1;
    }
  }
}

Effect Plan::effect() const {
  Effect e = Effect::None;
  for (const Node& node : nodes_) e = std::max(e, node.effect);
  return e;
}

const Tensor& Plan::value(const Tensors& vals, int32_t r) const {
  static const Tensor undefined;
  if (r == kUndefined) return undefined;
  return r >= 0 ? vals[static_cast<size_t>(r)] : captures_[static_cast<size_t>(-1 - r)];
}

void Plan::find_dense_chain() { dense_ = DenseChain::of(*this); }

Tensors Plan::run(const Tensors& inputs) const {
  // Under an active trace the nodes' replays record themselves into it (a loaded signature
  // called inside a traced function); the chain would not.
  if (dense_ && !active()) {
    std::optional<Tensors> out = dense_->run(*this, inputs);
    if (out) return std::move(*out);
  }
  return run_timed(inputs, nullptr);
}

std::vector<double> Plan::profile(const Tensors& inputs, int runs) const {
  CORTEN_CHECK_VALUE(runs > 0, "Plan.profile: runs must be positive; got ", runs);
  std::vector<double> seconds(nodes_.size(), 0.0);
  for (int i = 0; i < runs; ++i) run_timed(inputs, &seconds);
  for (double& t : seconds) t /= runs;
  return seconds;
}

Tensors Plan::run_timed(const Tensors& inputs, std::vector<double>* seconds) const {
  CORTEN_CHECK_VALUE(inputs.size() == input_shapes_.size(), "corten.function: the plan takes ",
                     input_shapes_.size(), " tensors; got ", inputs.size());
  Tensors vals(static_cast<size_t>(num_slots_));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    CORTEN_CHECK_VALUE(t.defined(), "corten.function: input ", i, " is undefined");
    // A sub-plan's sizes may vary: the stacked iterations of a loop nested in it (Note
    // [Traced control flow]); its other inputs come from its node with the traced shapes.
    const Shape& want = input_shapes_[i];
    bool shape_ok = t.ndim() == static_cast<int64_t>(want.size());
    for (size_t d = 0; shape_ok && !sub_ && d < want.size(); ++d) {
      // Unknown in a relaxed plan (Note [Relaxed plans]).
      shape_ok = want[d] == kUnknownDim || want[d] == t.shape()[d];
    }
    CORTEN_CHECK_VALUE(shape_ok && t.dtype() == input_dtypes_[i], "corten.function: input ", i,
                       " must be ", dtype_name(input_dtypes_[i]), " of shape ",
                       show(input_shapes_[i]), " as traced; got ", dtype_name(t.dtype()),
                       " of shape ", show(t.shape()));
    vals[static_cast<size_t>(input_slots_[i])] = t;
  }
  autograd::PauseRecording no_tape;
  Tensors args;
  args.reserve(8);
  bool communicating = false;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = nodes_[i];
    args.clear();
    for (size_t j = 0; j < node.inputs.size(); ++j) {
      const int32_t r = node.inputs[j];
      if (j < node.moves.size() && node.moves[j]) {
        args.push_back(std::move(vals[static_cast<size_t>(r)]));
      } else {
        args.push_back(value(vals, r));
      }
    }
    const auto start = seconds ? Clock::now() : Clock::time_point();
    Tensors outs = node.replay(args);
    if (seconds) {
      (*seconds)[i] += std::chrono::duration<double>(Clock::now() - start).count();
    }
    if (static_cast<int32_t>(outs.size()) != node.num_outputs) {
      throw ValueError("corten.function: '" + node.op + "' returned " +
                       std::to_string(outs.size()) + " tensors on replay; it was traced with " +
                       std::to_string(node.num_outputs));
    }
    for (int32_t k = 0; k < node.num_outputs; ++k) {
      vals[static_cast<size_t>(node.first_output + k)] = std::move(outs[static_cast<size_t>(k)]);
    }
    for (int32_t slot : node.release) vals[static_cast<size_t>(slot)] = Tensor();
    // A collective started by a node moves its data only inside MPI's calls: each later node
    // gives it a turn, so that it overlaps the rest of the step (Note [Dead ranks]).
    communicating |= node.effect == Effect::Communicates;
    if (communicating) detail::run_progress_hook();
  }
  args.clear();
  Tensors out;
  out.reserve(outputs_.size());
  for (int32_t r : outputs_) out.push_back(value(vals, r));
  return out;
}

std::string Plan::summary() const {
  std::ostringstream os;
  os << "Plan: " << nodes_.size() << " nodes (" << dead_ << " dead dropped, " << folded_
     << " folded, " << fused_nodes_ << " fused into " << fused_groups_ << "), "
     << input_shapes_.size() << " inputs, " << captures_.size() << " captures, " << outputs_.size()
     << " outputs, peak " << peak_bytes_ << " bytes of intermediates\n";
  for (size_t i = 0; i < input_shapes_.size(); ++i) {
    os << "  %" << input_slots_[i] << " = input " << dtype_name(input_dtypes_[i])
       << show(input_shapes_[i]) << "\n";
  }
  for (size_t k = 0; k < captures_.size(); ++k) {
    const Tensor& c = captures_[k];
    os << "  c" << k << " = " << (c.is_variable() ? "variable " : "constant ")
       << dtype_name(c.dtype()) << show(c.shape()) << "\n";
  }
  for (const Node& node : nodes_) {
    os << "  ";
    for (int32_t k = 0; k < node.num_outputs; ++k) {
      os << (k ? ", " : "") << "%" << node.first_output + k;
    }
    os << (node.num_outputs ? " = " : "") << node.op << "(";
    for (size_t k = 0; k < node.inputs.size(); ++k)
      os << (k ? ", " : "") << show_ref(node.inputs[k]);
    os << ")" << effect_name(node.effect);
    if (node.num_outputs) {
      os << "  -> ";
      for (int32_t k = 0; k < node.num_outputs; ++k) {
        const auto slot = static_cast<size_t>(node.first_output + k);
        os << (k ? ", " : "") << (slot < slot_types_.size() ? slot_types_[slot] : "?");
      }
    }
    if (!node.release.empty()) {
      os << "  frees";
      for (int32_t slot : node.release) os << " %" << slot;
    }
    os << "\n";
  }
  os << "  return ";
  for (size_t k = 0; k < outputs_.size(); ++k) os << (k ? ", " : "") << show_ref(outputs_[k]);
  os << "\n";
  if (dense_) os << "Runs as a chain of " << dense_->size() << " Dense products\n";
  return os.str();
}

}  // namespace corten::trace
