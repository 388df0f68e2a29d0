// The CUDA optimizer kernels (csrc/cuda/optimizers.cu through the shim) against the CPU ones:
// every update in float32 and float64, with and without weight decay, gradient scaling and
// clipping, and every option that selects extra state (momentum, nesterov, amsgrad, centering),
// over empty, size-1, odd and multi-block lengths, with NaN and infinities among the gradients.
// The updates run the same functors (cpu/optimizer_math.h) and must match bit for bit, slots
// included, with the element after each array untouched. sum_of_squares agrees within the
// tolerance of Note [CUDA sum of squares].
#include <corten/devices.h>
#include <corten/dtype.h>
#include <corten/ops/optimizers.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/optimizers.h"
#include "cuda/kernels.h"
#include "ops/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using namespace corten_test;

// How an array of an update is filled; Absent passes a null pointer.
enum class Fill { Absent, Signed, NonNegative, Specials };

const int64_t kLengths[] = {0, 1, 7, 33, 1000, 4099};

template <class T>
constexpr DType dtype_of() {
  return sizeof(T) == 4 ? DType::Float32 : DType::Float64;
}

// Runs `cpu` and `cuda` on copies of the same arrays (var, grad, slots...: n elements and one
// guard element each) and compares every array bit for bit, guards included.
template <class T>
void compare_update(const std::string& what, int64_t n, const std::vector<Fill>& fills,
                    uint32_t seed, const std::function<void(const std::vector<T*>&)>& cpu,
                    const std::function<void(const std::vector<T*>&)>& cuda) {
  const size_t len = static_cast<size_t>(n) + 1;
  std::vector<std::vector<T>> host(fills.size(), std::vector<T>(len));
  for (size_t a = 0; a < fills.size(); ++a) {
    if (fills[a] == Fill::Absent) continue;
    fill(dtype_of<T>(), host[a].data(), n, seed + static_cast<uint32_t>(a) * 7919u, 2.0,
         fills[a] == Fill::Specials, 1);
    if (fills[a] == Fill::NonNegative) {
      for (T& v : host[a]) v = std::fabs(v);
    }
    host[a][len - 1] = T(12345.5);
  }
  // CPU.
  std::vector<std::vector<T>> want = host;
  std::vector<T*> ptrs(fills.size(), nullptr);
  for (size_t a = 0; a < fills.size(); ++a) {
    if (fills[a] != Fill::Absent) ptrs[a] = want[a].data();
  }
  cpu(ptrs);
  // CUDA.
  std::vector<std::vector<unsigned char>> bytes(fills.size());
  std::vector<std::unique_ptr<KernelBuffer>> buffers(fills.size());
  for (size_t a = 0; a < fills.size(); ++a) {
    ptrs[a] = nullptr;
    if (fills[a] == Fill::Absent) continue;
    bytes[a].resize(len * sizeof(T));
    if (!bytes[a].empty()) std::memcpy(bytes[a].data(), host[a].data(), bytes[a].size());
    buffers[a] = std::make_unique<KernelBuffer>(bytes[a]);
    ptrs[a] = static_cast<T*>(buffers[a]->get());
  }
  cuda(ptrs);
  for (size_t a = 0; a < fills.size(); ++a) {
    if (fills[a] == Fill::Absent) continue;
    const std::vector<unsigned char> got = buffers[a]->read();
    CHECK(same_values(what + " n=" + std::to_string(n) + " array " + std::to_string(a),
                      dtype_of<T>(), got.data(), want[a].data(), static_cast<int64_t>(len), 0, 0));
  }
}

// The common options: none, weight decay, scaling and clipping, all three.
std::vector<corten::UpdateCommon> commons() {
  std::vector<corten::UpdateCommon> out(4);
  for (auto& c : out) c.learning_rate = static_cast<float>(0.01);
  out[1].weight_decay = 0.004;
  out[2].grad_scale = 0.75;
  out[2].clip_value = 0.3;
  out[3] = out[1];
  out[3].grad_scale = 1.5;
  out[3].clip_value = 1.0;
  return out;
}

// Calls body(T{}, n, common, seed) for both dtypes, every length and every common option set.
template <class Body>
void for_all(uint32_t seed, const Body& body) {
  for (const int64_t n : kLengths) {
    for (const corten::UpdateCommon& c : commons()) {
      body(float{}, n, c, ++seed);
      body(double{}, n, c, ++seed);
    }
  }
}

template <class T>
using Ptrs = std::vector<T*>;

