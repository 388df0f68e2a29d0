// Entry points of the image ops (corten/ops/image.h): argument checks, output shapes (meta
// included) and dispatch to the kernels of cpu/image_transform.h.
#include <corten/ops.h>
#include <corten/ops/image.h>
#include <corten/trace.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "autograd/grad_rules.h"
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

// The checks shared by the forward and the backward: `x` is the images (forward) or the output
// gradient (backward), `size` the output (forward) or input (backward) height and width.
cpu::ImageTransformSpec check_transform_args(const char* op, const char* x_name, const Tensor& x,
                                             const Tensor& transforms,
                                             const std::vector<int64_t>& size,
                                             const char* size_name,
                                             const std::string& interpolation,
                                             const std::string& fill_mode) {
  detail::check_defined(x, op, x_name);
  detail::check_defined(transforms, op, "transforms");
  CORTEN_CHECK_TYPE(is_floating(x.dtype()), op, ": ", x_name, " must be float32 or float64; got ",
                    dtype_name(x.dtype()));
  CORTEN_CHECK_TYPE(transforms.dtype() == DType::Float32, op,
                    ": transforms must be float32; got ", dtype_name(transforms.dtype()));
  CORTEN_CHECK_VALUE(x.ndim() == 4, op, ": ", x_name, " must have rank 4 (n, height, width, "
                     "channels); got ", x_name, ".shape=", show(x.shape()));
  CORTEN_CHECK_VALUE(transforms.ndim() == 2 && transforms.dim(1) == 8, op,
                     ": transforms must have shape (1, 8) or (n, 8); got transforms.shape=",
                     show(transforms.shape()), " for ", x_name, ".shape=", show(x.shape()));
  const int64_t n = x.dim(0), nt = transforms.dim(0);
  CORTEN_CHECK_VALUE(nt == 1 || nt == n || nt == kUnknownDim || n == kUnknownDim, op,
                     ": transforms must have 1 or n rows; got transforms.shape=",
                     show(transforms.shape()), " for ", x_name, ".shape=", show(x.shape()));
  CORTEN_CHECK_VALUE(size.size() == 2 && size[0] >= 1 && size[1] >= 1, op, ": ", size_name,
                     " must be two positive sizes [height, width]; got ", size_name, "=",
                     show_sizes(size));
  detail::check_same_device(x, transforms, op);
  cpu::ImageTransformSpec s;
  s.bilinear = bilinear_of(interpolation, op);
  s.fill_mode = fill_mode_of(fill_mode, op);
  s.num_transforms = nt;
  return s;
}

}  // namespace

Tensor image_transform(const Tensor& images, const Tensor& transforms,
                       const std::vector<int64_t>& output_shape, const std::string& interpolation,
                       const std::string& fill_mode, double fill_value) {
  trace::OpRecord rec;
  const char* op = "image_transform";
  cpu::ImageTransformSpec s = check_transform_args(op, "images", images, transforms,
                                                   output_shape, "output_shape", interpolation,
                                                   fill_mode);
  s.fill_value = static_cast<float>(fill_value);
  const int64_t n = images.dim(0);
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
  CORTEN_CHECK_VALUE(s.h >= 1 && s.w >= 1, op, ": images must not be empty; got images.shape=",
                     show(images.shape()));
  kernels::image_transform(out.device())(images.dtype(), s, xc.raw_data(),
                                         static_cast<const float*>(tc.raw_data()),
                                         out.raw_data());
  if (autograd::is_recording()) {
    autograd::record_image_transform(images, tc, {s.h, s.w}, interpolation, fill_mode, out);
  }
  rec.record(
      "image_transform", {images, transforms}, {out},
      [](const trace::Tensors& in, const auto& output_shape, const auto& interpolation,
         const auto& fill_mode, const auto& fill_value) {
        return image_transform(in[0], in[1], output_shape, interpolation, fill_mode, fill_value);
      },
      output_shape, interpolation, fill_mode, fill_value);
  return out;
}

Tensor image_transform_grad(const Tensor& dy, const Tensor& transforms,
                            const std::vector<int64_t>& input_size,
                            const std::string& interpolation, const std::string& fill_mode) {
  trace::OpRecord rec;
  const char* op = "image_transform_grad";
  cpu::ImageTransformSpec s = check_transform_args(op, "dy", dy, transforms, input_size,
                                                   "input_size", interpolation, fill_mode);
  const Device device = detail::result_device(dy, transforms);
  Tensor dx = Tensor::empty(Shape{dy.dim(0), input_size[0], input_size[1], dy.dim(3)},
                            dy.dtype(), device, op);
  if (device == Device::Meta || dx.numel() == 0) return dx;
  const Tensor gc = dy.contiguous(), tc = transforms.contiguous();
  s.n = dy.dim(0);
  s.h = input_size[0];
  s.w = input_size[1];
  s.c = dy.dim(3);
  s.out_h = dy.dim(1);
  s.out_w = dy.dim(2);
  kernels::image_transform_backward(dx.device())(dy.dtype(), s, gc.raw_data(),
                                                 static_cast<const float*>(tc.raw_data()),
                                                 dx.raw_data());
  rec.record(
      "image_transform_grad", {dy, transforms}, {dx},
      [](const trace::Tensors& in, const auto& input_size, const auto& interpolation,
         const auto& fill_mode) {
        return image_transform_grad(in[0], in[1], input_size, interpolation, fill_mode);
      },
      input_size, interpolation, fill_mode);
  return dx;
}

}  // namespace corten
