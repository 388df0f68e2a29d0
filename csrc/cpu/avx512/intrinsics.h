#pragma once
// <immintrin.h> for the avx512 translation units, which include it through this header only.
// GCC 12 reports the deliberately undefined pass-through operand of many AVX-512 intrinsics
// (_mm512_min_ps, _mm512_unpacklo_ps, ...) as maybe uninitialized once they are inlined (GCC
// bug 105593). A diagnostic state applies to the lines it covers, here the header's own, so it
// must be the first inclusion of <immintrin.h> in the translation unit.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
