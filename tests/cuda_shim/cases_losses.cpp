// The CUDA cross-entropy kernels (csrc/cuda/losses.cu through the shim) against the CPU ones,
// float32 and float64, int32 and int64 labels: empty, size-1, short and long lines (one warp, a
// block, several elements per thread), many lines, the class axis first, in the middle
// (lanes layout) and transposed, broadcast and sliced operands, NaN and infinities, and bad
// sparse labels (NaN lines and the index of the first). Tolerances: Note [CUDA softmax
// accuracy]; the element-wise kernels bit for bit through the shim.
#include <corten/dtype.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/losses.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using namespace corten_test;

double tolerance(DType dtype, bool exact) {
  if (dtype == DType::Float64) return exact && !kOnDevice ? 0 : 1e-12;
  if (kOnDevice) return 1e-5;
  return exact ? 0 : 1e-6;
}

Shape drop(const Shape& s, int64_t axis) {
  Shape out = s;
  out.erase(out.begin() + axis);
  return out;
}

void set_float(DType dtype, Operand& x, int64_t k, double v) {
  if (dtype == DType::Float32) {
    reinterpret_cast<float*>(x.storage.data())[k] = static_cast<float>(v);
  } else {
    reinterpret_cast<double*>(x.storage.data())[k] = v;
  }
}

struct LineCase {
  std::string name;
  Shape shape, y_strides, z_strides;
  int64_t axis;
  bool lanes;  // the kernel walks each line in one thread
};

std::vector<LineCase> line_cases() {
  return {
      {"no lines", {0, 4}, {4, 1}, {4, 1}, 1, false},
      {"empty lines", {3, 0}, {1, 1}, {1, 1}, 1, false},
      {"size-1", {1}, {1}, {1}, 0, false},
      {"rows 7x33", {7, 33}, {33, 1}, {33, 1}, 1, false},
      {"rows 3x1000", {3, 1000}, {1000, 1}, {1000, 1}, 1, false},
      {"rows 2x5000", {2, 5000}, {5000, 1}, {5000, 1}, 1, false},
      {"many rows", {601, 9}, {9, 1}, {9, 1}, 1, false},
      {"columns", {33, 7}, {7, 1}, {7, 1}, 0, false},
      {"first axis, lanes", {5, 2100}, {2100, 1}, {2100, 1}, 0, true},
      {"middle axis, lanes", {4, 3, 700}, {2100, 700, 1}, {2100, 700, 1}, 1, true},
      {"transposed logits", {6, 40}, {40, 1}, {1, 6}, 1, false},
      {"broadcast labels, sliced logits", {3, 4, 50}, {0, 50, 1}, {400, 100, 2}, 2, false},
  };
}

// ---- softmax_cross_entropy -------------------------------------------------------------------

void check_softmax_xent(DType dtype, const LineCase& c, const Operand& y, const Operand& z) {
  const std::string what =
      std::string("softmax_cross_entropy ") + corten::dtype_name(dtype) + " " + c.name;
  const int64_t n_out = corten::shape_numel(drop(c.shape, c.axis));
  const size_t bytes = static_cast<size_t>(n_out) * corten::itemsize(dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  {
    KernelBuffer dy(y.storage), dz(z.storage), dout(got);
    corten::cuda::softmax_cross_entropy(dtype, c.shape, dy.get(), y.strides, dz.get(), z.strides,
                                        c.axis, dout.get());
    got = dout.read();
  }
  corten::cpu::softmax_cross_entropy(dtype, c.shape, y.data(), y.strides, z.data(), z.strides,
                                     c.axis, want.data());
  const double tol = tolerance(dtype, c.lanes);
  CHECK(same_values(what, dtype, got.data(), want.data(), n_out, tol, tol));
  CHECK(got[bytes - 1] == 0xAB);
}

// Lines of all -inf, with +inf, with NaN and with -inf among finite logits.
void add_specials(DType dtype, Operand& z, int64_t len) {
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < len; ++i) set_float(dtype, z, i, -inf);
  set_float(dtype, z, len + 3, inf);
  set_float(dtype, z, 3 * len - 1, std::nan(""));
  set_float(dtype, z, 3 * len, -inf);
  set_float(dtype, z, 3 * len + len / 2, -inf);
}

const RegisterCase softmax_xent_case("softmax_cross_entropy", [] {
  uint32_t seed = 12000;
  for (const LineCase& c : line_cases()) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      const Operand y = make_operand(dtype, c.shape, c.y_strides, 0, ++seed, 1.0, false, 0);
      const Operand z = make_operand(dtype, c.shape, c.z_strides, 0, ++seed, 8.0, false, 0);
      check_softmax_xent(dtype, c, y, z);
    }
  }
  for (DType dtype : {DType::Float32, DType::Float64}) {
    for (const int64_t len : {int64_t{20}, int64_t{700}}) {
      const Shape shape{5, len};
      const Operand y = make_operand(dtype, shape, c_strides(shape), 0, ++seed, 1.0, false, 0);
      Operand z = make_operand(dtype, shape, c_strides(shape), 0, ++seed, 4.0, false, 0);
      add_specials(dtype, z, len);
      check_softmax_xent(dtype, {"specials", shape, y.strides, z.strides, 1, false}, y, z);
    }
  }
});

