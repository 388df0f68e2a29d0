// cuda::image_transform and image_transform_backward (csrc/cuda/image_transform.cu through the
// shim) against the CPU kernels: bit for bit through the shim (both run
// cpu/image_transform_math.h, and the backward sums in the CPU's order, Note [CUDA
// image_transform backward]), to a few ulp on a GPU (contracted multiply-adds): rotations,
// zooms, translations, a projective transform, a zero projection and non-finite coordinates;
// every fill mode with both interpolations; one transform for all images and one per image;
// other output sizes; size-1 and multi-block images; float32 and float64; and a guard after the
// output that the kernel must not touch.
#include <corten/dtype.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "cpu/image_transform.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::cpu::ImageFillMode;
using corten::cpu::ImageTransformSpec;
using namespace corten_test;

struct Geom {
  const char* name;
  int64_t n, h, w, c, out_h, out_w;
};

// A transform per image: rotation, zoom, translation and general projective rows in turn.
std::vector<float> transforms_for(int64_t count, int64_t h, int64_t w, uint32_t seed) {
  std::vector<float> t;
  for (int64_t i = 0; i < count; ++i) {
    const float a = 0.37f * static_cast<float>(i + seed % 7) - 1.1f;
    const float cx = static_cast<float>(w - 1), cy = static_cast<float>(h - 1);
    std::vector<float> row;
    switch ((i + seed) % 6) {
      case 0:
        row = {std::cos(a), -std::sin(a), (cx - (std::cos(a) * cx - std::sin(a) * cy)) / 2,
               std::sin(a), std::cos(a), (cy - (std::sin(a) * cx + std::cos(a) * cy)) / 2, 0, 0};
        break;
      case 1:
        row = {1.3f, 0, cx / 2 * (1 - 1.3f), 0, 0.7f, cy / 2 * (1 - 0.7f), 0, 0};
        break;
      case 2:
        row = {1, 0, -2.5f * a, 0, 1, 3.25f * a, 0, 0};
        break;
      case 3:
        row = {0.9f, 0.2f, -1.0f, -0.1f, 1.1f, 0.5f, 0.05f, -0.03f};
        break;
      case 4:  // a projection of 0 at output (1, 0)
        row = {1, 0, 0, 0, 1, 0, -1.0f, 0};
        break;
      default:  // coordinates far outside, and an infinite one
        row = {1e20f, 0, 0, 0, 1, -1e30f, 0, 0};
        break;
    }
    t.insert(t.end(), row.begin(), row.end());
  }
  return t;
}

void check(const Geom& g, DType dtype, bool bilinear, ImageFillMode mode, bool per_image,
           uint32_t seed, bool backward) {
  ImageTransformSpec s;
  s.n = g.n;
  s.h = g.h;
  s.w = g.w;
  s.c = g.c;
  s.out_h = g.out_h;
  s.out_w = g.out_w;
  s.num_transforms = per_image ? g.n : 1;
  s.bilinear = bilinear;
  s.fill_mode = mode;
  s.fill_value = -1.5f;
  const size_t item = corten::itemsize(dtype);
  int64_t nx = g.n * g.h * g.w * g.c, ny = g.n * g.out_h * g.out_w * g.c;
  if (backward) std::swap(nx, ny);  // dy (output sized) in, dx (input sized) out
  std::vector<unsigned char> x(static_cast<size_t>(nx) * item + item);
  fill(dtype, x.data(), nx, seed, 4.0, false, 1);
  const std::vector<float> t = transforms_for(s.num_transforms, g.h, g.w, seed);
  std::vector<unsigned char> tb(t.size() * sizeof(float));
  if (!t.empty()) std::memcpy(tb.data(), t.data(), tb.size());
  const size_t ybytes = static_cast<size_t>(ny) * item, guard = 64;
  std::vector<unsigned char> want(ybytes + guard, 0xA5);
  KernelBuffer dx(x), dt(tb), dy(std::vector<unsigned char>(ybytes + guard, 0xA5));
  if (backward) {
    corten::cpu::image_transform_backward(dtype, s, x.data(), t.data(), want.data());
    corten::cuda::image_transform_backward(dtype, s, dx.get(),
                                           static_cast<const float*>(dt.get()), dy.get());
  } else {
    corten::cpu::image_transform(dtype, s, x.data(), t.data(), want.data());
    corten::cuda::image_transform(dtype, s, dx.get(), static_cast<const float*>(dt.get()),
                                  dy.get());
  }
  const std::vector<unsigned char> got = dy.read();
  const std::string what =
      std::string(backward ? "image_transform_backward " : "image_transform ") +
      corten::dtype_name(dtype) + " " + g.name + (bilinear ? " bilinear" : " nearest") +
      " mode " + std::to_string(static_cast<int>(mode)) + (per_image ? " per-image" : " shared");
  const double tol = kOnDevice ? (dtype == DType::Float32 ? 1e-4 : 1e-5) : 0.0;
  CHECK(same_values(what, dtype, got.data(), want.data(), ny, tol, tol));
  CHECK(std::memcmp(got.data() + ybytes, want.data() + ybytes, guard) == 0);
}

void image_transform_cases(bool backward) {
  const Geom geoms[] = {
      {"small", 3, 5, 7, 2, 5, 7},    {"resized out", 2, 6, 4, 3, 9, 5},
      {"size-1", 2, 1, 1, 1, 3, 2},   {"one row", 2, 1, 6, 2, 1, 6},
      {"multi-block", 6, 17, 19, 3, 17, 19}, {"empty batch", 0, 4, 4, 1, 4, 4},
  };
  const ImageFillMode modes[] = {ImageFillMode::kReflect, ImageFillMode::kWrap,
                                 ImageFillMode::kConstant, ImageFillMode::kNearest};
  uint32_t seed = backward ? 9900 : 9700;
  for (const Geom& g : geoms) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (bool bilinear : {false, true}) {
        for (ImageFillMode mode : modes) {
          for (bool per_image : {false, true}) {
            check(g, dtype, bilinear, mode, per_image, ++seed, backward);
          }
        }
      }
    }
  }
}

const RegisterCase image_transform_case("image_transform", [] { image_transform_cases(false); });
const RegisterCase image_transform_backward_case("image_transform_backward",
                                                 [] { image_transform_cases(true); });

}  // namespace
