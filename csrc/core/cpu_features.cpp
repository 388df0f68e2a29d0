#include <corten/cpu_features.h>
#include <corten/errors.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace corten {
namespace {

// __builtin_cpu_supports also checks that the OS saves the vector state (XCR0), so a feature
// reported here is usable.
bool detect_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool detect_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return detect_avx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

bool detect_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return detect_avx512() && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

CpuIsa best_isa() {
  if (cpu_has_avx512()) return CpuIsa::Avx512;
  return cpu_has_avx2() ? CpuIsa::Avx2 : CpuIsa::Baseline;
}

// CORTEN_CPU_ISA caps the level; an unknown value is ignored (throwing while the library loads
// would take the host process down).
CpuIsa initial_isa() {
  const CpuIsa best = best_isa();
  const char* env = std::getenv("CORTEN_CPU_ISA");
  if (!env) return best;
  CpuIsa want = best;
  if (std::strcmp(env, "baseline") == 0) want = CpuIsa::Baseline;
  else if (std::strcmp(env, "avx2") == 0) want = CpuIsa::Avx2;
  else if (std::strcmp(env, "avx512") == 0) want = CpuIsa::Avx512;
  return want < best ? want : best;
}

std::atomic<CpuIsa>& current() {
  static std::atomic<CpuIsa> isa{initial_isa()};
  return isa;
}

}  // namespace

CpuIsa cpu_isa() { return current().load(std::memory_order_relaxed); }

std::string cpu_isa_name() {
  switch (cpu_isa()) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Baseline: break;
  }
  return "baseline";
}

bool cpu_has_avx2() {
  static const bool has = detect_avx2();
  return has;
}

bool cpu_has_avx512() {
  static const bool has = detect_avx512();
  return has;
}

bool cpu_has_avx512_bf16() {
  static const bool has = detect_avx512_bf16();
  return has;
}

void set_cpu_isa(const std::string& name) {
  if (name == "baseline") {
    current().store(CpuIsa::Baseline);
  } else if (name == "avx2") {
    CORTEN_CHECK_VALUE(cpu_has_avx2(), "set_cpu_isa: this CPU does not support 'avx2' (AVX2+FMA)");
    current().store(CpuIsa::Avx2);
  } else if (name == "avx512") {
    CORTEN_CHECK_VALUE(cpu_has_avx512(), "set_cpu_isa: this CPU does not support 'avx512' ",
                       "(AVX-512 F/BW/DQ/VL + FMA)");
    current().store(CpuIsa::Avx512);
  } else {
    throw ValueError("set_cpu_isa: expected 'baseline', 'avx2' or 'avx512'; got '" + name + "'");
  }
}

}  // namespace corten
