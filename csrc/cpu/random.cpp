#include "cpu/random.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "cpu/loops.h"
#include "cpu/philox.h"
#include "cpu/random_kernels.h"
#include "cpu/random_transform.h"

namespace corten::cpu {

// Note [Philox counters]
// A draw of n elements under (key, offset) splits its output into blocks of K consecutive
// elements (K = 4 when one 32-bit word per element suffices: float32 normal and uniform,
// int32 uniform, dropout masks; K = 2 for float64 and int64, which take 64 bits per element).
// Block b is computed from the Philox4x32-10 block with counter words 0-1 = offset + b and
// words 2-3 = 0 (the "stream"). So element i depends only on (key, offset + i / K), never on how
// the range is split across threads, and the draw consumes ceil(n / K) <= ceil(n / 2) counters
// (philox_counters_used), after which a generator can continue at the next offset without
// overlap. Truncated normal redraws a rejected element i from streams 1, 2, ... of the same
// counter offset + i / K (taking the same lane), so it too depends only on (key, offset, i), and
// uses no counters beyond ceil(n / K). Which words of block b give which of its K elements:
// Note [Random element values] in cpu/random_transform.h, whose one-element functions the CUDA
// kernels (cuda/random.cu) run with this same counter assignment, one block per thread.

namespace {

// Scalar Philox + Box-Muller (float64): a few tens of ns per element.
constexpr int64_t kGrainRandom = 4096;

using rng::kPerBlock;

// Runs gen(counter, values) for every block of a draw of n elements and stores the values.
template <typename T, typename Gen>
void fill_blocks(T* out, int64_t n, uint64_t offset, const Gen& gen) {
  constexpr int K = kPerBlock<T>;
  const int64_t nblocks = n / K + (n % K != 0);
  parallel_for(0, nblocks, kGrainRandom / K, [&](int64_t b0, int64_t b1) {
    T vals[K];
    for (int64_t b = b0; b < b1; ++b) {
      gen(offset + static_cast<uint64_t>(b), vals);
      const int64_t base = b * K;
      const int64_t m = std::min<int64_t>(K, n - base);
      for (int64_t j = 0; j < m; ++j) out[base + j] = vals[j];
    }
  });
}

// Note [Vector random fill]
// Draws take the words of a run of blocks from the ISA's table (cpu/random_kernels.h)
// kWordBlocks at a time into a buffer on the stack and map them to values there; the words and
// the values are those of the one-block-at-a-time path, only computed 16 lanes at a time.
constexpr int64_t kWordBlocks = 256;
// Elements per thread of a draw: the vector path takes under 1 ns per element (bench:
// tf.random.normal((64, 784)), 37 us at 1 thread).
constexpr int64_t kGrainWords = 16384;

// Runs fn(words, first element, count) over runs of the words of a draw of n elements of K per
// block (4 for 32-bit elements, which take words[j]; 2 for 64-bit ones, which take words[2j]
// and words[2j + 1]), the runs split across threads.
template <int K = 4, class Fn>
void for_word_runs(int64_t n, uint64_t key, uint64_t offset, const Fn& fn) {
  const RandomTable& t = active_random_table();
  const int64_t nblocks = n / K + (n % K != 0);
  parallel_for(0, nblocks, kGrainWords / K, [&](int64_t b0, int64_t b1) {
    alignas(64) uint32_t words[4 * kWordBlocks];
    for (int64_t c0 = b0; c0 < b1; c0 += kWordBlocks) {
      const int64_t c1 = std::min(b1, c0 + kWordBlocks);
      t.philox_words(key, offset + static_cast<uint64_t>(c0), c1 - c0, words);
      fn(words, K * c0, std::min<int64_t>(K * c1, n) - K * c0);
    }
  });
}

}  // namespace

void random_normal(DType dtype, void* out, int64_t n, double mean, double stddev, uint64_t key,
                   uint64_t offset) {
  visit_floating(dtype, "random_normal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T m = static_cast<T>(mean), s = static_cast<T>(stddev);
    if constexpr (std::is_same_v<T, float>) {
      const RandomTable& t = active_random_table();
      float* o = static_cast<float*>(out);
      for_word_runs(n, key, offset, [&](const uint32_t* w, int64_t first, int64_t count) {
        if (count % 2 == 0) {
          t.normal_f32(w, count / 2, m, s, o + first);
        } else {
          float last[2];
          t.normal_f32(w, count / 2, m, s, o + first);
          t.normal_f32(w + count - 1, 1, m, s, last);
          o[first + count - 1] = last[0];
        }
      });
    } else {
      const RandomTable& t = active_random_table();
      T* o = static_cast<T*>(out);
      for_word_runs<2>(n, key, offset, [&](const uint32_t* w, int64_t first, int64_t count) {
        t.normal_f64(w, count / 2, m, s, o + first);
        if (count % 2 != 0) {
          T last[2];
          t.normal_f64(w + 2 * (count - 1), 1, m, s, last);
          o[first + count - 1] = last[0];
        }
      });
    }
  });
}