const RegisterCase sgd_case("sgd_update", [] {
  for_all(100, [](auto tag, int64_t n, const corten::UpdateCommon& c, uint32_t seed) {
    using T = decltype(tag);
    for (int variant = 0; variant < 3; ++variant) {
      corten::SgdOptions o;
      static_cast<corten::UpdateCommon&>(o) = c;
      o.momentum = variant == 0 ? 0.0 : 0.9;
      o.nesterov = variant == 2;
      const Fill mom = variant == 0 ? Fill::Absent : Fill::Signed;
      compare_update<T>(
          "sgd variant " + std::to_string(variant), n, {Fill::Signed, Fill::Specials, mom}, seed,
          [&](const Ptrs<T>& p) { corten::cpu::sgd_update<T>(n, p[0], p[1], p[2], o); },
          [&](const Ptrs<T>& p) { corten::cuda::sgd_update<T>(n, p[0], p[1], p[2], o); });
    }
  });
});

const RegisterCase adam_case("adam_update", [] {
  for_all(200, [](auto tag, int64_t n, const corten::UpdateCommon& c, uint32_t seed) {
    using T = decltype(tag);
    for (const bool amsgrad : {false, true}) {
      corten::AdamOptions o;
      static_cast<corten::UpdateCommon&>(o) = c;
      o.step = 3;
      o.amsgrad = amsgrad;
      const Fill vhat = amsgrad ? Fill::NonNegative : Fill::Absent;
      compare_update<T>(
          amsgrad ? "adam amsgrad" : "adam", n,
          {Fill::Signed, Fill::Specials, Fill::Signed, Fill::NonNegative, vhat}, seed,
          [&](const Ptrs<T>& p) {
            corten::cpu::adam_update<T>(n, p[0], p[1], p[2], p[3], p[4], o);
          },
          [&](const Ptrs<T>& p) {
            corten::cuda::adam_update<T>(n, p[0], p[1], p[2], p[3], p[4], o);
          });
    }
  });
});

const RegisterCase rmsprop_case("rmsprop_update", [] {
  for_all(300, [](auto tag, int64_t n, const corten::UpdateCommon& c, uint32_t seed) {
    using T = decltype(tag);
    for (int variant = 0; variant < 4; ++variant) {
      corten::RmspropOptions o;
      static_cast<corten::UpdateCommon&>(o) = c;
      o.centered = (variant & 1) != 0;
      o.momentum = (variant & 2) != 0 ? 0.5 : 0.0;
      const Fill mom = o.momentum > 0 ? Fill::Signed : Fill::Absent;
      const Fill avg = o.centered ? Fill::Signed : Fill::Absent;
      compare_update<T>(
          "rmsprop variant " + std::to_string(variant), n,
          {Fill::Signed, Fill::Specials, Fill::NonNegative, mom, avg}, seed,
          [&](const Ptrs<T>& p) {
            corten::cpu::rmsprop_update<T>(n, p[0], p[1], p[2], p[3], p[4], o);
          },
          [&](const Ptrs<T>& p) {
            corten::cuda::rmsprop_update<T>(n, p[0], p[1], p[2], p[3], p[4], o);
          });
    }
  });
});

const RegisterCase adagrad_case("adagrad_update", [] {
  for_all(400, [](auto tag, int64_t n, const corten::UpdateCommon& c, uint32_t seed) {
    using T = decltype(tag);
    corten::AdagradOptions o;
    static_cast<corten::UpdateCommon&>(o) = c;
    compare_update<T>(
        "adagrad", n, {Fill::Signed, Fill::Specials, Fill::NonNegative}, seed,
        [&](const Ptrs<T>& p) { corten::cpu::adagrad_update<T>(n, p[0], p[1], p[2], o); },
        [&](const Ptrs<T>& p) { corten::cuda::adagrad_update<T>(n, p[0], p[1], p[2], o); });
  });
});

const RegisterCase adadelta_case("adadelta_update", [] {
  for_all(500, [](auto tag, int64_t n, const corten::UpdateCommon& c, uint32_t seed) {
    using T = decltype(tag);
    corten::AdadeltaOptions o;
    static_cast<corten::UpdateCommon&>(o) = c;
    compare_update<T>(
        "adadelta", n, {Fill::Signed, Fill::Specials, Fill::NonNegative, Fill::NonNegative}, seed,
        [&](const Ptrs<T>& p) { corten::cpu::adadelta_update<T>(n, p[0], p[1], p[2], p[3], o); },
        [&](const Ptrs<T>& p) { corten::cuda::adadelta_update<T>(n, p[0], p[1], p[2], p[3], o); });
  });
});

