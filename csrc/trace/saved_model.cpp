// Note [Saved models]
// ~~~~~~~~~~~~~~~~~~~
// Model.save stores, beside the config and the weights, the model's inference graph: its call
// with training=False traced at two batch sizes, so that the batch dimension is free (Note
// [Relaxed plans]), written as a saved plan (Note [Saved plans]) in the entry
// inference.plan.json. The plan's captures are named by the weights file's tensor names, so
// loading reads the weights once and hands them to the plan. A model whose graph cannot be
// saved (an op without a registered replay, say) is still saved for Python; its metadata.json
// says why the graph is missing, and Model::load repeats it. The document's "signature" names
// the inputs and outputs, for callers that pass inputs by name.

#include <corten/errors.h>
#include <corten/model.h>
#include <corten/trace.h>
#include <corten/weights_file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/json.h"

namespace corten {

namespace {

constexpr const char* kPlanEntry = "inference.plan.json";
constexpr const char* kMetadataEntry = "metadata.json";
constexpr const char* kWeightsEntry = "model.weights.safetensors";
constexpr const char* kDefaultSignature = "serving_default";

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

// The names under signature[key], or kind_0, kind_1, ... when the document has none.
std::vector<std::string> signature_names(const Json& root, const char* key, const char* kind,
                                         int64_t count, const std::string& path) {
  std::vector<std::string> names;
  const Json* signature = json_member(root, "signature");
  const Json* list = signature ? json_member(*signature, key) : nullptr;
  if (!list) {
    for (int64_t i = 0; i < count; ++i) names.push_back(detail::str_cat(kind, "_", i));
    return names;
  }
  auto bad = [&](const char* why) {
    throw ValueError(
        detail::str_cat("Cannot load the model '", path, "': the signature's ", key, " ", why));
  };
  if (list->kind != Json::Kind::Array || static_cast<int64_t>(list->array.size()) != count) {
    bad(detail::str_cat("must list ", count, " names").c_str());
  }
  for (const Json& name : list->array) {
    if (name.kind != Json::Kind::String) bad("must be strings");
    for (const std::string& seen : names) {
      if (seen == name.string) bad(detail::str_cat("name '", seen, "' twice").c_str());
    }
    names.push_back(name.string);
  }
  return names;
}

}  // namespace

std::string Model::signature_entry(const std::string& signature) {
  const bool valid = !signature.empty() && signature.size() <= 64 &&
                     std::all_of(signature.begin(), signature.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                     });
  CORTEN_CHECK_VALUE(valid,
                     "Model.load: a signature name is 1 to 64 letters, digits, '_' or "
                     "'-'; got '",
                     signature, "'");
  return signature == kDefaultSignature ? std::string(kPlanEntry)
                                        : "inference." + signature + ".plan.json";
}

std::vector<std::string> Model::signatures(const std::string& path) {
  const bool dir = is_directory(path);
  const std::optional<std::string> metadata =
      dir ? read_file(path + "/" + kMetadataEntry)
          : WeightsFile::read_keras_entry(path, kMetadataEntry, 1 << 20);
  std::vector<std::string> names;
  if (!metadata) return names;
  try {
    const Json root = parse_json(*metadata, "", "");
    const Json* list = json_member(root, "signatures");
    if (list && list->kind == Json::Kind::Array) {
      for (const Json& name : list->array) {
        if (name.kind == Json::Kind::String) names.push_back(name.string);
      }
    } else if (!json_member(root, "inference_plan_error")) {
      names.emplace_back(kDefaultSignature);  // written before signatures were listed
    }
  } catch (const ValueError&) {
  }
  return names;
}

Model Model::load(const std::string& path) { return load(path, kDefaultSignature); }

Model Model::load(const std::string& path, const std::string& signature) {
  const std::string entry = signature_entry(signature);
  const bool dir = is_directory(path);
  std::optional<std::string> text, metadata;
  if (dir) {
    text = read_file(path + "/" + entry);
    metadata = read_file(path + "/" + kMetadataEntry);
  } else {
    text = WeightsFile::read_keras_entry(path, entry);
    if (!text) metadata = WeightsFile::read_keras_entry(path, kMetadataEntry, 1 << 20);
  }
  if (!text && signature != kDefaultSignature) {
    std::string saved;
    for (const std::string& name : signatures(path))
      saved += (saved.empty() ? "'" : ", '") + name + "'";
    throw ValueError(detail::str_cat("Cannot load the model '", path, "': it has no signature '",
                                     signature, "'; its signatures are ",
                                     saved.empty() ? "none" : saved));
  }
  CORTEN_CHECK_VALUE(text.has_value(), "Cannot load the model '", path,
                     "': it has no inference graph (", entry, ")", missing_reason(metadata),
                     ". Save it again with this corten's Model.save.");
  const WeightsFile weights = dir ? WeightsFile::load(path + "/" + kWeightsEntry)
                                  : WeightsFile::load_keras(path);
  Model model;
  model.plan_ = trace::Plan::from_json(*text, path, [&](size_t, const std::string& name) {
    return weights.contains(name) ? weights.at(name) : Tensor();
  });
  const Json root = parse_json(*text, "", "");  // valid: from_json has read it
  model.input_names_ = signature_names(root, "inputs", "input", model.num_inputs(), path);
  model.output_names_ = signature_names(root, "outputs", "output", model.num_outputs(), path);
  return model;
}

std::vector<Tensor> Model::predict(const std::vector<Tensor>& inputs) const {
  return plan_->run(inputs);
}

std::vector<Tensor> Model::predict(const std::map<std::string, Tensor>& inputs) const {
  std::string known;
  for (const std::string& name : input_names_) known += (known.empty() ? "'" : ", '") + name + "'";
  for (const auto& entry : inputs) {
    CORTEN_CHECK_VALUE(
        std::find(input_names_.begin(), input_names_.end(), entry.first) != input_names_.end(),
        "Model.predict: the model has no input '", entry.first, "'; its inputs are ", known);
  }
  std::vector<Tensor> ordered;
  for (const std::string& name : input_names_) {
    const auto it = inputs.find(name);
    CORTEN_CHECK_VALUE(it != inputs.end(), "Model.predict: the input '", name,
                       "' is missing; the model's inputs are ", known);
    ordered.push_back(it->second);
  }
  return plan_->run(ordered);
}

std::vector<Model::OpTime> Model::profile(const std::vector<Tensor>& inputs, int runs) const {
  const std::vector<double> seconds = plan_->profile(inputs, runs);
  std::vector<OpTime> out;
  for (size_t i = 0; i < seconds.size(); ++i) out.push_back({plan_->nodes()[i].op, seconds[i]});
  return out;
}

const std::vector<std::string>& Model::input_names() const { return input_names_; }
const std::vector<std::string>& Model::output_names() const { return output_names_; }

int64_t Model::num_inputs() const { return plan_->num_inputs(); }
int64_t Model::num_outputs() const { return plan_->num_outputs(); }
const std::vector<Shape>& Model::input_shapes() const { return plan_->input_shapes(); }
const std::vector<DType>& Model::input_dtypes() const { return plan_->input_dtypes(); }

}  // namespace corten
