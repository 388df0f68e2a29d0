// The device model: names, scopes, placement (include/corten/devices.h).
#include <corten/allocator.h>
#include <corten/devices.h>
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/tensor.h>

#include <atomic>
#include <cctype>
#include <limits>
#include <memory>
#include <utility>

#include "core/cuda_runtime.h"

namespace corten {

// Note [Device placement]
// corten follows TensorFlow 2's eager placement:
// - Creation ops called from Python (constant, convert_to_tensor of a non-tensor, zeros/ones/
//   fill, range, eye, random, a Variable's initial value; placed in their bindings, since the
//   C++ ops also serve the library's own code) put their result on placement_device(): the calling
//   thread's `tf.device` scope resolved against the available devices. Every other op runs
//   where its inputs are; inputs on different devices are an error (Note [Mixed devices] in
//   ops/common.h), except a 0-d cpu operand, which is copied to the other operand's device.
// - Resolution (EagerContext::SelectDevice): the first available device, in priority order
//   (GPUs, then the CPU), that matches every part of the spec. If none does and soft placement
//   is on (the default), the type and index are dropped and the first device matching the rest
//   is taken, so "/GPU:0" runs on the CPU where there is no GPU and "/GPU:7" on GPU:0 where
//   there are fewer GPUs. With soft placement off it is a ValueError in TensorFlow's words.
// - Outside any scope the spec is empty and the first device wins: GPU:0 when there is one.
// - Nested scopes merge (DeviceSpec.make_merged_spec); the outermost merges over the CPU's
//   full name, as TensorFlow merges over its first context device.
// The CUDA runtime is behind core/cuda_runtime.h: the device count is asked once per process.

namespace {

const char* kCpuFullName = "/job:localhost/replica:0/task:0/device:CPU:0";

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// A non-negative decimal that fits an int; ValueError quoting the whole name otherwise.
int parse_index(const std::string& text, const char* what, const std::string& name) {
  bool ok = !text.empty() && text.size() <= 9;
  for (char c : text) ok = ok && std::isdigit(static_cast<unsigned char>(c));
  CORTEN_CHECK_VALUE(ok, "invalid ", what, " '", text, "' while parsing the device spec: '", name,
                     "' (expected a non-negative integer)");
  return std::stoi(text);
}

// "CPU", "GPU", or "" when `word` names no device type; "cuda" is PyTorch's name for a GPU.
std::string device_type_of(const std::string& word) {
  const std::string u = upper(word);
  if (u == "CPU" || u == "GPU") return u;
  if (u == "CUDA") return "GPU";
  return "";
}

bool matches(const DeviceSpec& spec, DeviceId d) {
  if (!spec.job.empty() && spec.job != "localhost") return false;
  if (spec.replica > 0 || spec.task > 0) return false;
  if (!spec.type.empty() && spec.type != (d.type == Device::CUDA ? "GPU" : "CPU")) return false;
  return spec.index < 0 || spec.index == d.index;
}

struct ScopeEntry {
  DeviceSpec spec;  // merged with the enclosing scopes; empty under a reset scope
};

std::vector<ScopeEntry>& scope_stack() {
  thread_local std::vector<ScopeEntry> stack;
  return stack;
}

std::atomic<bool> g_soft_placement{true};

// Asked once: the CUDA driver's answer does not change while the process runs.
const std::pair<int, std::string>& cuda_status() {
  static const std::pair<int, std::string> status = [] {
    const int n = detail::cuda_runtime_device_count();
    return std::make_pair(n, n > 0 ? std::string() : detail::cuda_runtime_unavailable_reason());
  }();
  return status;
}

}  // namespace

DeviceId device_of(const Tensor& t) { return {t.device(), t.device_index()}; }

std::string device_full_name(DeviceId d) {
  switch (d.type) {
    case Device::CPU:
      return d.index == 0 ? kCpuFullName
                          : detail::str_cat("/job:localhost/replica:0/task:0/device:CPU:", d.index);
    case Device::CUDA:
      return detail::str_cat("/job:localhost/replica:0/task:0/device:GPU:", d.index);
    case Device::Meta:
      return "meta";
  }
  return "unknown";
}

DeviceSpec parse_device_spec(const std::string& name) {
  DeviceSpec spec;
  for (const std::string& part : split(name, '/')) {
    if (part.empty()) continue;
    const std::vector<std::string> y = split(part, ':');
    const size_t n = y.size();
    if (n == 2 && y[0] == "job") {
      CORTEN_CHECK_VALUE(!y[1].empty(), "empty job name while parsing the device spec: '", name,
                         "'");
      spec.job = y[1];
    } else if (n == 2 && y[0] == "replica") {
      spec.replica = parse_index(y[1], "replica", name);
    } else if (n == 2 && y[0] == "task") {
      spec.task = parse_index(y[1], "task", name);
    } else if ((n == 1 || n == 2) && !device_type_of(y[0]).empty()) {
      CORTEN_CHECK_VALUE(spec.type.empty(),
                         "Multiple device types are not allowed while "
                         "parsing the device spec: '",
                         name, "'.");
      spec.type = device_type_of(y[0]);
      if (n == 2 && y[1] != "*") spec.index = parse_index(y[1], "device index", name);
    } else if (n == 3 && y[0] == "device") {
      CORTEN_CHECK_VALUE(spec.type.empty(),
                         "Multiple device types are not allowed while "
                         "parsing the device spec: '",
                         name, "'.");
      spec.type = device_type_of(y[1]);
      CORTEN_CHECK_VALUE(!spec.type.empty(), "Unknown device type '", y[1],
                         "' is encountered while parsing the device spec: '", name,
                         "' (expected CPU, GPU or cuda).");
      if (y[2] != "*") spec.index = parse_index(y[2], "device index", name);
    } else {
      throw ValueError(detail::str_cat("Unknown attribute '", y[0],
                                       "' is encountered while parsing the device spec: '", name,
                                       "'."));
    }
  }
  return spec;
}

std::string device_spec_string(const DeviceSpec& spec) {
  std::string out;
  if (!spec.job.empty()) out += "/job:" + spec.job;
  if (spec.replica >= 0) out += "/replica:" + std::to_string(spec.replica);
  if (spec.task >= 0) out += "/task:" + std::to_string(spec.task);
  if (!spec.type.empty()) {
    out += "/device:" + spec.type + ":" + (spec.index < 0 ? "*" : std::to_string(spec.index));
  }
  return out;
}

DeviceSpec merge_device_specs(const DeviceSpec& outer, const DeviceSpec& inner) {
  DeviceSpec m = outer;
  if (!inner.job.empty()) m.job = inner.job;
  if (inner.replica >= 0) m.replica = inner.replica;
  if (inner.task >= 0) m.task = inner.task;
  if (!inner.type.empty()) m.type = inner.type;
  if (inner.index >= 0) m.index = inner.index;
  return m;
}

namespace {
std::atomic<int> g_fake_cuda_count{-1};  // set_cuda_device_count_for_testing
}  // namespace

int cuda_device_count() {
  const int fake = g_fake_cuda_count.load(std::memory_order_relaxed);
  return fake >= 0 ? fake : cuda_status().first;
}

std::string cuda_unavailable_reason() {
  const int fake = g_fake_cuda_count.load(std::memory_order_relaxed);
  if (fake >= 0) return fake > 0 ? std::string() : std::string("no CUDA device");
  return cuda_status().second;
}

void set_cuda_device_count_for_testing(int count) {
  CORTEN_CHECK_VALUE(count >= -1 && count <= 64,
                     "set_cuda_device_count_for_testing: count must be in [-1, 64]; got ", count);
  g_fake_cuda_count.store(count);
}

std::vector<DeviceId> available_devices() {
  std::vector<DeviceId> devices;
  for (int i = 0; i < cuda_device_count(); ++i) devices.push_back({Device::CUDA, i});
  devices.push_back({Device::CPU, 0});
  return devices;
}

DeviceScope::DeviceScope(const DeviceSpec& spec, bool reset) : depth_(scope_stack().size()) {
  std::vector<ScopeEntry>& stack = scope_stack();
  if (reset) {
    stack.push_back({DeviceSpec()});
    return;
  }
  const DeviceSpec outer = (stack.empty() || stack.back().spec.empty())
                               ? parse_device_spec(kCpuFullName)
                               : stack.back().spec;
  stack.push_back({merge_device_specs(outer, spec)});
}

DeviceScope::~DeviceScope() {
  std::vector<ScopeEntry>& stack = scope_stack();
  if (stack.size() > depth_) stack.resize(depth_);
}

DeviceSpec current_device_spec() {
  const std::vector<ScopeEntry>& stack = scope_stack();
  return stack.empty() ? DeviceSpec() : stack.back().spec;
}

void set_soft_device_placement(bool enabled) { g_soft_placement.store(enabled); }
bool soft_device_placement() { return g_soft_placement.load(); }

DeviceId resolve_device(const DeviceSpec& spec, const char* op, bool allow_soft) {
  const std::vector<DeviceId> devices = available_devices();
  for (DeviceId d : devices) {
    if (matches(spec, d)) return d;
  }
  const bool soft = allow_soft && soft_device_placement();
  if (soft) {
    DeviceSpec relaxed = spec;
    relaxed.type.clear();
    relaxed.index = -1;
    for (DeviceId d : devices) {
      if (matches(relaxed, d)) return d;
    }
  }
  std::string types = cuda_device_count() > 0 ? "GPU, CPU" : "CPU";
  std::string all;
  for (DeviceId d : devices) all += (all.empty() ? "" : ", ") + device_full_name(d);
  std::string why;
  if (spec.type == "GPU" && cuda_device_count() == 0) {
    why = " (no GPU: " + cuda_unavailable_reason() + ")";
  }
  throw ValueError(
      detail::str_cat(op, ": Could not satisfy device specification '", device_spec_string(spec),
                      "'. enable_soft_placement=", soft ? 1 : 0, ". Supported device types [",
                      types, "]. All available devices [", all, "].", why));
}

DeviceId device_id_from_spec(const DeviceSpec& spec, const char* op) {
  CORTEN_CHECK_VALUE(!spec.type.empty(), op,
                     ": the device name must include a device type "
                     "(CPU or GPU); got '",
                     device_spec_string(spec), "'");
  CORTEN_CHECK_VALUE(
      (spec.job.empty() || spec.job == "localhost") && spec.replica <= 0 && spec.task <= 0, op,
      ": no device '", device_spec_string(spec),
      "' in this process (its job is /job:localhost/replica:0/task:0)");
  const int index = spec.index < 0 ? 0 : spec.index;
  return {spec.type == "GPU" ? Device::CUDA : Device::CPU, index};
}

DeviceId placement_device(const char* op) {
  const std::vector<ScopeEntry>& stack = scope_stack();
  // The common case, no scope on a machine without GPUs, without building the device list.
  if (stack.empty() && cuda_device_count() == 0) return {Device::CPU, 0};
  return resolve_device(stack.empty() ? DeviceSpec() : stack.back().spec, op);
}

Tensor empty_on(const Shape& shape, DType dtype, DeviceId d, const char* op) {
  return Tensor::empty(shape, dtype, d.type, op, d.index);
}

Tensor copy_to_device(const Tensor& t, DeviceId dst, const char* op) {
  CORTEN_CHECK_VALUE(t.defined(), op, ": argument 'x' is an undefined tensor");
  if (t.is_meta()) return t;
  CORTEN_CHECK_VALUE(dst.type != Device::Meta, op, ": cannot copy a tensor to the meta device");
  CORTEN_CHECK_VALUE(dst.type != Device::CPU || dst.index == 0, op, ": no device ",
                     device_full_name(dst), " (the CPU is CPU:0)");
  CORTEN_CHECK_VALUE(
      dst.type != Device::CUDA || (dst.index >= 0 && dst.index < cuda_device_count()), op,
      ": no device ", device_full_name(dst),
      cuda_device_count() == 0
          ? " (no GPU: " + cuda_unavailable_reason() + ")"
          : detail::str_cat(" (this machine has ", cuda_device_count(), " GPUs)"));
  const DeviceId src = device_of(t);
  if (src.type == Device::CPU && dst.type == Device::CPU) return clone(t);
  return detail::cuda_runtime_copy(t, dst, op);
}

namespace {
std::atomic<bool> g_tensor_float_32{false};
}  // namespace

bool tensor_float_32_execution_enabled() noexcept {
  return g_tensor_float_32.load(std::memory_order_relaxed);
}
void set_tensor_float_32_execution(bool enabled) noexcept {
  g_tensor_float_32.store(enabled, std::memory_order_relaxed);
}

Tensor readable_on_host(const Tensor& t, const char* op) {
  if (t.device() != Device::CUDA) return t;
  return copy_to_device(t, {Device::CPU, 0}, op);
}

Tensor place_on_scope_device(const Tensor& t, const char* op) {
  const DeviceId d = placement_device(op);
  if (t.is_meta() || device_of(t) == d) return t;
  return copy_to_device(t, d, op);
}

DeviceMemoryInfo device_memory_info(DeviceId d) {
  if (d.type == Device::CPU && d.index == 0) {
    const AllocatorStats s = allocator_stats();
    return {s.live_bytes, s.peak_bytes};
  }
  CORTEN_CHECK_VALUE(d.type == Device::CUDA && d.index >= 0 && d.index < cuda_device_count(),
                     "get_memory_info: No matching devices found for '", device_full_name(d), "'",
                     d.type == Device::CUDA && cuda_device_count() == 0
                         ? " (no GPU: " + cuda_unavailable_reason() + ")"
                         : std::string());
  return detail::cuda_runtime_memory_info(d.index);
}

void synchronize_devices() {
  if (cuda_device_count() > 0) detail::cuda_runtime_synchronize();
}

void reset_device_memory_peak(DeviceId d) {
  device_memory_info(d);  // the same checks and errors
  if (d.type == Device::CPU) {
    allocator_reset_peak();
  } else {
    detail::cuda_runtime_reset_peak(d.index);
  }
}

Tensor storageless_tensor_for_testing(const Shape& shape, DType dtype, DeviceId d) {
  for (int64_t n : shape) {
    CORTEN_CHECK_VALUE(n >= 0, "storageless_tensor_for_testing: dimensions must be >= 0");
  }
  CORTEN_CHECK_VALUE(d.index >= 0 && d.index <= std::numeric_limits<int16_t>::max(),
                     "storageless_tensor_for_testing: bad device index ", d.index);
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->device = d.type;
  impl->device_index = static_cast<int16_t>(d.index);
  return Tensor(std::move(impl));
}

}  // namespace corten
