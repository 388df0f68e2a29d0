// cuda::copy, tile, pad and pad_backward (csrc/cuda/copy.cu through the shim) against the CPU
// kernels, bit for bit (whole output buffers, so nothing is written outside the output):
// element sizes 1, 2, 4, 8 and odd sizes (a trailing dimension of bytes), 0-d, empty, size-1,
// transposed, sliced, broadcast and misaligned operands, and sizes that span several blocks.
// pad and pad_backward take every mode; pad_backward's sums follow the CPU's order exactly
// (Note [CUDA pad_backward order]).
#include <corten/dtype.h>
#include <corten/ops/shape_ops.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "cpu/copy.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::PadMode;
using corten::Shape;
using namespace corten_test;
using Paddings = std::vector<std::pair<int64_t, int64_t>>;

// Elements of `itemsize` bytes with element strides, starting `offset` elements in; pseudo-random
// bytes, and room for the guard bytes after the last element.
struct Bytes {
  size_t itemsize;
  std::vector<unsigned char> storage;
  int64_t offset;
  Shape strides;
  size_t byte_offset() const { return static_cast<size_t>(offset) * itemsize; }
  const void* data() const { return storage.data() + byte_offset(); }
  void* data() { return storage.data() + byte_offset(); }
};

Bytes make_bytes(size_t itemsize, const Shape& shape, const Shape& strides, int64_t offset,
                 uint32_t seed) {
  int64_t last = 0;
  bool empty = false;
  for (size_t d = 0; d < shape.size(); ++d) {
    empty |= shape[d] == 0;
    if (shape[d] > 0) last += (shape[d] - 1) * strides[d];
  }
  const int64_t n = offset + (empty ? 0 : last + 1);
  Bytes b{itemsize, std::vector<unsigned char>(static_cast<size_t>(n) * itemsize + 16), offset,
          strides};
  uint32_t s = seed * 2654435761u + 99u;
  for (auto& byte : b.storage) {
    s = s * 1664525u + 1013904223u;
    byte = static_cast<unsigned char>(s >> 24);
  }
  return b;
}

const size_t kItemSizes[] = {1, 2, 4, 8, 3, 12};

// ---- copy --------------------------------------------------------------------------------

struct CopyCase {
  std::string name;
  Shape shape;
  Shape src_strides, dst_strides;
  int64_t src_offset = 0, dst_offset = 0;
};

std::vector<CopyCase> copy_cases() {
  const Shape s34{3, 4}, s234{2, 3, 4}, row{2053};
  return {
      {"0-d", {}, {}, {}},
      {"empty", {0}, {1}, {1}},
      {"empty 2-d", {3, 0}, {0, 1}, {0, 1}},
      {"size-1", {1}, {1}, {1}},
      {"contiguous", {7}, {1}, {1}},
      {"long", row, {1}, {1}},
      {"long misaligned source", row, {1}, {1}, 1, 0},
      {"long misaligned both", row, {1}, {1}, 1, 1},
      {"fill", row, {0}, {1}},
      {"fill misaligned", row, {0}, {1}, 0, 1},
      {"broadcast rows", s234, {0, 4, 1}, c_strides(s234)},
      {"transposed source", s34, {1, 3}, {4, 1}},
      {"transposed destination", s34, {4, 1}, {1, 3}},
      {"sliced both", s34, {8, 2}, {12, 3}, 1, 2},
      {"sliced long", {40, 70}, {140, 2}, {70, 1}},
  };
}

const RegisterCase copy_case("copy", [] {
  uint32_t seed = 9000;
  for (const CopyCase& cc : copy_cases()) {
    for (size_t isz : kItemSizes) {
      const Bytes src = make_bytes(isz, cc.shape, cc.src_strides, cc.src_offset, ++seed);
      Bytes want = make_bytes(isz, cc.shape, cc.dst_strides, cc.dst_offset, ++seed);
      std::vector<unsigned char> got;
      {
        KernelBuffer ds(src.storage), dd(want.storage);
        corten::cuda::copy(isz, cc.shape, ds.get(src.byte_offset()), src.strides,
                           dd.get(want.byte_offset()), want.strides);
        got = dd.read();
      }
      corten::cpu::copy(isz, cc.shape, src.data(), src.strides, want.data(), want.strides);
      if (got != want.storage) std::printf("copy %s itemsize %zu differs\n", cc.name.c_str(), isz);
      CHECK(got == want.storage);
    }
  }
});

