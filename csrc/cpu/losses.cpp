#include "cpu/losses.h"

#include <corten/parallel.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/loops.h"
#include "cpu/loss_functors.h"
#include "cpu/softmax.h"

namespace corten::cpu {
namespace {

// Splits `shape` into the class axis and the kept dimensions, and walks the lines along the
// axis: line l (row-major over the kept dimensions) starts at element offsets off[k] of the N
// operands. The kept dimensions are coalesced (Note [Coalesced iteration]).
template <size_t N>
struct Lines {
  Geometry<N> g;
  int64_t count = 1;

  Lines(const Shape& kept_shape, const std::array<const Shape*, N>& kept_strides)
      : g(coalesce<N>(kept_shape, kept_strides)) {
    for (int64_t d : g.shape) count *= d;
  }

  std::array<int64_t, N> offsets(int64_t line) const {
    std::array<int64_t, N> off{};
    for (size_t d = g.shape.size(); d-- > 0;) {
      const int64_t i = line % g.shape[d];
      line /= g.shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += i * g.strides[k][d];
    }
    return off;
  }
};

Shape drop_axis(const Shape& s, int64_t axis) {
  Shape out;
  for (size_t d = 0; d < s.size(); ++d)
    if (static_cast<int64_t>(d) != axis) out.push_back(s[d]);
  return out;
}

template <class T>
void softmax_xent_impl(const Shape& shape, const T* y, const Shape& ys, const T* z,
                       const Shape& zs, int64_t axis, T* out) {
  const Shape kept = drop_axis(shape, axis);
  const Shape kys = drop_axis(ys, axis), kzs = drop_axis(zs, axis);
  const Shape kos = contiguous_strides(kept);
  const Lines<3> lines(kept, {&kys, &kzs, &kos});
  const int64_t n = shape[static_cast<size_t>(axis)];
  const int64_t ya = ys[static_cast<size_t>(axis)], za = zs[static_cast<size_t>(axis)];
  const int64_t grain = std::max<int64_t>(1, kGrainCostly / std::max<int64_t>(1, n));
  parallel_for(0, lines.count, grain, [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l) {
      const auto off = lines.offsets(l);
      out[off[2]] = loss::softmax_xent_line(y + off[0], ya, z + off[1], za, n);
    }
  });
}

template <class L, class T>
int64_t sparse_xent_impl(const Shape& shape, const L* y, const Shape& ys, const T* z,
                         const Shape& zs, int64_t axis, T* out) {
  const Shape kept = drop_axis(shape, axis);
  const Shape kzs = drop_axis(zs, axis);
  const Shape kos = contiguous_strides(kept);
  const Lines<3> lines(kept, {&ys, &kzs, &kos});
  const int64_t n = shape[static_cast<size_t>(axis)];
  const int64_t za = zs[static_cast<size_t>(axis)];
  const int64_t grain = std::max<int64_t>(1, kGrainCostly / std::max<int64_t>(1, n));
  std::atomic<int64_t> first_bad{std::numeric_limits<int64_t>::max()};
  // The label of line l, or -1 (its loss NaN, and l noted) when out of range.
  auto label_of = [&](int64_t l, const std::array<int64_t, 3>& off) -> int64_t {
    const int64_t label = static_cast<int64_t>(y[off[0]]);
    if (label >= 0 && label < n) return label;
    out[off[2]] = std::numeric_limits<T>::quiet_NaN();
    int64_t cur = first_bad.load(std::memory_order_relaxed);
    while (l < cur && !first_bad.compare_exchange_weak(cur, l)) {
    }
    return -1;
  };
  if (za == 1 && n > 0 && n < kShortLine) {  // Note [Short softmax lines]
    parallel_for(0, lines.count, grain, [&](int64_t l0, int64_t l1) {
      std::vector<int64_t> zo(static_cast<size_t>(l1 - l0));
      for (int64_t l = l0; l < l1; ++l) zo[static_cast<size_t>(l - l0)] = lines.offsets(l)[1];
      short_lines_exp(z, zo.data(), l0, l1, n, [&](int64_t l, const T*, T m, double sum) {
        const auto off = lines.offsets(l);
        const int64_t label = label_of(l, off);
        if (label >= 0) out[off[2]] = loss::sparse_xent(z[off[1] + label], m, loss::log_of_sum(m, sum));
      });
    });
  } else {
    parallel_for(0, lines.count, grain, [&](int64_t l0, int64_t l1) {
      for (int64_t l = l0; l < l1; ++l) {
        const auto off = lines.offsets(l);
        const int64_t label = label_of(l, off);
        if (label >= 0) out[off[2]] = loss::sparse_xent_line(z + off[1], za, n, label);
      }
    });
  }
  const int64_t bad = first_bad.load();
  return bad == std::numeric_limits<int64_t>::max() ? -1 : bad;
}

template <class T>
void sigmoid_xent_impl(const Shape& shape, const T* y, const Shape& ys, const T* z,
                       const Shape& zs, T* out) {
  const Shape os = contiguous_strides(shape);
  for_each_row<3>(shape, {&ys, &zs, &os}, kGrainCostly,
                  [&](const std::array<int64_t, 3>& off, int64_t n,
                      const std::array<int64_t, 3>& inner) {
                    const T* yp = y + off[0];
                    const T* zp = z + off[1];
                    T* op = out + off[2];
                    for (int64_t i = 0; i < n; ++i) {
                      op[i * inner[2]] = loss::sigmoid_xent(zp[i * inner[1]], yp[i * inner[0]]);
                    }
                  });
}

}  // namespace

