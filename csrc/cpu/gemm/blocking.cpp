#include "cpu/gemm/blocking.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace corten::cpu::gemm {
namespace {

int64_t sysconf_or(int name, int64_t fallback, bool& detected) {
  const long v = sysconf(name);
  if (v > 0) return v;
  detected = false;
  return fallback;
}

CacheSizes detect() {
  CacheSizes c{32 * 1024, 1024 * 1024, 8 * 1024 * 1024, true};
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && \
    defined(_SC_LEVEL3_CACHE_SIZE)
  c.l1d = sysconf_or(_SC_LEVEL1_DCACHE_SIZE, c.l1d, c.detected);
  c.l2 = sysconf_or(_SC_LEVEL2_CACHE_SIZE, c.l2, c.detected);
  c.l3 = sysconf_or(_SC_LEVEL3_CACHE_SIZE, c.l3, c.detected);
#else
  c.detected = false;
#endif
  return c;
}

int64_t env_or(const char* name, int64_t fallback) {
  if (const char* s = std::getenv(name)) {
    const long long v = std::atoll(s);
    if (v > 0) return v;
  }
  return fallback;
}

// Note [GEMM blocking]: below this depth, the load and store of the C tile per micro-kernel call
// cost more than streaming a B micro-panel larger than L1 from L2 (the 512-bit kernels, whose
// 64-column panels would get KC = 96: bench/bench_gemm.py squares, KC 96 vs 256).
constexpr int64_t kMinKc = 256;

int64_t round_down(int64_t x, int64_t to) { return std::max<int64_t>(to, x / to * to); }

}  // namespace

const CacheSizes& cache_sizes() {
  static const CacheSizes c = detect();
  return c;
}

Blocking blocking_for(int mr, int nr, int64_t elem_size) {
  const CacheSizes& c = cache_sizes();
  Blocking b{mr, nr, 0, 0, 0};
  b.kc = std::clamp<int64_t>(round_down(c.l1d / 2 / (nr * elem_size), 8), kMinKc, 1024);
  b.kc = std::max<int64_t>(1, env_or("CORTEN_GEMM_KC", b.kc));
  const int64_t quarter_l2 = c.l2 / 4 / (b.kc * elem_size);
  b.mc = std::clamp<int64_t>(round_down(quarter_l2, mr), 4 * mr, 4096);
  b.nc = std::clamp<int64_t>(round_down(quarter_l2, nr), 4 * nr, 8192);
  b.mc = round_down(env_or("CORTEN_GEMM_MC", b.mc), mr);
  b.nc = round_down(env_or("CORTEN_GEMM_NC", b.nc), nr);
  return b;
}

}  // namespace corten::cpu::gemm
