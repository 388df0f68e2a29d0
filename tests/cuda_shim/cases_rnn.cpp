// cuda::rnn_forward and rnn_backward (csrc/cuda/rnn.cu through the shim) against the CPU
// kernels: every cell (SimpleRNN, LSTM, GRU with reset_after with and without its recurrent
// bias, GRU with reset_before), default and other activations, the reference path, masks
// (with zero_output_for_mask), recurrent dropout, go_backwards, the projected input (time- and
// batch-major, with and without a bias), no outputs, no steps, and sizes over several GEMM
// tiles. Every output and saved buffer is compared within the tolerance of Note [CUDA
// recurrent sequence] (2e-4 float32, 1e-10 float64, relative with the same absolute floor).
#include <corten/dtype.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/rnn.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::cpu::RnnAct;
using corten::cpu::RnnCell;
using corten::cpu::RnnDims;
using namespace corten_test;

struct RnnCase {
  RnnCell cell;
  int64_t steps, batch, units, features;  // features 0: xw given (no projection)
  RnnAct act, rec_act;
  bool reference, mask, zero_output, rdrop, backwards, outputs, batch_major, bias, rbias;
};

std::string case_name(const RnnCase& c, DType dtype) {
  static const char* cells[] = {"simple", "lstm", "gru_after", "gru_before"};
  std::string s = std::string(cells[static_cast<int>(c.cell)]) + " " + corten::dtype_name(dtype) +
                  " T" + std::to_string(c.steps) + " B" + std::to_string(c.batch) + " H" +
                  std::to_string(c.units) + " F" + std::to_string(c.features) + " act" +
                  std::to_string(static_cast<int>(c.act)) +
                  std::to_string(static_cast<int>(c.rec_act));
  if (c.reference) s += " ref";
  if (c.mask) s += c.zero_output ? " mask0" : " mask";
  if (c.rdrop) s += " rdrop";
  if (c.backwards) s += " backwards";
  if (!c.outputs) s += " no-y";
  if (c.batch_major) s += " batch-major";
  if (c.bias) s += " bias";
  if (c.rbias) s += " rbias";
  return s;
}

// A buffer of n elements: random values in [-lo, lo] (lo 0: zeros), plus guard bytes.
std::vector<unsigned char> values(DType dtype, int64_t n, uint32_t seed, double lo) {
  std::vector<unsigned char> v(static_cast<size_t>(n) * corten::itemsize(dtype) + 16, 0);
  if (lo > 0) fill(dtype, v.data(), n, seed, lo, false, 1);
  return v;
}

