// The tape engine: recording, the backward sweep, Variables.
#include <corten/autograd.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "autograd/registry.h"
#include "ops/common.h"

namespace corten::autograd {

struct OpRecord {
  const char* op;
  std::vector<uint64_t> input_ids;
  std::vector<uint64_t> output_ids;
  std::vector<Shape> output_shapes;
  std::vector<DType> output_dtypes;
  BackwardFn backward;
};

struct TapeState {
  bool persistent = false;
  bool watch_variables = true;
  bool active = false;  // between push() and pop()
  bool paused = false;
  bool used = false;    // gradient() was called (non-persistent tapes allow it once)
  // Records the ops on every floating input, watched or not (set_watch_all).
  bool watch_all = false;
  std::unordered_set<uint64_t> on_tape;  // ids of watched tensors and recorded outputs
  std::vector<Tensor> variables;         // watched variables, in first-watch order
  std::vector<std::shared_ptr<const OpRecord>> records;
  bool recording() const { return active && !paused; }
};

namespace {

// Tapes active on this thread, innermost last, and how many of them record right now.
thread_local std::vector<TapeState*> tls_tapes;
thread_local int tls_recording = 0;
// The needed-input mask of the backward rule running on this thread (null: all needed).
thread_local const std::vector<char>* tls_needed_inputs = nullptr;
std::atomic<int64_t> g_records_created{0};

void update_recording_count() {
  int n = 0;
  for (TapeState* t : tls_tapes) n += t->recording();
  tls_recording = n;
}

bool differentiable_dtype(DType t) { return is_floating_point(t); }

void watch_into(TapeState& s, const Tensor& t) {
  if (!t.defined() || !differentiable_dtype(t.dtype())) return;
  const bool inserted = s.on_tape.insert(t.id()).second;
  if (inserted && t.is_variable()) s.variables.push_back(t);
}

Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }

}  // namespace

Tape::Tape(bool persistent, bool watch_accessed_variables) : state_(new TapeState()) {
  state_->persistent = persistent;
  state_->watch_variables = watch_accessed_variables;
}

Tape::~Tape() {
  if (state_->active) pop();
}

void Tape::push() {
  CORTEN_CHECK_VALUE(!state_->active, "GradientTape: the tape is already recording");
  state_->active = true;
  state_->paused = false;
  tls_tapes.push_back(state_.get());
  update_recording_count();
}

void Tape::pop() {
  auto it = std::find(tls_tapes.begin(), tls_tapes.end(), state_.get());
  if (it != tls_tapes.end()) tls_tapes.erase(it);
  state_->active = false;
  update_recording_count();
}

void Tape::pause() {
  state_->paused = true;
  update_recording_count();
}

void Tape::resume() {
  state_->paused = false;
  update_recording_count();
}

bool Tape::recording() const { return state_->recording(); }

void Tape::watch(const Tensor& t) { watch_into(*state_, t); }

void Tape::set_watch_all(bool watch_all) { state_->watch_all = watch_all; }

std::vector<Tensor> Tape::watched_variables() const { return state_->variables; }

void Tape::reset() {
  state_->on_tape.clear();
  state_->variables.clear();
  state_->records.clear();
  state_->used = false;
}

int64_t Tape::num_records() const { return static_cast<int64_t>(state_->records.size()); }

bool is_recording() noexcept { return tls_recording > 0; }

