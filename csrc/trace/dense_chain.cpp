// Note [Dense chains]
// A plan that is nothing but a chain of Dense products (linear nodes, each reading the one
// before, with captured weights and biases: an MLP's inference graph) runs each product as a
// direct call of the GEMM kernel with bias and activation that linear() calls, into scratch
// buffers, instead of replaying the linear() entry points. The products, their arguments and
// the denormal mode are linear()'s, so the results are the replay's bit for bit; what is left
// out is per node: the entry point's checks, a tensor and its storage allocated for every
// intermediate value, and the replay's bookkeeping. On the guides' 784-64-64-10 MLP at batch 1
// that was about a third of a predict from C++ (2.6 us, of which the first layer's 200 KB of
// weights streamed from L2 take about 1.2).
// Which plans qualify is decided once, when the plan is made (DenseChain::of); a run whose
// input the chain does not take as is (another dtype or device, a shape other than traced, a
// strided view, no rows) goes through the replay instead, which raises the errors or handles
// it. So does a run while a trace is recording on the thread (a loaded signature called inside
// a traced function): the replayed nodes record themselves into that trace, the chain would
// not. Plan::profile always replays, so that it times each node.

#include "trace/dense_chain.h"

#include <corten/denormals.h>

#include <algorithm>

#include "cpu/scratch.h"
#include "ops/kernels.h"

namespace corten::trace {

namespace {

bool float_dtype(DType d) { return d == DType::Float32 || d == DType::Float64; }

bool is_capture(int32_t r) { return r < 0 && r != Plan::kUndefined; }

}  // namespace

std::shared_ptr<const DenseChain> DenseChain::of(const Plan& plan) {
  if (plan.sub_ || plan.num_implicit_ != 0 || plan.input_slots_.size() != 1 ||
      plan.outputs_.size() != 1 || plan.nodes_.empty()) {
    return nullptr;
  }
  const DType dtype = plan.input_dtypes_[0];
  const Shape& shape = plan.input_shapes_[0];
  if (!float_dtype(dtype) || shape.empty() || shape.back() == kUnknownDim || shape.back() <= 0) {
    return nullptr;
  }
  auto chain = std::make_shared<DenseChain>();
  int32_t previous = plan.input_slots_[0];
  int64_t k = shape.back();
  for (const Plan::Node& node : plan.nodes_) {
    if (node.op != "linear" || node.effect != Effect::None || node.num_outputs != 1 ||
        node.inputs.size() < 2 || node.inputs.size() > 3 || node.inputs[0] != previous ||
        node.attrs.size() != 1 || node.attrs[0].kind != Attr::Kind::Int) {
      return nullptr;
    }
    if (!is_capture(node.inputs[1]) || (node.inputs.size() == 3 && !is_capture(node.inputs[2]))) {
      return nullptr;
    }
    Step step;
    step.w = -1 - node.inputs[1];
    step.b = node.inputs.size() == 3 ? -1 - node.inputs[2] : -1;
    const Tensor& w = plan.captures_[static_cast<size_t>(step.w)];
    if (!w.defined() || w.device() != Device::CPU || w.dtype() != dtype || w.ndim() != 2 ||
        w.dim(0) != k || w.dim(1) <= 0) {
      return nullptr;
    }
    if (step.b >= 0) {
      const Tensor& b = plan.captures_[static_cast<size_t>(step.b)];
      if (!b.defined() || b.device() != Device::CPU || b.dtype() != dtype || b.ndim() != 1 ||
          b.dim(0) != w.dim(1) || !b.is_contiguous()) {
        return nullptr;
      }
    }
    step.act = static_cast<Activation>(node.attrs[0].i);
    step.k = k;
    step.n = w.dim(1);
    k = step.n;
    previous = node.first_output;
    chain->steps_.push_back(step);
  }
  if (plan.outputs_[0] != previous) return nullptr;
  for (size_t i = 0; i + 1 < chain->steps_.size(); ++i)
    chain->widest_ = std::max(chain->widest_, chain->steps_[i].n);
  return chain;
}

std::optional<Tensors> DenseChain::run(const Plan& plan, const Tensors& inputs) const {
  if (inputs.size() != 1) return std::nullopt;
  const Tensor& x = inputs[0];
  const Shape& want = plan.input_shapes_[0];
  if (!x.defined() || x.device() != Device::CPU || x.dtype() != plan.input_dtypes_[0] ||
      x.ndim() != static_cast<int64_t>(want.size()) || !x.is_contiguous()) {
    return std::nullopt;
  }
  for (size_t d = 0; d < want.size(); ++d) {
    if (want[d] != kUnknownDim && want[d] != x.shape()[d]) return std::nullopt;
  }
  const int64_t m = x.numel() / steps_.front().k;
  if (m <= 0) return std::nullopt;
  const FlushDenormals flush;  // as each linear() holds (Note [Denormals])
  const DType dtype = x.dtype();
  const auto isz = static_cast<int64_t>(itemsize(dtype));
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(steps_.back().n);
  Tensor out = Tensor::empty(out_shape, dtype, Device::CPU, "linear");
  // Two buffers in turn for the values between the products.
  const int64_t half = (m * widest_ * isz + 63) / 64 * 64;
  const cpu::Scratch<char> scratch(steps_.size() > 2 ? 2 * half : half, "linear");
  const auto matmul = kernels::matmul_bias_act(Device::CPU);
  const int64_t zero = 0;
  const void* src = x.raw_data();
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    const Tensor& w = plan.captures_[static_cast<size_t>(s.w)];
    const void* bias = s.b >= 0 ? plan.captures_[static_cast<size_t>(s.b)].raw_data() : nullptr;
    void* dst = i + 1 == steps_.size() ? out.raw_data() : scratch.data() + (i % 2) * half;
    matmul(dtype, 1, m, s.n, s.k, src, &zero, s.k, 1, w.raw_data(), &zero, w.strides()[0],
           w.strides()[1], dst, bias, s.act);
    src = dst;
  }
  Tensors result;
  result.push_back(std::move(out));
  return result;
}

}  // namespace corten::trace