// One forward on both devices; returns false after printing the first difference.
void check_forward(const RnnCase& rc, DType dtype, uint32_t seed) {
  const std::string what = "rnn_forward " + case_name(rc, dtype);
  const int64_t ng = corten::cpu::rnn_num_gates(rc.cell);
  const int64_t nt = rc.steps, nb = rc.batch, nh = rc.units, gh = ng * nh, nf = rc.features;
  const bool project = nf > 0;
  const bool lstm = rc.cell == RnnCell::Lstm;
  RnnDims d{rc.cell,        nt,           nb,      nh, rc.act,        rc.rec_act, rc.backwards,
            rc.zero_output, rc.reference, project, nf, rc.batch_major};
  const int64_t groups = corten::cpu::rnn_num_groups(rc.cell, rc.rdrop);
  const bool use_aop = rc.rdrop || rc.cell == RnnCell::GruResetBefore;
  const bool extra = lstm || rc.cell == RnnCell::GruResetAfter;
  // Inputs.
  const auto xw = values(dtype, project ? nt * nb * nf : nt * nb * gh, seed, 1.0);
  const auto h0 = values(dtype, nb * nh, seed + 1, 0.5);
  const auto c0 = values(dtype, nb * nh, seed + 2, 0.5);
  const auto u = values(dtype, nh * gh, seed + 3, 0.4);
  const auto rb = values(dtype, gh, seed + 4, 0.3);
  const auto w = values(dtype, nf * gh, seed + 5, 0.4);
  const auto bias = values(dtype, gh, seed + 6, 0.3);
  std::vector<unsigned char> mask(static_cast<size_t>(nb * nt) + 1);
  for (int64_t i = 0; i < nb * nt; ++i) mask[i] = (i * 7 + seed) % 5 != 1;
  auto rdrop = values(dtype, ng * nb * nh, seed + 7, 1.0);
  for (int64_t i = 0; i < ng * nb * nh; ++i) {  // a dropout mask: 0 or 1 / (1 - rate)
    const bool keep = (i * 13 + seed) % 4 != 0;
    if (dtype == DType::Float32)
      reinterpret_cast<float*>(rdrop.data())[i] = keep ? 1.25f : 0.0f;
    else
      reinterpret_cast<double*>(rdrop.data())[i] = keep ? 1.25 : 0.0;
  }
  // Outputs.
  struct Out {
    const char* name;
    int64_t n;
    bool used;
  };
  const std::vector<Out> outs = {
      {"y", nt * nb * nh, rc.outputs},
      {"h_last", nb * nh, true},
      {"c_last", nb * nh, lstm},
      {"gates", nt * nb * gh, true},
      {"states", (nt + 1) * nb * nh, true},
      {"cstates", (nt + 1) * nb * nh, lstm},
      {"aop", groups * nt * nb * nh, use_aop},
      {"extra", nt * nb * nh, extra},
  };
  std::vector<std::vector<unsigned char>> got, want;
  for (const Out& o : outs) {
    got.push_back(values(dtype, o.n, 0, 0));
    for (auto& byte : got.back()) byte = 0xAB;
    want.push_back(got.back());
  }
  {
    KernelBuffer dxw(xw), dh0(h0), dc0(c0), du(u), drb(rb), dw(w), dbias(bias), dmask(mask),
        drdrop(rdrop);
    std::vector<std::unique_ptr<KernelBuffer>> dout;
    for (auto& g : got) dout.push_back(std::make_unique<KernelBuffer>(g));
    auto out = [&](size_t i) { return outs[i].used ? dout[i]->get() : nullptr; };
    corten::cuda::rnn_forward(
        dtype, d, dxw.get(), dh0.get(), lstm ? dc0.get() : nullptr, du.get(),
        rc.rbias ? drb.get() : nullptr, rc.mask ? static_cast<const bool*>(dmask.get()) : nullptr,
        rc.rdrop ? drdrop.get() : nullptr, out(0), out(1), out(2), out(3), out(4), out(5), out(6),
        out(7), project ? dw.get() : nullptr, rc.bias ? dbias.get() : nullptr);
    for (size_t i = 0; i < got.size(); ++i) got[i] = dout[i]->read();
  }
  auto out = [&](size_t i) { return outs[i].used ? static_cast<void*>(want[i].data()) : nullptr; };
  corten::cpu::rnn_forward(dtype, d, xw.data(), h0.data(), lstm ? c0.data() : nullptr, u.data(),
                           rc.rbias ? rb.data() : nullptr,
                           rc.mask ? reinterpret_cast<const bool*>(mask.data()) : nullptr,
                           rc.rdrop ? rdrop.data() : nullptr, out(0), out(1), out(2), out(3),
                           out(4), out(5), out(6), out(7), project ? w.data() : nullptr,
                           rc.bias ? bias.data() : nullptr);
  const double tol = dtype == DType::Float32 ? 2e-4 : 1e-10;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].used) continue;
    CHECK(same_values(what + " " + outs[i].name, dtype, got[i].data(), want[i].data(), outs[i].n,
                      tol, tol));
    CHECK(got[i].back() == 0xAB);
  }
}

