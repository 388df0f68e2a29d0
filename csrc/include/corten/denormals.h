#pragma once
/// Note [Denormals]
/// corten's ops treat denormal floats as zero (the CPU's flush-to-zero and denormals-are-zero
/// modes), as TensorFlow does in its executors. Denormal arithmetic is up to a hundred times
/// slower on x86, and training makes denormals routinely: an optimizer's moving averages of a
/// dead unit's zero gradients decay geometrically through the denormal range (RMSprop's
/// velocity reaches it after ~800 steps). An op entry point holds a FlushDenormals for its
/// call and puts the caller's mode back on return, so NumPy and the rest of the process keep
/// IEEE behaviour; the thread pool's workers run in the flushing mode for their lifetime.

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace corten {

class FlushDenormals {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  // MXCSR bits: flush-to-zero (15) and denormals-are-zero (6).
  static constexpr unsigned kBits = 0x8040u;
  FlushDenormals() noexcept : saved_(_mm_getcsr()) {
    if ((saved_ & kBits) != kBits) _mm_setcsr(saved_ | kBits);
  }
  ~FlushDenormals() {
    if ((saved_ & kBits) != kBits) _mm_setcsr(saved_);
  }
  /// Sets the modes on this thread for good (thread-pool workers).
  static void set_for_thread() noexcept { _mm_setcsr(_mm_getcsr() | kBits); }

 private:
  unsigned saved_;
#else
  FlushDenormals() noexcept {}
  static void set_for_thread() noexcept {}
#endif

 public:
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;
};

}  // namespace corten
