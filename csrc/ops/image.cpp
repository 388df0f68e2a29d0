// Entry points of the image ops (corten/ops/image.h): argument checks, output shapes (meta
// included) and dispatch to the kernels of cpu/image_transform.h.
#include <corten/ops.h>
#include <corten/ops/image.h>
#include <corten/trace.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "ops/common.h"
#include "ops/kernels.h"

namespace corten {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return s;
}

std::string show_sizes(const std::vector<int64_t>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

cpu::ImageFillMode fill_mode_of(const std::string& name, const char* op) {
  const std::string u = upper(name);
  if (u == "REFLECT") return cpu::ImageFillMode::kReflect;
  if (u == "WRAP") return cpu::ImageFillMode::kWrap;
  if (u == "CONSTANT") return cpu::ImageFillMode::kConstant;
  if (u == "NEAREST") return cpu::ImageFillMode::kNearest;
  throw ValueError(std::string(op) + ": fill_mode must be 'reflect', 'wrap', 'constant' or "
                   "'nearest'; got fill_mode='" + name + "'");
}

bool bilinear_of(const std::string& name, const char* op) {
  const std::string u = upper(name);
  if (u == "BILINEAR") return true;
  if (u == "NEAREST") return false;
  throw ValueError(std::string(op) + ": interpolation must be 'nearest' or 'bilinear'; got "
                   "interpolation='" + name + "'");
}

}  // namespace

Tensor image_transform(const Tensor& images, const Tensor& transforms,
                       const std::vector<int64_t>& output_shape, const std::string& interpolation,
                       const std::string& fill_mode, double fill_value) {
  trace::OpRecord rec;
  const char* op = "image_transform";
  detail::check_defined(images, op, "images");
  detail::check_defined(transforms, op, "transforms");
  CORTEN_CHECK_TYPE(is_floating(images.dtype()), op, ": images must be float32 or float64; got ",
                    dtype_name(images.dtype()));
  CORTEN_CHECK_TYPE(transforms.dtype() == DType::Float32, op,
                    ": transforms must be float32; got ", dtype_name(transforms.dtype()));
  CORTEN_CHECK_VALUE(images.ndim() == 4, op, ": images must have rank 4 (n, height, width, "
                     "channels); got images.shape=", show(images.shape()));
  CORTEN_CHECK_VALUE(transforms.ndim() == 2 && transforms.dim(1) == 8, op,
                     ": transforms must have shape (1, 8) or (n, 8); got transforms.shape=",
                     show(transforms.shape()), " for images.shape=", show(images.shape()));
  const int64_t n = images.dim(0), nt = transforms.dim(0);
  CORTEN_CHECK_VALUE(nt == 1 || nt == n || nt == kUnknownDim || n == kUnknownDim, op,
                     ": transforms must have 1 or n rows; got transforms.shape=",
                     show(transforms.shape()), " for images.shape=", show(images.shape()));
  CORTEN_CHECK_VALUE(output_shape.size() == 2 && output_shape[0] >= 1 && output_shape[1] >= 1,
                     op, ": output_shape must be two positive sizes [height, width]; got "
                     "output_shape=", show_sizes(output_shape));
  detail::check_same_device(images, transforms, op);
  cpu::ImageTransformSpec s;
  s.bilinear = bilinear_of(interpolation, op);
  s.fill_mode = fill_mode_of(fill_mode, op);
  s.fill_value = static_cast<float>(fill_value);
  const Device device = detail::result_device(images, transforms);
  Tensor out = Tensor::empty(Shape{n, output_shape[0], output_shape[1], images.dim(3)},
                             images.dtype(), device, op);
  if (device == Device::Meta || out.numel() == 0) return out;
  const Tensor xc = images.contiguous(), tc = transforms.contiguous();
  s.n = n;
  s.h = images.dim(1);
  s.w = images.dim(2);
  s.c = images.dim(3);
  s.out_h = output_shape[0];
  s.out_w = output_shape[1];
  s.num_transforms = nt;
  CORTEN_CHECK_VALUE(s.h >= 1 && s.w >= 1, op, ": images must not be empty; got images.shape=",
                     show(images.shape()));
  kernels::image_transform(out.device())(images.dtype(), s, xc.raw_data(),
                                         static_cast<const float*>(tc.raw_data()),
                                         out.raw_data());
  rec.record(
      "image_transform", {images, transforms}, {out},
      [](const trace::Tensors& in, const auto& output_shape, const auto& interpolation,
         const auto& fill_mode, const auto& fill_value) {
        return image_transform(in[0], in[1], output_shape, interpolation, fill_mode, fill_value);
      },
      output_shape, interpolation, fill_mode, fill_value);
  return out;
}

}  // namespace corten