// One backward on both devices, from the saved buffers of the CPU's forward.
void check_backward(const RnnCase& rc, DType dtype, uint32_t seed) {
  const std::string what = "rnn_backward " + case_name(rc, dtype);
  const int64_t ng = corten::cpu::rnn_num_gates(rc.cell);
  const int64_t nt = rc.steps, nb = rc.batch, nh = rc.units, gh = ng * nh, nf = rc.features;
  const bool project = nf > 0;
  const bool lstm = rc.cell == RnnCell::Lstm;
  RnnDims d{rc.cell,        nt,           nb,      nh, rc.act,        rc.rec_act, rc.backwards,
            rc.zero_output, rc.reference, project, nf, rc.batch_major};
  const int64_t groups = corten::cpu::rnn_num_groups(rc.cell, rc.rdrop);
  const bool use_aop = rc.rdrop || rc.cell == RnnCell::GruResetBefore;
  const bool extra_used = lstm || rc.cell == RnnCell::GruResetAfter;
  const auto xw = values(dtype, project ? nt * nb * nf : nt * nb * gh, seed, 1.0);
  const auto h0 = values(dtype, nb * nh, seed + 1, 0.5);
  const auto c0 = values(dtype, nb * nh, seed + 2, 0.5);
  const auto u = values(dtype, nh * gh, seed + 3, 0.4);
  const auto rb = values(dtype, gh, seed + 4, 0.3);
  const auto w = values(dtype, nf * gh, seed + 5, 0.4);
  const auto bias = values(dtype, gh, seed + 6, 0.3);
  std::vector<unsigned char> mask(static_cast<size_t>(nb * nt) + 1);
  for (int64_t i = 0; i < nb * nt; ++i) mask[i] = (i * 7 + seed) % 5 != 1;
  auto rdrop = values(dtype, ng * nb * nh, seed + 7, 1.0);
  for (int64_t i = 0; i < ng * nb * nh; ++i) {
    const bool keep = (i * 13 + seed) % 4 != 0;
    if (dtype == DType::Float32)
      reinterpret_cast<float*>(rdrop.data())[i] = keep ? 1.25f : 0.0f;
    else
      reinterpret_cast<double*>(rdrop.data())[i] = keep ? 1.25 : 0.0;
  }
  // The forward's saved buffers (CPU).
  auto y = values(dtype, nt * nb * nh, 0, 0), h_last = values(dtype, nb * nh, 0, 0);
  auto c_last = values(dtype, nb * nh, 0, 0), gates = values(dtype, nt * nb * gh, 0, 0);
  auto states = values(dtype, (nt + 1) * nb * nh, 0, 0);
  auto cstates = values(dtype, (nt + 1) * nb * nh, 0, 0);
  auto aop = values(dtype, groups * nt * nb * nh, 0, 0), extra = values(dtype, nt * nb * nh, 0, 0);
  const bool* mp = rc.mask ? reinterpret_cast<const bool*>(mask.data()) : nullptr;
  corten::cpu::rnn_forward(dtype, d, xw.data(), h0.data(), lstm ? c0.data() : nullptr, u.data(),
                           rc.rbias ? rb.data() : nullptr, mp, rc.rdrop ? rdrop.data() : nullptr,
                           rc.outputs ? y.data() : nullptr, h_last.data(),
                           lstm ? c_last.data() : nullptr, gates.data(), states.data(),
                           lstm ? cstates.data() : nullptr, use_aop ? aop.data() : nullptr,
                           extra_used ? extra.data() : nullptr, project ? w.data() : nullptr,
                           rc.bias ? bias.data() : nullptr);
  // Incoming gradients: dy only with outputs; dc_last with the LSTM's other cases.
  const auto dy = values(dtype, nt * nb * nh, seed + 8, 1.0);
  const auto dh_last = values(dtype, nb * nh, seed + 9, 1.0);
  const auto dc_last = values(dtype, nb * nh, seed + 10, 1.0);
  const bool with_dc = lstm && !rc.mask;
  struct Out {
    const char* name;
    int64_t n;
    bool used;
  };
  const std::vector<Out> outs = {
      {"dxw", project ? nt * nb * nf : nt * nb * gh, !project || !rc.zero_output},
      {"dh0", nb * nh, true},
      {"dc0", nb * nh, lstm},
      {"du", nh * gh, true},
      {"drb", gh, rc.rbias},
      {"dw", nf * gh, project},
      {"db", gh, project && rc.bias},
  };
  std::vector<std::vector<unsigned char>> got, want;
  for (const Out& o : outs) {
    got.push_back(values(dtype, o.n, 0, 0));
    for (auto& byte : got.back()) byte = 0xAB;
    want.push_back(got.back());
  }
  {
    KernelBuffer du_(u), dmask(mask), drdrop(rdrop), dgates(gates), dstates(states),
        dcstates(cstates), daop(aop), dextra(extra), ddy(dy), ddh(dh_last), ddc(dc_last), dx(xw),
        dw_(w);
    std::vector<std::unique_ptr<KernelBuffer>> dout;
    for (auto& g : got) dout.push_back(std::make_unique<KernelBuffer>(g));
    auto out = [&](size_t i) { return outs[i].used ? dout[i]->get() : nullptr; };
    corten::cuda::rnn_backward(
        dtype, d, du_.get(), rc.mask ? static_cast<const bool*>(dmask.get()) : nullptr,
        rc.rdrop ? drdrop.get() : nullptr, dgates.get(), dstates.get(),
        lstm ? dcstates.get() : nullptr, use_aop ? daop.get() : nullptr,
        extra_used ? dextra.get() : nullptr, rc.outputs ? ddy.get() : nullptr, ddh.get(),
        with_dc ? ddc.get() : nullptr, out(0), out(1), out(2), out(3), out(4),
        project ? dx.get() : nullptr, project ? dw_.get() : nullptr, out(5), out(6));
    for (size_t i = 0; i < got.size(); ++i) got[i] = dout[i]->read();
  }
  auto out = [&](size_t i) { return outs[i].used ? static_cast<void*>(want[i].data()) : nullptr; };
  corten::cpu::rnn_backward(
      dtype, d, u.data(), mp, rc.rdrop ? rdrop.data() : nullptr, gates.data(), states.data(),
      lstm ? cstates.data() : nullptr, use_aop ? aop.data() : nullptr,
      extra_used ? extra.data() : nullptr, rc.outputs ? dy.data() : nullptr, dh_last.data(),
      with_dc ? dc_last.data() : nullptr, out(0), out(1), out(2), out(3), out(4),
      project ? xw.data() : nullptr, project ? w.data() : nullptr, out(5), out(6));
  const double tol = dtype == DType::Float32 ? 2e-4 : 1e-10;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].used) continue;
    CHECK(same_values(what + " " + outs[i].name, dtype, got[i].data(), want[i].data(), outs[i].n,
                      tol, tol));
    CHECK(got[i].back() == 0xAB);
  }
}

