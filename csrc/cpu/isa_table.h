#pragma once
// The kernel table of the ISA level in use (corten/cpu_features.h), given each level's getter.

#include <corten/cpu_features.h>

namespace corten::cpu {

template <class Table>
const Table& table_for_isa(const Table& (*baseline)(), const Table& (*avx2)(),
                           const Table& (*avx512)()) {
  switch (cpu_isa()) {
    case CpuIsa::Avx512: return avx512();
    case CpuIsa::Avx2: return avx2();
    case CpuIsa::Baseline: break;
  }
  return baseline();
}

}  // namespace corten::cpu
