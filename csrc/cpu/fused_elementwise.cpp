#include "cpu/fused_elementwise.h"

#include <corten/shape.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "cpu/elementwise.h"
#include "cpu/loops.h"
#include "cpu/reduce.h"
#include "cpu/scratch.h"

namespace corten::cpu {

namespace {

// Bytes per tile register (1024 float32 / 512 float64 elements): a few registers of one tile
// stay in L1 (48 KiB), and each row kernel call is long enough that the per-call work (operand
// pointers, the indirect call, the kernel's prologue and masked tail) stays small; with 256
// elements per call that work was a third of a two-output subtract + square over 64x784
// (perf: the tile loop itself 12%, the table lookup per tile 2.4%, the kernels 29%). A multiple
// of every ISA's vector width, so that each row kernel call takes its vector path on the same
// elements as the unfused op's call over the whole array.
constexpr int64_t kTileBytes = 4096;

bool costly(const FusedProgram& p) {
  return std::any_of(p.code.begin(), p.code.end(), [](const FusedInstr& in) {
    return (in.binary ? op_info(static_cast<BinaryOp>(in.op)).cost
                      : op_info(static_cast<UnaryOp>(in.op)).cost) == OpCost::Costly;
  });
}

// One instruction resolved once per call: its row kernel and where its operands come from.
struct Step {
  UnaryRowFn unary = nullptr;
  BinaryRowFn binary = nullptr;
  double alpha = 0.0;
  int32_t a = 0, b = 0;
};

// Copies elements [t0, t0 + len) (in C order over `shape`) of a strided input into `dst`,
// a row segment at a time: a broadcast row is one value repeated, a contiguous one a memcpy.
// T: an unsigned integer of the element's size (the values are only moved).
template <class T>
void gather_tile(const T* src, const std::vector<int64_t>& shape,
                 const std::vector<int64_t>& strides, int64_t t0, int64_t len, T* dst) {
  const size_t nd = shape.size();
  int64_t idx[kMaxRank];
  int64_t rest = t0;
  for (size_t d = nd; d-- > 0;) {
    idx[d] = rest % shape[d];
    rest /= shape[d];
  }
  const int64_t inner = shape[nd - 1], step = strides[nd - 1];
  for (int64_t done = 0; done < len;) {
    int64_t offset = 0;
    for (size_t d = 0; d < nd; ++d) offset += idx[d] * strides[d];
    const int64_t seg = std::min(len - done, inner - idx[nd - 1]);
    const T* from = src + offset;
    T* to = dst + done;
    if (step == 0) {
      std::fill(to, to + seg, *from);
    } else if (step == 1) {
      std::memcpy(to, from, static_cast<size_t>(seg) * sizeof(T));
    } else {
      for (int64_t i = 0; i < seg; ++i) to[i] = from[i * step];
    }
    done += seg;
    idx[nd - 1] += seg;
    for (size_t d = nd - 1; d > 0 && idx[d] == shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

void gather_tile(const void* src, int64_t isz, const std::vector<int64_t>& shape,
                 const std::vector<int64_t>& strides, int64_t t0, int64_t len, void* dst) {
  if (isz == 4) {
    gather_tile(static_cast<const uint32_t*>(src), shape, strides, t0, len,
                static_cast<uint32_t*>(dst));
  } else {
    gather_tile(static_cast<const uint64_t*>(src), shape, strides, t0, len,
                static_cast<uint64_t*>(dst));
  }
}

}  // namespace

void fused_elementwise(const FusedProgram& p, DType dtype, const std::vector<int64_t>& shape,
                       const std::vector<FusedInput>& inputs, void* const* outputs) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const auto isz = static_cast<int64_t>(itemsize(dtype));
  int64_t tile = kTileBytes / isz;
  // A row reduction runs on each tile's rows while they are in L1: tiles of whole rows. Rows
  // longer than a tile (or shapes without rows to speak of) take the register through a full
  // array and cpu::reduce afterwards, the unfused op's own kernel.
  const bool reduces = p.reduce >= 0;
  const int64_t row_len = reduces && !shape.empty() ? shape.back() : 0;
  const bool reduce_in_tiles = reduces && row_len >= 2 && row_len <= tile;
  if (reduce_in_tiles) tile = tile / row_len * row_len;
  void* reduced = reduces ? outputs[p.stores.size()] : nullptr;
  const ElementwiseTable& table = active_elementwise_table();
  const int d = static_cast<int>(dtype);
  const size_t nregs = p.code.size();
  std::vector<Step> steps(nregs);
  for (size_t i = 0; i < nregs; ++i) {
    const FusedInstr& in = p.code[i];
    Step& s = steps[i];
    if (in.binary) {
      s.binary = table.binary[in.op][d];
    } else {
      s.unary = table.unary[in.op][d];
    }
    s.alpha = in.alpha;
    s.a = in.a;
    s.b = in.b;
  }
  // Registers that are stored live in the outputs; the others in per-thread tiles.
  std::vector<int32_t> store_of(nregs, -1);
  for (size_t k = 0; k < p.stores.size(); ++k)
    store_of[static_cast<size_t>(p.stores[k])] = static_cast<int32_t>(k);
  std::vector<void*> outs(outputs, outputs + p.stores.size());
  std::optional<Scratch<char>> whole;  // the reduced register, when reduced afterwards
  if (reduces && !reduce_in_tiles && store_of[static_cast<size_t>(p.reduce)] < 0) {
    whole.emplace(n * isz, "fused_elementwise");
    store_of[static_cast<size_t>(p.reduce)] = static_cast<int32_t>(outs.size());
    outs.push_back(whole->data());
  }
  const int64_t grain = costly(p) ? kGrainCostly : kGrainCheap;
  // Strided inputs are gathered into tiles of their own, after the registers'.
  std::vector<int64_t> gathered(inputs.size(), -1);
  size_t ntiles = nregs;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].scalar && !inputs[k].strides.empty())
      gathered[k] = static_cast<int64_t>(ntiles++);
  }
  auto chunk = [&](int64_t b0, int64_t b1) {
    // From the caching allocator (64-byte aligned, not zeroed): a vector here cost a heap
    // allocation and a memset of every tile on each chunk.
    const Scratch<char> scratch(static_cast<int64_t>(ntiles) * kTileBytes, "fused_elementwise");
    char* tiles = scratch.data();
    for (int64_t t0 = b0; t0 < b1; t0 += tile) {
      const int64_t len = std::min(b1, t0 + tile) - t0;
      for (size_t k = 0; k < inputs.size(); ++k) {
        if (gathered[k] < 0) continue;
        gather_tile(inputs[k].data, isz, shape, inputs[k].strides, t0, len,
                    tiles + gathered[k] * kTileBytes);
      }
      // Register r of this tile: its output's elements from t0, or its tile.
      auto reg = [&](size_t r) -> char* {
        return store_of[r] >= 0 ? static_cast<char*>(outs[store_of[r]]) + t0 * isz
                                : tiles + static_cast<int64_t>(r) * kTileBytes;
      };
      // Operand r: a register, or program input -1 - r (an array from t0, or one element).
      auto operand = [&](int32_t r, int64_t* stride) -> const char* {
        if (r >= 0) {
          *stride = 1;
          return reg(static_cast<size_t>(r));
        }
        const auto k = static_cast<size_t>(-1 - r);
        const FusedInput& in = inputs[k];
        *stride = in.scalar ? 0 : 1;
        if (gathered[k] >= 0) return tiles + gathered[k] * kTileBytes;
        const char* data = static_cast<const char*>(in.data);
        return in.scalar ? data : data + t0 * isz;
      };
      for (size_t i = 0; i < nregs; ++i) {
        const Step& s = steps[i];
        int64_t sa = 0, sb = 0;
        const char* x = operand(s.a, &sa);
        if (s.binary != nullptr) {
          const char* y = operand(s.b, &sb);
          s.binary(x, sa, y, sb, reg(i), len);
        } else {
          s.unary(x, sa, reg(i), len, s.alpha);
        }
      }
      if (reduce_in_tiles) {
        reduce_last_axis_rows(p.reduce_mean ? ReduceOp::Mean : ReduceOp::Sum, dtype,
                              reg(static_cast<size_t>(p.reduce)), len / row_len, row_len,
                              static_cast<char*>(reduced) + t0 / row_len * isz);
      }
    }
  };
  if (n <= grain) {
    chunk(0, n);
  } else {
    // Chunks of whole tiles, so that every thread count splits the elements the same way.
    parallel_for(0, (n + tile - 1) / tile, std::max<int64_t>(1, grain / tile),
                 [&](int64_t t0, int64_t t1) { chunk(t0 * tile, std::min(n, t1 * tile)); });
  }
  if (reduces && !reduce_in_tiles) {
    std::vector<int64_t> strides(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
    std::vector<uint8_t> last(shape.size(), 0);
    if (!last.empty()) last.back() = 1;
    reduce(p.reduce_mean ? ReduceOp::Mean : ReduceOp::Sum, dtype, shape,
           outs[static_cast<size_t>(store_of[static_cast<size_t>(p.reduce)])], strides, last,
           reduced);
  }
}

}  // namespace corten::cpu
