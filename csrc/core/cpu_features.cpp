#include <corten/cpu_features.h>
#include <corten/errors.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

// CPUID leaf 7's AMX-TILE and AMX-BF16 bits, the OS saving the tile state (XCR0 bits 17 and
// 18), and Linux's permission for this process to use it (ARCH_REQ_XCOMP_PERM): without the
// last, the first tile instruction faults.
bool detect_amx_bf16() {
#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
  if (!detect_avx512_bf16()) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amx_bf16 = (edx >> 22) & 1u, amx_tile = (edx >> 24) & 1u;
  if (!amx_bf16 || !amx_tile) return false;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  constexpr unsigned kTileState = (1u << 17) | (1u << 18);
  if ((xcr0_lo & kTileState) != kTileState) return false;
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
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

std::atomic<bool>& amx_on() {
  static std::atomic<bool> on{[] {
    const char* env = std::getenv("CORTEN_CPU_AMX");
    return cpu_has_amx_bf16() && !(env && std::strcmp(env, "0") == 0);
  }()};
  return on;
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

bool cpu_has_amx_bf16() {
  static const bool has = detect_amx_bf16();
  return has;
}

bool cpu_amx_enabled() { return amx_on().load(std::memory_order_relaxed); }

void set_cpu_amx(bool enabled) {
  CORTEN_CHECK_VALUE(!enabled || cpu_has_amx_bf16(), "set_cpu_amx: this CPU (or OS) does not ",
                     "support AMX-BF16 tiles");
  amx_on().store(enabled);
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
