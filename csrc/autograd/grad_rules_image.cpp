// Backward rule of image_transform (corten/ops/image.h). The output is linear in the images,
// so the backward is image_transform_grad of the output gradient whatever the images were
// (one kernel, not recorded itself: first derivatives only, as the other sampling ops). The
// transforms get no gradient, as in TensorFlow.

#include <corten/ops/image.h>

#include "autograd/grad_rules.h"
#include "autograd/registry.h"

namespace corten::autograd {
namespace {

const bool kRegistered = register_ops({"image_transform"});

}  // namespace

void record_image_transform(const Tensor& images, const Tensor& transforms,
                            const std::vector<int64_t>& input_size,
                            const std::string& interpolation, const std::string& fill_mode,
                            const Tensor& out) {
  record("image_transform", {images}, {out}, [&]() -> BackwardFn {
    return [transforms, input_size, interpolation, fill_mode](const std::vector<Tensor>& g) {
      return std::vector<Tensor>{
          image_transform_grad(g[0], transforms, input_size, interpolation, fill_mode)};
    };
  });
}

}  // namespace corten::autograd