// ---- tile --------------------------------------------------------------------------------

struct TileCase {
  std::string name;
  Shape shape, strides;
  std::vector<int64_t> multiples;
};

std::vector<TileCase> tile_cases() {
  return {
      {"0-d", {}, {}, {}},
      {"empty input", {0}, {1}, {3}},
      {"zero multiple", {3}, {1}, {0}},
      {"size-1", {1}, {1}, {5}},
      {"row", {7}, {1}, {3}},
      {"outer", {2, 3}, {3, 1}, {2, 1}},
      {"inner", {2, 3}, {3, 1}, {1, 4}},
      {"3-d", {3, 1, 5}, {5, 5, 1}, {2, 3, 1}},
      {"untiled", {4, 5}, {5, 1}, {1, 1}},
      {"transposed", {3, 4}, {1, 3}, {2, 3}},
      {"sliced", {5, 6}, {12, 2}, {3, 1}},
      {"broadcast input", {4, 5}, {0, 1}, {2, 2}},
      {"long", {40, 33}, {33, 1}, {2, 3}},
      // Rows of 16 bytes or multiples: the output in packs for some element sizes.
      {"packs", {6, 8}, {8, 1}, {3, 2}},
      {"packs outer", {5, 16}, {16, 1}, {2, 1}},
      {"packs long", {40, 64}, {64, 1}, {2, 3}},
  };
}

const RegisterCase tile_case("tile", [] {
  uint32_t seed = 9500;
  for (const TileCase& tc : tile_cases()) {
    for (size_t isz : kItemSizes) {
      const Bytes x = make_bytes(isz, tc.shape, tc.strides, 0, ++seed);
      int64_t n = 1;
      for (size_t d = 0; d < tc.shape.size(); ++d) n *= tc.shape[d] * tc.multiples[d];
      const size_t bytes = static_cast<size_t>(n) * isz + 1;
      std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
      {
        KernelBuffer dx(x.storage), dout(got);
        corten::cuda::tile(isz, tc.shape, dx.get(), x.strides, tc.multiples, dout.get());
        got = dout.read();
      }
      corten::cpu::tile(isz, tc.shape, x.data(), x.strides, tc.multiples, want.data());
      if (got != want) std::printf("tile %s itemsize %zu differs\n", tc.name.c_str(), isz);
      CHECK(got == want);
    }
  }
});

// ---- pad and pad_backward ----------------------------------------------------------------

struct PadCase {
  std::string name;
  Shape shape, strides;
  Paddings paddings;
  bool mirror;  // the paddings suit Reflect (so Symmetric too)
};

std::vector<PadCase> pad_cases() {
  return {
      {"0-d", {}, {}, {}, true},
      {"empty unpadded", {0}, {1}, {{0, 0}}, true},
      {"empty padded", {0}, {1}, {{2, 1}}, false},
      {"empty axis", {0, 3}, {3, 1}, {{1, 1}, {1, 1}}, false},
      {"size-1", {1}, {1}, {{0, 0}}, true},
      {"size-1 padded", {1}, {1}, {{3, 2}}, false},
      {"row", {5}, {1}, {{2, 3}}, true},
      {"row before", {5}, {1}, {{4, 0}}, true},
      {"2-d", {3, 4}, {4, 1}, {{1, 2}, {3, 0}}, true},
      {"transposed", {3, 4}, {1, 3}, {{2, 1}, {1, 3}}, true},
      {"3-d inner unpadded", {2, 3, 4}, {12, 4, 1}, {{0, 0}, {1, 1}, {0, 0}}, true},
      {"3-d", {2, 3, 4}, {12, 4, 1}, {{1, 0}, {2, 1}, {2, 3}}, true},
      {"sliced", {4, 5}, {10, 2}, {{0, 3}, {1, 1}}, true},
      {"broadcast input", {4, 5}, {0, 1}, {{1, 2}, {2, 2}}, true},
      {"long", {30, 40}, {40, 1}, {{5, 7}, {3, 30}}, true},
      // Innermost extents in multiples of a pack: Constant mode writes packs.
      {"packs", {30, 40}, {40, 1}, {{5, 7}, {4, 8}}, true},
      {"packs channels", {2, 5, 6, 8}, {240, 48, 8, 1}, {{0, 0}, {1, 1}, {2, 2}, {0, 0}}, true},
      {"packs empty", {3, 0}, {1, 1}, {{1, 1}, {16, 32}}, false},
  };
}

