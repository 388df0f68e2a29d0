#include "cpu/norm.h"

#include <corten/parallel.h>

#include <cmath>
#include <vector>

namespace corten::cpu {
namespace {

// Rows per task: a row of a few hundred values is a few microseconds of work.
constexpr int64_t kRowGrain = 16;

// Sums of a row in lanes: kLanes independent accumulators (which the compiler vectorises, as
// each lane's order is fixed), over blocks of kBlock values whose partial sums add up in
// float64. The result does not depend on the thread count.
constexpr int64_t kLanes = 16;
constexpr int64_t kBlock = 1024;

template <class T, class F>
double lane_sum(const T* p, int64_t n, F term) {
  double total = 0.0;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = b0 + kBlock < n ? b0 + kBlock : n;
    T acc[kLanes] = {};
    int64_t i = b0;
    for (; i + kLanes <= b1; i += kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) acc[l] += term(p[i + l]);
    }
    double part = 0.0;
    for (int64_t l = 0; l < kLanes; ++l) part += static_cast<double>(acc[l]);
    for (; i < b1; ++i) part += static_cast<double>(term(p[i]));
    total += part;
  }
  return total;
}

template <class T>
void forward_rows(int64_t r0, int64_t r1, int64_t cols, const T* x, const T* gamma,
                  const T* beta, double epsilon, T* y, double* mean, double* rstd) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* xr = x + r * cols;
    const double n = static_cast<double>(cols);
    const double m = cols ? lane_sum(xr, cols, [](T v) { return v; }) / n : 0.0;
    const T mt = static_cast<T>(m);
    const double var =
        cols ? lane_sum(xr, cols, [mt](T v) { return (v - mt) * (v - mt); }) / n : 0.0;
    const double s = 1.0 / std::sqrt(var + epsilon);
    mean[r] = m;
    rstd[r] = s;
    T* yr = y + r * cols;
    const T st = static_cast<T>(s);
    if (gamma && beta) {
      for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mt) * st * gamma[c] + beta[c];
    } else if (gamma) {
      for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mt) * st * gamma[c];
    } else if (beta) {
      for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mt) * st + beta[c];
    } else {
      for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mt) * st;
    }
  }
}

template <class T>
void backward(int64_t rows, int64_t cols, const T* x, const T* gamma, const double* mean,
              const double* rstd, const T* dy, T* dx, T* dgamma, T* dbeta) {
  if (dx) {
    parallel_for(0, rows, kRowGrain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = x + r * cols;
        const T* gr = dy + r * cols;
        const double m = mean[r], s = rstd[r];
        double sum_d = 0.0, sum_dx = 0.0;
        for (int64_t c = 0; c < cols; ++c) {
          const double d = static_cast<double>(gr[c]) * (gamma ? static_cast<double>(gamma[c]) : 1.0);
          sum_d += d;
          sum_dx += d * (static_cast<double>(xr[c]) - m) * s;
        }
        const double n = static_cast<double>(cols);
        T* out = dx + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
          const double d = static_cast<double>(gr[c]) * (gamma ? static_cast<double>(gamma[c]) : 1.0);
          const double xhat = (static_cast<double>(xr[c]) - m) * s;
          out[c] = static_cast<T>(s * (d - sum_d / n - xhat * sum_dx / n));
        }
      }
    });
  }
  if (dgamma || dbeta) {
    // Columns in parallel, rows in order: every sum has one order on any thread count.
    parallel_for(0, cols, kRowGrain, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double sg = 0.0, sb = 0.0;
        for (int64_t r = 0; r < rows; ++r) {
          const double g = static_cast<double>(dy[r * cols + c]);
          sg += g * (static_cast<double>(x[r * cols + c]) - mean[r]) * rstd[r];
          sb += g;
        }
        if (dgamma) dgamma[c] = static_cast<T>(sg);
        if (dbeta) dbeta[c] = static_cast<T>(sb);
      }
    });
  }
}

}  // namespace

void layer_norm(DType dtype, int64_t rows, int64_t cols, const void* x, const void* gamma,
                const void* beta, double epsilon, void* y, double* mean, double* rstd) {
  auto run = [&](auto tag) {
    using T = decltype(tag);
    parallel_for(0, rows, kRowGrain, [&](int64_t r0, int64_t r1) {
      forward_rows<T>(r0, r1, cols, static_cast<const T*>(x), static_cast<const T*>(gamma),
                      static_cast<const T*>(beta), epsilon, static_cast<T*>(y), mean, rstd);
    });
  };
  if (dtype == DType::Float64) run(double{});
  else run(float{});
}

void layer_norm_backward(DType dtype, int64_t rows, int64_t cols, const void* x,
                         const void* gamma, const double* mean, const double* rstd,
                         const void* dy, void* dx, void* dgamma, void* dbeta) {
  auto run = [&](auto tag) {
    using T = decltype(tag);
    backward<T>(rows, cols, static_cast<const T*>(x), static_cast<const T*>(gamma), mean, rstd,
                static_cast<const T*>(dy), static_cast<T*>(dx), static_cast<T*>(dgamma),
                static_cast<T*>(dbeta));
  };
  if (dtype == DType::Float64) run(double{});
  else run(float{});
}

}  // namespace corten::cpu
