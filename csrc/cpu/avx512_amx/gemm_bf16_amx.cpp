// AMX micro-kernel for the bfloat16 GEMM (Note [AMX tiles] in cpu/gemm/gemm_bf16.h). This file
// is compiled with the AMX flags and only called when cpu_amx_enabled().
//
// A 32 x 32 float32 tile is four 16 x 16 accumulator tiles (tmm0-3); per block of 16 pairs of
// k, two A tiles (tmm4-5: 16 rows x 16 pairs each, read from A's rows) and two B tiles (tmm6-7:
// 16 pair rows x 16 columns of the packed panel) feed four TDPBF16PS.

#include <cstdint>
#include <cstring>

#include "cpu/avx512/intrinsics.h"
#include "cpu/gemm/gemm_bf16.h"

namespace corten::cpu::gemm::avx512_amx {
namespace {

constexpr int kMR = 32, kNR = 32, kBlock = 16;  // kBlock pairs of k per A and B tile

// The tile configuration of palette 1: eight tiles of 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

const TileConfig& tile_config() {
  static const TileConfig config = [] {
    TileConfig c;
    for (int t = 0; t < 8; ++t) {
      c.colsb[t] = 64;
      c.rows[t] = 16;
    }
    return c;
  }();
  return config;
}

inline uint32_t pair_at(const uint16_t* p) {
  uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// The accumulators: zero, or the tile's values (row stride ldc floats).
inline void start_tiles(const float* tile, int64_t ldc, bool accumulate) {
  if (accumulate) {
    const int64_t bytes = ldc * static_cast<int64_t>(sizeof(float));
    _tile_loadd(0, tile, bytes);
    _tile_loadd(1, tile + 16, bytes);
    _tile_loadd(2, tile + 16 * ldc, bytes);
    _tile_loadd(3, tile + 16 * ldc + 16, bytes);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
}

// One block of 16 pairs: A's rows 0-15 at a0 and 16-31 at a1 (a_bytes apart), B's 16 pair rows
// at b (row stride ldb words; the packed panel's is kNR).
inline void block_product(const void* a0, const void* a1, int64_t a_bytes, const uint32_t* b,
                          int64_t ldb) {
  const int64_t b_bytes = ldb * static_cast<int64_t>(sizeof(uint32_t));
  _tile_loadd(4, a0, a_bytes);
  _tile_loadd(5, a1, a_bytes);
  _tile_loadd(6, b, b_bytes);
  _tile_loadd(7, b + 16, b_bytes);
  _tile_dpbf16ps(0, 4, 6);
  _tile_dpbf16ps(1, 4, 7);
  _tile_dpbf16ps(2, 5, 6);
  _tile_dpbf16ps(3, 5, 7);
}

inline void store_tiles(float* tile, int64_t ldc) {
  const int64_t bytes = ldc * static_cast<int64_t>(sizeof(float));
  _tile_stored(0, tile, bytes);
  _tile_stored(1, tile + 16, bytes);
  _tile_stored(2, tile + 16 * ldc, bytes);
  _tile_stored(3, tile + 16 * ldc + 16, bytes);
}

// Pairs [p, p + count) of the kernel's 32 A rows as 32 rows of kBlock words, zero past count.
void gather_a(const uint16_t* a, int64_t a_rs, int64_t a_step, int64_t p, int64_t count,
              uint32_t* dst) {
  if (a_step == 2) {  // a row's pairs are consecutive: one masked copy a row
    const __mmask16 words = count >= kBlock ? __mmask16{0xffff}
                                            : static_cast<__mmask16>((1u << count) - 1u);
    for (int i = 0; i < kMR; ++i) {
      _mm512_store_si512(dst + i * kBlock, _mm512_maskz_loadu_epi32(words, a + i * a_rs + 2 * p));
    }
    return;
  }
  for (int i = 0; i < kMR; ++i) {
    for (int64_t q = 0; q < kBlock; ++q) {
      dst[i * kBlock + q] = q < count ? pair_at(a + i * a_rs + (p + q) * a_step) : 0u;
    }
  }
}

// Loads the kernel's tile shapes unless they are in place. Checked on every call, as another
// library in the process may have set shapes of its own; reading the configuration back costs
// a tenth of loading it (which also zeroes the tiles).
void use_tile_config() {
  alignas(64) TileConfig current;
  _tile_storeconfig(&current);
  if (std::memcmp(&current, &tile_config(), sizeof current) != 0) _tile_loadconfig(&tile_config());
}

// A 32 x 32 tile (row stride ldc) = (accumulate ? tile : 0) + A's rows times kp pair rows of b
// (row stride ldb words). A's rows are tile rows when its pairs are consecutive (a_step == 2);
// other layouts, and the last block of a depth that is not a multiple of kBlock, go through a
// zero-padded copy (B's missing pair rows are zero there too, so nothing past kp is read).
void tile_product(int64_t kp, const uint16_t* a, int64_t a_rs, int64_t a_step, const uint32_t* b,
                  int64_t ldb, float* tile, int64_t ldc, bool accumulate) {
  start_tiles(tile, ldc, accumulate);
  const bool rows_in_place = a_step == 2;
  const int64_t a_bytes = a_rs * static_cast<int64_t>(sizeof(uint16_t));
  alignas(64) uint32_t a_copy[kMR * kBlock];
  alignas(64) uint32_t b_copy[kBlock * kNR];
  for (int64_t p = 0; p < kp; p += kBlock) {
    const int64_t count = kp - p < kBlock ? kp - p : kBlock;
    const void* a0;
    const void* a1;
    int64_t stride;
    if (rows_in_place && count == kBlock) {
      a0 = a + 2 * p;
      a1 = a + 16 * a_rs + 2 * p;
      stride = a_bytes;
    } else {
      gather_a(a, a_rs, a_step, p, count, a_copy);
      a0 = a_copy;
      a1 = a_copy + 16 * kBlock;
      stride = kBlock * sizeof(uint32_t);
    }
    const uint32_t* bp = b + p * ldb;
    int64_t b_stride = ldb;
    if (count < kBlock) {
      for (int64_t q = 0; q < count; ++q) {
        std::memcpy(b_copy + q * kNR, bp + q * ldb, kNR * sizeof(uint32_t));
      }
      std::memset(b_copy + count * kNR, 0,
                  static_cast<size_t>((kBlock - count) * kNR) * sizeof(uint32_t));
      bp = b_copy;
      b_stride = kNR;
    }
    block_product(a0, a1, stride, bp, b_stride);
  }
  store_tiles(tile, ldc);
}

// Bf16UkernelFn: the packed panel, into the kernel's own tile.
void ukernel(int64_t kp, const uint16_t* a, int64_t a_rs, int64_t a_step, const uint32_t* b,
             float* tile, bool accumulate) {
  use_tile_config();
  tile_product(kp, a, a_rs, a_step, b, kNR, tile, kNR, accumulate);
}

// Bf16StridedFn: A's rows in place, any B and C row strides; use_tile_config has run.
void ukernel_strided(int64_t kp, const uint16_t* a, int64_t a_rs, const uint32_t* b, int64_t ldb,
                     float* c, int64_t ldc, bool accumulate) {
  tile_product(kp, a, a_rs, 2, b, ldb, c, ldc, accumulate);
}

// Bf16BlocksFn: the same tiles, each block's two A tiles read from its own offset.
void ukernel_blocks(int64_t nblocks, const uint16_t* a, const int64_t* a_off, int64_t a_rs,
                    const uint32_t* b, float* tile) {
  use_tile_config();
  start_tiles(tile, kNR, false);
  const int64_t a_bytes = a_rs * static_cast<int64_t>(sizeof(uint16_t));
  for (int64_t i = 0; i < nblocks; ++i, b += kBlock * kNR) {
    const uint16_t* ai = a + a_off[i];
    block_product(ai, ai + 16 * a_rs, a_bytes, b, kNR);
  }
  store_tiles(tile, kNR);
}

// Transposes 16 x 16 32-bit words in place: r[i] lane j becomes r[j] lane i.
inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // r[4g + c] now holds, in 128-bit lane L, rows 4g..4g+3 of column 4L + c: a 4 x 4
  // transpose of 128-bit lanes (two rounds of lane shuffles) finishes it.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
  }
}

inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? __mmask16{0xffff} : n <= 0 ? __mmask16{0} : static_cast<__mmask16>((1u << n) - 1u);
}

// PackColsFn: 16 pair rows of A^T at a time interleaved into words, then transposed 16 x 16.
void pack_a_cols(int MR, int64_t mr, int64_t k, const uint16_t* at, int64_t rs, uint32_t* dst) {
  const int64_t kp = (k + 1) / 2;
  for (int64_t j0 = 0; j0 < MR; j0 += 16) {
    const __mmask16 cols = first_lanes(mr - j0);
    for (int64_t p0 = 0; p0 < kp; p0 += 16) {
      __m512i r[16];
      for (int q = 0; q < 16; ++q) {
        const int64_t row = 2 * (p0 + q);
        const __m512i e = row < k ? _mm512_cvtepu16_epi32(
                                        _mm256_maskz_loadu_epi16(cols, at + row * rs + j0))
                                  : _mm512_setzero_si512();
        const __m512i o = row + 1 < k ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(
                                            cols, at + (row + 1) * rs + j0))
                                      : _mm512_setzero_si512();
        r[q] = _mm512_or_si512(e, _mm512_slli_epi32(o, 16));
      }
      transpose16(r);
      const __mmask16 pairs = first_lanes(kp - p0);
      for (int jj = 0; jj < 16 && j0 + jj < MR; ++jj) {
        _mm512_mask_storeu_epi32(dst + (j0 + jj) * kp + p0, pairs, r[jj]);
      }
    }
  }
}