// Symmetric allows paddings up to the size: one more case at the limit.
const PadCase kSymmetricLimit{"symmetric limit", {3, 2}, {2, 1}, {{3, 3}, {0, 2}}, false};

void check_pad(const PadCase& pc, PadMode mode, size_t isz, uint32_t seed) {
  const std::string what = "pad " + pc.name + " mode " + std::to_string(static_cast<int>(mode)) +
                           " itemsize " + std::to_string(isz);
  const Bytes x = make_bytes(isz, pc.shape, pc.strides, 0, seed);
  const Bytes value = make_bytes(isz, {}, {}, 0, seed + 1);
  int64_t n = 1;
  for (size_t d = 0; d < pc.shape.size(); ++d) {
    n *= pc.shape[d] + pc.paddings[d].first + pc.paddings[d].second;
  }
  const size_t bytes = static_cast<size_t>(n) * isz + 1;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  {
    KernelBuffer dx(x.storage), dv(value.storage), dout(got);
    corten::cuda::pad(isz, pc.shape, dx.get(), x.strides, pc.paddings, mode, dv.get(), dout.get());
    got = dout.read();
  }
  corten::cpu::pad(isz, pc.shape, x.data(), x.strides, pc.paddings, mode, value.data(),
                   want.data());
  if (got != want) std::printf("%s differs\n", what.c_str());
  CHECK(got == want);
}

const RegisterCase pad_case("pad", [] {
  uint32_t seed = 9700;
  for (const PadCase& pc : pad_cases()) {
    for (size_t isz : kItemSizes) {
      check_pad(pc, PadMode::Constant, isz, seed += 2);
      if (pc.mirror) {
        check_pad(pc, PadMode::Reflect, isz, seed += 2);
        check_pad(pc, PadMode::Symmetric, isz, seed += 2);
      }
    }
  }
  for (size_t isz : kItemSizes) {
    check_pad(kSymmetricLimit, PadMode::Constant, isz, seed += 2);
    check_pad(kSymmetricLimit, PadMode::Symmetric, isz, seed += 2);
  }
});

// The gradient of the padded shape in a layout given by `transposed` (last two axes swapped in
// memory) or contiguous.
void check_pad_backward(const PadCase& pc, PadMode mode, DType dtype, bool transposed,
                        uint32_t seed) {
  const std::string what = "pad_backward " + pc.name + " mode " +
                           std::to_string(static_cast<int>(mode)) + " " +
                           corten::dtype_name(dtype) + (transposed ? " transposed" : "");
  Shape padded(pc.shape.size());
  for (size_t d = 0; d < pc.shape.size(); ++d) {
    padded[d] = pc.shape[d] + pc.paddings[d].first + pc.paddings[d].second;
  }
  Shape ws = c_strides(padded);
  const size_t r = padded.size();
  if (transposed) {
    Shape mem = padded;
    std::swap(mem[r - 1], mem[r - 2]);
    ws = c_strides(mem);
    std::swap(ws[r - 1], ws[r - 2]);
  }
  Operand work = make_operand(dtype, padded, ws, 0, seed, 4.0, false, 1);
  const int64_t n = corten::shape_numel(pc.shape);
  const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  {
    KernelBuffer dw(work.storage), dout(got);
    corten::cuda::pad_backward(dtype, pc.shape, pc.paddings, mode, dw.get(), work.strides,
                               dout.get());
    got = dout.read();
  }
  corten::cpu::pad_backward(dtype, pc.shape, pc.paddings, mode, work.storage.data(), work.strides,
                            want.data());
  CHECK(same_values(what, dtype, got.data(), want.data(), n, 0, 0));
  CHECK(got[bytes - 1] == 0xAB);
}

const RegisterCase pad_backward_case("pad_backward", [] {
  uint32_t seed = 9900;
  std::vector<PadCase> cases = pad_cases();
  cases.push_back(kSymmetricLimit);
  for (const PadCase& pc : cases) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (bool transposed : {false, true}) {
        if (transposed && pc.shape.size() < 2) continue;
        check_pad_backward(pc, PadMode::Constant, dtype, transposed, ++seed);
        if (pc.mirror || &pc == &cases.back()) {
          check_pad_backward(pc, PadMode::Symmetric, dtype, transposed, ++seed);
        }
        if (pc.mirror) check_pad_backward(pc, PadMode::Reflect, dtype, transposed, ++seed);
      }
    }
  }
});

}  // namespace
