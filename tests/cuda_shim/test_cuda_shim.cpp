// Runs the CUDA kernels (csrc/cuda/*.cu, compiled for the CPU through the test shim: Note [CUDA
// test shim]) against the CPU kernels on small shapes: 0-d, empty, size-1, broadcast,
// transposed, sliced and misaligned operands. Under the shim the kernels call the host's libm,
// so they match the baseline CPU kernels bit for bit (elementwise) or within rounding
// (floating reductions, whose order differs: Note [CUDA reductions]); the AVX2/AVX-512 CPU rows
// are compared within the tolerance of Note [CUDA elementwise accuracy]. Every kernel of
// CORTEN_CUDA_KERNELS must have a case here, or the test fails.
//
// Built with CORTEN_TEST_ON_DEVICE (the CUDA build's corten_test_cuda_device), the same cases
// run the CUDA build's kernels on a GPU, in device memory; without a device that test is skipped
// (exit status 77).
#include <corten/cpu_features.h>
#include <corten/devices.h>
#include <corten/dtype.h>
#include <corten/errors.h>
#include <corten/tensor.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#ifdef CORTEN_TEST_ON_DEVICE
#include <cuda_runtime.h>
#endif

#include "check.h"
#include "cuda/kernels.h"
#include "ops/kernels.h"
#include "shim_cases.h"

namespace corten_test {

std::map<std::string, std::function<void()>>& shim_cases() {
  static std::map<std::string, std::function<void()>> cases;
  return cases;
}

}  // namespace corten_test

namespace {

#ifdef CORTEN_TEST_CUDA_BUILD
constexpr bool kCudaBuild = true;
#else
constexpr bool kCudaBuild = false;
#endif

// The kernel table's CUDA column (Note [CUDA kernel column]): the listed kernels in a CUDA build,
// the "no kernel for device 'cuda'" ValueError otherwise.
void check_kernel_table() {
  namespace k = corten::kernels;
  const corten::Device cuda = corten::Device::CUDA;
#ifdef CORTEN_TEST_CUDA_BUILD
#define CORTEN_CHECK_TWIN_(name) CHECK(k::name(cuda) != nullptr);
  CORTEN_CUDA_KERNELS(CORTEN_CHECK_TWIN_)
#undef CORTEN_CHECK_TWIN_
#else
#define CORTEN_CHECK_NO_TWIN_(name) CHECK_THROWS(corten::ValueError, k::name(cuda));
  CORTEN_CUDA_KERNELS(CORTEN_CHECK_NO_TWIN_)
#undef CORTEN_CHECK_NO_TWIN_
#endif
  // Every CPU kernel has a CUDA twin: a kernel added to CORTEN_KERNELS (or the optimizer
  // list) without one fails here, in every build.
  std::set<std::string> cpu_names, cuda_names;
#define CORTEN_CPU_NAME_(name) cpu_names.insert(#name);
#define CORTEN_CUDA_NAME_(name) cuda_names.insert(#name);
  CORTEN_KERNELS(CORTEN_CPU_NAME_)
  CORTEN_OPTIMIZER_KERNELS(CORTEN_CPU_NAME_)
  CORTEN_CUDA_KERNELS(CORTEN_CUDA_NAME_)
  CORTEN_CUDA_OPTIMIZER_KERNELS(CORTEN_CUDA_NAME_)
#undef CORTEN_CPU_NAME_
#undef CORTEN_CUDA_NAME_
  for (const std::string& name : cpu_names) {
    if (cuda_names.count(name) == 0) {
      ++corten_test::g_failures;
      std::printf("kernel '%s' has no CUDA twin (csrc/cuda/kernels.h)\n", name.c_str());
    }
  }
  // Without the CUDA build, the table's CUDA column raises the error naming the kernel.
  if (!kCudaBuild) {
    std::string message;
    try {
      k::matmul(cuda);
    } catch (const corten::ValueError& e) {
      message = e.what();
    }
    CHECK(message == "matmul: no kernel for device 'cuda' in this build of corten");
  }
  CHECK(k::unary(corten::Device::CPU) == &corten::cpu::unary);
}

// The device model of the build (Note [CUDA streams and memory] in csrc/cuda/runtime.cu): with
// no device, the library says why, and device tensors are refused with errors naming the op.
void check_device_model() {
  const int n = corten::cuda_device_count();
  const std::string why = corten::cuda_unavailable_reason();
#ifdef CORTEN_TEST_CUDA_BUILD
  if (n > 0) {
    CHECK(why.empty());
    corten::Tensor host = corten::Tensor::empty({3, 5}, corten::DType::Float32);
    for (int i = 0; i < 15; ++i) static_cast<float*>(host.raw_data())[i] = 0.5f * i;
    const corten::Tensor dev = corten::copy_to_device(host, {corten::Device::CUDA, 0});
    CHECK(dev.device() == corten::Device::CUDA);
    const corten::Tensor back = corten::copy_to_device(dev, {corten::Device::CPU, 0});
    CHECK(std::memcmp(back.raw_data(), host.raw_data(), 15 * sizeof(float)) == 0);
    CHECK(corten::device_memory_info({corten::Device::CUDA, 0}).current > 0);
    return;
  }
  CHECK(why.rfind("no CUDA d", 0) == 0);  // "no CUDA driver..." or "no CUDA device"
#else
  CHECK(n == 0);
  CHECK(why == "this build of corten has no CUDA support");
#endif
  CHECK_THROWS(corten::Error,
               corten::Tensor::empty({2}, corten::DType::Float32, corten::Device::CUDA, "test"));
  corten::Tensor host = corten::Tensor::empty({2}, corten::DType::Float32);
  bool named = false;
  try {
    corten::copy_to_device(host, {corten::Device::CUDA, 0}, "gpu");
  } catch (const corten::ValueError& e) {
    named = std::string(e.what()).find("gpu: no device") == 0 &&
            std::string(e.what()).find(why) != std::string::npos;
  }
  CHECK(named);
}

}  // namespace

int main(int argc, char** argv) {
  // An optional argument runs only the cases whose name contains it.
  const std::string only = argc > 1 ? argv[1] : "";
  using namespace corten_test;
#ifdef CORTEN_TEST_ON_DEVICE
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: the device test is skipped\n");
    return 77;
  }
#endif
  check_kernel_table();
  check_device_model();
  std::set<std::string> listed;
#define CORTEN_LIST_NAME_(name) listed.insert(#name);
  CORTEN_CUDA_KERNELS(CORTEN_LIST_NAME_)
#define CORTEN_LIST_OPTIMIZER_NAME_(name) listed.insert(#name);
  CORTEN_CUDA_OPTIMIZER_KERNELS(CORTEN_LIST_OPTIMIZER_NAME_)
#undef CORTEN_LIST_NAME_
#undef CORTEN_LIST_OPTIMIZER_NAME_
  for (const auto& name : listed) {
    if (shim_cases().count(name) == 0) {
      ++g_failures;
      std::printf("CUDA kernel '%s' (csrc/cuda/kernels.h) has no shim test case\n", name.c_str());
    }
  }
  for (const auto& [name, run] : shim_cases()) {
    if (name.find(only) == std::string::npos) continue;
    const int before = g_failures;
    const auto start = std::chrono::steady_clock::now();
    try {
      run();
    } catch (const std::exception& e) {
      ++g_failures;
      std::printf("case %s threw: %s\n", name.c_str(), e.what());
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("%-20s %-6s %6.2f s\n", name.c_str(), g_failures == before ? "ok" : "FAILED",
                took.count());
  }
  return check_summary();
}
