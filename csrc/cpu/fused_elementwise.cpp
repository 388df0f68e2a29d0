#include "cpu/fused_elementwise.h"

#include <algorithm>
#include <vector>

#include "cpu/elementwise.h"
#include "cpu/loops.h"

namespace corten::cpu {

namespace {

// Elements per tile: a few dozen registers of one tile stay in L1 (48 KiB) in float64. A
// multiple of every ISA's vector width, so that each row kernel call takes its vector path on
// the same elements as the unfused op's call over the whole array.
constexpr int64_t kTile = 256;

struct Operand {
  const char* base;
  int64_t stride;  // 1 (an array) or 0 (a broadcast element)
};

bool costly(const FusedProgram& p) {
  return std::any_of(p.code.begin(), p.code.end(), [](const FusedInstr& in) {
    return (in.binary ? op_info(static_cast<BinaryOp>(in.op)).cost
                      : op_info(static_cast<UnaryOp>(in.op)).cost) == OpCost::Costly;
  });
}

// Evaluates instructions over elements [b, e) with register i at regs[i] (+ its offset): each
// register is a row of `ld` elements starting at element `origin`.
void run_rows(const FusedProgram& p, DType dtype, int64_t b, int64_t e, const void* const* inputs,
              const bool* scalar, const std::vector<char*>& regs, int64_t origin) {
  const ElementwiseTable& table = active_elementwise_table();
  const auto isz = static_cast<int64_t>(itemsize(dtype));
  const int d = static_cast<int>(dtype);
  auto operand = [&](int32_t r) -> Operand {
    if (r >= 0) return {regs[static_cast<size_t>(r)] + (b - origin) * isz, 1};
    const auto k = static_cast<size_t>(-1 - r);
    const char* in = static_cast<const char*>(inputs[k]);
    return scalar[k] ? Operand{in, 0} : Operand{in + b * isz, 1};
  };
  for (size_t i = 0; i < p.code.size(); ++i) {
    const FusedInstr& in = p.code[i];
    char* out = regs[i] + (b - origin) * isz;
    const Operand x = operand(in.a);
    if (in.binary) {
      const Operand y = operand(in.b);
      table.binary[in.op][d](x.base, x.stride, y.base, y.stride, out, e - b);
    } else {
      table.unary[in.op][d](x.base, x.stride, out, e - b, in.alpha);
    }
  }
}

}  // namespace

void fused_elementwise(const FusedProgram& p, DType dtype, int64_t n, const void* const* inputs,
                       const bool* scalar, void* const* outputs) {
  const auto isz = static_cast<int64_t>(itemsize(dtype));
  // Registers that are stored live in the outputs; the others in per-thread tiles.
  std::vector<int32_t> store_of(p.code.size(), -1);
  for (size_t k = 0; k < p.stores.size(); ++k)
    store_of[static_cast<size_t>(p.stores[k])] = static_cast<int32_t>(k);
  const int64_t grain = costly(p) ? kGrainCostly : kGrainCheap;
  auto chunk = [&](int64_t b0, int64_t b1) {
    std::vector<char> scratch(p.code.size() * static_cast<size_t>(kTile * isz) + 64);
    char* tiles = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) &
                                          ~static_cast<uintptr_t>(63));
    std::vector<char*> regs(p.code.size());
    for (int64_t t0 = b0; t0 < b1; t0 += kTile) {
      const int64_t t1 = std::min(b1, t0 + kTile);
      for (size_t i = 0; i < p.code.size(); ++i) {
        // A stored register is its output's rows; element t0 of a tile register is its start.
        regs[i] = store_of[i] >= 0 ? static_cast<char*>(outputs[store_of[i]]) + t0 * isz
                                   : tiles + static_cast<int64_t>(i) * kTile * isz;
      }
      run_rows(p, dtype, t0, t1, inputs, scalar, regs, t0);
    }
  };
  if (n <= grain) {
    chunk(0, n);
  } else {
    // Chunks of whole tiles, so that every thread count splits the elements the same way.
    parallel_for(0, (n + kTile - 1) / kTile, std::max<int64_t>(1, grain / kTile),
                 [&](int64_t t0, int64_t t1) { chunk(t0 * kTile, std::min(n, t1 * kTile)); });
  }
}

}  // namespace corten::cpu
