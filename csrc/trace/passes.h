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

}  // namespace corten::trace
