// The reference attention kernels (cpu/attention.h): plain loops over a materialised (Tq, Tk)
// score matrix per (b, h), sums in float64. Tests compare the tiled kernels against these.
#include <corten/dtype.h>

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "cpu/attention.h"
#include "cpu/philox.h"
#include "cpu/random_transform.h"

namespace corten::cpu {
namespace {

// P (Tq, Tk) of (b, h): softmax of the visible scaled scores, uniform 1/Tk over all keys in a
// row with none visible (Note [Attention masks]); keep (Tq, Tk): the dropout factors.
template <class T>
void probabilities(const AttentionParams& p, const T* q, const T* k, int64_t b, int64_t h,
                   std::vector<double>& prob, std::vector<double>& keep, T* lse) {
  const int64_t qr = p.heads * p.dk;
  std::vector<double> s(static_cast<size_t>(p.tk));
  std::vector<bool> vis(static_cast<size_t>(p.tk));
  for (int64_t i = 0; i < p.tq; ++i) {
    bool any = false;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < p.tk; ++j) {
      bool visible = !p.causal || j <= i;
      if (p.mask) {
        visible = visible && p.mask[b * p.mask_strides[0] + h * p.mask_strides[1] +
                                    i * p.mask_strides[2] + j * p.mask_strides[3]];
      }
      double acc = 0.0;
      for (int64_t d = 0; d < p.dk; ++d) {
        acc += static_cast<double>(q[(b * p.tq + i) * qr + h * p.dk + d]) *
               static_cast<double>(k[(b * p.tk + j) * qr + h * p.dk + d]);
      }
      s[j] = acc * p.scale;
      vis[j] = visible;
      if (visible) {
        any = true;
        mx = std::max(mx, s[j]);
      }
    }
    double* pr = prob.data() + i * p.tk;
    const int64_t row = (b * p.heads + h) * p.tq + i;
    if (!any) {
      for (int64_t j = 0; j < p.tk; ++j) pr[j] = 1.0 / static_cast<double>(p.tk);
      lse[row] = std::numeric_limits<T>::infinity();
    } else {
      double sum = 0.0;
      for (int64_t j = 0; j < p.tk; ++j) sum += vis[j] ? std::exp(s[j] - mx) : 0.0;
      for (int64_t j = 0; j < p.tk; ++j) pr[j] = vis[j] ? std::exp(s[j] - mx) / sum : 0.0;
      lse[row] = static_cast<T>(mx + std::log(sum));
    }
    for (int64_t j = 0; j < p.tk; ++j) {
      double f = 1.0;
      if (p.rate > 0) {
        const uint64_t e = static_cast<uint64_t>(row * p.tk + j);
        const uint32_t w = philox_block(p.key, p.offset + e / 4).v[e % 4];
        f = rng::dropout_keep(w, rng::dropout_threshold(p.rate)) ? 1.0 / (1.0 - p.rate) : 0.0;
      }
      keep[static_cast<size_t>(i * p.tk + j)] = f;
    }
  }
}

template <class T>
void forward_ref(const AttentionParams& p, const T* q, const T* k, const T* v, T* out, T* lse) {
  std::vector<double> prob(static_cast<size_t>(p.tq * p.tk)), keep(prob.size());
  const int64_t vr = p.heads * p.dv;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.heads; ++h) {
      probabilities(p, q, k, b, h, prob, keep, lse);
      for (int64_t i = 0; i < p.tq; ++i) {
        for (int64_t c = 0; c < p.dv; ++c) {
          double acc = 0.0;
          for (int64_t j = 0; j < p.tk; ++j) {
            acc += prob[i * p.tk + j] * keep[i * p.tk + j] *
                   static_cast<double>(v[(b * p.tk + j) * vr + h * p.dv + c]);
          }
          out[(b * p.tq + i) * vr + h * p.dv + c] = static_cast<T>(acc);
        }
      }
    }
  }
}

