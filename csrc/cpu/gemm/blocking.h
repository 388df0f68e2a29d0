#pragma once
// GEMM cache blocking, derived from the cache sizes detected at run time.
//
// Note [GEMM blocking]
// The driver (gemm.cpp) packs A into MR-row panels and B into NR-column panels, KC deep, and
// computes C in macro-tiles of at most MC x NC: per KC step, the kc x NR B micro-panel stays
// in L1 while the MC x KC A block (in L2) streams past it, and the KC x NC B block is reused
// from L2 by every MR-row panel of the tile.
//   KC = (L1d / 2) / (NR * sizeof(T)): a B micro-panel fills half of L1, but KC >= 256: for
//        the wide 512-bit kernels (NR = 64 floats) a panel that spills into L2 costs less
//        than the C traffic of a short KC (blocking.cpp, kMinKc).
//   MC = (L2 / 4) / (KC * sizeof(T)), a multiple of MR: the A block takes a quarter of L2.
//   NC = (L2 / 4) / (KC * sizeof(T)), a multiple of NR: the B block another quarter.
// K split: a product whose C is small (batch 1, m and n <= 128) but whose sum is deep
// (k >= 512, over the threading threshold) has too few macro-tiles to spread over threads, and
// splitting its rows makes every thread read all of B (64x784 . (64x784)^T, a Dense backward's
// gx: 37 us at 1 and at 2 threads with a packed B; a row-major B read in place lands in both
// cores' caches, and the next writer of B pays to invalidate the other copy). Its K range is
// cut into 2 chunks (4 when k >= 2048) of equal size rounded up to 16; chunk 0 is summed into
// C and the others into scratch, each chunk on one thread, and the chunks are added to C in
// chunk order before the epilogue. The split is a function of the shape only, and is done at
// 1 thread too: the sums, and so the results, are the same at every thread count (gemm.cpp,
// k_split).
// Defaults when the OS does not report caches: 32 KiB L1d, 1 MiB L2, 8 MiB L3. The variables
// CORTEN_GEMM_KC / _MC / _NC override the derived values (for tuning experiments).

#include <cstdint>

namespace corten::cpu::gemm {

struct CacheSizes {
  int64_t l1d, l2, l3;
  bool detected;
};

struct Blocking {
  int mr, nr;
  int64_t kc, mc, nc;
};

const CacheSizes& cache_sizes();
Blocking blocking_for(int mr, int nr, int64_t elem_size);

}  // namespace corten::cpu::gemm
