#pragma once
// Helpers of the shim tests: registration of one case per CUDA kernel, strided operands over
// byte buffers, and comparisons.
#include <corten/dtype.h>
#include <corten/shape.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#ifdef CORTEN_TEST_ON_DEVICE
#include <cuda_runtime.h>

#include <stdexcept>
#endif

namespace corten_test {

/// Whether the cases run on a GPU (the device test, against the CUDA build's kernels) rather
/// than through the shim.
#ifdef CORTEN_TEST_ON_DEVICE
constexpr bool kOnDevice = true;
#else
constexpr bool kOnDevice = false;
#endif

/// Bytes in the kernels' memory: through the shim, a host copy; on a GPU, a device copy.
/// get() is the pointer a kernel takes, read() copies the bytes back.
class KernelBuffer {
 public:
  explicit KernelBuffer(const std::vector<unsigned char>& host) : size_(host.size()) {
#ifdef CORTEN_TEST_ON_DEVICE
    check(cudaMalloc(&device_, size_ ? size_ : 1), "cudaMalloc");
    check(cudaMemcpy(device_, host.data(), size_, cudaMemcpyHostToDevice), "cudaMemcpy");
#else
    host_ = host;
#endif
  }
  ~KernelBuffer() {
#ifdef CORTEN_TEST_ON_DEVICE
    cudaFree(device_);
#endif
  }
  KernelBuffer(const KernelBuffer&) = delete;
  KernelBuffer& operator=(const KernelBuffer&) = delete;

  void* get(size_t byte_offset = 0) {
#ifdef CORTEN_TEST_ON_DEVICE
    return static_cast<unsigned char*>(device_) + byte_offset;
#else
    return host_.data() + byte_offset;
#endif
  }
  std::vector<unsigned char> read() const {
#ifdef CORTEN_TEST_ON_DEVICE
    std::vector<unsigned char> out(size_);
    check(cudaMemcpy(out.data(), device_, size_, cudaMemcpyDeviceToHost), "cudaMemcpy");
    return out;
#else
    return host_;
#endif
  }

 private:
#ifdef CORTEN_TEST_ON_DEVICE
  static void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess)
      throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
  }
  void* device_ = nullptr;
#else
  std::vector<unsigned char> host_;
#endif
  size_t size_;
};

/// The cases by kernel name (the names of CORTEN_CUDA_KERNELS; "shim" for the shim itself).
std::map<std::string, std::function<void()>>& shim_cases();

struct RegisterCase {
  RegisterCase(const char* kernel, std::function<void()> fn) {
    shim_cases().emplace(kernel, std::move(fn));
  }
};

/// A strided operand over its own storage: data() points at element `offset`.
struct Operand {
  corten::DType dtype;
  std::vector<unsigned char> storage;
  int64_t offset = 0;
  corten::Shape strides;
  const void* data() const { return storage.data() + offset * corten::itemsize(dtype); }
  size_t byte_offset() const { return static_cast<size_t>(offset) * corten::itemsize(dtype); }
};

/// Deterministic values: floats in [-lo, lo] with a few specials when `specials`, integers in
/// [-ilo, ilo], bools alternating irregularly.
inline void fill(corten::DType dtype, void* p, int64_t n, uint32_t seed, double lo, bool specials,
                 int64_t ilo) {
  uint32_t s = seed * 2654435761u + 12345u;
  auto next = [&] {
    s = s * 1664525u + 1013904223u;
    return s >> 8;
  };
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(next()) / static_cast<double>(1u << 24);  // [0, 1)
    const int64_t k = static_cast<int64_t>(next() % static_cast<uint32_t>(2 * ilo + 1)) - ilo;
    double v = (2 * u - 1) * lo;
    if (specials) {
      const int64_t r = i % 23;
      if (r == 5) v = 0.0;
      if (r == 9) v = -0.0;
      if (r == 13) v = INFINITY;
      if (r == 17) v = -INFINITY;
      if (r == 21) v = NAN;
      if (r == 3) v = 0.5;  // a tie for round
      if (r == 7) v = -2.5;
    }
    switch (dtype) {
      case corten::DType::Bool:
        static_cast<bool*>(p)[i] = (next() % 3) == 0;
        break;
      case corten::DType::Int32:
        static_cast<int32_t*>(p)[i] = static_cast<int32_t>(k);
        break;
      case corten::DType::Int64:
        static_cast<int64_t*>(p)[i] = k;
        break;
      case corten::DType::Float32:
        static_cast<float*>(p)[i] = static_cast<float>(v);
        break;
      case corten::DType::Float64:
        static_cast<double*>(p)[i] = v;
        break;
      case corten::DType::Float16:
        static_cast<corten::float16*>(p)[i] = corten::float16::from_float(static_cast<float>(v));
        break;
      case corten::DType::BFloat16:
        static_cast<corten::bfloat16*>(p)[i] = corten::bfloat16::from_float(static_cast<float>(v));
        break;
      case corten::DType::String:  // no kernel with a device twin takes strings
        break;
    }
  }
}

