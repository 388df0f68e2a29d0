// cuda::hash_bucket (csrc/cuda/hashing.cu through the shim) against the CPU reference kernel,
// bit for bit: int32 and int64 values from the extremes to small ones, empty and multi-block
// lengths, one bucket to 2**62, both hashes. The shared hash functions are also checked against
// TensorFlow's own results for byte strings of every length class of FarmHash (0-16, 17-32,
// 33-64, longer) and SipHash (Note [TensorFlow-compatible hashing] in cpu/hash_math.h).
#include <corten/dtype.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "cpu/hash_math.h"
#include "cpu/hashing.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using namespace corten_test;

// tf.strings.to_hash_bucket_fast / to_hash_bucket_strong (key words 0x0706050403020100,
// 0x0f0e0d0c0b0a0908) with 2**63 - 1 buckets of the bytes (i * 7 + 3) % 251, i < length,
// computed by TensorFlow 2.21.
struct Golden {
  size_t length;
  int64_t fast, strong;
};
constexpr Golden kGolden[] = {
    {0, 1936946117179621456LL, 8246050544436514353LL},
    {1, 4521786392703311244LL, 1429656539566498995LL},
    {2, 1655114877597445365LL, 2484710746361506043LL},
    {3, 4662423180930907492LL, 2080267259857834174LL},
    {4, 8342898540396837779LL, 4723732335920331516LL},
    {5, 1540533402979949747LL, 730302214532276087LL},
    {7, 5759834791111993764LL, 7991391970905725799LL},
    {8, 907454142650066470LL, 301200667456637649LL},
    {9, 7285966030820982784LL, 3517073989759395834LL},
    {15, 3216519055487487771LL, 8722372825409516630LL},
    {16, 9140634717936656744LL, 3073669236808500417LL},
    {17, 5283162056940282152LL, 205492636660736118LL},
    {24, 3530932784303194834LL, 4003805200502626271LL},
    {31, 4421592475991032780LL, 882420898959047941LL},
    {32, 2684005117763720425LL, 1586079603215398858LL},
    {33, 4778210889463820522LL, 3374546810254228532LL},
    {48, 8007332110999091036LL, 493571999846094148LL},
    {63, 7926165962964152755LL, 3953746687143885961LL},
    {64, 4330099365522989450LL, 5486624404487275848LL},
    {65, 1211280069609972654LL, 36187491269921254LL},
    {100, 2382341431464166776LL, 8771515076443879023LL},
    {127, 1360439584306034967LL, 8283660558285975774LL},
    {128, 5762233470171823620LL, 637709816293483278LL},
    {129, 2251973765653130762LL, 7733591046893744861LL},
    {200, 6963464919358831938LL, 977344679911920247LL},
};

void check_golden_hashes() {
  constexpr uint64_t kBuckets = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  for (const Golden& g : kGolden) {
    std::vector<unsigned char> s(g.length + 1);
    for (size_t i = 0; i < g.length; ++i) s[i] = static_cast<unsigned char>((i * 7 + 3) % 251);
    const uint64_t fast = corten::hashing::fingerprint64(s.data(), g.length) % kBuckets;
    const uint64_t strong = corten::hashing::siphash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL,
                                                       s.data(), g.length) %
                            kBuckets;
    CHECK(static_cast<int64_t>(fast) == g.fast);
    CHECK(static_cast<int64_t>(strong) == g.strong);
  }
  // The decimal strings of the integer kernel.
  unsigned char buf[24];
  const std::pair<int64_t, const char*> decimals[] = {
      {0, "0"},
      {-1, "-1"},
      {42, "42"},
      {std::numeric_limits<int64_t>::min(), "-9223372036854775808"},
      {std::numeric_limits<int64_t>::max(), "9223372036854775807"}};
  for (const auto& d : decimals) {
    const size_t len = corten::hashing::format_decimal(d.first, buf);
    CHECK(std::string(reinterpret_cast<const char*>(buf), len) == d.second);
  }
}

template <class T>
std::vector<unsigned char> values_of(int64_t n, uint64_t seed) {
  std::vector<unsigned char> bytes(static_cast<size_t>(n) * sizeof(T) + 1, 0);
  const T special[] = {0,  1,   -1,    std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                       10, -10, 999999};
  uint64_t state = seed;
  for (int64_t i = 0; i < n; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    T v = i < 8 ? special[i] : static_cast<T>(static_cast<int64_t>(state >> (i % 40)));
    std::memcpy(bytes.data() + static_cast<size_t>(i) * sizeof(T), &v, sizeof(T));
  }
  return bytes;
}

template <class T>
void check_kernel(DType dtype) {
  const int64_t buckets[] = {1, 2, 3, 17, 1000, int64_t{1} << 62};
  uint64_t seed = 5;
  for (int64_t n : {0, 1, 8, 300, 5000}) {
    const std::vector<unsigned char> x = values_of<T>(n, ++seed);
    for (int64_t b : buckets) {
      for (bool strong : {false, true}) {
        const size_t bytes = static_cast<size_t>(n) * sizeof(int64_t) + 1;
        std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
        {
          KernelBuffer dx(x), dout(got);
          corten::cuda::hash_bucket(dtype, dx.get(), n, b, strong, 7, 11,
                                    static_cast<int64_t*>(dout.get()));
          got = dout.read();
        }
        corten::cpu::hash_bucket_ref(dtype, x.data(), n, b, strong, 7, 11,
                                     reinterpret_cast<int64_t*>(want.data()));
        CHECK(same_values(std::string("hash_bucket ") + corten::dtype_name(dtype) +
                              " n=" + std::to_string(n) + " buckets=" + std::to_string(b) +
                              (strong ? " strong" : " fast"),
                          DType::Int64, got.data(), want.data(), n, 0, 0));
        CHECK(got[bytes - 1] == 0xAB);
      }
    }
  }
}

