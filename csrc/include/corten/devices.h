#pragma once
/// The device model: device names, the thread-local device scope, placement of new tensors and
/// the set of devices this process can use (Note [Device placement] in core/devices.cpp).
///
/// A tensor lives on one concrete device, a `DeviceId`: cpu (index 0), cuda with an ordinal,
/// or meta (shape inference only). Names follow TensorFlow: "/job:localhost/replica:0/task:0/
/// device:CPU:0", "/GPU:1", "gpu:0", "CPU", plus PyTorch's "cuda:1" and "cuda".
///
/// Threading: the device scope is per thread; soft placement is one process-wide switch.

#include <corten/device.h>
#include <corten/dtype.h>
#include <corten/shape.h>

#include <cstdint>
#include <string>
#include <vector>

namespace corten {

class Tensor;

/// A concrete device: a type and an ordinal (always 0 for cpu and meta).
struct DeviceId {
  Device type = Device::CPU;
  int index = 0;
  bool operator==(const DeviceId& o) const { return type == o.type && index == o.index; }
  bool operator!=(const DeviceId& o) const { return !(*this == o); }
};

/// The device a tensor lives on.
DeviceId device_of(const Tensor& t);

/// TensorFlow's full name of a device: "/job:localhost/replica:0/task:0/device:CPU:0", with
/// "GPU" for cuda; "meta" for meta.
std::string device_full_name(DeviceId d);

/// A device specification as TensorFlow's DeviceSpec: every part is optional (empty string or
/// -1 when absent). `type` is upper case: "CPU" or "GPU" ("cuda" is read as "GPU").
struct DeviceSpec {
  std::string job;
  int replica = -1;
  int task = -1;
  std::string type;
  int index = -1;
  bool empty() const { return job.empty() && replica < 0 && task < 0 && type.empty() && index < 0; }
};

/// Parses a device name in any of TensorFlow's forms ("/job:localhost/replica:0/task:0/device:
/// GPU:0", "/device:GPU:0", "/GPU:0", "GPU:0", "gpu:0", "/cpu:0", "CPU", "GPU:*") or PyTorch's
/// ("cuda", "cuda:1", "cpu"). The empty string gives an empty spec. Throws ValueError quoting
/// `name` for anything else (an unknown part, two device types, a bad index).
DeviceSpec parse_device_spec(const std::string& name);

/// TensorFlow's DeviceSpec.to_string(): the parts present, e.g. "/job:localhost/device:GPU:0".
std::string device_spec_string(const DeviceSpec& spec);

/// `inner` refined over `outer`: each part `inner` sets replaces `outer`'s (as
/// DeviceSpec.make_merged_spec, which nested `tf.device` scopes use).
DeviceSpec merge_device_specs(const DeviceSpec& outer, const DeviceSpec& inner);

/// Number of usable CUDA devices: 0 on a build without CUDA, without a driver or a device.
int cuda_device_count();
/// Whether this library was built with its CUDA kernels (the CMake option CORTEN_CUDA).
bool built_with_cuda();

/// Whether float32 matrix products on a GPU may use TensorFloat-32 (10-bit mantissa inputs).
/// Off by default, so results keep float32 precision; the CPU is never affected.
bool tensor_float_32_execution_enabled() noexcept;
void set_tensor_float_32_execution(bool enabled) noexcept;

/// Why cuda_device_count() is 0 ("this build of corten has no CUDA support", "no CUDA driver",
/// "no CUDA device"); empty when there are devices.
std::string cuda_unavailable_reason();

/// Testing only: makes cuda_device_count() report `count` devices (-1 restores the real
/// count), so that a build without CUDA can test device lists and placement with GPUs present.
/// Nothing can be copied to those devices. Not synchronised with running ops.
void set_cuda_device_count_for_testing(int count);

/// Every device this process can use, in TensorFlow's priority order for the default
/// placement: the GPUs first (cuda:0, cuda:1, ...), then the CPU.
std::vector<DeviceId> available_devices();

/// RAII device scope for the calling thread (`with tf.device(name):`). The scope's spec is
/// `spec` merged over the enclosing scope's (or over the CPU's full name at the outermost
/// level, as TensorFlow does); `reset` (tf.device(None)) clears placement back to the default
/// for the scope's extent. Scopes must be destroyed in reverse order of creation.
class DeviceScope {
 public:
  explicit DeviceScope(const DeviceSpec& spec, bool reset = false);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  size_t depth_;
};

/// The calling thread's current device spec (empty outside any scope or under a reset scope).
DeviceSpec current_device_spec();

/// Soft device placement (TensorFlow's default, on): a scope naming a device that does not
/// exist places on the best available device instead of raising.
void set_soft_device_placement(bool enabled);
bool soft_device_placement();

/// The device `spec` names, resolved as TensorFlow's eager placement does: the first available
/// device matching every part of `spec`; when none matches and soft placement is on, the first
/// available device (a GPU if any, else the CPU). Throws ValueError naming `op` and `spec`
/// ("Could not satisfy device specification ...") otherwise.
/// With `allow_soft` false, soft placement is not applied whatever its setting.
DeviceId resolve_device(const DeviceSpec& spec, const char* op, bool allow_soft = true);

/// The one device `spec` names, whether or not it exists: the type is required ("GPU" is
/// cuda), the index defaults to 0. ValueError naming `op` for a spec without a type or for
/// another job, replica or task than this process's.
DeviceId device_id_from_spec(const DeviceSpec& spec, const char* op);

/// Where a creation op (constant, zeros, fill, random, a Variable's initial value) puts its
/// result: resolve_device(current_device_spec()).
DeviceId placement_device(const char* op);

/// Tensor::empty on device `d` (a cuda device's ordinal included).
Tensor empty_on(const Shape& shape, DType dtype, DeviceId d, const char* op);

/// `t` on `dst`: a new tensor (a copy, also when `t` is already there). Meta tensors stay meta.
/// Throws ValueError naming `op` when `dst` does not exist (saying why there is no GPU).
Tensor copy_to_device(const Tensor& t, DeviceId dst, const char* op = "copy_to_device");
/// `t` itself when its data is on the host, else a host copy: for the few entry points that
/// read a value (a predicate, a bad label for its message) rather than pass it to a kernel.
Tensor readable_on_host(const Tensor& t, const char* op);

/// `t` if it is already on placement_device(op), else a copy there.
Tensor place_on_scope_device(const Tensor& t, const char* op);

/// A caching allocator's counters for one device, in bytes.
struct DeviceMemoryInfo {
  int64_t current;
  int64_t peak;
};

/// Memory counters of `d` (the CPU caching allocator for cpu). ValueError for a device that
/// does not exist.
DeviceMemoryInfo device_memory_info(DeviceId d);
/// Waits until every device has finished the work queued on it (a no-op without GPUs).
void synchronize_devices();
/// Sets the peak of device_memory_info(d) to its current bytes (ValueError as it does).
void reset_device_memory_peak(DeviceId d);

/// A tensor tagged with device `d` that has no storage, like a meta tensor: lets the CPU build
/// test the mixed-device checks. Never read its data.
Tensor storageless_tensor_for_testing(const Shape& shape, DType dtype, DeviceId d);

}  // namespace corten