const RegisterCase adamax_case("adamax_update", [] {
  for_all(600, [](auto tag, int64_t n, const corten::UpdateCommon& c, uint32_t seed) {
    using T = decltype(tag);
    corten::AdamaxOptions o;
    static_cast<corten::UpdateCommon&>(o) = c;
    o.step = 5;
    // u with specials: a NaN in u must win over |g| (tf.maximum), as on the CPU.
    compare_update<T>(
        "adamax", n, {Fill::Signed, Fill::Specials, Fill::Signed, Fill::Specials}, seed,
        [&](const Ptrs<T>& p) { corten::cpu::adamax_update<T>(n, p[0], p[1], p[2], p[3], o); },
        [&](const Ptrs<T>& p) { corten::cuda::adamax_update<T>(n, p[0], p[1], p[2], p[3], o); });
  });
});

const RegisterCase nadam_case("nadam_update", [] {
  for_all(700, [](auto tag, int64_t n, const corten::UpdateCommon& c, uint32_t seed) {
    using T = decltype(tag);
    corten::NadamOptions o;
    static_cast<corten::UpdateCommon&>(o) = c;
    o.step = 4;
    o.u_product = 0.9 * (1 - 0.5 * 0.96) * 0.9 * (1 - 0.5 * std::pow(0.96, 2.0));
    compare_update<T>(
        "nadam", n, {Fill::Signed, Fill::Specials, Fill::Signed, Fill::NonNegative}, seed,
        [&](const Ptrs<T>& p) { corten::cpu::nadam_update<T>(n, p[0], p[1], p[2], p[3], o); },
        [&](const Ptrs<T>& p) { corten::cuda::nadam_update<T>(n, p[0], p[1], p[2], p[3], o); });
  });
});

// Note [CUDA sum of squares]: max(1e-12, 2 n 2^-53).
double sum_of_squares_rtol(int64_t n) {
  return std::max(1e-12, 2.0 * static_cast<double>(n) * std::ldexp(1.0, -53));
}

template <class T>
void check_sum_of_squares(int64_t n, bool specials, uint32_t seed) {
  std::vector<unsigned char> host(static_cast<size_t>(n) * sizeof(T) + 1);
  fill(dtype_of<T>(), host.data(), n, seed, 3.0, specials, 1);
  KernelBuffer dx(host);
  const double got = corten::cuda::sum_of_squares<T>(n, static_cast<const T*>(dx.get()));
  const double want = corten::cpu::sum_of_squares<T>(n, reinterpret_cast<const T*>(host.data()));
  CHECK(same_values(std::string("sum_of_squares ") + corten::dtype_name(dtype_of<T>()) +
                        " n=" + std::to_string(n),
                    DType::Float64, &got, &want, 1, sum_of_squares_rtol(n), 0));
}

const RegisterCase sum_of_squares_case("sum_of_squares", [] {
#ifdef CORTEN_TEST_CUDA_BUILD
  // The optimizer tables' CUDA column holds these kernels (Note [CUDA kernel column]).
  const corten::Device cuda = corten::Device::CUDA;
#define CORTEN_CHECK_OPTIMIZER_TWIN_(name)                                              \
  CHECK(corten::kernels::optimizers<float>().name(cuda) == &corten::cuda::name<float>); \
  CHECK(corten::kernels::optimizers<double>().name(cuda) == &corten::cuda::name<double>);
  CORTEN_CUDA_OPTIMIZER_KERNELS(CORTEN_CHECK_OPTIMIZER_TWIN_)
#undef CORTEN_CHECK_OPTIMIZER_TWIN_
#endif
  uint32_t seed = 800;
  // Lengths across one chunk, several chunks, and more chunks than blocks (1024 * 4096 would be
  // too slow here; the grid-stride over chunks is exercised by the device test's sizes below).
  for (const int64_t n : {0, 1, 5, 257, 4096, 4097, 20000, 100003}) {
    check_sum_of_squares<float>(n, false, ++seed);
    check_sum_of_squares<double>(n, false, ++seed);
  }
  if (kOnDevice) {
    check_sum_of_squares<float>(int64_t{5} << 20, false, ++seed);
    check_sum_of_squares<double>(int64_t{5} << 20, false, ++seed);
  }
  for (const int64_t n : {30, 1000}) {  // NaN and infinities propagate
    check_sum_of_squares<float>(n, true, ++seed);
    check_sum_of_squares<double>(n, true, ++seed);
  }
});

}  // namespace
