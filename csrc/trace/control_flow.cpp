// Note [Traced control flow]
// corten.cond and corten.while_loop on traced values (tf.cond / tf.while_loop in tf.function).
// Python traces each branch, loop condition and loop body as a sub-plan (Note [Nested traces]
// in plan.cpp); the entry points below run them and record themselves as one node of the
// enclosing trace, whose replay runs the chosen branch or loops, so the predicate and the trip
// count are decided on every replay. A node's effect is the strongest of its sub-plans'.
//
// Node outputs are always new tensors: a sub-plan may return one of its inputs or a captured
// tensor, and a slot must not be keyed by the id of a tensor that already has one (distinct()
// makes a new handle of the same data, or copies a Variable, whose value later writes change).
//
// Gradients. When a tape records while a branch or body is traced, Python also traces its
// gradient: the forward runs under a private tape that records every op with a floating input
// (Tape::set_watch_all), and a second sub-trace, nested in the forward's, runs that tape's
// gradient of the results with respect to the sources (explicit inputs, implicit inputs and
// Variables read), the upstream gradients being the gradient plan's explicit inputs. The
// forward tensors the backward reads become the gradient plan's implicit inputs; the forward
// plan returns them as extra outputs ("saved"), so that a replay's backward reads the values
// of the same replay (no recomputation, and random draws are not repeated).
//   - cond outputs the results, then the saved tensors of the true branch, then those of the
//     false branch (zeros for the branch not taken). Its tape op's inputs are each branch's
//     sources (true's, then false's: a tensor both read appears twice and the tape adds the
//     two parts); its backward is cond_grad, itself a node: it runs the taken branch's
//     gradient plan and returns zeros for the other branch's sources.
//   - while_loop outputs the final loop variables, then the trip count (an int64 scalar) and
//     each saved tensor of every iteration stacked on a new first axis. Its backward,
//     while_grad, runs the body's gradient plan from the last iteration to the first: the loop
//     variables' gradients flow from one iteration to the one before, and the gradients of the
//     implicit inputs and Variables are summed. A loop nested in a branch or body saves stacks
//     whose length varies with its trip count: sub-plans check their inputs' ranks only, and
//     an enclosing loop pads such stacks to the longest (pad_to_largest).
// The Variables a branch or body differentiates are also inputs of its node (the replay
// ignores them), so that a branch enclosing the node captures them and differentiates them too.
// The backward nodes are not differentiable themselves (first derivatives only).

#include <corten/autograd.h>
#include <corten/devices.h>
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace_control.h>

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>

#include "autograd/registry.h"