template <class T>
void backward_ref(const AttentionParams& p, const T* q, const T* k, const T* v, const T* dout,
                  T* dq, T* dk, T* dv) {
  const size_t n = static_cast<size_t>(p.tq * p.tk);
  std::vector<double> prob(n), keep(n), ds(n);
  std::vector<T> lse(static_cast<size_t>(p.batch * p.heads * p.tq));
  const int64_t qr = p.heads * p.dk, vr = p.heads * p.dv;
  auto qi = [&](int64_t b, int64_t i, int64_t h) { return (b * p.tq + i) * qr + h * p.dk; };
  auto kj = [&](int64_t b, int64_t j, int64_t h) { return (b * p.tk + j) * qr + h * p.dk; };
  auto vj = [&](int64_t b, int64_t j, int64_t h) { return (b * p.tk + j) * vr + h * p.dv; };
  auto oi = [&](int64_t b, int64_t i, int64_t h) { return (b * p.tq + i) * vr + h * p.dv; };
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.heads; ++h) {
      probabilities(p, q, k, b, h, prob, keep, lse.data());
      for (int64_t i = 0; i < p.tq; ++i) {
        // dP = (dO V^T) * keep, D = sum_j P dP, dS = P (dP - D).
        double dsum = 0.0;
        for (int64_t j = 0; j < p.tk; ++j) {
          double acc = 0.0;
          for (int64_t c = 0; c < p.dv; ++c) {
            acc += static_cast<double>(dout[oi(b, i, h) + c]) *
                   static_cast<double>(v[vj(b, j, h) + c]);
          }
          ds[i * p.tk + j] = acc * keep[i * p.tk + j];
          dsum += prob[i * p.tk + j] * ds[i * p.tk + j];
        }
        // A row with no visible key has constant scores: no gradient to q and k.
        const bool none = std::isinf(lse[static_cast<size_t>((b * p.heads + h) * p.tq + i)]);
        for (int64_t j = 0; j < p.tk; ++j) {
          ds[i * p.tk + j] = none ? 0.0 : prob[i * p.tk + j] * (ds[i * p.tk + j] - dsum);
        }
      }
      if (dq) {
        for (int64_t i = 0; i < p.tq; ++i) {
          for (int64_t d = 0; d < p.dk; ++d) {
            double acc = 0.0;
            for (int64_t j = 0; j < p.tk; ++j)
              acc += ds[i * p.tk + j] * static_cast<double>(k[kj(b, j, h) + d]);
            dq[qi(b, i, h) + d] = static_cast<T>(acc * p.scale);
          }
        }
      }
      for (int64_t j = 0; j < p.tk; ++j) {
        if (dk) {
          for (int64_t d = 0; d < p.dk; ++d) {
            double acc = 0.0;
            for (int64_t i = 0; i < p.tq; ++i)
              acc += ds[i * p.tk + j] * static_cast<double>(q[qi(b, i, h) + d]);
            dk[kj(b, j, h) + d] = static_cast<T>(acc * p.scale);
          }
        }
        if (dv) {
          for (int64_t c = 0; c < p.dv; ++c) {
            double acc = 0.0;
            for (int64_t i = 0; i < p.tq; ++i) {
              acc += prob[i * p.tk + j] * keep[i * p.tk + j] *
                     static_cast<double>(dout[oi(b, i, h) + c]);
            }
            dv[vj(b, j, h) + c] = static_cast<T>(acc);
          }
        }
      }
    }
  }
}

}  // namespace

void attention_forward_ref(DType dtype, const AttentionParams& p, const void* q, const void* k,
                           const void* v, void* out, void* lse) {
  visit_floating(dtype, "scaled_dot_product_attention", [&](auto tag) {
    using T = typename decltype(tag)::type;
    forward_ref(p, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
                static_cast<T*>(out), static_cast<T*>(lse));
  });
}

void attention_backward_ref(DType dtype, const AttentionParams& p, const void* q, const void* k,
                            const void* v, const void* out, const void* lse, const void* dout,
                            void* dq, void* dk, void* dv) {
  visit_floating(dtype, "scaled_dot_product_attention", [&](auto tag) {
    using T = typename decltype(tag)::type;
    backward_ref(p, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
                 static_cast<const T*>(dout), static_cast<T*>(dq), static_cast<T*>(dk),
                 static_cast<T*>(dv));
  });
}

}  // namespace corten::cpu