// ---- sparse_softmax_cross_entropy ------------------------------------------------------------

// Labels of `shape` without the axis, C order, in [0, n), then `bad` written at the flat
// indices in `bad_at`.
Operand make_labels(DType ldt, const Shape& kept, int64_t n, const std::vector<int64_t>& bad_at,
                    int64_t bad) {
  Operand lab = make_operand(ldt, kept, c_strides(kept), 0, 1, 1.0, false, 1);
  const int64_t count = corten::shape_numel(kept);
  for (int64_t k = 0; k < count; ++k) {
    int64_t v = n > 0 ? (k * 7 + 3) % n : 0;
    for (const int64_t b : bad_at) v = b == k ? bad : v;
    if (ldt == DType::Int32) {
      reinterpret_cast<int32_t*>(lab.storage.data())[k] = static_cast<int32_t>(v);
    } else {
      reinterpret_cast<int64_t*>(lab.storage.data())[k] = v;
    }
  }
  return lab;
}

void check_sparse_xent(DType ldt, DType dtype, const LineCase& c, const Operand& lab,
                       const Operand& z) {
  const std::string what = std::string("sparse_softmax_cross_entropy ") + corten::dtype_name(ldt) +
                           " " + corten::dtype_name(dtype) + " " + c.name;
  const int64_t n_out = corten::shape_numel(drop(c.shape, c.axis));
  const size_t bytes = static_cast<size_t>(n_out) * corten::itemsize(dtype) + 1;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  int64_t got_bad;
  {
    KernelBuffer dl(lab.storage), dz(z.storage), dout(got);
    got_bad = corten::cuda::sparse_softmax_cross_entropy(ldt, dtype, c.shape, dl.get(), lab.strides,
                                                         dz.get(), z.strides, c.axis, dout.get());
    got = dout.read();
  }
  const int64_t want_bad = corten::cpu::sparse_softmax_cross_entropy(
      ldt, dtype, c.shape, lab.data(), lab.strides, z.data(), z.strides, c.axis, want.data());
  if (got_bad != want_bad) {
    std::printf("%s: first bad label: cuda %lld, cpu %lld\n", what.c_str(),
                static_cast<long long>(got_bad), static_cast<long long>(want_bad));
  }
  CHECK(got_bad == want_bad);
  const double tol = tolerance(dtype, c.lanes);
  CHECK(same_values(what, dtype, got.data(), want.data(), n_out, tol, tol));
  CHECK(got[bytes - 1] == 0xAB);
}

const RegisterCase sparse_xent_case("sparse_softmax_cross_entropy", [] {
  uint32_t seed = 13000;
  for (const LineCase& c : line_cases()) {
    const Shape kept = drop(c.shape, c.axis);
    const int64_t n = c.shape[static_cast<size_t>(c.axis)];
    const int64_t count = corten::shape_numel(kept);
    for (DType ldt : {DType::Int32, DType::Int64}) {
      for (DType dtype : {DType::Float32, DType::Float64}) {
        const Operand z = make_operand(dtype, c.shape, c.z_strides, 0, ++seed, 8.0, false, 0);
        check_sparse_xent(ldt, dtype, c, make_labels(ldt, kept, n, {}, 0), z);
        // Bad labels (n and -1) at a late and an early line: the first one counts.
        if (count >= 2) {
          const std::vector<int64_t> at{count - 1, count / 2};
          check_sparse_xent(ldt, dtype, c, make_labels(ldt, kept, n, at, n), z);
          check_sparse_xent(ldt, dtype, c, make_labels(ldt, kept, n, at, -1), z);
        }
      }
    }
  }
  // Labels transposed in memory: (4, 6) labels of (4, 6, 5) logits, class axis last.
  for (DType ldt : {DType::Int32, DType::Int64}) {
    const Shape shape{4, 6, 5};
    Operand lab = make_labels(ldt, {6, 4}, 5, {7}, 9);  // stored as (6, 4)
    lab.strides = {1, 4};
    const Operand z =
        make_operand(DType::Float32, shape, c_strides(shape), 0, ++seed, 8.0, false, 0);
    check_sparse_xent(ldt, DType::Float32, {"transposed labels", shape, {}, z.strides, 2, false},
                      lab, z);
  }
  // Every label bad in the lanes layout, and the specials.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Shape shape{5, 2100};
    const Operand z = make_operand(dtype, shape, c_strides(shape), 0, ++seed, 8.0, false, 0);
    std::vector<int64_t> all;
    for (int64_t k = 17; k < 2100; k += 5) all.push_back(k);
    check_sparse_xent(DType::Int64, dtype, {"bad lanes", shape, {}, z.strides, 0, true},
                      make_labels(DType::Int64, {2100}, 5, all, 5), z);
    for (const int64_t len : {int64_t{20}, int64_t{700}}) {
      const Shape s{5, len};
      Operand zs = make_operand(dtype, s, c_strides(s), 0, ++seed, 4.0, false, 0);
      add_specials(dtype, zs, len);
      check_sparse_xent(DType::Int32, dtype, {"specials", s, {}, zs.strides, 1, false},
                        make_labels(DType::Int32, {5}, len, {}, 0), zs);
    }
  }
});