void record(const char* op, TensorSpan inputs, TensorSpan outputs,
            FunctionRef<BackwardFn()> make_backward) {
  // Hot path: every differentiable op calls this while any tape records on this thread. Nothing
  // below allocates until the op turns out to be recorded.
  if (tls_recording == 0) return;
  bool any_float_output = false;
  for (const Tensor& o : outputs)
    any_float_output |= o.defined() && differentiable_dtype(o.dtype()) && !o.is_meta();
  if (!any_float_output) return;
  std::shared_ptr<OpRecord> rec;
  for (TapeState* tape : tls_tapes) {
    if (!tape->recording()) continue;
    bool hit = false;
    for (const Tensor& in : inputs) {
      if (!in.defined()) continue;
      if (tape->watch_variables && in.is_variable() && in.trainable()) watch_into(*tape, in);
      hit = hit || tape->on_tape.count(in.id()) > 0 ||
            (tape->watch_all && differentiable_dtype(in.dtype()));
    }
    if (!hit) continue;
    if (!rec) {
      rec = std::make_shared<OpRecord>();
      rec->op = op;
      rec->input_ids.reserve(inputs.size());
      for (const Tensor& in : inputs) rec->input_ids.push_back(in.defined() ? in.id() : 0);
      rec->output_ids.reserve(outputs.size());
      rec->output_shapes.reserve(outputs.size());
      rec->output_dtypes.reserve(outputs.size());
      for (const Tensor& o : outputs) {
        rec->output_ids.push_back(o.id());
        rec->output_shapes.push_back(o.shape());
        rec->output_dtypes.push_back(o.dtype());
      }
      rec->backward = make_backward();
      g_records_created.fetch_add(1, std::memory_order_relaxed);
    }
    tape->records.push_back(rec);
    for (const Tensor& o : outputs)
      if (o.defined() && differentiable_dtype(o.dtype())) tape->on_tape.insert(o.id());
  }
}

PauseRecording::PauseRecording() {
  for (TapeState* t : tls_tapes) {
    if (!t->paused) {
      t->paused = true;
      paused_.push_back(t);
    }
  }
  update_recording_count();
}

PauseRecording::~PauseRecording() {
  for (TapeState* t : paused_) t->paused = false;
  update_recording_count();
}

int64_t records_created() noexcept { return g_records_created.load(); }

bool needs_input_grad(size_t k) noexcept {
  return tls_needed_inputs == nullptr || k >= tls_needed_inputs->size() ||
         (*tls_needed_inputs)[k] != 0;
}

