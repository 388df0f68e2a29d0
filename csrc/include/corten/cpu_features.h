#pragma once
/// Run-time CPU feature selection. The kernel sets form a ladder, each level needing the one
/// below: baseline (portable C++), avx2 (AVX2+FMA) and avx512 (AVX-512 F/BW/DQ/VL + FMA). By
/// default the highest level this CPU supports is used; set_cpu_isa() selects another, as does
/// the environment variable CORTEN_CPU_ISA=baseline|avx2|avx512 read when the library loads
/// (a level the CPU lacks falls back to the highest one it has). Where a level has no kernel of
/// its own for an op, the level below serves it (AVX2 code runs on every AVX-512 CPU).

#include <string>

namespace corten {

/// Ordered: a later level includes every earlier one.
enum class CpuIsa { Baseline, Avx2, Avx512 };

/// The kernel set in use.
CpuIsa cpu_isa();
/// Whether the kernel set in use is `isa` or a later level (e.g. AVX2 kernels may run).
inline bool cpu_isa_at_least(CpuIsa isa) { return cpu_isa() >= isa; }
/// "baseline", "avx2" or "avx512".
std::string cpu_isa_name();
/// Whether this CPU supports the AVX2+FMA kernels.
bool cpu_has_avx2();
/// Whether this CPU (and OS) supports the AVX-512 kernels: AVX-512 F, BW, DQ, VL and FMA.
bool cpu_has_avx512();
/// Whether this CPU has AVX-512 BF16 (VDPBF16PS) besides the AVX-512 kernels' features: the
/// avx512 level then runs bfloat16 products with it (Note [bfloat16 GEMM]).
bool cpu_has_avx512_bf16();
/// Whether this CPU and OS support AMX-BF16 tiles (TDPBF16PS) besides AVX-512 BF16. On Linux
/// the process asks the kernel for the tile state (arch_prctl) the first time this is called;
/// a refusal reads as no AMX.
bool cpu_has_amx_bf16();
/// Whether the avx512 level runs bfloat16 GEMMs on AMX tiles (Note [AMX tiles]): by default
/// when the CPU has them, unless the environment variable CORTEN_CPU_AMX=0 was set when the
/// library loaded.
bool cpu_amx_enabled();
/// Turn the AMX kernels on or off (ValueError turning them on where the CPU lacks them): off,
/// bfloat16 products run on VDPBF16PS, for comparing the two.
void set_cpu_amx(bool enabled);
/// Select "baseline", "avx2" or "avx512" (ValueError if unknown or unsupported by this CPU).
void set_cpu_isa(const std::string& name);

}  // namespace corten