// 16 float32 values rounded to bfloat16 as bfloat16::from_float (nearest even, subnormals
// kept, NaN quieted), which VCVTNEPS2BF16 is not: it flushes subnormal results to zero.
inline __m256i round_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  const __m512i quiet = _mm512_or_si512(u, _mm512_set1_epi32(0x400000));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_mask_blend_epi32(nan, rounded, quiet), 16));
}

// FinishRowsFn: two vectors a row, the bias added, relu as a select.
void finish_rows(const float* tile, int64_t rows, int64_t nr, const float* bias, bool relu,
                 uint16_t* const* dst) {
  const __mmask16 lo = first_lanes(nr), hi = first_lanes(nr - 16);
  const __m512 b0 = bias ? _mm512_maskz_loadu_ps(lo, bias) : _mm512_setzero_ps();
  const __m512 b1 = bias ? _mm512_maskz_loadu_ps(hi, bias + 16) : _mm512_setzero_ps();
  const auto both = static_cast<__mmask32>(lo | (static_cast<uint32_t>(hi) << 16));
  for (int64_t r = 0; r < rows; ++r) {
    if (dst[r] == nullptr) continue;
    __m512 v0 = _mm512_add_ps(_mm512_loadu_ps(tile + r * kNR), b0);
    __m512 v1 = _mm512_add_ps(_mm512_loadu_ps(tile + r * kNR + 16), b1);
    if (relu) {
      // max(v, 0) with the NaN kept, as the float32 relu.
      v0 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v0, _mm512_setzero_ps(), _CMP_LT_OQ), v0,
                                _mm512_setzero_ps());
      v1 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v1, _mm512_setzero_ps(), _CMP_LT_OQ), v1,
                                _mm512_setzero_ps());
    }
    const __m512i halves =
        _mm512_inserti64x4(_mm512_castsi256_si512(round_bf16(v0)), round_bf16(v1), 1);
    _mm512_mask_storeu_epi16(dst[r], both, halves);
  }
}

}  // namespace

Bf16Ukernel ukernel_bf16() {
  Bf16Ukernel uk = avx512_bf16::ukernel_bf16(2);  // its vector packing and rounding
  uk.fn = &ukernel;
  uk.mr = kMR;
  uk.nr = kNR;
  uk.name = "ukernel_amx_bf16_32x32";
  uk.a_rows = true;
  uk.pack_a_cols = &pack_a_cols;
  uk.blocks = &ukernel_blocks;
  uk.strided = &ukernel_strided;
  uk.setup = &use_tile_config;
  uk.finish_rows = &finish_rows;
  return uk;
}

}  // namespace corten::cpu::gemm::avx512_amx
