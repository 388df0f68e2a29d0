// Note [Saved models]
// ~~~~~~~~~~~~~~~~~~~
// Model.save stores, beside the config and the weights, the model's inference graph: its call
// with training=False traced at two batch sizes, so that the batch dimension is free (Note
// [Relaxed plans]), written as a saved plan (Note [Saved plans]) in the entry
// inference.plan.json. The plan's captures are named by the weights file's tensor names, so
// loading reads the weights once and hands them to the plan. A model whose graph cannot be
// saved (an op without a registered replay, say) is still saved for Python; its metadata.json
// says why the graph is missing, and Model::load repeats it.

#include <corten/errors.h>
#include <corten/model.h>
#include <corten/trace.h>
#include <corten/weights_file.h>

#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "core/json.h"

namespace corten {

namespace {

constexpr const char* kPlanEntry = "inference.plan.json";
constexpr const char* kMetadataEntry = "metadata.json";
constexpr const char* kWeightsEntry = "model.weights.safetensors";

// Whether `path` is a directory; ValueError when nothing is there.
bool is_directory(const std::string& path) {
  struct stat st {};
  CORTEN_CHECK_VALUE(::stat(path.c_str(), &st) == 0, "Cannot load the model '", path,
                     "': no such file or directory");
  return S_ISDIR(st.st_mode);
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Why metadata.json says the graph was not saved, if it does.
std::string missing_reason(const std::optional<std::string>& metadata) {
  if (!metadata) return "";
  try {
    const Json root = parse_json(*metadata, "", "");
    const Json* why = json_member(root, "inference_plan_error");
    if (why && why->kind == Json::Kind::String) return " (" + why->string + ")";
  } catch (const ValueError&) {
  }
  return "";
}

}  // namespace

Model Model::load(const std::string& path) {
  const bool dir = is_directory(path);
  std::optional<std::string> text, metadata;
  if (dir) {
    text = read_file(path + "/" + kPlanEntry);
    metadata = read_file(path + "/" + kMetadataEntry);
  } else {
    text = WeightsFile::read_keras_entry(path, kPlanEntry);
    if (!text) metadata = WeightsFile::read_keras_entry(path, kMetadataEntry, 1 << 20);
  }
  CORTEN_CHECK_VALUE(text.has_value(), "Cannot load the model '", path,
                     "': it has no inference graph (", kPlanEntry, ")", missing_reason(metadata),
                     ". Save it again with this corten's Model.save.");
  const WeightsFile weights = dir ? WeightsFile::load(path + "/" + kWeightsEntry)
                                  : WeightsFile::load_keras(path);
  Model model;
  model.plan_ = trace::Plan::from_json(*text, path, [&](size_t, const std::string& name) {
    return weights.contains(name) ? weights.at(name) : Tensor();
  });
  return model;
}

std::vector<Tensor> Model::predict(const std::vector<Tensor>& inputs) const {
  return plan_->run(inputs);
}

int64_t Model::num_inputs() const { return plan_->num_inputs(); }
int64_t Model::num_outputs() const { return plan_->num_outputs(); }
const std::vector<Shape>& Model::input_shapes() const { return plan_->input_shapes(); }
const std::vector<DType>& Model::input_dtypes() const { return plan_->input_dtypes(); }

}  // namespace corten
