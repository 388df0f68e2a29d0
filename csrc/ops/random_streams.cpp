// The stateful random streams (corten/ops/random.h: PhiloxStream): one counter offset per key,
// behind one lock. A draw holds the lock while it runs, so that two threads drawing from one
// stream get consecutive, non-overlapping counters, as TensorFlow's stateful ops do.
#include <corten/ops.h>
#include <corten/trace.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "ops/op_attrs.h"

namespace corten {
namespace {

struct Streams {
  std::mutex mutex;
  std::unordered_map<uint64_t, uint64_t> offsets;
};

Streams& streams() {
  static Streams s;
  return s;
}

// Draws at the stream's offset and advances it by what the result used.
template <class Draw>
Tensor from_stream(PhiloxStream stream, const Draw& draw) {
  Streams& s = streams();
  std::lock_guard<std::mutex> lock(s.mutex);
  const auto it = s.offsets.find(stream.key);
  const uint64_t offset = it == s.offsets.end() ? 0 : it->second;
  Tensor out = draw(PhiloxSeed{stream.key, offset});
  s.offsets[stream.key] = offset + philox_counters_used(out.numel());
  return out;
}

// A stateful draw as one node: `draw` makes the numbers at a seed; the node's replay (called
// with the attributes and the stream) draws again from the stream, so that every replay
// advances it.
template <class Draw, class Replay, class... A>
Tensor stream_draw(const char* op, PhiloxStream stream, const Draw& draw, Replay replay,
                   const A&... attrs) {
  trace::OpRecord rec;
  Tensor out = from_stream(stream, draw);
  rec.record_effect(trace::Effect::Random, op, {}, {out}, replay, attrs..., stream);
  return out;
}

}  // namespace

Tensor random_normal(const Shape& shape, double mean, double stddev, DType dtype,
                     PhiloxStream stream) {
  return stream_draw(
      "random_normal", stream,
      [&](PhiloxSeed seed) { return random_normal(shape, mean, stddev, dtype, seed); },
      [](const trace::Tensors&, const Shape& s, double m, double sd, DType t, PhiloxStream st) {
        return random_normal(s, m, sd, t, st);
      },
      shape, mean, stddev, dtype);
}

Tensor truncated_normal(const Shape& shape, double mean, double stddev, DType dtype,
                        PhiloxStream stream) {
  return stream_draw(
      "truncated_normal", stream,
      [&](PhiloxSeed seed) { return truncated_normal(shape, mean, stddev, dtype, seed); },
      [](const trace::Tensors&, const Shape& s, double m, double sd, DType t, PhiloxStream st) {
        return truncated_normal(s, m, sd, t, st);
      },
      shape, mean, stddev, dtype);
}

Tensor random_uniform(const Shape& shape, double minval, double maxval, DType dtype,
                      PhiloxStream stream) {
  return stream_draw(
      "random_uniform", stream,
      [&](PhiloxSeed seed) { return random_uniform(shape, minval, maxval, dtype, seed); },
      [](const trace::Tensors&, const Shape& s, double lo, double hi, DType t, PhiloxStream st) {
        return random_uniform(s, lo, hi, t, st);
      },
      shape, minval, maxval, dtype);
}

Tensor random_uniform_int(const Shape& shape, int64_t minval, int64_t maxval, DType dtype,
                          PhiloxStream stream) {
  return stream_draw(
      "random_uniform_int", stream,
      [&](PhiloxSeed seed) { return random_uniform_int(shape, minval, maxval, dtype, seed); },
      [](const trace::Tensors&, const Shape& s, int64_t lo, int64_t hi, DType t, PhiloxStream st) {
        return random_uniform_int(s, lo, hi, t, st);
      },
      shape, minval, maxval, dtype);
}

Tensor random_permutation(int64_t n, PhiloxStream stream) {
  return stream_draw(
      "random_permutation", stream, [&](PhiloxSeed seed) { return random_permutation(n, seed); },
      [](const trace::Tensors&, int64_t size, PhiloxStream st) {
        return random_permutation(size, st);
      },
      n);
}

namespace {

// The stream form of dropout and its replay: the output and the seed tensor its gradient reads.
trace::Tensors dropout_from_stream(const Tensor& x, double rate,
                                   const std::optional<Shape>& noise_shape, PhiloxStream stream) {
  Tensor seed;
  Tensor out = from_stream(stream, [&](PhiloxSeed s) {
    seed = philox_seed_tensor(s);
    return dropout(x, rate, noise_shape, seed);
  });
  return {out, seed};
}

}  // namespace

Tensor dropout(const Tensor& x, double rate, const std::optional<Shape>& noise_shape,
               PhiloxStream stream) {
  trace::OpRecord rec;
  trace::Tensors outs = dropout_from_stream(x, rate, noise_shape, stream);
  if (!outs[0].is_meta()) {
    rec.record_effect(
        trace::Effect::Random, "dropout_draw", {x}, outs,
        [](const trace::Tensors& in, double r, const std::optional<Shape>& ns, PhiloxStream st) {
          return dropout_from_stream(in[0], r, ns, st);
        },
        rate, noise_shape, stream);
  }
  return outs[0];
}

uint64_t philox_stream_offset(uint64_t key) {
  Streams& s = streams();
  std::lock_guard<std::mutex> lock(s.mutex);
  const auto it = s.offsets.find(key);
  return it == s.offsets.end() ? 0 : it->second;
}

PhiloxSeed philox_stream_take(PhiloxStream stream, uint64_t counters) {
  Streams& s = streams();
  std::lock_guard<std::mutex> lock(s.mutex);
  uint64_t& offset = s.offsets[stream.key];
  const PhiloxSeed seed{stream.key, offset};
  offset += counters;
  return seed;
}

void set_philox_stream_offset(uint64_t key, uint64_t offset) {
  Streams& s = streams();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.offsets[key] = offset;
}

std::vector<std::pair<uint64_t, uint64_t>> philox_stream_offsets() {
  Streams& s = streams();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::vector<std::pair<uint64_t, uint64_t>> out(s.offsets.begin(), s.offsets.end());
  std::sort(out.begin(), out.end());
  return out;
}

void reset_philox_streams() {
  Streams& s = streams();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.offsets.clear();
}

}  // namespace corten
