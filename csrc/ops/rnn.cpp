#include <corten/autograd.h>
#include <corten/devices.h>
#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <memory>
#include <string>

#include "autograd/grad_rules_rnn.h"
#include "ops/common.h"
#include "ops/kernels.h"
#include "ops/rnn_saved.h"

namespace corten {
namespace {

constexpr const char* kOp = "rnn_sequence";

cpu::RnnCell parse_cell(const std::string& name) {
  if (name == "simple_rnn") return cpu::RnnCell::Simple;
  if (name == "lstm") return cpu::RnnCell::Lstm;
  if (name == "gru") return cpu::RnnCell::GruResetAfter;
  if (name == "gru_reset_before") return cpu::RnnCell::GruResetBefore;
  throw ValueError(std::string(kOp) + ": cell must be one of 'simple_rnn', 'lstm', 'gru', "
                   "'gru_reset_before'; got '" + name + "'");
}

cpu::RnnAct parse_act(const std::string& name, const char* arg) {
  if (name == "tanh") return cpu::RnnAct::Tanh;
  if (name == "sigmoid") return cpu::RnnAct::Sigmoid;
  if (name == "relu") return cpu::RnnAct::Relu;
  if (name == "hard_sigmoid") return cpu::RnnAct::HardSigmoid;
  if (name == "linear") return cpu::RnnAct::Linear;
  throw ValueError(std::string(kOp) + ": " + arg + " must be one of 'tanh', 'sigmoid', 'relu', "
                   "'hard_sigmoid', 'linear' for the fused kernel; got '" + name + "'");
}

void check_shape(const Tensor& t, const Shape& want, const char* arg) {
  bool ok = t.ndim() == static_cast<int64_t>(want.size());
  for (size_t i = 0; ok && i < want.size(); ++i) {
    const int64_t a = t.dim(static_cast<int64_t>(i)), b = want[i];
    ok = a == b || a == kUnknownDim || b == kUnknownDim;
  }
  CORTEN_CHECK_VALUE(ok, kOp, ": ", arg, " must have shape ", show(want), "; got ", arg,
                     ".shape=", show(t.shape()));
}

void check_float(const Tensor& t, const Tensor& xw, const char* arg) {
  CORTEN_CHECK_TYPE(t.dtype() == xw.dtype(), kOp, ": ", arg, " must have the dtype of xw (",
                    dtype_name(xw.dtype()), "); got ", dtype_name(t.dtype()));
}

const void* ptr(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }
void* out_ptr(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// Row b of step s (processing order) in an output sequence of the layout of d.
int64_t seq_row(const cpu::RnnDims& d, int64_t s, int64_t b) {
  return d.batch_major ? b * d.steps + s : s * d.batch + b;
}

// A 0-d zero of `like`'s dtype on its device (the fill value of the kernels below).
Tensor zero_on_device_of(const Tensor& like) {
  const Tensor zero = zeros({}, like.dtype());
  return like.device() == Device::CPU ? zero : copy_to_device(zero, device_of(like), "rnn");
}

// out (B, H) = the last output: the last step's rows of y_seq, or without one (no mask) the
// final state h_T; zeros for an empty sequence. Copies through the copy kernel of out's device.
void copy_last_step(const cpu::RnnDims& d, const Tensor& y_seq, const Tensor& h_last,
                    const Tensor& out) {
  const size_t isz = itemsize(out.dtype());
  const Shape rows{d.batch, d.units};
  const Shape dense{d.units, 1};
  const auto copy = kernels::copy(out.device());
  if (d.steps == 0) {
    const Tensor zero = zero_on_device_of(out);
    copy(isz, rows, zero.raw_data(), Shape{0, 0}, out.raw_data(), dense);
    return;
  }
  if (!y_seq.defined()) {
    copy(isz, rows, h_last.raw_data(), dense, out.raw_data(), dense);
    return;
  }
  // Row b of the last step is at seq_row(d, T - 1, b): rows T - 1 + b * T (batch-major) or
  // (T - 1) * B + b (time-major).
  const int64_t first = seq_row(d, d.steps - 1, 0);
  const int64_t step = d.batch > 1 ? seq_row(d, d.steps - 1, 1) - first : 0;
  const char* src = static_cast<const char*>(y_seq.raw_data()) + first * d.units * isz;
  copy(isz, rows, src, Shape{step * d.units, 1}, out.raw_data(), dense);
}

// A sequence gradient, zero but for the last step's rows: dy_last (B, H), padded with zero
// steps before it along the time axis by the pad kernel of its device.
Tensor expand_last_step(const cpu::RnnDims& d, const Tensor& dy_last) {
  const Shape shape = d.batch_major ? Shape{d.batch, d.steps, d.units}
                                    : Shape{d.steps, d.batch, d.units};
  Tensor out = Tensor::empty(shape, dy_last.dtype(), dy_last.device(), "rnn_sequence_grad",
                             dy_last.device_index());
  const Tensor zero = zero_on_device_of(dy_last);
  const Tensor c = dy_last.contiguous();
  const int64_t time_axis = d.batch_major ? 1 : 0;
  Shape one_step = shape;
  one_step[static_cast<size_t>(time_axis)] = 1;
  std::vector<std::pair<int64_t, int64_t>> paddings(3, {0, 0});
  paddings[static_cast<size_t>(time_axis)] = {d.steps - 1, 0};
  kernels::pad(out.device())(itemsize(out.dtype()), one_step, c.raw_data(),
                             contiguous_strides(one_step), paddings, PadMode::Constant,
                             zero.raw_data(), out.raw_data());
  return out;
}

}  // namespace

namespace {

// The sequence's outputs and what its backward reads (null for meta inputs). No autograd.
std::pair<std::vector<Tensor>, std::shared_ptr<detail::RnnSaved>> sequence_parts(
    const std::string& cell_name, const Tensor& xw, const Tensor& h0, const Tensor& c0,
    const Tensor& recurrent_kernel, const Tensor& recurrent_bias, const Tensor& mask,
    const Tensor& recurrent_dropout, const std::string& activation,
    const std::string& recurrent_activation, bool go_backwards, bool zero_output_for_mask,
    bool reference, const Tensor& kernel, const Tensor& bias, bool batch_major,
    bool return_sequences) {
  const cpu::RnnCell cell = parse_cell(cell_name);
  const cpu::RnnAct act = parse_act(activation, "activation");
  const cpu::RnnAct rec_act = parse_act(recurrent_activation, "recurrent_activation");
  detail::check_defined(xw, kOp, "xw");
  detail::check_defined(h0, kOp, "h0");
  detail::check_defined(recurrent_kernel, kOp, "recurrent_kernel");
  CORTEN_CHECK_TYPE(is_floating(xw.dtype()), kOp, ": expected a floating dtype (float32, "
                    "float64); got ", dtype_name(xw.dtype()));
  CORTEN_CHECK_VALUE(xw.ndim() == 3, kOp, ": xw must have rank 3 (steps, batch, gates * units); "
                     "got xw.shape=", show(xw.shape()));
  CORTEN_CHECK_VALUE(recurrent_kernel.ndim() == 2, kOp, ": recurrent_kernel must have rank 2; "
                     "got recurrent_kernel.shape=", show(recurrent_kernel.shape()));
  const int64_t ng = cpu::rnn_num_gates(cell);
  const int64_t nh = recurrent_kernel.dim(0);
  const bool project = kernel.defined();
  CORTEN_CHECK_VALUE(project || !batch_major, kOp, ": batch_major requires kernel");
  CORTEN_CHECK_VALUE(project || !bias.defined(), kOp, ": bias requires kernel");
  const int64_t nt = xw.dim(batch_major ? 1 : 0), nb = xw.dim(batch_major ? 0 : 1);
  const bool lstm = cell == cpu::RnnCell::Lstm;
  check_float(recurrent_kernel, xw, "recurrent_kernel");
  check_shape(recurrent_kernel, {nh, ng * nh}, "recurrent_kernel");
  int64_t nf = 0;
  if (project) {
    nf = xw.dim(2);
    check_float(kernel, xw, "kernel");
    CORTEN_CHECK_VALUE(kernel.ndim() == 2, kOp, ": kernel must have rank 2; got kernel.shape=",
                       show(kernel.shape()));
    check_shape(kernel, {nf, ng * nh}, "kernel");
    if (bias.defined()) {
      check_float(bias, xw, "bias");
      check_shape(bias, {ng * nh}, "bias");
    }
  } else {
    check_shape(xw, {nt, nb, ng * nh}, "xw");
  }
  check_float(h0, xw, "h0");
  check_shape(h0, {nb, nh}, "h0");
  CORTEN_CHECK_VALUE(c0.defined() == lstm, kOp, ": c0 is ",
                     lstm ? "required for 'lstm'" : "only taken by 'lstm'");
  if (lstm) {
    check_float(c0, xw, "c0");
    check_shape(c0, {nb, nh}, "c0");
  }
  if (recurrent_bias.defined()) {
    CORTEN_CHECK_VALUE(cell == cpu::RnnCell::GruResetAfter, kOp,
                       ": recurrent_bias is only taken by 'gru' (reset_after)");
    check_float(recurrent_bias, xw, "recurrent_bias");
    check_shape(recurrent_bias, {ng * nh}, "recurrent_bias");
  }
  if (mask.defined()) {
    CORTEN_CHECK_TYPE(mask.dtype() == DType::Bool, kOp, ": mask must be bool; got ",
                      dtype_name(mask.dtype()));
    check_shape(mask, {nb, nt}, "mask");
  }
  if (recurrent_dropout.defined()) {
    check_float(recurrent_dropout, xw, "recurrent_dropout");
    check_shape(recurrent_dropout, {ng, nb, nh}, "recurrent_dropout");
  }
  const bool meta = xw.is_meta() || h0.is_meta() || recurrent_kernel.is_meta() ||
                    (c0.defined() && c0.is_meta()) ||
                    (recurrent_bias.defined() && recurrent_bias.is_meta()) ||
                    (mask.defined() && mask.is_meta()) ||
                    (recurrent_dropout.defined() && recurrent_dropout.is_meta()) ||
                    (project && kernel.is_meta()) || (bias.defined() && bias.is_meta());
  const Device dev = meta ? Device::Meta : xw.device();
  const Shape y_shape = batch_major ? Shape{nb, nt, nh} : Shape{nt, nb, nh};
  std::vector<Tensor> outs{Tensor::empty(return_sequences ? y_shape : Shape{nb, nh}, xw.dtype(),
                                         dev, kOp),
                           Tensor::empty({nb, nh}, xw.dtype(), dev, kOp)};
  if (lstm) outs.push_back(Tensor::empty({nb, nh}, xw.dtype(), dev, kOp));
  if (meta) return {outs, nullptr};

  auto s = std::make_shared<detail::RnnSaved>();
  s->dims = cpu::RnnDims{cell, nt, nb, nh, act, rec_act, go_backwards, zero_output_for_mask,
                         reference, project, nf, batch_major};
  s->u = recurrent_kernel.contiguous();
  s->mask = mask.defined() ? mask.contiguous() : mask;
  s->rdrop = recurrent_dropout.defined() ? recurrent_dropout.contiguous() : recurrent_dropout;
  s->has_recurrent_bias = recurrent_bias.defined();
  s->return_sequences = return_sequences;
  const DType dt = xw.dtype();
  s->gates = Tensor::empty({nt, nb, ng * nh}, dt, dev, kOp);
  s->states = Tensor::empty({nt + 1, nb, nh}, dt, dev, kOp);
  if (lstm) s->cstates = Tensor::empty({nt + 1, nb, nh}, dt, dev, kOp);
  if (recurrent_dropout.defined() || cell == cpu::RnnCell::GruResetBefore) {
    const int64_t groups = cpu::rnn_num_groups(cell, recurrent_dropout.defined());
    s->aop = Tensor::empty({groups, nt, nb, nh}, dt, dev, kOp);
  }
  if (lstm || cell == cpu::RnnCell::GruResetAfter) {
    s->extra = Tensor::empty({nt, nb, nh}, dt, dev, kOp);
  }
  const Tensor xc = xw.contiguous(), hc = h0.contiguous();
  const Tensor cc = lstm ? c0.contiguous() : c0;
  const Tensor rbc = recurrent_bias.defined() ? recurrent_bias.contiguous() : recurrent_bias;
  const Tensor bc = bias.defined() ? bias.contiguous() : bias;
  if (project) {
    s->x = xc;
    s->w = kernel.contiguous();
    s->has_bias = bias.defined();
  }
  // Only the last output: without a mask the kernel writes no outputs (they are the states),
  // with one it writes them to a scratch sequence.
  Tensor y_seq = return_sequences ? outs[0]
                 : mask.defined() ? Tensor::empty(y_shape, dt, dev, kOp)
                                  : Tensor();
  kernels::rnn_forward(dev)(
      dt, s->dims, xc.raw_data(), hc.raw_data(), ptr(cc), s->u.raw_data(), ptr(rbc),
      s->mask.defined() ? s->mask.data<bool>() : nullptr, ptr(s->rdrop), out_ptr(y_seq),
      outs[1].raw_data(), lstm ? outs[2].raw_data() : nullptr, s->gates.raw_data(),
      s->states.raw_data(), lstm ? s->cstates.raw_data() : nullptr,
      s->aop.defined() ? s->aop.raw_data() : nullptr,
      s->extra.defined() ? s->extra.raw_data() : nullptr, ptr(s->w), ptr(bc));
  if (!return_sequences) copy_last_step(s->dims, y_seq, outs[1], outs[0]);
  return {outs, s};
}

struct RnnSequenceReplay {
  static constexpr trace::InputCount kInputs{9};
  trace::Tensors operator()(const trace::Tensors& in, const std::string& cell,
                            const std::string& act, const std::string& rec_act, bool backwards,
                            bool zero_masked, bool ref, bool batch_major, bool sequences) const {
    auto [o, sv] =
        sequence_parts(cell, in[0], in[1], in[2], in[3], in[4], in[5], in[6], act, rec_act,
                       backwards, zero_masked, ref, in[7], in[8], batch_major, sequences);
    if (sv) {
      for (const Tensor& t : detail::saved_tensors(*sv)) o.push_back(t);
    }
    return o;
  }
};
const trace::ReplayRegistration<RnnSequenceReplay, std::string, std::string, std::string, bool,
                                bool, bool, bool, bool>
    kRnnSequenceReplay("rnn_sequence");

}  // namespace

std::vector<Tensor> rnn_sequence(const std::string& cell_name, const Tensor& xw, const Tensor& h0,
                                 const Tensor& c0, const Tensor& recurrent_kernel,
                                 const Tensor& recurrent_bias, const Tensor& mask,
                                 const Tensor& recurrent_dropout, const std::string& activation,
                                 const std::string& recurrent_activation, bool go_backwards,
                                 bool zero_output_for_mask, bool reference, const Tensor& kernel,
                                 const Tensor& bias, bool batch_major, bool return_sequences) {
  trace::OpRecord rec;
  auto [outs, saved] =
      sequence_parts(cell_name, xw, h0, c0, recurrent_kernel, recurrent_bias, mask,
                     recurrent_dropout, activation, recurrent_activation, go_backwards,
                     zero_output_for_mask, reference, kernel, bias, batch_major, return_sequences);
  if (!saved) return outs;
  // The node outputs the saved tensors too, so that the traced backward reads this replay's.
  std::vector<Tensor> node_outputs = outs;
  for (const Tensor& t : detail::saved_tensors(*saved)) node_outputs.push_back(t);
  rec.record("rnn_sequence",
             {xw, h0, c0, recurrent_kernel, recurrent_bias, mask, recurrent_dropout, kernel, bias},
             node_outputs, RnnSequenceReplay{}, cell_name, activation, recurrent_activation,
             go_backwards, zero_output_for_mask, reference, batch_major, return_sequences);
  if (autograd::is_recording()) {
    autograd::record_rnn_sequence({xw, h0, c0, recurrent_kernel, recurrent_bias, kernel, bias},
                                  outs, std::move(saved));
  }
  return outs;
}

namespace detail {

void append_attr(std::vector<trace::Attr>& a, const RnnSaved& s) {
  using trace::append_attr;
  const cpu::RnnDims& d = s.dims;
  append_attr(a, std::vector<int64_t>{static_cast<int64_t>(d.cell), d.steps, d.batch, d.units,
                                      static_cast<int64_t>(d.act), static_cast<int64_t>(d.rec_act),
                                      d.go_backwards, d.zero_output_for_mask, d.reference,
                                      d.project, d.features, d.batch_major});
  append_attr(a, std::vector<int64_t>{s.has_recurrent_bias, s.has_bias, s.return_sequences});
}

std::vector<Tensor> saved_tensors(const RnnSaved& s) {
  return {s.u, s.mask, s.rdrop, s.x, s.w, s.gates, s.states, s.cstates, s.aop, s.extra};
}

namespace {

constexpr size_t kSavedTensors = 10;

// The configuration of `s` without its tensors (which a traced node takes as inputs).
RnnSaved without_tensors(const RnnSaved& s) {
  RnnSaved c;
  c.dims = s.dims;
  c.has_recurrent_bias = s.has_recurrent_bias;
  c.has_bias = s.has_bias;
  c.return_sequences = s.return_sequences;
  return c;
}

RnnSaved saved_from(const RnnSaved& like, const std::vector<Tensor>& t) {
  RnnSaved s = like;
  s.u = t[0], s.mask = t[1], s.rdrop = t[2], s.x = t[3], s.w = t[4];
  s.gates = t[5], s.states = t[6], s.cstates = t[7], s.aop = t[8], s.extra = t[9];
  return s;
}

std::vector<Tensor> backward_impl(const RnnSaved& s, const std::vector<Tensor>& g);

}  // namespace

std::vector<Tensor> rnn_sequence_backward(const RnnSaved& s, const std::vector<Tensor>& g) {
  trace::OpRecord rec;
  std::vector<Tensor> out = backward_impl(s, g);
  // A traced backward reads the saved tensors its forward node output on the same replay.
  std::vector<Tensor> inputs = saved_tensors(s);
  inputs.insert(inputs.end(), g.begin(), g.end());
  rec.record(
      "rnn_sequence_grad", inputs, out,
      [](const trace::Tensors& in, const RnnSaved& like) {
        const std::vector<Tensor> saved(in.begin(), in.begin() + kSavedTensors);
        const std::vector<Tensor> grads(in.begin() + kSavedTensors, in.end());
        return backward_impl(saved_from(like, saved), grads);
      },
      without_tensors(s));
  return out;
}

namespace {

std::vector<Tensor> backward_impl(const RnnSaved& s, const std::vector<Tensor>& g) {
  const cpu::RnnDims& d = s.dims;
  const bool lstm = d.cell == cpu::RnnCell::Lstm;
  const int64_t ng = cpu::rnn_num_gates(d.cell);
  const DType dt = s.u.dtype();
  const Device dev = s.u.device();
  Tensor dy = g.size() > 0 && g[0].defined() ? g[0].contiguous() : Tensor();
  Tensor dh = g.size() > 1 && g[1].defined() ? g[1].contiguous() : Tensor();
  if (!s.return_sequences && dy.defined()) {
    // The last output's gradient: it is the state's without a mask, else the last step's
    // rows of a zero sequence gradient.
    if (d.steps == 0) {
      dy = Tensor();
    } else if (!s.mask.defined()) {
      dh = dh.defined() ? add(dh, dy) : dy;
      dy = Tensor();
    } else {
      dy = expand_last_step(d, dy);
    }
  }
  const Tensor dc = lstm && g.size() > 2 && g[2].defined() ? g[2].contiguous() : Tensor();
  std::vector<Tensor> out(7);
  if (!d.project) {
    out[0] = Tensor::empty({d.steps, d.batch, ng * d.units}, dt, dev, "rnn_sequence_grad");
  } else if (autograd::needs_input_grad(0)) {
    out[0] = Tensor::empty(s.x.shape(), dt, dev, "rnn_sequence_grad");
  }
  if (d.project) {
    out[5] = Tensor::empty({d.features, ng * d.units}, dt, dev, "rnn_sequence_grad");
    if (s.has_bias) out[6] = Tensor::empty({ng * d.units}, dt, dev, "rnn_sequence_grad");
  }
  out[1] = Tensor::empty({d.batch, d.units}, dt, dev, "rnn_sequence_grad");
  if (lstm) out[2] = Tensor::empty({d.batch, d.units}, dt, dev, "rnn_sequence_grad");
  out[3] = Tensor::empty({d.units, ng * d.units}, dt, dev, "rnn_sequence_grad");
  if (s.has_recurrent_bias) out[4] = Tensor::empty({ng * d.units}, dt, dev, "rnn_sequence_grad");
  kernels::rnn_backward(dev)(
      dt, d, s.u.raw_data(), s.mask.defined() ? s.mask.data<bool>() : nullptr, ptr(s.rdrop),
      s.gates.raw_data(), s.states.raw_data(), ptr(s.cstates), ptr(s.aop), ptr(s.extra),
      ptr(dy), ptr(dh), ptr(dc), out_ptr(out[0]), out[1].raw_data(),
      lstm ? out[2].raw_data() : nullptr, out[3].raw_data(),
      s.has_recurrent_bias ? out[4].raw_data() : nullptr, ptr(s.x), ptr(s.w), out_ptr(out[5]),
      out_ptr(out[6]));
  return out;
}

}  // namespace

}  // namespace detail
}  // namespace corten
