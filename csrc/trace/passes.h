#pragma once
// The passes trace::end runs on a plan's nodes (private to csrc/trace).

#include <corten/trace.h>

#include <cstdint>
#include <vector>

namespace corten::trace {

struct FusionStats {
  int64_t groups = 0;  // fused nodes made
  int64_t nodes = 0;   // nodes they replaced
};

/// Note [Pointwise fusion] (trace/fusion.cpp). `nodes` are the plan's live nodes in order;
/// `slot_values[s]` the traced value of slot s (fused nodes' outputs get new slots, appended);
/// refs < 0 are `captures`. Rewrites `nodes` and the return slots `outputs`.
FusionStats fuse_pointwise(std::vector<Plan::Node>& nodes, std::vector<int32_t>& outputs,
                           std::vector<Tensor>& slot_values, const std::vector<Tensor>& captures);

/// Note [Activation-derivative fusion] (trace/matmul_fusion.cpp): each matmul whose only reader
/// is an activation's derivative chain (relu_grad, or the sigmoid and tanh multiply/subtract
/// chains) becomes one matmul_activation_grad node; the chain's nodes go. Same arguments as
/// fuse_pointwise (slots are only read); run before it.
FusionStats fuse_activation_grads(std::vector<Plan::Node>& nodes,
                                  const std::vector<int32_t>& outputs,
                                  const std::vector<Tensor>& slot_values,
                                  const std::vector<Tensor>& captures);

}  // namespace corten::trace
