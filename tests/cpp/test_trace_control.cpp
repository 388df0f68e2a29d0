// Traced control flow from C++, without Python: a cond and a while loop recorded into a plan
// through sub-traces (corten/trace_control.h) and replayed with other predicates and trip
// counts; the errors an embedding application can hit. A plain program: prints each failed
// check and exits nonzero if any failed.
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace.h>
#include <corten/trace_control.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "check.h"

namespace {

using corten::DType;
using corten::Tensor;
namespace trace = corten::trace;

std::vector<float> values(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

Tensor vec(float a, float b) {
  Tensor t = Tensor::empty({2}, DType::Float32);
  t.data<float>()[0] = a;
  t.data<float>()[1] = b;
  return t;
}

Tensor flag(bool value) { return corten::full({}, value ? 1.0 : 0.0, DType::Bool); }

std::shared_ptr<const trace::TracedFn> no_grad(const trace::SubPlan& sub, int64_t results) {
  return trace::make_traced_fn(sub.plan, results, nullptr, {}, 0, {});
}

void test_cond() {
  const Tensor x = vec(1, 2);
  trace::begin({x});
  const Tensor p =
      corten::binary(corten::BinaryOp::Greater, corten::reduce(corten::ReduceOp::Sum, x, {}, false),
                     corten::full({}, 0.0, DType::Float32));
  trace::begin_sub({}, false);
  const trace::SubPlan t = trace::end_sub({corten::multiply(x, x)});
  trace::begin_sub({}, false);
  const trace::SubPlan f = trace::end_sub({corten::add(x, x)});
  CHECK(t.implicit.size() == 1 && t.implicit[0].is_same(x));
  CHECK(t.plan->num_implicit() == 1);
  const std::vector<Tensor> out =
      trace::cond(p, no_grad(t, 1), no_grad(f, 1), t.implicit, f.implicit);
  CHECK(values(out[0]) == std::vector<float>({1, 4}));
  const auto plan = trace::end(out);
  CHECK(values(plan->run({vec(3, 4)})[0]) == std::vector<float>({9, 16}));
  CHECK(values(plan->run({vec(-3, -4)})[0]) == std::vector<float>({-6, -8}));
}

void test_while_loop() {
  const Tensor x = vec(1, 2);
  const Tensor n = corten::full({}, 2.0, DType::Int64);
  trace::begin({x, n});
  const Tensor i0 = corten::multiply(n, corten::full({}, 0.0, DType::Int64));
  const std::vector<Tensor> c_in = trace::begin_sub({i0, x}, false);
  const trace::SubPlan c = trace::end_sub({corten::binary(corten::BinaryOp::Less, c_in[0], n)});
  const std::vector<Tensor> b_in = trace::begin_sub({i0, x}, false);
  const trace::SubPlan b = trace::end_sub(
      {corten::add(b_in[0], corten::full({}, 1.0, DType::Int64)), corten::multiply(b_in[1], x)});
  const std::vector<Tensor> out =
      trace::while_loop(no_grad(c, 1), no_grad(b, 2), {i0, x}, c.implicit, b.implicit, Tensor());
  CHECK(values(out[1]) == std::vector<float>({1, 8}));
  const auto plan = trace::end(out);
  for (int64_t trips : {0, 1, 3}) {
    const std::vector<Tensor> r =
        plan->run({vec(2, 3), corten::full({}, static_cast<double>(trips), DType::Int64)});
    CHECK(*r[0].data<int64_t>() == trips);
    const float two = trips == 0 ? 2.f : trips == 1 ? 4.f : 16.f;
    const float three = trips == 0 ? 3.f : trips == 1 ? 9.f : 81.f;
    CHECK(values(r[1]) == std::vector<float>({two, three}));
  }
}

void test_errors() {
  CHECK_THROWS(corten::ValueError, trace::begin_sub({}, false));  // no trace
  CHECK_THROWS(corten::ValueError, trace::end_sub({}));
  const Tensor x = vec(1, 2);
  trace::begin({x});
  trace::begin_sub({}, false);
  const trace::SubPlan t = trace::end_sub({x});
  const auto fn = no_grad(t, 1);
  CHECK_THROWS(corten::TypeError, trace::cond(x, fn, fn, t.implicit, t.implicit));
  CHECK_THROWS(corten::ValueError, trace::cond(flag(true), fn, fn, {}, t.implicit));
  trace::begin_sub({}, false);
  CHECK_THROWS(corten::ValueError, trace::end({x}));  // a sub-trace is still open
  trace::cancel();                                    // drops both
  CHECK(!trace::active());
}

}  // namespace

int main() {
  test_cond();
  test_while_loop();
  test_errors();
  return corten_test::check_summary();
}
