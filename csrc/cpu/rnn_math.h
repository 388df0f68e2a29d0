#pragma once
// The scalar math of the recurrent sequence kernels that the CPU (cpu/rnn.cpp,
// cpu/rnn_backward.cpp) and CUDA (cuda/rnn.cu) kernels share: the activations of the reference
// path and the derivatives taken from an activation's output. Host and device functions under
// nvcc (CORTEN_HD).

#include <cmath>

#include "cpu/host_device.h"
#include "cpu/rnn.h"

namespace corten::cpu::rnn_detail {

template <class T>
CORTEN_HD inline T act_scalar(RnnAct a, T x) {
  switch (a) {
    case RnnAct::Tanh:
      return std::tanh(x);
    case RnnAct::Sigmoid:
      return T(1) / (T(1) + std::exp(-x));
    case RnnAct::Relu:
      return x > T(0) ? x : T(0);
    case RnnAct::HardSigmoid: {
      const T y = T(0.2) * x + T(0.5);
      return y < T(0) ? T(0) : (y > T(1) ? T(1) : y);
    }
    case RnnAct::Linear:
      break;
  }
  return x;
}

// The derivative of the activation from its output y.
template <class T>
CORTEN_HD inline T act_grad(RnnAct a, T y) {
  switch (a) {
    case RnnAct::Tanh:
      return T(1) - y * y;
    case RnnAct::Sigmoid:
      return y * (T(1) - y);
    case RnnAct::Relu:
      return y > T(0) ? T(1) : T(0);
    case RnnAct::HardSigmoid:
      return (y > T(0) && y < T(1)) ? T(0.2) : T(0);
    case RnnAct::Linear:
      break;
  }
  return T(1);
}

// The forward's state updates: the LSTM cell c = f * c_prev + i * g_c, and the GRU state
// h = z * h_prev + (1 - z) * g_h.
template <class T>
CORTEN_HD inline T lstm_cell(T gf, T cp, T gi, T gc) {
  return gf * cp + gi * gc;
}
template <class T>
CORTEN_HD inline T gru_state(T z, T hp, T hh) {
  return z * hp + (T(1) - z) * hh;
}

// One unit of an LSTM row's backward: from the gates (gi, gf, gc, go), act(c) ac, c_prev cp and
// the state's gradient dhn, the four pre-activations' gradients (dx[0..3]); dc, the cell's
// gradient from the next step, becomes the previous step's. ag and rg: the derivatives of the
// activation and the recurrent activation from their outputs.
template <class T, class AG, class RG>
CORTEN_HD inline void lstm_unit_grad(const AG& ag, const RG& rg, T gi, T gf, T gc, T go, T ac, T cp,
                                     T dhn, T& dc, T& dx0, T& dx1, T& dx2, T& dx3) {
  const T dct = dc + dhn * go * ag(ac);
  dx0 = dct * gc * rg(gi);
  dx1 = dct * cp * rg(gf);
  dx2 = dct * gi * ag(gc);
  dx3 = dhn * ac * rg(go);
  dc = dct * gf;
}

// One unit of a GRU row's backward: gates z, r, g_h, h_prev hp, the state's gradient dhn; dz
// and dh_pre the gradients of the z and candidate pre-activations. Returns dh_prev's direct
// part, dhn * z.
template <class T, class AG, class RG>
CORTEN_HD inline T gru_unit_grad(const AG& ag, const RG& rg, T z, T hh, T hp, T dhn, T& dz,
                                 T& dph) {
  dz = dhn * (hp - hh) * rg(z);
  dph = dhn * (T(1) - z) * ag(hh);
  return dhn * z;
}

}  // namespace corten::cpu::rnn_detail