void truncated_normal(DType dtype, void* out, int64_t n, double mean, double stddev,
                      uint64_t key, uint64_t offset) {
  visit_floating(dtype, "truncated_normal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int K = kPerBlock<T>;
    const T m = static_cast<T>(mean), s = static_cast<T>(stddev);
    if constexpr (std::is_same_v<T, float>) {
      // The stream-0 normals of a run of blocks from the ISA's table, then the rejected ones
      // redrawn from streams 1, 2, ... of their counter (lane j) until |z| <= 2.
      const RandomTable& t = active_random_table();
      float* o = static_cast<float*>(out);
      for_word_runs(n, key, offset, [&](const uint32_t* w, int64_t first, int64_t count) {
        float z[4 * kWordBlocks];
        t.normal_f32(w, (count + 1) / 2, 0.0f, 1.0f, z);
        for (int64_t j = 0; j < count; ++j) {
          const int64_t i = first + j;
          const float zj =
              std::abs(z[j]) <= 2.0f
                  ? z[j]
                  : rng::truncate_normal(z[j], key, offset + static_cast<uint64_t>(i / K),
                                         static_cast<int>(i % K));
          o[i] = m + s * zj;
        }
      });
    } else {
      fill_blocks(static_cast<T*>(out), n, offset, [&](uint64_t ctr, T(&v)[K]) {
        rng::truncated_normal_block(philox_block(key, ctr), key, ctr, m, s, v);
      });
    }
  });
}

void random_uniform(DType dtype, void* out, int64_t n, double minval, double maxval,
                    uint64_t key, uint64_t offset) {
  visit_floating(dtype, "random_uniform", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const rng::UniformParams<T> p = rng::uniform_params<T>(minval, maxval);
    if constexpr (std::is_same_v<T, float>) {
      const RandomTable& t = active_random_table();
      float* o = static_cast<float*>(out);
      for_word_runs(n, key, offset, [&](const uint32_t* w, int64_t first, int64_t count) {
        t.uniform_f32(w, count, p.minval, p.range, p.hi, p.below_hi, p.clamp, o + first);
      });
    } else {
      T* o = static_cast<T*>(out);
      for_word_runs<2>(n, key, offset, [&](const uint32_t* w, int64_t first, int64_t count) {
        for (int64_t j = 0; j < count; ++j) {
          o[first + j] = rng::uniform_f64(w[2 * j], w[2 * j + 1], p);
        }
      });
    }
  });
}

void random_uniform_int(DType dtype, void* out, int64_t n, int64_t minval, int64_t maxval,
                        uint64_t key, uint64_t offset) {
  visit_numeric(dtype, "random_uniform", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) {
      const rng::IntParams<T> p = rng::int_params<T>(minval, maxval);
      T* o = static_cast<T*>(out);
      for_word_runs<kPerBlock<T>>(
          n, key, offset, [&](const uint32_t* w, int64_t first, int64_t count) {
            for (int64_t j = 0; j < count; ++j) {
              if constexpr (sizeof(T) == 4) {
                o[first + j] = rng::uniform_int<T>(w[j], p);
              } else {
                o[first + j] = rng::uniform_int<T>(rng::bits64(w[2 * j], w[2 * j + 1]), p);
              }
            }
          });
    }
  });
}

