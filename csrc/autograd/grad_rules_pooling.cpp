// Backward rules of the sliding-window ops (corten/ops/pooling.h). Each backward is one fused
// kernel that is not recorded itself, so these ops have first derivatives only.

#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered = register_ops({"max_pool", "avg_pool", "depthwise_conv", "resize"});

}  // namespace

void record_pool(bool is_max, const Tensor& x, const Tensor& x_contiguous,
                 const std::vector<int64_t>& pool_size, const std::vector<int64_t>& strides,
                 const std::string& padding, bool channels_first, const Tensor& out) {
  record(is_max ? "max_pool" : "avg_pool", {x}, {out}, [&]() -> BackwardFn {
    return [is_max, xc = x_contiguous, pool_size, strides, padding,
            channels_first](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{
          pool_grad(is_max, xc, g[0], pool_size, strides, padding, channels_first)};
    };
  });
}

void record_depthwise_conv(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const std::vector<int64_t>& strides,
                           const std::vector<int64_t>& dilations, const std::string& padding,
                           bool channels_first, const Tensor& out) {
  record("depthwise_conv", {x, w, bias}, {out}, [&]() -> BackwardFn {
    return [x, w, has_bias = bias.defined(), strides, dilations, padding,
            channels_first](const std::vector<Tensor>& g) {
      return depthwise_conv_backward(x, w, g[0], strides, dilations, padding, channels_first,
                                     needs_input_grad(0), needs_input_grad(1),
                                     has_bias && needs_input_grad(2));
    };
  });
}

void record_resize(const Tensor& x, const std::vector<int64_t>& input_size,
                   const std::string& method, bool align_corners, bool half_pixel_centers,
                   bool channels_first, const Tensor& out) {
  record("resize", {x}, {out}, [&]() -> BackwardFn {
    return [input_size, method, align_corners, half_pixel_centers,
            channels_first](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{resize_grad(g[0], input_size, method, align_corners,
                                             half_pixel_centers, channels_first)};
    };
  });
}

}  // namespace corten::autograd
