// The CUDA random kernels (csrc/cuda/random.cu through the shim) against the CPU kernels, all
// bit for bit (Note [CUDA random draws]): every dtype each kernel accepts, n = 0, 1, odd sizes
// and sizes not multiples of a Philox block, counter offsets that are not multiples of 4 or that
// carry into the counter's high word, outputs that are not 16-byte aligned (element stores),
// draws of more than one grid of Philox blocks (the grid-stride loop), truncated normals with
// redraws, and dropout_apply over contiguous, misaligned, transposed, sliced and broadcast x
// and masks, with NaN and infinities in x. Guard bytes after each output must stay untouched.
#include <corten/dtype.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/random.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using namespace corten_test;

constexpr unsigned char kGuard = 0xAB;
constexpr size_t kGuardBytes = 16;

// A draw into `out` (a device or host pointer) of n elements.
using Draw = std::function<void(void* out, int64_t n)>;

// Runs the CUDA and CPU draws of n elements of `dtype` at byte `shift` into a guarded buffer and
// compares every byte (the values bit for bit, then the guards).
void check_draw(const std::string& what, DType dtype, int64_t n, size_t shift, const Draw& cuda,
                const Draw& cpu) {
  const size_t bytes = shift + static_cast<size_t>(n) * corten::itemsize(dtype) + kGuardBytes;
  std::vector<unsigned char> got(bytes, kGuard), want(bytes, kGuard);
  {
    KernelBuffer dout(got);
    cuda(dout.get(shift), n);
    got = dout.read();
  }
  cpu(want.data() + shift, n);
  const std::string label = what + " " + corten::dtype_name(dtype) + " n=" + std::to_string(n) +
                            " shift=" + std::to_string(shift);
  const bool same = same_values(label, dtype, got.data() + shift, want.data() + shift, n, 0, 0);
  CHECK(same);
  bool guards = true;
  for (size_t i = 0; i < shift; ++i) guards &= got[i] == kGuard;
  for (size_t i = bytes - kGuardBytes; i < bytes; ++i) guards &= got[i] == kGuard;
  if (!guards) std::printf("%s: bytes outside the output were written\n", label.c_str());
  CHECK(guards);
}

// Sizes: empty, one, odd, not multiples of a block (4 or 2 elements) or of a warp.
const int64_t kSizes[] = {0, 1, 2, 3, 5, 7, 33, 1001};

// (key, offset) pairs: offsets not multiples of 4, one that carries into the counter's high
// word within the draw, one that wraps around 2^64.
struct Seed {
  uint64_t key, offset;
};
const Seed kSeeds[] = {{0, 0},
                       {7, 1},
                       {0x9E3779B97F4A7C15ull, 3},
                       {12345, 0xFFFFFFFFull - 5},
                       {0xDEADBEEFCAFEF00Dull, 0xFFFFFFFFFFFFFFFFull - 2}};

// More Philox blocks than one grid of the CUDA kernels (kRandomBlocks blocks of 256 threads),
// so that threads take several blocks.
constexpr int64_t kGridBlocks = 1024 * 256;

int64_t grid_stride_n(DType dtype) {
  const int64_t per_block = corten::itemsize(dtype) == 8 ? 2 : 4;
  return per_block * kGridBlocks + 3 * per_block + 1;
}

// Every seed over the sizes, at an aligned and, for a few sizes, a misaligned output (element
// stores only); with `grid`, one draw past the grid too (the shim takes seconds for it: once per
// kernel and dtype).
void sweep(const std::string& what, DType dtype, bool grid,
           const std::function<void(void*, int64_t, uint64_t, uint64_t, bool)>& draw) {
  const size_t item = corten::itemsize(dtype);
  for (const Seed& s : kSeeds) {
    for (const int64_t n : kSizes) {
      for (const size_t shift : {size_t{0}, item}) {
        if (shift != 0 && n != 3 && n != 1001) continue;
        check_draw(
            what, dtype, n, shift, [&](void* o, int64_t m) { draw(o, m, s.key, s.offset, true); },
            [&](void* o, int64_t m) { draw(o, m, s.key, s.offset, false); });
      }
    }
  }
  if (!grid) return;
  check_draw(
      what + " grid-stride", dtype, grid_stride_n(dtype), 0,
      [&](void* o, int64_t m) { draw(o, m, 99, 5, true); },
      [&](void* o, int64_t m) { draw(o, m, 99, 5, false); });
}

const RegisterCase random_normal_case("random_normal", [] {
  struct Params {
    double mean, stddev;
  };
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const Params p : {Params{0.5, 3.0}, Params{0.0, 1.0}, Params{-2.0, 0.25}}) {
      sweep("random_normal", dtype, p.mean == 0.5,
            [&](void* o, int64_t n, uint64_t key, uint64_t off, bool cu) {
              if (cu) {
                corten::cuda::random_normal(dtype, o, n, p.mean, p.stddev, key, off);
              } else {
                corten::cpu::random_normal(dtype, o, n, p.mean, p.stddev, key, off);
              }
            });
    }
  }
});