// ---- sparse_softmax_cross_entropy_grad -------------------------------------------------------

const RegisterCase sparse_xent_grad_case("sparse_softmax_cross_entropy_grad", [] {
  struct GradCase {
    Shape shape;
    int64_t axis;
  };
  const GradCase cases[] = {{{0, 4}, 1},  {{3, 0}, 1},    {{1}, 0},      {{7, 33}, 1},
                            {{33, 7}, 0}, {{4, 3, 5}, 1}, {{2, 1100}, 1}};
  uint32_t seed = 14000;
  for (const GradCase& c : cases) {
    const Shape kept = drop(c.shape, c.axis);
    const int64_t n = c.shape[static_cast<size_t>(c.axis)];
    const int64_t count = corten::shape_numel(kept);
    const int64_t numel = corten::shape_numel(c.shape);
    for (DType ldt : {DType::Int32, DType::Int64}) {
      for (DType dtype : {DType::Float32, DType::Float64}) {
        // Out-of-range labels give no one-hot term, as on the CPU.
        const std::vector<int64_t> bad_at =
            count > 1 ? std::vector<int64_t>{1} : std::vector<int64_t>{};
        const Operand lab = make_labels(ldt, kept, n, bad_at, n + 3);
        const Operand g = make_operand(dtype, kept, c_strides(kept), 0, ++seed, 3.0, false, 0);
        const Operand sm =
            make_operand(dtype, c.shape, c_strides(c.shape), 0, ++seed, 1.0, false, 0);
        const size_t bytes = static_cast<size_t>(numel) * corten::itemsize(dtype);
        std::vector<unsigned char> got(sm.storage.begin(), sm.storage.begin() + bytes);
        got.push_back(0xAB);
        std::vector<unsigned char> want = got;
        {
          KernelBuffer dl(lab.storage), dg(g.storage), dout(got);
          corten::cuda::sparse_softmax_cross_entropy_grad(ldt, dtype, c.shape, dl.get(), dg.get(),
                                                          c.axis, dout.get());
          got = dout.read();
        }
        corten::cpu::sparse_softmax_cross_entropy_grad(ldt, dtype, c.shape, lab.data(), g.data(),
                                                       c.axis, want.data());
        const std::string what = std::string("sparse_softmax_cross_entropy_grad ") +
                                 corten::dtype_name(ldt) + " " + corten::dtype_name(dtype) + " " +
                                 shape_str(c.shape);
        CHECK(same_values(what, dtype, got.data(), want.data(), numel, 0, 0));
        CHECK(got.back() == 0xAB);
      }
    }
  }
});

// ---- sigmoid_cross_entropy -------------------------------------------------------------------

const RegisterCase sigmoid_xent_case("sigmoid_cross_entropy", [] {
  struct SigCase {
    std::string name;
    Shape shape, y_strides, z_strides;
  };
  const SigCase cases[] = {
      {"0-d", {}, {}, {}},
      {"empty", {0, 3}, {3, 1}, {3, 1}},
      {"size-1", {1}, {1}, {1}},
      {"row", {2053}, {1}, {1}},
      {"broadcast labels", {3, 4}, {0, 1}, {4, 1}},
      {"transposed logits", {3, 4}, {4, 1}, {1, 3}},
      {"sliced", {2, 3, 5}, {30, 10, 2}, {15, 5, 1}},
  };
  uint32_t seed = 15000;
  for (const SigCase& c : cases) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      const Operand y = make_operand(dtype, c.shape, c.y_strides, 0, ++seed, 1.0, false, 0);
      const Operand z = make_operand(dtype, c.shape, c.z_strides, 0, ++seed, 20.0, true, 0);
      const int64_t numel = corten::shape_numel(c.shape);
      const size_t bytes = static_cast<size_t>(numel) * corten::itemsize(dtype) + 1;
      std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
      {
        KernelBuffer dy(y.storage), dz(z.storage), dout(got);
        corten::cuda::sigmoid_cross_entropy(dtype, c.shape, dy.get(), y.strides, dz.get(),
                                            z.strides, dout.get());
        got = dout.read();
      }
      corten::cpu::sigmoid_cross_entropy(dtype, c.shape, y.data(), y.strides, z.data(), z.strides,
                                         want.data());
      const std::string what =
          std::string("sigmoid_cross_entropy ") + corten::dtype_name(dtype) + " " + c.name;
      const double tol = tolerance(dtype, true);
      CHECK(same_values(what, dtype, got.data(), want.data(), numel, tol, tol));
      CHECK(got[bytes - 1] == 0xAB);
    }
  }
});

}  // namespace
