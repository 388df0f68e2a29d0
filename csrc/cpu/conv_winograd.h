#pragma once
// Winograd F(2x2, 3x3) transforms (Note [Winograd convolution], cpu/conv_winograd.cpp),
// compiled once per ISA level (cpu/conv_winograd_kernels.inc); internal to csrc/cpu.

#include <cstdint>
#include <type_traits>

#include "cpu/conv.h"
#include "cpu/elementwise.h"

namespace corten::cpu {

// Images of out[1] x out[2] outputs (n * in[0] of them: the depth is 1) in th x tw tiles of
// 2 x 2 output pixels; tile t is image t / per_image, row t % per_image / tw, column t % tw.
struct WinogradTiles {
  int64_t th, tw, per_image, total;
};

// U = G w G^T for the 16 positions xi of the 4x4 result, w (3, 3, c, f), written as the GEMM
// micro-kernel's packed B: NR-column panels (zero padded), element (xi, ci, fi) at
// u[((xi * panels + fi / NR) * c + ci) * NR + fi % NR], panels = ceil(f / NR).
template <class T>
using WinogradWeightsFn = void (*)(const T* w, int64_t c, int64_t f, int64_t nr, T* u);
// V[xi][j][.] = (B^T d_t B)[xi] for tiles t = t0 + j, j < nt: d_t the 4x4 x c input tile
// (zero outside the image); V's position planes are `plane` values apart, tile j's row j * c
// into its plane. scratch: 17 * c values.
template <class T>
using WinogradInputFn = void (*)(const ConvGeom& g, const WinogradTiles& tl, const T* x,
                                 int64_t t0, int64_t nt, T* v, int64_t plane, T* scratch);
// y's 2 x 2 blocks of tiles t0 + j = act(A^T M_t A + bias) (bias and act may be null),
// pixels past the output's edge not written; M's position planes are `plane` values apart,
// tile j's row j * f into its plane. scratch: 9 * f values.
template <class T>
using WinogradOutputFn = void (*)(const ConvGeom& g, const WinogradTiles& tl, const T* m,
                                  int64_t plane, int64_t t0, int64_t nt, const T* bias,
                                  UnaryRowFn act, T* y, T* scratch);

// D = A dY_t A^T per tile, the adjoint of the output transform (dw's operand): dy's 2 x 2
// blocks (zero past the output's edge) to 4 x 4; D's planes `plane` values apart, tile j's
// row j * ld into its plane (f values of it written). scratch: f values.
template <class T>
using WinogradOutputAdjointFn = void (*)(const ConvGeom& g, const WinogradTiles& tl,
                                         const T* dy, int64_t t0, int64_t nt, T* d,
                                         int64_t plane, int64_t ld, T* scratch);
// dw (3, 3, c, f) = G^T dU G, the adjoint of the weight transform; dU (16, c, f) row-major.
template <class T>
using WinogradWeightsAdjointFn = void (*)(const T* du, int64_t c, int64_t f, T* dw);

// One ISA's transforms for one dtype.
template <class T>
struct WinogradKernels {
  WinogradWeightsFn<T> weights;
  WinogradInputFn<T> input;
  WinogradOutputFn<T> output;
  WinogradOutputAdjointFn<T> output_adjoint;
  WinogradWeightsAdjointFn<T> weights_adjoint;
};

struct WinogradTable {
  WinogradKernels<float> f32;
  WinogradKernels<double> f64;

  template <class T>
  const WinogradKernels<T>& of() const {
    if constexpr (std::is_same_v<T, float>) return f32;
    else return f64;
  }
};

const WinogradTable& portable_winograd_table();
namespace avx2 {
const WinogradTable& winograd_table();
}
namespace avx512 {
const WinogradTable& winograd_table();
}

}  // namespace corten::cpu