const RegisterCase random_uniform_case("random_uniform", [] {
  struct Params {
    double minval, maxval;
  };
  // The last bounds round to values that minval + u * range reaches (the half-open clamp), or
  // to one float32 value (minval == maxval after rounding: no clamp).
  const Params params[] = {
      {0.0, 1.0}, {-1.0, 2.0}, {-1e300, 1e300}, {1.0, 1.0 + 0x1p-20}, {1.0, 1.0 + 1e-12}};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const Params& p : params) {
      sweep("random_uniform", dtype, &p == params,
            [&](void* o, int64_t n, uint64_t key, uint64_t off, bool cu) {
              if (cu) {
                corten::cuda::random_uniform(dtype, o, n, p.minval, p.maxval, key, off);
              } else {
                corten::cpu::random_uniform(dtype, o, n, p.minval, p.maxval, key, off);
              }
            });
    }
  }
});

const RegisterCase random_uniform_int_case("random_uniform_int", [] {
  struct Params {
    int64_t minval, maxval;
  };
  constexpr int64_t i32min = std::numeric_limits<int32_t>::min();
  constexpr int64_t i32max = std::numeric_limits<int32_t>::max();
  constexpr int64_t i64max = std::numeric_limits<int64_t>::max();
  const Params both[] = {{0, 1}, {0, 10}, {-7, 1000}, {i32min, i32max}};
  const Params wide[] = {{-i64max / 2, i64max / 2}, {-(int64_t{1} << 40), 3}};
  auto run = [](DType dtype, const Params& p, bool grid) {
    sweep("random_uniform_int", dtype, grid,
          [&](void* o, int64_t n, uint64_t key, uint64_t off, bool cu) {
            if (cu) {
              corten::cuda::random_uniform_int(dtype, o, n, p.minval, p.maxval, key, off);
            } else {
              corten::cpu::random_uniform_int(dtype, o, n, p.minval, p.maxval, key, off);
            }
          });
  };
  for (DType dtype : {DType::Int32, DType::Int64}) {
    for (const Params& p : both) run(dtype, p, &p == both + 2);
  }
  for (const Params& p : wide) run(DType::Int64, p, false);
  // A floating dtype draws nothing on either device.
  check_draw(
      "random_uniform_int floating", DType::Float32, 9, 0,
      [](void* o, int64_t n) {
        corten::cuda::random_uniform_int(DType::Float32, o, n, 0, 5, 1, 0);
      },
      [](void* o, int64_t n) {
        corten::cpu::random_uniform_int(DType::Float32, o, n, 0, 5, 1, 0);
      });
});

const RegisterCase truncated_normal_case("truncated_normal", [] {
  struct Params {
    double mean, stddev;
  };
  // About 4.6% of the stream-0 normals fall outside [-2, 2] and are redrawn: the sizes of
  // 1001 and more have dozens, and the grid-stride draw thousands with repeated redraws.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const Params p : {Params{0.0, 1.0}, Params{-1.0, 2.0}}) {
      sweep("truncated_normal", dtype, p.mean == -1.0,
            [&](void* o, int64_t n, uint64_t key, uint64_t off, bool cu) {
              if (cu) {
                corten::cuda::truncated_normal(dtype, o, n, p.mean, p.stddev, key, off);
              } else {
                corten::cpu::truncated_normal(dtype, o, n, p.mean, p.stddev, key, off);
              }
            });
    }
  }
  // The values lie within two standard deviations (a check that redraws happened at all: the
  // stream-0 normals of this draw include values beyond 2).
  const int64_t n = 4099;
  std::vector<unsigned char> z(n * sizeof(float)), t(n * sizeof(float));
  corten::cpu::random_normal(DType::Float32, z.data(), n, 0.0, 1.0, 7, 1);
  {
    KernelBuffer dt(t);
    corten::cuda::truncated_normal(DType::Float32, dt.get(), n, 0.0, 1.0, 7, 1);
    t = dt.read();
  }
  int outside = 0;
  bool within = true;
  for (int64_t i = 0; i < n; ++i) {
    outside += std::fabs(reinterpret_cast<const float*>(z.data())[i]) > 2.0f;
    within &= std::fabs(reinterpret_cast<const float*>(t.data())[i]) <= 2.0f;
  }
  CHECK(outside > 50);
  CHECK(within);
});