std::vector<Tensor> Tape::gradient(const std::vector<Tensor>& targets,
                                   const std::vector<Tensor>& sources,
                                   const std::vector<Tensor>& output_gradients,
                                   bool unconnected_zero, GradientObserver* observer) {
  TapeState& s = *state_;
  if (s.used && !s.persistent) {
    throw Error(
        "GradientTape.gradient can only be called once on a non-persistent tape; create the "
        "tape with persistent=True to compute several gradients");
  }
  CORTEN_CHECK_VALUE(output_gradients.empty() || output_gradients.size() == targets.size(),
                     "GradientTape.gradient: output_gradients has ", output_gradients.size(),
                     " entries but there are ", targets.size(), " targets");
  for (size_t i = 0; i < output_gradients.size(); ++i) {
    const Tensor& g = output_gradients[i];
    if (!g.defined()) continue;
    CORTEN_CHECK_VALUE(g.shape() == targets[i].shape(), "GradientTape.gradient: output_gradients[",
                       i, "] has shape ", show(g.shape()), " but the target has shape ",
                       show(targets[i].shape()));
  }
  s.used = true;
  // Outer tapes record this backward pass (higher-order gradients). This tape does not, except a
  // persistent tape still recording (gradient() inside its `with` block), which records it like
  // TensorFlow so that it can differentiate its own gradients. A non-persistent tape stops
  // recording for good (TensorFlow pops it): its records are freed below and it cannot be used
  // again, so later ops in its `with` block must not pile up on it.
  if (!s.persistent && s.active) pop();
  const bool was_paused = s.paused;
  if (!s.persistent) s.paused = true;
  update_recording_count();
  struct Restore {
    TapeState& s;
    bool was_paused;
    ~Restore() {
      s.paused = was_paused;
      update_recording_count();
    }
  } restore{s, was_paused};

  // Forward sweep: records that depend on a source. Only sources on the tape (watched, or
  // outputs of recorded ops) get gradients: an unwatched tensor passed as a source is
  // unconnected even when a recorded op read it (TensorFlow's rule).
  std::unordered_set<uint64_t> reach;
  for (const Tensor& src : sources)
    if (src.defined() && differentiable_dtype(src.dtype()) && s.on_tape.count(src.id()))
      reach.insert(src.id());
  std::vector<char> relevant(s.records.size(), 0);
  for (size_t r = 0; r < s.records.size(); ++r) {
    const OpRecord& rec = *s.records[r];
    bool hit = false;
    for (uint64_t id : rec.input_ids) hit |= reach.count(id) > 0;
    if (!hit) continue;
    relevant[r] = 1;
    for (uint64_t id : rec.output_ids) reach.insert(id);
  }

  // Backward sweep in reverse recording order (a topological order).
  std::unordered_map<uint64_t, Tensor> grads;
  auto accumulate = [&](uint64_t id, const Tensor& g) {
    auto it = grads.find(id);
    if (it == grads.end()) {
      grads.emplace(id, g);
    } else {
      it->second = add(it->second, g);
    }
  };
  for (size_t i = 0; i < targets.size(); ++i) {
    const Tensor& t = targets[i];
    if (!t.defined() || !differentiable_dtype(t.dtype())) continue;
    const Tensor g = i < output_gradients.size() && output_gradients[i].defined()
                         ? cast(output_gradients[i], t.dtype())
                         : ones_like(t);
    accumulate(t.id(), g);
  }
  // A source's gradient is final once the backward sweep has passed the first relevant record
  // that reads it: the observer hears of it then, and of the rest (targets, unconnected
  // sources) at the end.
  std::unordered_map<size_t, std::vector<size_t>> final_after;
  std::vector<char> told(sources.size(), 0);
  if (observer) {
    std::unordered_map<uint64_t, size_t> first_reader;
    for (size_t r = 0; r < s.records.size(); ++r) {
      if (!relevant[r]) continue;
      for (uint64_t id : s.records[r]->input_ids) first_reader.emplace(id, r);
    }
    for (size_t i = 0; i < sources.size(); ++i) {
      if (!sources[i].defined()) continue;
      auto it = first_reader.find(sources[i].id());
      if (it != first_reader.end()) final_after[it->second].push_back(i);
    }
  }
  auto source_grad = [&](size_t i) {
    const Tensor& src = sources[i];
    auto it = src.defined() && reach.count(src.id()) ? grads.find(src.id()) : grads.end();
    if (it != grads.end() && differentiable_dtype(src.dtype())) return it->second;
    if (unconnected_zero && src.defined() && differentiable_dtype(src.dtype()))
      return zeros(src.shape(), src.dtype());
    return Tensor();
  };
  std::vector<char> needed;
  for (size_t r = s.records.size(); r-- > 0;) {
    if (!relevant[r]) continue;
    // A copy of the handle: a persistent tape recording its own backward pass appends to
    // s.records (and may reallocate it) while rec.backward runs.
    const std::shared_ptr<const OpRecord> rec_ptr = s.records[r];
    const OpRecord& rec = *rec_ptr;
    bool any = false;
    for (uint64_t id : rec.output_ids) any |= grads.count(id) > 0;
    if (!any) continue;
    std::vector<Tensor> gouts;
    gouts.reserve(rec.output_ids.size());
    for (size_t k = 0; k < rec.output_ids.size(); ++k) {
      auto it = grads.find(rec.output_ids[k]);
      gouts.push_back(it != grads.end() ? it->second
                                        : zeros(rec.output_shapes[k], rec.output_dtypes[k]));
    }
    needed.assign(rec.input_ids.size(), 0);
    for (size_t k = 0; k < rec.input_ids.size(); ++k) needed[k] = reach.count(rec.input_ids[k]) > 0;
    std::vector<Tensor> gins;
    {
      // Set for this rule only: a rule may itself run gradient() (nested tapes).
      struct NeededScope {
        const std::vector<char>* saved = tls_needed_inputs;
        explicit NeededScope(const std::vector<char>* m) { tls_needed_inputs = m; }
        ~NeededScope() { tls_needed_inputs = saved; }
      } scope(&needed);
      gins = rec.backward(gouts);
    }
    for (size_t k = 0; k < rec.input_ids.size() && k < gins.size(); ++k) {
      if (gins[k].defined() && reach.count(rec.input_ids[k])) accumulate(rec.input_ids[k], gins[k]);
    }
    if (observer) {
      auto done = final_after.find(r);
      if (done != final_after.end()) {
        for (size_t i : done->second) {
          told[i] = 1;
          observer->ready(i, source_grad(i));
        }
      }
      observer->step();
    }
  }

  std::vector<Tensor> result;
  result.reserve(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    result.push_back(source_grad(i));
    if (observer && !told[i]) observer->ready(i, result.back());
  }
  if (!s.persistent) {
    s.records.clear();
    s.records.shrink_to_fit();
    s.on_tape.clear();
  }
  return result;
}