/// An operand of `shape` with the given element strides (0 for broadcast dimensions) starting
/// `offset` elements into its storage.
inline Operand make_operand(corten::DType dtype, const corten::Shape& shape,
                            const corten::Shape& strides, int64_t offset, uint32_t seed, double lo,
                            bool specials, int64_t ilo) {
  Operand op{dtype, {}, offset, strides};
  int64_t last = 0;
  bool empty = false;
  for (size_t d = 0; d < shape.size(); ++d) {
    empty |= shape[d] == 0;
    if (shape[d] > 0) last += (shape[d] - 1) * strides[d];
  }
  const int64_t n = offset + (empty ? 0 : last + 1);
  op.storage.assign(static_cast<size_t>(std::max<int64_t>(n, 1)) * corten::itemsize(dtype) + 64, 0);
  fill(dtype, op.storage.data(), n, seed, lo, specials, ilo);
  return op;
}

/// C-order strides.
inline corten::Shape c_strides(const corten::Shape& shape) {
  corten::Shape s(shape.size());
  int64_t st = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    s[d] = st;
    st *= std::max<int64_t>(shape[d], 1);
  }
  return s;
}

inline std::string shape_str(const corten::Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}

inline double element(corten::DType dtype, const void* p, int64_t i) {
  switch (dtype) {
    case corten::DType::Bool:
      return static_cast<const bool*>(p)[i];
    case corten::DType::Int32:
      return static_cast<const int32_t*>(p)[i];
    case corten::DType::Int64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case corten::DType::Float32:
      return static_cast<const float*>(p)[i];
    case corten::DType::Float64:
      return static_cast<const double*>(p)[i];
    case corten::DType::Float16:
      return static_cast<const corten::float16*>(p)[i].to_float();
    case corten::DType::BFloat16:
      return static_cast<const corten::bfloat16*>(p)[i].to_float();
    case corten::DType::String:
      break;
  }
  return 0;
}

/// Compares n elements: bit for bit (any NaN equal to any NaN) when rtol == atol == 0, else |a - b|
/// <= atol + rtol * |b| with NaN equal to NaN and infinities equal to themselves. Prints the first
/// mismatch under `what`.
inline bool same_values(const std::string& what, corten::DType dtype, const void* got,
                        const void* want, int64_t n, double rtol, double atol) {
  if (rtol == 0 && atol == 0) {
    const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype);
    if (n == 0 || std::memcmp(got, want, bytes) == 0) return true;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double a = element(dtype, got, i), b = element(dtype, want, i);
    bool ok;
    if (rtol == 0 && atol == 0) {  // NaN payloads carry no meaning
      ok = std::memcmp(static_cast<const char*>(got) + i * corten::itemsize(dtype),
                       static_cast<const char*>(want) + i * corten::itemsize(dtype),
                       corten::itemsize(dtype)) == 0 ||
           (std::isnan(a) && std::isnan(b));
    } else if (std::isnan(a) || std::isnan(b)) {
      ok = std::isnan(a) && std::isnan(b);
    } else if (std::isinf(a) || std::isinf(b)) {
      ok = a == b;
    } else {
      ok = std::fabs(a - b) <= atol + rtol * std::fabs(b);
    }
    if (!ok) {
      std::printf("%s: element %lld: cuda %.17g, cpu %.17g\n", what.c_str(),
                  static_cast<long long>(i), a, b);
      return false;
    }
  }
  return true;
}

}  // namespace corten_test
