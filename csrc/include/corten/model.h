#pragma once
/// A saved model's inference graph, loaded and run from C++ with no Python (Note [Saved
/// models] in csrc/trace/saved_model.cpp).
///
///     corten::Model model = corten::Model::load("classifier.keras");
///     std::vector<corten::Tensor> out = model.predict({x});
///     std::vector<corten::Tensor> same = model.predict({{"pixels", x}});
///
/// Threads: predict runs its ops on the intra-op pool, sized by corten::set_num_threads
/// (corten/parallel.h). Memory: tensors come from the caching allocator, whose cache is bounded
/// by corten::allocator_set_cache_limit (corten/allocator.h).

#include <corten/tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace corten {
namespace trace {
class Plan;
}

class Model {
 public:
  /// Loads what Model.save wrote at `path`: a .keras file or a saved-model directory. ValueError
  /// when it holds no inference graph (it names why saving left it out), when the graph or the
  /// weights are damaged, or when the graph needs an op this corten cannot run.
  static Model load(const std::string& path);
  /// The graph of one signature (corten.saved_model.save's `signatures`); the one-argument
  /// load reads "serving_default". ValueError lists the saved signatures when `signature` is
  /// not one of them.
  static Model load(const std::string& path, const std::string& signature);
  /// The signatures saved at `path`, as metadata.json lists them.
  static std::vector<std::string> signatures(const std::string& path);
  /// The file entry holding `signature`'s graph: inference.plan.json for serving_default,
  /// inference.<signature>.plan.json for the others. ValueError unless the name is 1 to 64
  /// letters, digits, '_' or '-'.
  static std::string signature_entry(const std::string& signature);

  /// Runs the inference graph on `inputs`, in the order of the model's inputs. Several threads
  /// may call predict at once: the weights are shared and never written. ValueError for inputs
  /// of the wrong number, dtype or shape (a None dimension of the model takes any size).
  std::vector<Tensor> predict(const std::vector<Tensor>& inputs) const;
  /// The same, with the inputs given by name (input_names()); ValueError names a missing or
  /// unknown input. The outputs are in the order of output_names().
  std::vector<Tensor> predict(const std::map<std::string, Tensor>& inputs) const;

  /// One op of the graph and its mean wall time per predict (its entry point and kernels).
  struct OpTime {
    std::string op;
    double seconds;
  };
  /// Runs predict `runs` times and returns each op's mean time, in graph order.
  std::vector<OpTime> profile(const std::vector<Tensor>& inputs, int runs) const;

  int64_t num_inputs() const;
  int64_t num_outputs() const;
  /// The inputs' shapes (kUnknownDim for a dimension of any size) and dtypes.
  const std::vector<Shape>& input_shapes() const;
  const std::vector<DType>& input_dtypes() const;
  /// The names of the inputs (a functional model's Input names) and of the outputs (the layers
  /// that make them); input_k / output_k where the model had none.
  const std::vector<std::string>& input_names() const;
  const std::vector<std::string>& output_names() const;

 private:
  std::shared_ptr<const trace::Plan> plan_;
  std::vector<std::string> input_names_, output_names_;
};

}  // namespace corten