void softmax_cross_entropy(DType dtype, const Shape& shape, const void* labels,
                           const Shape& labels_strides, const void* logits,
                           const Shape& logits_strides, int64_t axis, void* out) {
  visit_floating(dtype, "softmax_cross_entropy_with_logits", [&](auto tag) {
    using T = typename decltype(tag)::type;
    softmax_xent_impl<T>(shape, static_cast<const T*>(labels), labels_strides,
                         static_cast<const T*>(logits), logits_strides, axis,
                         static_cast<T*>(out));
  });
}

int64_t sparse_softmax_cross_entropy(DType label_dtype, DType dtype, const Shape& shape,
                                     const void* labels, const Shape& labels_strides,
                                     const void* logits, const Shape& logits_strides,
                                     int64_t axis, void* out) {
  const char* op = "sparse_softmax_cross_entropy_with_logits";
  return visit_floating(dtype, op, [&](auto tag) -> int64_t {
    using T = typename decltype(tag)::type;
    if (label_dtype == DType::Int32) {
      return sparse_xent_impl<int32_t, T>(shape, static_cast<const int32_t*>(labels),
                                          labels_strides, static_cast<const T*>(logits),
                                          logits_strides, axis, static_cast<T*>(out));
    }
    return sparse_xent_impl<int64_t, T>(shape, static_cast<const int64_t*>(labels),
                                        labels_strides, static_cast<const T*>(logits),
                                        logits_strides, axis, static_cast<T*>(out));
  });
}

namespace {

template <class L, class T>
void sparse_xent_grad_impl(const Shape& shape, const L* labels, const T* g, int64_t axis, T* out) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t n = shape[static_cast<size_t>(axis)];
  const int64_t grain = std::max<int64_t>(1, kGrainCheap / std::max<int64_t>(1, n * inner));
  parallel_for(0, outer, grain, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const L* lab = labels + o * inner;
      const T* go = g + o * inner;
      T* row = out + o * n * inner;
      for (int64_t j = 0; j < n; ++j) {
        T* line = row + j * inner;
        for (int64_t i = 0; i < inner; ++i) {
          const T hot = static_cast<int64_t>(lab[i]) == j ? T(1) : T(0);
          line[i] = go[i] * (line[i] - hot);
        }
      }
    }
  });
}

}  // namespace

void sparse_softmax_cross_entropy_grad(DType label_dtype, DType dtype, const Shape& shape,
                                       const void* labels, const void* g, int64_t axis, void* out) {
  visit_floating(dtype, "sparse_softmax_cross_entropy_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (label_dtype == DType::Int32) {
      sparse_xent_grad_impl(shape, static_cast<const int32_t*>(labels), static_cast<const T*>(g),
                            axis, static_cast<T*>(out));
    } else {
      sparse_xent_grad_impl(shape, static_cast<const int64_t*>(labels), static_cast<const T*>(g),
                            axis, static_cast<T*>(out));
    }
  });
}

void sigmoid_cross_entropy(DType dtype, const Shape& shape, const void* labels,
                           const Shape& labels_strides, const void* logits,
                           const Shape& logits_strides, void* out) {
  visit_floating(dtype, "sigmoid_cross_entropy_with_logits", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sigmoid_xent_impl<T>(shape, static_cast<const T*>(labels), labels_strides,
                         static_cast<const T*>(logits), logits_strides, static_cast<T*>(out));
  });
}

}  // namespace corten::cpu
