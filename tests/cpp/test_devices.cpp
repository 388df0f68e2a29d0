// Tests of the device model's public API (corten/devices.h) on a build without CUDA: name
// parsing, full names, scopes, placement with and without soft placement, and the mixed-device
// check of the op entry points on storageless cuda-tagged tensors.
#include <corten/devices.h>
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/tensor.h>

#include <string>
#include <thread>

#include "check.h"

namespace {

using corten::Device;
using corten::DeviceId;
using corten::DeviceScope;
using corten::DeviceSpec;
using corten::DType;
using corten::parse_device_spec;
using corten::Tensor;

const char* kCpu = "/job:localhost/replica:0/task:0/device:CPU:0";

bool same(const DeviceSpec& a, const DeviceSpec& b) {
  return a.job == b.job && a.replica == b.replica && a.task == b.task && a.type == b.type &&
         a.index == b.index;
}

void test_parse() {
  const DeviceSpec full = parse_device_spec("/job:localhost/replica:0/task:0/device:GPU:1");
  CHECK(full.job == "localhost" && full.replica == 0 && full.task == 0);
  CHECK(full.type == "GPU" && full.index == 1);
  for (const char* name : {"/GPU:0", "/device:GPU:0", "GPU:0", "gpu:0", "cuda:0", "/gpu:0"}) {
    const DeviceSpec s = parse_device_spec(name);
    CHECK(s.type == "GPU" && s.index == 0 && s.job.empty());
  }
  CHECK(parse_device_spec("CPU").type == "CPU" && parse_device_spec("CPU").index == -1);
  CHECK(parse_device_spec("cuda").type == "GPU" && parse_device_spec("cuda").index == -1);
  CHECK(parse_device_spec("/device:GPU:*").index == -1);
  CHECK(parse_device_spec("").empty());
  for (const char* bad : {"/foo:0", "GPU:x", "GPU:-1", "/GPU:0/CPU:0", "/device:TPU:0",
                          "/replica:a", "GPU:0:1", "/job:", "GPU:99999999999"}) {
    CHECK_THROWS(corten::ValueError, parse_device_spec(bad));
  }
  try {
    parse_device_spec("/foo:0");
  } catch (const corten::ValueError& e) {
    CHECK(std::string(e.what()).find("'/foo:0'") != std::string::npos);
  }
  CHECK(corten::device_spec_string(full) == "/job:localhost/replica:0/task:0/device:GPU:1");
  CHECK(corten::device_spec_string(parse_device_spec("gpu")) == "/device:GPU:*");
  CHECK(same(corten::merge_device_specs(parse_device_spec("/job:localhost/device:CPU:0"),
                                        parse_device_spec("GPU")),
             parse_device_spec("/job:localhost/device:GPU:0")));
}

void test_names_and_availability() {
  CHECK(corten::device_full_name({Device::CPU, 0}) == kCpu);
  CHECK(corten::device_full_name({Device::CUDA, 3}) ==
        "/job:localhost/replica:0/task:0/device:GPU:3");
  CHECK(corten::cuda_device_count() == 0);
  CHECK(corten::cuda_unavailable_reason() == "this build of corten has no CUDA support");
  CHECK(corten::available_devices().size() == 1);
  CHECK(corten::device_of(corten::zeros({2})) == (DeviceId{Device::CPU, 0}));
}

void test_scopes_and_placement() {
  CHECK(corten::current_device_spec().empty());
  {
    DeviceScope gpu(parse_device_spec("/GPU:1"));
    CHECK(corten::device_spec_string(corten::current_device_spec()) ==
          "/job:localhost/replica:0/task:0/device:GPU:1");
    CHECK(corten::placement_device("test") == (DeviceId{Device::CPU, 0}));  // soft placement
    // The C++ creation ops serve the library's own code too: they stay on the cpu (the
    // Python bindings place what users create).
    CHECK(corten::zeros({3}).device() == Device::CPU);
    {
      DeviceScope cpu(parse_device_spec("CPU"));
      CHECK(corten::current_device_spec().type == "CPU");
      CHECK(corten::current_device_spec().index == 1);  // merged: only the type changed
    }
    {
      DeviceScope reset(DeviceSpec(), /*reset=*/true);
      CHECK(corten::current_device_spec().empty());
    }
    corten::set_soft_device_placement(false);
    CHECK_THROWS(corten::ValueError, corten::placement_device("test"));
    corten::set_soft_device_placement(true);
    // Another thread has its own (empty) scope.
    bool other_empty = false;
    std::thread t([&] { other_empty = corten::current_device_spec().empty(); });
    t.join();
    CHECK(other_empty);
  }
  CHECK(corten::current_device_spec().empty());
  {
    DeviceScope other_job(parse_device_spec("/job:worker/device:CPU:0"));
    CHECK_THROWS(corten::ValueError, corten::placement_device("test"));  // even when soft
  }
}

void test_mixed_devices() {
  const Tensor cpu = corten::zeros({2});
  const Tensor gpu = corten::storageless_tensor_for_testing({2}, DType::Float32, {Device::CUDA, 1});
  CHECK(gpu.device() == Device::CUDA && gpu.device_index() == 1);
  CHECK(gpu.as_strided({1}, {1}, 0).device_index() == 1);
  CHECK_THROWS(corten::ValueError, corten::add(cpu, gpu));
  CHECK_THROWS(corten::ValueError, corten::matmul(gpu, cpu));
  try {
    corten::add(cpu, gpu);
  } catch (const corten::ValueError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("add") == 0);
    CHECK(msg.find(kCpu) != std::string::npos);
    CHECK(msg.find("device:GPU:1") != std::string::npos);
  }
  // A 0-d cpu operand would be copied to the GPU: here there is none to copy to.
  CHECK_THROWS(corten::ValueError, corten::add(gpu, corten::zeros({})));
  CHECK_THROWS(corten::ValueError, corten::copy_to_device(cpu, {Device::CUDA, 0}));
  CHECK(corten::copy_to_device(cpu, {Device::CPU, 0}).device() == Device::CPU);
  CHECK_THROWS(corten::ValueError, corten::device_memory_info({Device::CUDA, 0}));
  CHECK(corten::device_memory_info({Device::CPU, 0}).current > 0);
}

