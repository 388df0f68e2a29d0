#pragma once
// Helpers of the normalisation cases (cases_norm.cpp, cases_batch_norm.cpp): contiguous host
// arrays with guard bytes, their kernel copies (absent for null pointers), and the comparison
// with the tolerances of Note [CUDA normalisation sums].
#include <corten/cpu_features.h>
#include <corten/dtype.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "shim_cases.h"

namespace corten_test {

/// Bytes after every array, checked for writes past the end.
constexpr size_t kNormGuard = 16;

/// n values of dtype from fill() (floats in [-lo, lo]), then the guard bytes.
inline std::vector<unsigned char> norm_values(corten::DType dtype, int64_t n, uint32_t seed,
                                              double lo = 3.0, bool specials = false) {
  const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype);
  std::vector<unsigned char> v(bytes + kNormGuard, 0xAB);
  fill(dtype, v.data(), n, seed, lo, specials, 5);
  return v;
}

/// An output of n values of `itemsize` bytes: every byte 0xAB.
inline std::vector<unsigned char> norm_output(size_t itemsize, int64_t n) {
  return std::vector<unsigned char>(static_cast<size_t>(n) * itemsize + kNormGuard, 0xAB);
}

/// A host array's copy in the kernels' memory, or no copy (a null pointer).
class NormBuffer {
 public:
  explicit NormBuffer(const std::vector<unsigned char>* host)
      : buf_(host ? std::make_unique<KernelBuffer>(*host) : nullptr) {}
  void* get() { return buf_ ? buf_->get() : nullptr; }
  template <class T>
  T* as() {
    return static_cast<T*>(get());
  }
  std::vector<unsigned char> read() const {
    return buf_ ? buf_->read() : std::vector<unsigned char>();
  }

 private:
  std::unique_ptr<KernelBuffer> buf_;
};

/// While alive, the CPU kernels are the baseline ones (portable C++, no contraction of a * b + c:
/// the arithmetic of the CUDA build's --fmad=false).
class BaselineIsa {
 public:
  BaselineIsa() : previous_(corten::cpu_isa_name()) { corten::set_cpu_isa("baseline"); }
  ~BaselineIsa() { corten::set_cpu_isa(previous_); }
  BaselineIsa(const BaselineIsa&) = delete;
  BaselineIsa& operator=(const BaselineIsa&) = delete;

 private:
  std::string previous_;
};

/// rtol and atol of a comparison with the CPU kernel: float32 values computed from float64
/// statistics agree with the CPU's (float32 partial sums) to about 1e-6 of their scale, float64
/// values to a few ulp; `scale` is the magnitude of the values compared (sums: their number).
struct NormTol {
  double rtol, atol;
};
/// Bit for bit: outputs computed from given statistics (inference), Note [CUDA normalisation sums].
constexpr NormTol kNormExact{0, 0};
inline NormTol norm_tol(corten::DType dtype, double scale = 1.0) {
  return dtype == corten::DType::Float32 ? NormTol{1e-5, 1e-5 * scale}
                                         : NormTol{1e-12, 1e-12 * scale};
}

/// The tolerance of sums of `count` terms of magnitude about 1 (dgamma, dbeta): the CPU's float32
/// partial sums round at about sqrt(count) times the scale of one term.
inline NormTol sum_tol(corten::DType dtype, int64_t count) {
  return norm_tol(dtype, std::sqrt(static_cast<double>(count > 1 ? count : 1)));
}

/// Compares n values of `got` (from the CUDA kernel) with `want` (the CPU's) and checks both
/// guard regions.
inline void norm_compare(const std::string& what, corten::DType dtype,
                         const std::vector<unsigned char>& got,
                         const std::vector<unsigned char>& want, int64_t n, NormTol tol) {
  CHECK(got.size() == want.size());
  if (got.size() != want.size()) return;
  CHECK(same_values(what, dtype, got.data(), want.data(), n, tol.rtol, tol.atol));
  const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype);
  bool guard = true;
  for (size_t i = bytes; i < got.size(); ++i) guard &= got[i] == 0xAB;
  if (!guard) std::printf("%s: written past the end\n", what.c_str());
  CHECK(guard);
}

}  // namespace corten_test
