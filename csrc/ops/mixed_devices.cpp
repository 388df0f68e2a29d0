// The mixed-device check of the op entry points (Note [Mixed devices] in ops/common.h).
#include <corten/devices.h>

#include "ops/common.h"

namespace corten::detail {

void throw_mixed_devices(const Tensor& a, const Tensor& b, const char* op) {
  throw ValueError(str_cat(op, ": operands are on different devices: ",
                           device_full_name(device_of(a)), " and ", device_full_name(device_of(b)),
                           " (shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
                           "); copy one with tensor.cpu(), tensor.gpu() or tf.identity under "
                           "tf.device(...)"));
}

std::pair<Tensor, Tensor> align_scalar_operand(const Tensor& a, const Tensor& b, const char* op) {
  if (a.ndim() == 0 && a.device() == Device::CPU && !a.is_variable()) {
    return {copy_to_device(a, device_of(b), op), b};
  }
  if (b.ndim() == 0 && b.device() == Device::CPU && !b.is_variable()) {
    return {a, copy_to_device(b, device_of(a), op)};
  }
  throw_mixed_devices(a, b, op);
}

}  // namespace corten::detail