const RegisterCase dropout_mask_case("dropout_mask", [] {
  for (const double rate : {0.0, 0.3, 0.5, 0.999}) {
    sweep("dropout_mask", DType::Bool, rate == 0.3,
          [&](void* o, int64_t n, uint64_t key, uint64_t off, bool cu) {
            if (cu) {
              corten::cuda::dropout_mask(static_cast<bool*>(o), n, rate, key, off);
            } else {
              corten::cpu::dropout_mask(static_cast<bool*>(o), n, rate, key, off);
            }
          });
  }
  // Misaligned by 1 to 3 bytes: element stores only.
  for (const size_t shift : {size_t{2}, size_t{3}}) {
    check_draw(
        "dropout_mask", DType::Bool, 1001, shift,
        [](void* o, int64_t n) { corten::cuda::dropout_mask(static_cast<bool*>(o), n, 0.3, 5, 1); },
        [](void* o, int64_t n) { corten::cpu::dropout_mask(static_cast<bool*>(o), n, 0.3, 5, 1); });
  }
});

struct ApplyCase {
  std::string name;
  Shape shape;
  Shape x_strides;
  int64_t x_offset;
  Shape mask_strides;  // 0 where the mask is broadcast (a noise_shape)
  int64_t mask_offset;
  size_t out_shift;  // elements
};

std::vector<ApplyCase> apply_cases() {
  return {
      {"0-d", {}, {}, 0, {}, 0, 0},
      {"empty", {0, 3}, {3, 1}, 0, {3, 1}, 0, 0},
      {"size-1", {1}, {1}, 0, {1}, 0, 0},
      {"contiguous 7", {7}, {1}, 0, {1}, 0, 0},
      {"contiguous 3x333", {3, 333}, {333, 1}, 0, {333, 1}, 0, 0},
      {"misaligned x", {1001}, {1}, 1, {1}, 0, 0},
      {"misaligned out", {1001}, {1}, 0, {1}, 0, 1},
      {"misaligned mask", {1001}, {1}, 0, {1}, 1, 0},
      {"mask one value", {5, 41}, {41, 1}, 0, {0, 0}, 0, 0},
      {"noise_shape (1, 41)", {5, 41}, {41, 1}, 0, {0, 1}, 0, 0},
      {"noise_shape (5, 1)", {5, 41}, {41, 1}, 0, {1, 0}, 0, 0},
      {"transposed x", {40, 30}, {1, 40}, 0, {30, 1}, 0, 0},
      {"sliced x", {6, 300}, {600, 2}, 3, {300, 1}, 0, 0},
      {"broadcast x", {3, 50}, {0, 1}, 0, {50, 1}, 0, 0},
      {"strided mask", {4, 9, 5}, {45, 5, 1}, 0, {90, 10, 2}, 0, 0},
      {"many blocks", {70000}, {1}, 0, {1}, 0, 0},
  };
}

void check_apply(DType dtype, const ApplyCase& ac, double scale, uint32_t seed) {
  const Operand x = make_operand(dtype, ac.shape, ac.x_strides, ac.x_offset, seed, 4.0, true, 0);
  const Operand mask =
      make_operand(DType::Bool, ac.shape, ac.mask_strides, ac.mask_offset, seed + 1, 1.0, false, 0);
  const int64_t n = corten::shape_numel(ac.shape);
  const size_t item = corten::itemsize(dtype);
  const size_t shift = ac.out_shift * item;
  const size_t bytes = shift + static_cast<size_t>(n) * item + kGuardBytes;
  std::vector<unsigned char> got(bytes, kGuard), want(bytes, kGuard);
  {
    KernelBuffer dx(x.storage), dm(mask.storage), dout(got);
    corten::cuda::dropout_apply(dtype, ac.shape, dx.get(x.byte_offset()), x.strides,
                                static_cast<const bool*>(dm.get(mask.byte_offset())), mask.strides,
                                dout.get(shift), scale);
    got = dout.read();
  }
  corten::cpu::dropout_apply(dtype, ac.shape, x.data(), x.strides,
                             static_cast<const bool*>(mask.data()), mask.strides,
                             want.data() + shift, scale);
  const std::string label =
      std::string("dropout_apply ") + corten::dtype_name(dtype) + " " + ac.name;
  CHECK(same_values(label, dtype, got.data() + shift, want.data() + shift, n, 0, 0));
  bool guards = true;
  for (size_t i = 0; i < shift; ++i) guards &= got[i] == kGuard;
  for (size_t i = bytes - kGuardBytes; i < bytes; ++i) guards &= got[i] == kGuard;
  CHECK(guards);
}

const RegisterCase dropout_apply_case("dropout_apply", [] {
  uint32_t seed = 9000;
  for (const ApplyCase& ac : apply_cases()) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (const double scale : {1.0 / 0.7, 2.0, 1.0}) check_apply(dtype, ac, scale, ++seed);
    }
  }
});

}  // namespace