namespace corten::trace {
namespace {

const bool kRegistered = autograd::register_ops({"cond", "while_loop"});

using FnPtr = std::shared_ptr<const TracedFn>;

bool read_bool(const Tensor& p, const char* op, const char* what) {
  CORTEN_CHECK_VALUE(p.defined(), op, ": ", what, " is undefined");
  CORTEN_CHECK_TYPE(p.dtype() == DType::Bool, op, ": ", what, " must be a bool tensor; got dtype ",
                    dtype_name(p.dtype()));
  CORTEN_CHECK_VALUE(p.ndim() == 0, op, ": ", what, " must be a scalar; got shape ",
                     show(p.shape()));
  CORTEN_CHECK_VALUE(!p.is_meta(), op, ": ", what, " must have data; got a meta tensor");
  return *readable_on_host(p, op).data<bool>();
}

int64_t read_int(const Tensor& t, const char* op, const char* what) {
  CORTEN_CHECK_VALUE(t.defined() && !t.is_meta(), op, ": ", what, " must be a tensor with data");
  CORTEN_CHECK_VALUE(t.ndim() == 0, op, ": ", what, " must be a scalar; got shape ",
                     show(t.shape()));
  CORTEN_CHECK_TYPE(t.dtype() == DType::Int64 || t.dtype() == DType::Int32, op, ": ", what,
                    " must be an int32 or int64 tensor; got dtype ", dtype_name(t.dtype()));
  const Tensor h = readable_on_host(t, op);
  return h.dtype() == DType::Int64 ? *h.data<int64_t>() : *h.data<int32_t>();
}

Tensors concat_lists(const Tensors& a, const Tensors& b) {
  Tensors out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Tensors slice(const Tensors& v, size_t begin, size_t end) {
  return Tensors(v.begin() + static_cast<std::ptrdiff_t>(begin),
                 v.begin() + static_cast<std::ptrdiff_t>(end));
}

// See the Note: every output a new tensor, none repeated.
void distinct(Tensors& outs, uint64_t first_new_id) {
  std::unordered_set<uint64_t> seen;
  for (Tensor& t : outs) {
    if (!t.defined()) continue;
    if (t.id() < first_new_id || !seen.insert(t.id()).second) {
      t = t.is_variable() ? clone(t) : t.as_strided(t.shape(), t.strides(), t.offset());
      seen.insert(t.id());
    }
  }
}

// Stand-ins for the saved tensors of the branch not taken: zeros of their shapes (a loop body
// stacks them over iterations), broadcast from one element.
Tensors placeholders(const TracedFn& f) {
  Tensors out;
  for (int64_t j = 0; j < f.num_saved(); ++j) {
    const auto k = static_cast<size_t>(f.num_results + j);
    out.push_back(broadcast_to(zeros({}, f.grad->input_dtypes()[k]), f.grad->input_shapes()[k]));
  }
  return out;
}

// Zeros for each floating source (its gradient when the branch is not taken); undefined for
// the others, which never get gradients.
Tensor zero_grad(const TracedFn& f, int64_t k) {
  const auto i = static_cast<size_t>(k);
  if (!is_floating(f.source_dtypes[i])) return Tensor();
  return zeros(f.source_shapes[i], f.source_dtypes[i]);
}

// The gradient plan's outputs spread over f's sources (zeros where it has none).
Tensors spread_grads(const TracedFn& f, const Tensors& grads) {
  Tensors out(static_cast<size_t>(f.num_sources()));
  for (size_t k = 0; k < grads.size(); ++k) {
    out[static_cast<size_t>(f.grad_source[k])] = grads[k];
  }
  for (int64_t k = 0; k < f.num_sources(); ++k) {
    if (!out[static_cast<size_t>(k)].defined()) out[static_cast<size_t>(k)] = zero_grad(f, k);
  }
  return out;
}

// The tape op's inputs for f: its explicit inputs, its implicit inputs that are sources, then
// its Variables.
Tensors source_tensors(const TracedFn& f, const Tensors& explicit_inputs,
                       const Tensors& implicit_inputs) {
  Tensors out = explicit_inputs;
  out.insert(out.end(), implicit_inputs.begin(),
             implicit_inputs.begin() + static_cast<std::ptrdiff_t>(f.num_implicit_sources));
  out.insert(out.end(), f.variables.begin(), f.variables.end());
  return out;
}

void check_inputs(const TracedFn& f, size_t n_explicit, size_t n_implicit, const char* op,
                  const char* what) {
  CORTEN_CHECK_VALUE(static_cast<int64_t>(n_explicit) == f.num_explicit() &&
                         static_cast<int64_t>(n_implicit) == f.fwd->num_implicit(),
                     op, ": ", what, " takes ", f.num_explicit(), " explicit and ",
                     f.fwd->num_implicit(), " implicit inputs; got ", n_explicit, " and ",
                     n_implicit);
}

// ---- cond ------------------------------------------------------------------------------------

bool differentiated(const TracedFn& t, const TracedFn& f) { return t.grad && f.grad; }

Tensors cond_impl(const Tensor& pred, const TracedFn& t, const TracedFn& f, const Tensors& ti,
                  const Tensors& fi) {
  const bool taken = read_bool(pred, "cond", "pred");
  const uint64_t first_new = corten::detail::next_tensor_id();
  const TracedFn& b = taken ? t : f;
  Tensors outs = b.fwd->run(taken ? ti : fi);
  if (differentiated(t, f)) {
    // Results, then the true branch's saved tensors, then the false branch's.
    Tensors saved = slice(outs, static_cast<size_t>(b.num_results), outs.size());
    outs.resize(static_cast<size_t>(b.num_results));
    const Tensors none_t = placeholders(t), none_f = placeholders(f);
    const Tensors& st = taken ? saved : none_t;
    const Tensors& sf = taken ? none_f : saved;
    outs.insert(outs.end(), st.begin(), st.end());
    outs.insert(outs.end(), sf.begin(), sf.end());
  }
  distinct(outs, first_new);
  return outs;
}

Tensors cond_grad_impl(const Tensor& pred, const TracedFn& t, const TracedFn& f,
                       const Tensors& upstream, const Tensors& saved_t, const Tensors& saved_f) {
  const bool taken = read_bool(pred, "cond", "pred");
  const uint64_t first_new = corten::detail::next_tensor_id();
  Tensors out;
  // The true branch's sources, then the false branch's (the tape op's inputs).
  for (const bool branch : {true, false}) {
    const TracedFn& b = branch ? t : f;
    Tensors g;
    if (branch == taken) {
      g = spread_grads(b, b.grad->run(concat_lists(upstream, branch ? saved_t : saved_f)));
    } else {
      for (int64_t k = 0; k < b.num_sources(); ++k) g.push_back(zero_grad(b, k));
    }
    out.insert(out.end(), g.begin(), g.end());
  }
  distinct(out, first_new);
  return out;
}

Tensors cond_grad(const Tensor& pred, const FnPtr& t, const FnPtr& f, const Tensors& upstream,
                  const Tensors& saved_t, const Tensors& saved_f) {
  OpRecord rec;
  Tensors out;
  {
    const autograd::PauseRecording inside;
    out = cond_grad_impl(pred, *t, *f, upstream, saved_t, saved_f);
  }
  Tensors inputs{pred};
  for (const Tensors* l : {&upstream, &saved_t, &saved_f}) {
    inputs.insert(inputs.end(), l->begin(), l->end());
  }
  const size_t n_up = upstream.size(), n_t = saved_t.size();
  rec.record(
      "cond_grad", inputs, out,
      [](const Tensors& in, const FnPtr& t, const FnPtr& f, size_t n_up, size_t n_t) {
        const autograd::PauseRecording inside;
        return cond_grad_impl(in[0], *t, *f, slice(in, 1, 1 + n_up),
                              slice(in, 1 + n_up, 1 + n_up + n_t),
                              slice(in, 1 + n_up + n_t, in.size()));
      },
      t, f, n_up, n_t);
  return out;
}

// ---- while_loop ------------------------------------------------------------------------------

// A loop nested in the body saves stacks whose length is its trip count, which may differ
// from iteration to iteration: such steps are padded with zeros to the largest (the nested
// loop's backward reads only the first trip-count entries).
Tensors pad_to_largest(const Tensors& steps) {
  Shape largest = steps[0].shape();
  bool same = true;
  for (const Tensor& s : steps) {
    for (size_t d = 0; d < largest.size(); ++d) {
      same = same && s.shape()[d] == largest[d];
      largest[d] = std::max(largest[d], s.shape()[d]);
    }
  }
  if (same) return steps;
  Tensors out;
  for (const Tensor& s : steps) {
    std::vector<std::pair<int64_t, int64_t>> paddings;
    for (size_t d = 0; d < largest.size(); ++d) paddings.emplace_back(0, largest[d] - s.shape()[d]);
    out.push_back(s.shape() == largest ? s : pad(s, paddings, PadMode::Constant, 0.0));
  }
  return out;
}

Tensors while_impl(const TracedFn& c, const TracedFn& b, const Tensors& vars, const Tensors& ci,
                   const Tensors& bi, const Tensor& max_iter) {
  const uint64_t first_new = corten::detail::next_tensor_id();
  const int64_t limit =
      max_iter.defined() ? read_int(max_iter, "while_loop", "maximum_iterations") : -1;
  const size_t nv = vars.size();
  Tensors v = vars;
  std::vector<Tensors> saved;
  int64_t n = 0;
  while ((limit < 0 || n < limit) &&
         read_bool(c.fwd->run(concat_lists(v, ci)).at(0), "while_loop", "cond's result")) {
    Tensors outs = b.fwd->run(concat_lists(v, bi));
    if (b.grad) saved.push_back(slice(outs, nv, outs.size()));
    outs.resize(nv);
    v = std::move(outs);
    ++n;
  }
  if (b.grad) {
    v.push_back(full({}, static_cast<double>(n), DType::Int64));
    for (int64_t j = 0; j < b.num_saved(); ++j) {
      const auto k = static_cast<size_t>(b.num_results + j);
      if (n == 0) {
        Shape shape = b.grad->input_shapes()[k];
        shape.insert(shape.begin(), 0);
        v.push_back(zeros(shape, b.grad->input_dtypes()[k]));
        continue;
      }
      Tensors steps;
      for (const Tensors& s : saved) steps.push_back(s[static_cast<size_t>(j)]);
      v.push_back(stack(pad_to_largest(steps), 0));
    }
  }
  distinct(v, first_new);
  return v;
}

Tensors while_grad_impl(const TracedFn& b, const Tensors& saved, const Tensors& upstream) {
  const uint64_t first_new = corten::detail::next_tensor_id();
  const int64_t n = read_int(saved.at(0), "while_loop", "the trip count");
  const size_t nv = upstream.size();
  Tensors g = upstream;
  Tensors acc;
  for (int64_t k = static_cast<int64_t>(nv); k < b.num_sources(); ++k) {
    acc.push_back(zero_grad(b, k));
  }
  for (int64_t it = n; it-- > 0;) {
    Tensors inputs = g;
    IndexItem at;
    at.index = it;
    for (size_t j = 1; j < saved.size(); ++j) inputs.push_back(index(saved[j], {at}));
    const Tensors gs = spread_grads(b, b.grad->run(inputs));
    for (size_t j = 0; j < nv; ++j) {
      if (gs[j].defined()) g[j] = gs[j];
    }
    for (size_t k = 0; k < acc.size(); ++k) {
      if (acc[k].defined()) acc[k] = add(acc[k], gs[nv + k]);
    }
  }
  for (size_t j = 0; j < nv; ++j) {
    if (!is_floating(b.source_dtypes[j])) g[j] = Tensor();
  }
  g.insert(g.end(), acc.begin(), acc.end());
  distinct(g, first_new);
  return g;
}

Tensors while_grad(const FnPtr& b, const Tensors& saved, const Tensors& upstream) {
  OpRecord rec;
  Tensors out;
  {
    const autograd::PauseRecording inside;
    out = while_grad_impl(*b, saved, upstream);
  }
  const size_t n_saved = saved.size();
  rec.record(
      "while_grad", concat_lists(saved, upstream), out,
      [](const Tensors& in, const FnPtr& body, size_t n_saved) {
        const autograd::PauseRecording inside;
        return while_grad_impl(*body, slice(in, 0, n_saved), slice(in, n_saved, in.size()));
      },
      b, n_saved);
  return out;
}

}  // namespace

std::shared_ptr<const TracedFn> make_traced_fn(std::shared_ptr<const Plan> fwd, int64_t num_results,
                                               std::shared_ptr<const Plan> grad,
                                               const std::vector<Tensor>& sources,
                                               int64_t num_implicit_sources,
                                               const std::vector<int64_t>& grad_source) {
  CORTEN_CHECK_VALUE(fwd != nullptr, "traced control flow: the forward plan is missing");
  auto f = std::make_shared<TracedFn>();
  f->fwd = std::move(fwd);
  f->num_results = num_results;
  CORTEN_CHECK_VALUE(num_results >= 0 && num_results <= f->fwd->num_outputs(),
                     "traced control flow: ", num_results, " results for a plan of ",
                     f->fwd->num_outputs(), " outputs");
  if (!grad) return f;
  f->grad = std::move(grad);
  f->num_implicit_sources = num_implicit_sources;
  const int64_t n_fixed = f->num_explicit() + num_implicit_sources;
  CORTEN_CHECK_VALUE(num_implicit_sources >= 0 && num_implicit_sources <= f->fwd->num_implicit() &&
                         n_fixed <= static_cast<int64_t>(sources.size()),
                     "traced control flow: the gradient sources do not match the plan");
  for (size_t k = 0; k < sources.size(); ++k) {
    const Tensor& s = sources[k];
    CORTEN_CHECK_VALUE(s.defined(), "traced control flow: gradient source ", k, " is undefined");
    f->source_shapes.push_back(s.shape());
    f->source_dtypes.push_back(s.dtype());
    if (static_cast<int64_t>(k) >= n_fixed) {
      CORTEN_CHECK_VALUE(s.is_variable(), "traced control flow: gradient source ", k,
                         " must be a Variable");
      f->variables.push_back(s);
    }
  }
  CORTEN_CHECK_VALUE(static_cast<int64_t>(grad_source.size()) == f->grad->num_outputs() &&
                         f->grad->num_inputs() - f->grad->num_implicit() == num_results &&
                         f->grad->num_implicit() == f->num_saved(),
                     "traced control flow: the gradient plan does not match the forward plan");
  for (int64_t k : grad_source) {
    CORTEN_CHECK_VALUE(k >= 0 && k < f->num_sources(),
                       "traced control flow: gradient source index ", k, " out of range");
  }
  f->grad_source = grad_source;
  return f;
}

std::vector<Tensor> cond(const Tensor& pred, const FnPtr& true_fn, const FnPtr& false_fn,
                         const std::vector<Tensor>& true_inputs,
                         const std::vector<Tensor>& false_inputs) {
  OpRecord rec;
  CORTEN_CHECK_VALUE(true_fn && false_fn, "cond: a branch is missing");
  read_bool(pred, "cond", "pred");
  const TracedFn& t = *true_fn;
  const TracedFn& f = *false_fn;
  check_inputs(t, 0, true_inputs.size(), "cond", "true_fn");
  check_inputs(f, 0, false_inputs.size(), "cond", "false_fn");
  CORTEN_CHECK_VALUE(t.num_results == f.num_results, "cond: true_fn returns ", t.num_results,
                     " tensors but false_fn returns ", f.num_results);
  Tensors outs;
  {
    const autograd::PauseRecording inside;
    outs = cond_impl(pred, t, f, true_inputs, false_inputs);
  }
  Tensors inputs{pred};
  inputs.insert(inputs.end(), true_inputs.begin(), true_inputs.end());
  inputs.insert(inputs.end(), false_inputs.begin(), false_inputs.end());
  const size_t n_t = true_inputs.size(), n_tf = n_t + false_inputs.size();
  // The Variables the branches differentiate, read by reference: an enclosing branch being
  // traced sees them among its captures (its gradient sources).
  inputs.insert(inputs.end(), t.variables.begin(), t.variables.end());
  inputs.insert(inputs.end(), f.variables.begin(), f.variables.end());
  rec.record_effect(
      std::max(t.fwd->effect(), f.fwd->effect()), "cond", inputs, outs,
      [](const Tensors& in, const FnPtr& tf, const FnPtr& ff, size_t nt, size_t ntf) {
        const autograd::PauseRecording inside;
        return cond_impl(in[0], *tf, *ff, slice(in, 1, 1 + nt), slice(in, 1 + nt, 1 + ntf));
      },
      true_fn, false_fn, n_t, n_tf);
  const auto n = static_cast<size_t>(t.num_results);
  Tensors results = slice(outs, 0, n);
  if (differentiated(t, f) && autograd::is_recording()) {
    Tensors sources = source_tensors(t, {}, true_inputs);
    const Tensors sf = source_tensors(f, {}, false_inputs);
    sources.insert(sources.end(), sf.begin(), sf.end());
    const auto n_st = static_cast<size_t>(t.num_saved());
    Tensors saved_t = slice(outs, n, n + n_st), saved_f = slice(outs, n + n_st, outs.size());
    autograd::record("cond", sources, results, [&]() -> autograd::BackwardFn {
      return [pred, true_fn, false_fn, saved_t, saved_f](const Tensors& grads) {
        return cond_grad(pred, true_fn, false_fn, grads, saved_t, saved_f);
      };
    });
  }
  return results;
}

std::vector<Tensor> while_loop(const FnPtr& cond_fn, const FnPtr& body,
                               const std::vector<Tensor>& loop_vars,
                               const std::vector<Tensor>& cond_inputs,
                               const std::vector<Tensor>& body_inputs,
                               const Tensor& maximum_iterations) {
  OpRecord rec;
  CORTEN_CHECK_VALUE(cond_fn && body, "while_loop: cond or body is missing");
  check_inputs(*cond_fn, loop_vars.size(), cond_inputs.size(), "while_loop", "cond");
  check_inputs(*body, loop_vars.size(), body_inputs.size(), "while_loop", "body");
  CORTEN_CHECK_VALUE(body->num_results == static_cast<int64_t>(loop_vars.size()),
                     "while_loop: body returns ", body->num_results, " tensors for ",
                     loop_vars.size(), " loop variables");
  CORTEN_CHECK_VALUE(cond_fn->num_results == 1, "while_loop: cond must return one tensor");
  if (maximum_iterations.defined()) {
    CORTEN_CHECK_VALUE(read_int(maximum_iterations, "while_loop", "maximum_iterations") >= 0,
                       "while_loop: maximum_iterations must be non-negative");
  }
  Tensors outs;
  {
    const autograd::PauseRecording inside;
    outs = while_impl(*cond_fn, *body, loop_vars, cond_inputs, body_inputs, maximum_iterations);
  }
  Tensors inputs = concat_lists(concat_lists(loop_vars, cond_inputs), body_inputs);
  inputs.push_back(maximum_iterations);
  // As in cond: the body's differentiated Variables, for an enclosing branch's gradient.
  inputs.insert(inputs.end(), body->variables.begin(), body->variables.end());
  const size_t nv = loop_vars.size(), nc = cond_inputs.size(), nb = body_inputs.size();
  rec.record_effect(
      std::max(cond_fn->fwd->effect(), body->fwd->effect()), "while_loop", inputs, outs,
      [](const Tensors& in, const FnPtr& c, const FnPtr& bd, size_t v, size_t n_c, size_t n_b) {
        const autograd::PauseRecording inside;
        return while_impl(*c, *bd, slice(in, 0, v), slice(in, v, v + n_c),
                          slice(in, v + n_c, v + n_c + n_b), in[v + n_c + n_b]);
      },
      cond_fn, body, nv, nc, nb);
  Tensors results = slice(outs, 0, nv);
  if (body->grad && autograd::is_recording()) {
    const Tensors sources = source_tensors(*body, loop_vars, body_inputs);
    Tensors saved = slice(outs, nv, outs.size());
    autograd::record("while_loop", sources, results, [&]() -> autograd::BackwardFn {
      return [body, saved](const Tensors& grads) { return while_grad(body, saved, grads); };
    });
  }
  return results;
}

void append_attr(Attrs& attrs, const std::shared_ptr<const TracedFn>& fn) {
  append_attr(attrs, fn->fwd);
  append_attr(attrs, fn->num_results);
  append_attr(attrs, fn->grad);
  append_attr(attrs, fn->num_implicit_sources);
  append_attr(attrs, fn->grad_source);
  for (const Tensor& v : fn->variables) append_identity(attrs, v.impl());
  for (const Shape& s : fn->source_shapes) append_attr(attrs, s);
  for (DType d : fn->source_dtypes) append_attr(attrs, d);
}

}  // namespace corten::trace
