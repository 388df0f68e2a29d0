#pragma once
// Direct convolution kernels for few input channels (Note [Convolution algorithm], conv.cpp),
// compiled once per ISA level (cpu/conv_direct_kernels.inc); internal to csrc/cpu.

#include <cstdint>

namespace corten::cpu {

// One output row of a convolution with few input channels: for each of the `width` output
// pixels p and filter j,
//   y[p * f + j] = sum over taps t and channels i (in that order) of
//                  x[tap_off[t] + p * x_step + i] * w[(t * cg + i) * f + j]  (+ bias[j]),
// x being a zero-padded image (every tap in bounds), w the (kk, cg, f) weights.
template <class T>
using ConvDirectRowFn = void (*)(const T* x, const int64_t* tap_off, int64_t kk, int64_t cg,
                                 int64_t x_step, int64_t width, const T* w, int64_t f,
                                 const T* bias, T* y);

// dw (kk * cg, f) += the row's patches^T @ dy (width, f): for each patch value (t, i) and
// filter j, the sum over the row's pixels p, in order, of x[tap_off[t] + p * x_step + i] *
// dy[p * f + j]. kk * cg <= kConvDirectMaxPatch.
template <class T>
using ConvDirectDwRowFn = void (*)(const T* x, const int64_t* tap_off, int64_t kk, int64_t cg,
                                   int64_t x_step, int64_t width, const T* dy, int64_t f, T* dw);

constexpr int64_t kConvDirectMaxPatch = 64;

struct ConvDirectTable {
  ConvDirectRowFn<float> row_f32;
  ConvDirectRowFn<double> row_f64;
  ConvDirectDwRowFn<float> dw_row_f32;
  ConvDirectDwRowFn<double> dw_row_f64;
};

const ConvDirectTable& portable_conv_direct_table();
namespace avx2 {
const ConvDirectTable& conv_direct_table();
}
namespace avx512 {
const ConvDirectTable& conv_direct_table();
}

}  // namespace corten::cpu
