// cuda::range, eye and one_hot (csrc/cuda/creation.cu through the shim) against the CPU
// kernels, bit for bit: every dtype each accepts, empty and size-1 outputs, lengths over
// several blocks, integer ranges that wrap, and one_hot's on/off values converted as the CPU
// converts them (NaN and out-of-range values into integer dtypes) with indices out of range.
#include <corten/dtype.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/creation.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using namespace corten_test;

constexpr DType kDTypes[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32,
                             DType::Float64};

const RegisterCase range_case("range", [] {
  struct R {
    double start, delta;
  };
  const R ranges[] = {{0, 1},      {5, -3},       {-3.5, 0.1}, {0.1, 0.7},
                      {1e15, 3.3}, {-1e-3, 1e-7}, {2e9, 1e8},  {-7.9, 2.6}};
  for (DType dtype : {DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
    for (const R& r : ranges) {
      // Integer dtypes take ranges whose values fit in int64, as the entry point guarantees.
      if (!corten::is_floating(dtype) && std::fabs(r.start) > 1e12) continue;
      for (int64_t n : {0, 1, 7, 1000, 3001}) {
        const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype) + 1;
        std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
        {
          KernelBuffer dout(got);
          corten::cuda::range(dtype, n, r.start, r.delta, dout.get());
          got = dout.read();
        }
        corten::cpu::range(dtype, n, r.start, r.delta, want.data());
        CHECK(same_values(std::string("range ") + corten::dtype_name(dtype) + " " +
                              std::to_string(r.start) + " " + std::to_string(r.delta) +
                              " n=" + std::to_string(n),
                          dtype, got.data(), want.data(), n, 0, 0));
        CHECK(got[bytes - 1] == 0xAB);
      }
    }
  }
});

const RegisterCase eye_case("eye", [] {
  const int64_t shapes[][3] = {{0, 3, 3}, {1, 0, 4}, {2, 4, 0},   {1, 1, 1},
                               {2, 3, 5}, {3, 7, 4}, {1, 40, 50}, {5, 33, 33}};
  for (DType dtype : kDTypes) {
    for (const auto& s : shapes) {
      const int64_t n = s[0] * s[1] * s[2];
      const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype) + 1;
      std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
      {
        KernelBuffer dout(got);
        corten::cuda::eye(dtype, s[0], s[1], s[2], dout.get());
        got = dout.read();
      }
      corten::cpu::eye(dtype, s[0], s[1], s[2], want.data());
      CHECK(same_values(std::string("eye ") + corten::dtype_name(dtype) + " (" +
                            std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " +
                            std::to_string(s[2]) + ")",
                        dtype, got.data(), want.data(), n, 0, 0));
      CHECK(got[bytes - 1] == 0xAB);
    }
  }
});

const RegisterCase one_hot_case("one_hot", [] {
  const int64_t shapes[][3] = {{0, 3, 2}, {2, 0, 3},   {3, 4, 0},   {1, 1, 1},
                               {3, 5, 7}, {4, 10, 33}, {1, 300, 1}, {20, 6, 40}};
  struct OnOff {
    double on, off;
  };
  const OnOff values[] = {{1, 0}, {2.5, -1.5}, {NAN, 1e20}, {-1e20, INFINITY}, {-0.0, 0.75}};
  uint32_t seed = 11000;
  for (DType index_dtype : {DType::Int32, DType::Int64}) {
    for (const auto& s : shapes) {
      // Indices from -2 to depth + 1: some below, some beyond the range.
      const corten::Shape ishape{s[0] * s[2]};
      Operand idx = make_operand(index_dtype, ishape, {1}, 0, ++seed, 1, false, s[1] + 2);
      for (int64_t k = 0; k < ishape[0]; ++k) {
        const double v = element(index_dtype, idx.storage.data(), k);
        const int64_t shifted = static_cast<int64_t>(v) / 2 + s[1] / 2;
        if (index_dtype == DType::Int32) {
          reinterpret_cast<int32_t*>(idx.storage.data())[k] = static_cast<int32_t>(shifted);
        } else {
          reinterpret_cast<int64_t*>(idx.storage.data())[k] = shifted;
        }
      }
      for (DType dtype : kDTypes) {
        for (const OnOff& v : values) {
          const int64_t n = s[0] * s[1] * s[2];
          const size_t bytes = static_cast<size_t>(n) * corten::itemsize(dtype) + 1;
          std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
          {
            KernelBuffer di(idx.storage), dout(got);
            corten::cuda::one_hot(index_dtype, dtype, di.get(), s[0], s[1], s[2], v.on, v.off,
                                  dout.get());
            got = dout.read();
          }
          corten::cpu::one_hot(index_dtype, dtype, idx.data(), s[0], s[1], s[2], v.on, v.off,
                               want.data());
          CHECK(same_values(std::string("one_hot ") + corten::dtype_name(dtype) + " on " +
                                std::to_string(v.on) + " off " + std::to_string(v.off),
                            dtype, got.data(), want.data(), n, 0, 0));
          CHECK(got[bytes - 1] == 0xAB);
        }
      }
    }
  }
});

}  // namespace