// With the device count faked to 2: the GPUs come first and soft placement falls back to GPU:0;
// copies to them fail (there is no CUDA), so nothing is created there.
void test_placement_with_gpus() {
  corten::set_cuda_device_count_for_testing(2);
  CHECK(corten::available_devices().size() == 3);
  CHECK(corten::cuda_unavailable_reason().empty());
  CHECK(corten::placement_device("test") == (DeviceId{Device::CUDA, 0}));
  {
    DeviceScope scope(parse_device_spec("GPU:1"));
    CHECK(corten::placement_device("test") == (DeviceId{Device::CUDA, 1}));
  }
  {
    DeviceScope scope(parse_device_spec("/device:GPU:5"));
    CHECK(corten::placement_device("test") == (DeviceId{Device::CUDA, 0}));
    corten::set_soft_device_placement(false);
    CHECK_THROWS(corten::ValueError, corten::placement_device("test"));
    corten::set_soft_device_placement(true);
  }
  {
    DeviceScope scope(parse_device_spec("cpu"));
    CHECK(corten::placement_device("test") == (DeviceId{Device::CPU, 0}));
  }
  CHECK_THROWS(corten::NotImplementedError,
               corten::place_on_scope_device(corten::zeros({1}), "test"));
  CHECK_THROWS(corten::ValueError, corten::copy_to_device(corten::zeros({1}), {Device::CUDA, 2}));
  corten::set_cuda_device_count_for_testing(-1);
  CHECK(corten::cuda_device_count() == 0);
}

}  // namespace

int main() {
  test_parse();
  // The rest describes a machine without GPUs (the CUDA build tests its own placement).
  if (corten::cuda_device_count() == 0) {
    test_names_and_availability();
    test_scopes_and_placement();
    test_mixed_devices();
    test_placement_with_gpus();
  }
  return corten_test::check_summary();
}