std::vector<std::string> differentiable_ops() { return registered_ops(); }

Tensor make_variable(const Tensor& value, bool trainable) {
  detail::check_defined(value, "Variable", "initial_value");
  CORTEN_CHECK_VALUE(!value.is_meta(), "Variable: the initial value must have data; got a meta "
                     "tensor of shape ", show(value.shape()));
  // A Variable is state, made once: never a node of a traced function (its value is read when
  // the trace begins, like TensorFlow's lifted initialisers).
  const trace::Pause not_traced;
  Tensor v = clone(value);
  v.impl()->is_variable = true;
  v.impl()->trainable = trainable;
  return v;
}

void assign_variable(const Tensor& variable, const Tensor& value, AssignMode mode) {
  const char* op = mode == AssignMode::Assign ? "assign"
                   : mode == AssignMode::Add  ? "assign_add"
                                              : "assign_sub";
  CORTEN_CHECK_VALUE(variable.defined() && variable.is_variable(), op,
                     ": the destination is not a Variable");
  detail::check_defined(value, op, "value");
  CORTEN_CHECK_TYPE(value.dtype() == variable.dtype(), op, ": the value has dtype ",
                    dtype_name(value.dtype()), " but the variable has dtype ",
                    dtype_name(variable.dtype()), " (use corten.cast to convert it)");
  CORTEN_CHECK_VALUE(value.shape() == variable.shape(), op, ": the value has shape ",
                     show(value.shape()), " but the variable has shape ", show(variable.shape()),
                     "; the shapes must be equal");
  CORTEN_CHECK_VALUE(!value.is_meta(), op,
                     ": the value must have data; got a meta tensor of shape ", show(value.shape()));
  // Variable updates are state changes, not differentiable ops.
  trace::OpRecord rec;
  trace::will_write({variable});
  PauseRecording no_record;
  Tensor src = value;
  if (mode == AssignMode::Add) src = add(variable, value);
  if (mode == AssignMode::Subtract) src = subtract(variable, value);
  // The value may be a view of the variable (v.assign(v[::-1])): read it all before writing.
  if (src.storage().get() == variable.storage().get()) src = clone(src);
  copy_(variable, src);
  rec.record_effect(
      trace::Effect::Writes, op, {variable, value}, {},
      [](const trace::Tensors& in, const auto& mode) { assign_variable(in[0], in[1], mode); },
      mode);
}

void set_trainable(const Tensor& variable, bool trainable) {
  CORTEN_CHECK_VALUE(variable.defined() && variable.is_variable(),
                     "set_trainable: the tensor is not a Variable");
  variable.impl()->trainable = trainable;
}

Tensor stop_gradient(const Tensor& x) {
  trace::OpRecord rec;
  detail::check_defined(x, "stop_gradient", "input");
  if (x.is_meta()) return Tensor::empty(x.shape(), x.dtype(), Device::Meta);
  Tensor out = x.as_strided(x.shape(), x.strides(), x.offset());
  rec.record("stop_gradient", {x}, {out},
             [](const trace::Tensors& in) { return stop_gradient(in[0]); });
  return out;
}

}  // namespace corten::autograd