// Note [Random permutation]
// Element i's 64-bit word (the int64 layout of Note [Philox counters]) picks j uniform in
// [0, i] as floor(word * (i + 1) / 2^64), and the inside-out Fisher-Yates shuffle places i at j
// and the element that was at j at i. The multiply-shift is unbiased to within (i + 1) / 2^64,
// which no test of uniformity can see; a rejection loop would make the counters consumed
// depend on the values. The shuffle itself is sequential: a permutation of 10^6 indices takes
// a few ms, far below the epoch it orders.
void random_permutation(int64_t* out, int64_t n, uint64_t key, uint64_t offset) {
  for_word_runs<2>(n, key, offset, [&](const uint32_t* w, int64_t first, int64_t count) {
    // The words, stored where the shuffle below reads each one just before overwriting it.
    for (int64_t j = 0; j < count; ++j) {
      const uint64_t word = rng::bits64(w[2 * j], w[2 * j + 1]);
      std::memcpy(out + first + j, &word, sizeof(word));
    }
  });
  for (int64_t i = 0; i < n; ++i) {
    uint64_t word;
    std::memcpy(&word, out + i, sizeof(word));
    const auto j = static_cast<int64_t>(
        (static_cast<unsigned __int128>(word) * static_cast<uint64_t>(i + 1)) >> 64);
    out[i] = out[j];
    out[j] = i;
  }
}

void dropout_mask(bool* mask, int64_t n, double rate, uint64_t key, uint64_t offset) {
  const uint64_t threshold = rng::dropout_threshold(rate).value;
  const RandomTable& t = active_random_table();
  auto keep = [&](const uint32_t* w, int64_t first, int64_t count) {
    t.dropout_keep(w, count, threshold, mask + first);
  };
  for_word_runs<rng::kMaskPerBlock>(n, key, offset, keep);
}

namespace {

// out = keep ? rng::dropout_kept(x, scale) : +0 over `shape`: contiguous operands (no
// noise_shape, the common case) through `flat`, the ISA table's loop, one call per chunk; others
// element by element.
template <class T, class S, class Flat>
void apply_keep(const Shape& shape, const T* x, const Shape& x_strides, const bool* mask,
                const Shape& mask_strides, T* out, S scale, const Flat& flat) {
  const Shape out_strides = contiguous_strides(shape);
  if (x_strides == out_strides && mask_strides == out_strides) {
    parallel_for(0, shape_numel(shape), kGrainCheap, [&](int64_t begin, int64_t end) {
      flat(x + begin, mask + begin, end - begin, scale, out + begin);
    });
    return;
  }
  for_each_row<3>(shape, {&x_strides, &mask_strides, &out_strides}, kGrainCheap,
                  [&](const std::array<int64_t, 3>& off, int64_t len,
                      const std::array<int64_t, 3>& inner) {
                    for (int64_t i = 0; i < len; ++i) {
                      out[off[2] + i * inner[2]] =
                          mask[off[1] + i * inner[1]]
                              ? rng::dropout_kept(x[off[0] + i * inner[0]], scale)
                              : T{};
                    }
                  });
}

}  // namespace

void dropout_apply(DType dtype, const Shape& shape, const void* x, const Shape& x_strides,
                   const bool* mask, const Shape& mask_strides, void* out, double scale) {
  const RandomTable& t = active_random_table();
  if (dtype == DType::BFloat16) {
    apply_keep(shape, static_cast<const bfloat16*>(x), x_strides, mask, mask_strides,
               static_cast<bfloat16*>(out), static_cast<float>(scale), t.dropout_apply_bf16);
    return;
  }
  visit_floating(dtype, "dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xp = static_cast<const T*>(x);
    T* op = static_cast<T*>(out);
    if constexpr (std::is_same_v<T, float>) {
      apply_keep(shape, xp, x_strides, mask, mask_strides, op, static_cast<T>(scale),
                 t.dropout_apply_f32);
    } else {
      apply_keep(shape, xp, x_strides, mask, mask_strides, op, static_cast<T>(scale),
                 t.dropout_apply_f64);
    }
  });
}

}  // namespace corten::cpu
