#pragma once
// The replay of a traced matmul node, as a named type so that plan passes can read its
// transposes back from the node (trace/matmul_fusion.cpp: node.replay.target<MatmulReplay>()).

#include <corten/trace.h>

namespace corten::detail {

struct MatmulReplay {
  bool transpose_a = false;
  bool transpose_b = false;
  trace::Tensors operator()(const trace::Tensors& in) const;
};

}  // namespace corten::detail