std::vector<RnnCase> rnn_cases() {
  const RnnAct tanh = RnnAct::Tanh, sig = RnnAct::Sigmoid;
  // cell, T, B, H, F, act, rec_act, reference, mask, zero_output, rdrop, backwards, outputs,
  // batch_major, bias, rbias
  std::vector<RnnCase> v;
  for (RnnCell cell :
       {RnnCell::Simple, RnnCell::Lstm, RnnCell::GruResetAfter, RnnCell::GruResetBefore}) {
    v.push_back({cell, 5, 3, 7, 0, tanh, sig, false, false, false, false, false, true, false, false,
                 false});
    v.push_back({cell, 4, 3, 5, 6, tanh, sig, false, true, false, false, true, true, true, true,
                 cell == RnnCell::GruResetAfter});
    v.push_back(
        {cell, 4, 2, 6, 0, tanh, sig, true, true, true, true, false, true, false, false, false});
    v.push_back({cell, 3, 9, 33, 70, tanh, sig, false, false, false, false, false, false, false,
                 true, cell == RnnCell::GruResetAfter});
    v.push_back({cell, 3, 4, 5, 3, RnnAct::Relu, RnnAct::HardSigmoid, false, false, false, true,
                 true, true, false, true, false});
  }
  v.push_back({RnnCell::Simple, 4, 3, 5, 0, RnnAct::Linear, sig, false, true, false, false, false,
               true, false, false, false});
  v.push_back({RnnCell::Lstm, 0, 3, 5, 4, tanh, sig, false, false, false, false, false, true, false,
               true, false});
  v.push_back({RnnCell::GruResetAfter, 3, 2, 4, 5, tanh, sig, false, false, false, false, true,
               true, true, false, true});
  return v;
}

const RegisterCase forward_case("rnn_forward", [] {
  uint32_t seed = 11000;
  for (const RnnCase& rc : rnn_cases()) {
    for (DType dtype : {DType::Float32, DType::Float64}) check_forward(rc, dtype, seed += 10);
  }
});

const RegisterCase backward_case("rnn_backward", [] {
  uint32_t seed = 12000;
  for (const RnnCase& rc : rnn_cases()) {
    for (DType dtype : {DType::Float32, DType::Float64}) check_backward(rc, dtype, seed += 11);
  }
});

}  // namespace
