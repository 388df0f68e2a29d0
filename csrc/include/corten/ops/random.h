#pragma once
/// Counter-based random numbers (Philox4x32-10). A draw is a pure function of its PhiloxSeed:
/// element i depends only on (key, counter offset + i / K) with K = 4 for 32-bit and K = 2 for
/// 64-bit element types, so results do not depend on the thread count, and the same seed gives
/// the same numbers bit for bit. A generator that makes several draws under one key advances
/// `offset` by philox_counters_used(numel) after each, so draws never overlap.

#include <corten/tensor.h>

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace corten {

/// Key and starting counter of one draw.
struct PhiloxSeed {
  uint64_t key = 0;
  uint64_t offset = 0;
};

/// Normal(mean, stddev) by Box-Muller. dtype float32 or float64 (TypeError otherwise); shape
/// fully defined and non-negative, mean and stddev finite (ValueError otherwise).
Tensor random_normal(const Shape& shape, double mean, double stddev, DType dtype, PhiloxSeed seed);
/// Uniform[minval, maxval). Floating dtypes use 24 (float32) or 53 (float64) random mantissa
/// bits; minval, maxval and maxval - minval must be finite. Integer dtypes (int32, int64)
/// forward to random_uniform_int after checking that the bounds are integers.
Tensor random_uniform(const Shape& shape, double minval, double maxval, DType dtype,
                      PhiloxSeed seed);
/// Integer Uniform[minval, maxval) as TensorFlow computes it: minval + bits % (maxval - minval)
/// with 32 (int32) or 64 (int64) random bits. Requires minval < maxval, both in dtype's range.
Tensor random_uniform_int(const Shape& shape, int64_t minval, int64_t maxval, DType dtype,
                          PhiloxSeed seed);
/// Normal(mean, stddev) with samples more than 2 stddev from the mean redrawn. Element i's
/// redraws come from further Philox streams of its own counter, so it still depends only on
/// (key, offset, i). Same argument rules as random_normal.
Tensor truncated_normal(const Shape& shape, double mean, double stddev, DType dtype,
                        PhiloxSeed seed);
/// A uniformly random permutation of 0..n-1, int64 (n,) on the CPU: the order of an epoch's
/// shuffled samples, and tf.random.shuffle's along the first axis. n >= 0 (ValueError
/// otherwise); consumes philox_counters_used(n) counters, as an int64 draw of n elements.
Tensor random_permutation(int64_t n, PhiloxSeed seed);
/// A stateful random stream (TensorFlow's stateful random ops): a draw from it uses the
/// stream's current counter offset under `key`, then advances the offset by the counters it
/// used. The offsets live here, not in the caller, so that a traced plan's draws advance them
/// on every replay as eager calls do (a draw that raises leaves its stream unchanged).
struct PhiloxStream {
  uint64_t key = 0;
};

/// The stateful forms of the draws above: the same numbers as the PhiloxSeed forms at the
/// stream's offset.
Tensor random_normal(const Shape& shape, double mean, double stddev, DType dtype,
                     PhiloxStream stream);
Tensor truncated_normal(const Shape& shape, double mean, double stddev, DType dtype,
                        PhiloxStream stream);
Tensor random_uniform(const Shape& shape, double minval, double maxval, DType dtype,
                      PhiloxStream stream);
Tensor random_uniform_int(const Shape& shape, int64_t minval, int64_t maxval, DType dtype,
                          PhiloxStream stream);
Tensor random_permutation(int64_t n, PhiloxStream stream);

/// The next counter offset of the stream `key` (0 for a stream never drawn from).
uint64_t philox_stream_offset(uint64_t key);
/// Sets the next counter offset of the stream `key`.
void set_philox_stream_offset(uint64_t key, uint64_t offset);
/// Takes `counters` counters from the stream: returns the seed at its offset and advances the
/// offset past them, atomically (for fused ops that draw inside their kernels).
PhiloxSeed philox_stream_take(PhiloxStream stream, uint64_t counters);
/// Every stream's next offset, by key (for saving the random state).
std::vector<std::pair<uint64_t, uint64_t>> philox_stream_offsets();
/// Forgets every stream's offset (set_seed).
void reset_philox_streams();

/// Inverted dropout of a float32/float64 tensor: each element of a mask of shape `noise_shape`
/// is kept with probability 1 - rate; the mask is broadcast against x, kept values are scaled
/// by 1/(1-rate) and dropped ones are 0. `noise_shape` nullopt means x's shape; unknown
/// dimensions (kUnknownDim) in a noise_shape of x's rank take x's size. rate must be in [0, 1);
/// rate 0 returns a copy of x. The result is a new contiguous tensor.
Tensor dropout(const Tensor& x, double rate, const std::optional<Shape>& noise_shape,
               PhiloxSeed seed);
/// Dropout with the mask's key and offset in a tensor: int64 [key, offset] (their bits), as
/// philox_seed_tensor makes it. The gradient of a dropout reuses its forward's seed tensor, so a
/// traced plan's backward follows the mask its forward drew on the same replay.
Tensor dropout(const Tensor& x, double rate, const std::optional<Shape>& noise_shape,
               const Tensor& seed);
/// Dropout from a stateful stream (advanced as the PhiloxSeed form's callers advance it, by
/// philox_counters_used(x.numel())).
Tensor dropout(const Tensor& x, double rate, const std::optional<Shape>& noise_shape,
               PhiloxStream stream);
/// The int64 [key, offset] tensor of a seed.
Tensor philox_seed_tensor(PhiloxSeed seed);

/// Upper bound of the Philox counters that any draw above of `numel` elements consumes:
/// ceil(numel / 2) (0 for numel <= 0). For dropout, numel is the noise shape's element count.
uint64_t philox_counters_used(int64_t numel);
/// The raw Philox4x32-10 bijection (Random123's philox4x32 with 10 rounds): 4 counter words
/// (word 0 least significant) and 2 key words to 4 random words. For tests and for embedders
/// that want to reproduce corten's streams.
std::array<uint32_t, 4> philox4x32(const std::array<uint32_t, 4>& counter,
                                   const std::array<uint32_t, 2>& key);

}  // namespace corten