const RegisterCase hash_bucket_case("hash_bucket", [] {
  check_golden_hashes();
  check_kernel<int32_t>(DType::Int32);
  check_kernel<int64_t>(DType::Int64);
});

}  // namespace

namespace {

template <class T>
void check_sorted_lookup(DType dtype) {
  uint64_t seed = 40;
  for (int64_t num_keys : {0, 1, 2, 7, 1000}) {
    // Keys 3k - 500 (sorted, some negative); values hit keys, miss between them and beyond.
    std::vector<int64_t> keys(static_cast<size_t>(num_keys));
    for (int64_t k = 0; k < num_keys; ++k) keys[static_cast<size_t>(k)] = 3 * k - 500;
    std::vector<unsigned char> key_bytes(keys.size() * sizeof(int64_t) + 1, 0);
    if (!keys.empty()) std::memcpy(key_bytes.data(), keys.data(), keys.size() * sizeof(int64_t));
    for (int64_t n : {0, 1, 9, 4000}) {
      std::vector<unsigned char> x(static_cast<size_t>(n) * sizeof(T) + 1, 0);
      for (int64_t i = 0; i < n; ++i) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        T v = static_cast<T>(static_cast<int64_t>((seed >> 33) % 4000) - 1000);
        if (i == 0) v = std::numeric_limits<T>::min();
        if (i == 1) v = std::numeric_limits<T>::max();
        std::memcpy(x.data() + static_cast<size_t>(i) * sizeof(T), &v, sizeof(T));
      }
      const size_t bytes = static_cast<size_t>(n) * sizeof(int64_t) + 1;
      std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
      {
        KernelBuffer dx(x), dk(key_bytes), dout(got);
        corten::cuda::sorted_lookup(dtype, dx.get(), n, static_cast<const int64_t*>(dk.get()),
                                    num_keys, static_cast<int64_t*>(dout.get()));
        got = dout.read();
      }
      corten::cpu::sorted_lookup_ref(dtype, x.data(), n, keys.data(), num_keys,
                                     reinterpret_cast<int64_t*>(want.data()));
      CHECK(same_values(std::string("sorted_lookup ") + corten::dtype_name(dtype) +
                            " n=" + std::to_string(n) + " keys=" + std::to_string(num_keys),
                        DType::Int64, got.data(), want.data(), n, 0, 0));
      CHECK(got[bytes - 1] == 0xAB);
    }
  }
}

const RegisterCase sorted_lookup_case("sorted_lookup", [] {
  check_sorted_lookup<int32_t>(DType::Int32);
  check_sorted_lookup<int64_t>(DType::Int64);
});

}  // namespace

namespace {

template <class I, class T>
void check_bincount(DType index_dtype, DType dtype) {
  const int64_t shapes[][3] = {{0, 3, 4}, {3, 0, 4},    {2, 5, 0},    {1, 1, 1},
                               {4, 7, 5}, {300, 9, 17}, {1, 2000, 64}};
  uint64_t seed = 90;
  for (const auto& s : shapes) {
    const int64_t rows = s[0], k = s[1], depth = s[2], n = rows * k;
    std::vector<unsigned char> x(static_cast<size_t>(n) * sizeof(I) + 1, 0);
    std::vector<unsigned char> w(static_cast<size_t>(n) * sizeof(T) + 1, 0);
    for (int64_t i = 0; i < n; ++i) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      // Values from -2 to depth + 1: some skipped below and beyond the range.
      const I v = static_cast<I>(static_cast<int64_t>((seed >> 33) % (depth + 4)) - 2);
      const T wt = static_cast<T>(static_cast<int64_t>((seed >> 13) % 1000) - 300) / T(7);
      std::memcpy(x.data() + static_cast<size_t>(i) * sizeof(I), &v, sizeof(I));
      std::memcpy(w.data() + static_cast<size_t>(i) * sizeof(T), &wt, sizeof(T));
    }
    for (int mode = 0; mode < 3; ++mode) {  // counts, weighted sums, binary
      const bool binary = mode == 2;
      const size_t bytes = static_cast<size_t>(rows * depth) * sizeof(T) + 1;
      std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
      {
        KernelBuffer dx(x), dw(w), dout(got);
        corten::cuda::bincount(index_dtype, dtype, dx.get(), mode == 1 ? dw.get() : nullptr, rows,
                               k, depth, binary, dout.get());
        got = dout.read();
      }
      corten::cpu::bincount_ref(index_dtype, dtype, x.data(), mode == 1 ? w.data() : nullptr, rows,
                                k, depth, binary, want.data());
      CHECK(same_values(std::string("bincount ") + corten::dtype_name(index_dtype) + " -> " +
                            corten::dtype_name(dtype) + " mode " + std::to_string(mode) + " (" +
                            std::to_string(rows) + ", " + std::to_string(k) + ", " +
                            std::to_string(depth) + ")",
                        dtype, got.data(), want.data(), rows * depth, 0, 0));
      CHECK(got[bytes - 1] == 0xAB);
    }
  }
}

const RegisterCase bincount_case("bincount", [] {
  check_bincount<int32_t, float>(DType::Int32, DType::Float32);
  check_bincount<int64_t, float>(DType::Int64, DType::Float32);
  check_bincount<int64_t, double>(DType::Int64, DType::Float64);
  check_bincount<int32_t, int32_t>(DType::Int32, DType::Int32);
  check_bincount<int64_t, int64_t>(DType::Int64, DType::Int64);
});

}  // namespace
