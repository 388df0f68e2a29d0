// scaled_dot_product_attention from the public C++ API, without Python: the tiled kernels
// against the reference ones at every ISA level this CPU runs, bit-identical results on one and
// two threads (dropout included), the dropout mask shared by forward and backward, and the
// exception types of bad arguments.
#include <corten/autograd.h>
#include <corten/cpu_features.h>
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/parallel.h>
#include <corten/tensor.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"

namespace {

using corten::DType;
using corten::Tensor;

Tensor normal(const corten::Shape& s, uint64_t offset) {
  return corten::random_normal(s, 0.0, 1.0, DType::Float32, corten::PhiloxSeed{7, offset});
}

std::vector<float> values(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = values(a), y = values(b);
  float m = x.size() == y.size() ? 0.0f : INFINITY;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::fmax(m, std::fabs(x[i] - y[i]));
  return m;
}

// Output and the gradients of q, k, v for the output gradient g.
std::vector<Tensor> run(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                        const corten::AttentionOptions& o, const Tensor& seed, const Tensor& g) {
  corten::autograd::Tape tape(false, false);
  tape.push();
  for (const Tensor* t : {&q, &k, &v}) tape.watch(*t);
  const Tensor y = corten::scaled_dot_product_attention(q, k, v, mask, o, seed);
  tape.pop();
  std::vector<Tensor> grads = tape.gradient({y}, {q, k, v}, {g}, false);
  grads.insert(grads.begin(), y);
  return grads;
}

void test_fast_matches_reference_and_threads() {
  const Tensor q = normal({2, 70, 3, 16}, 0), k = normal({2, 130, 3, 16}, 100000);
  const Tensor v = normal({2, 130, 3, 8}, 200000), g = normal({2, 70, 3, 8}, 300000);
  Tensor mask =
      corten::random_uniform({2, 1, 70, 130}, 0.0, 1.0, DType::Float32, corten::PhiloxSeed{3, 0});
  mask = corten::binary(corten::BinaryOp::Less, mask, corten::full({}, 0.7, DType::Float32));
  const Tensor seed = corten::philox_seed_tensor({11, 5});
  corten::AttentionOptions o;
  o.causal = true;
  o.dropout_rate = 0.25;
  const std::string previous_isa = corten::cpu_isa_name();
  for (const char* isa : {"baseline", "avx2", "avx512"}) {
    if ((std::string(isa) == "avx2" && !corten::cpu_has_avx2()) ||
        (std::string(isa) == "avx512" && !corten::cpu_has_avx512())) {
      continue;
    }
    corten::set_cpu_isa(isa);
    corten::AttentionOptions ref = o;
    ref.reference = true;
    const std::vector<Tensor> fast = run(q, k, v, mask, o, seed, g);
    const std::vector<Tensor> plain = run(q, k, v, mask, ref, seed, g);
    for (size_t i = 0; i < fast.size(); ++i) {
      const float d = max_abs_diff(fast[i], plain[i]);
      if (!(d < 1e-4f)) std::printf("%s: output %zu differs by %g\n", isa, i, d);
      CHECK(d < 1e-4f);
    }
    const int threads = corten::get_num_threads();
    corten::set_num_threads(1);
    const std::vector<Tensor> one = run(q, k, v, mask, o, seed, g);
    corten::set_num_threads(2);
    const std::vector<Tensor> two = run(q, k, v, mask, o, seed, g);
    corten::set_num_threads(threads);
    for (size_t i = 0; i < one.size(); ++i) CHECK(values(one[i]) == values(two[i]));
  }
  corten::set_cpu_isa(previous_isa);
}

void test_errors() {
  const Tensor q = normal({2, 3, 2, 4}, 0), k = normal({2, 5, 2, 4}, 100);
  const Tensor v = normal({2, 5, 2, 6}, 200);
  CHECK_THROWS(corten::ValueError,
               corten::scaled_dot_product_attention(corten::reshape(q, {2, 3, 8}), k, v));
  CHECK_THROWS(corten::ValueError,
               corten::scaled_dot_product_attention(q, normal({2, 5, 2, 3}, 1), v));
  CHECK_THROWS(corten::ValueError, corten::scaled_dot_product_attention(
                                       q, k, v, corten::cast(normal({4, 4}, 2), DType::Bool)));
  corten::AttentionOptions o;
  o.dropout_rate = 1.0;
  CHECK_THROWS(corten::ValueError, corten::scaled_dot_product_attention(
                                       q, k, v, Tensor(), o, corten::philox_seed_tensor({1, 0})));
  CHECK_THROWS(corten::TypeError,
               corten::scaled_dot_product_attention(corten::cast(q, DType::Int32), k, v));
  CHECK_THROWS(corten::TypeError, corten::scaled_dot_product_attention(q, k, v, normal({3, 5}, 3)));
}

}  // namespace

int main() {
  test_fast_matches_reference_and_threads();
  test_errors();
  return corten_test::check_summary();
}
