// The floor under a batch-1 Dense layer on this CPU: how long one core takes to read a float32
// weight matrix that sits in its L2 (the 784 x 64 layer of the guides' MLP is 200 KB), with
// the simplest AVX-512 loop (four independent sums, no arithmetic on the critical path but the
// loads). Build and run:
//
//     g++ -O2 -mavx512f -o /tmp/l2_stream bench/lab/l2_stream.cpp && /tmp/l2_stream
//
// Compare with the first `linear` of `predict_latency MODEL 1 1 7 --profile`
// (bench/native_latency.py builds it), which reads the same bytes and does the FMAs.
// The buffer is 64-byte aligned, as corten's tensors are: from a std::vector (16-byte
// aligned) every 64-byte load spans two cache lines, which made a 200 KB pass take about twice
// as long (2.4 against 1.1-1.3 us on a Xeon with AMX) and made this loop's first version
// report a floor above what the GEMM reaches.
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

int main() {
  for (size_t kb : {32, 100, 200, 400, 800}) {
    const size_t n = kb * 256;
    float* a = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
    for (size_t i = 0; i < n; ++i) a[i] = 1.0f;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    const int reps = static_cast<int>(400000000 / n);
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      for (size_t i = 0; i < n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(&a[i]));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(&a[i + 16]));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(&a[i + 32]));
        s3 = _mm512_add_ps(s3, _mm512_loadu_ps(&a[i + 48]));
      }
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    float out[16];
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    std::printf("%4zu KB: %6.2f us per pass, %5.1f GB/s  (checksum %g)\n", kb, sec / reps * 1e6,
                static_cast<double>(n) * 4.0 * reps / sec / 1e9, static_cast<double>(out[0]));
    std::free(a);
  }
}
