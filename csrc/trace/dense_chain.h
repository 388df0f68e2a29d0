#pragma once
// Plans that are a chain of Dense products, run without replaying their nodes (Note [Dense
// chains] in dense_chain.cpp).

#include <corten/ops/linalg.h>
#include <corten/trace.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace corten::trace {

class DenseChain {
 public:
  /// The chain of `plan`'s nodes, or null when the plan is not one.
  static std::shared_ptr<const DenseChain> of(const Plan& plan);
  /// The plan's outputs on `inputs`, or nullopt for inputs that the replay takes instead.
  std::optional<Tensors> run(const Plan& plan, const Tensors& inputs) const;
  int64_t size() const { return static_cast<int64_t>(steps_.size()); }

 private:
  struct Step {
    int64_t w = -1, b = -1;  // the plan's captures of the weights and the bias (-1: none)
    int64_t k = 0, n = 0;
    Activation act = Activation::Identity;
  };
  std::vector<Step> steps_;
  int64_t widest_ = 0;  // the most columns of a value between two products
};

}  // namespace corten::trace
