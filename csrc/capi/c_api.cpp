// The C API (corten/c_api.h) over corten::Model: every entry catches every exception, turns it
// into a status code and keeps its message for corten_last_error on the calling thread.

#include <corten/allocator.h>
#include <corten/c_api.h>
#include <corten/errors.h>
#include <corten/model.h>
#include <corten/parallel.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

struct corten_model {
  corten::Model model;
};

struct corten_tensor {
  corten::Tensor tensor;  // contiguous, on the CPU
};

namespace {

thread_local std::string last_error;

template <class F>
corten_status guarded(F&& f) {
  try {
    f();
    last_error.clear();
    return CORTEN_OK;
  } catch (const corten::ValueError& e) {
    last_error = e.what();
    return CORTEN_VALUE_ERROR;
  } catch (const corten::IndexError& e) {
    last_error = e.what();
    return CORTEN_VALUE_ERROR;
  } catch (const corten::TypeError& e) {
    last_error = e.what();
    return CORTEN_TYPE_ERROR;
  } catch (const corten::MemoryError& e) {
    last_error = e.what();
    return CORTEN_MEMORY_ERROR;
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return CORTEN_MEMORY_ERROR;
  } catch (const std::exception& e) {
    last_error = e.what();
    return CORTEN_ERROR;
  } catch (...) {
    last_error = "unknown error";
    return CORTEN_ERROR;
  }
}

corten_status null_argument(const char* what) {
  last_error = std::string(what) + " is null";
  return CORTEN_VALUE_ERROR;
}

}  // namespace

extern "C" {

const char* corten_last_error(void) { return last_error.c_str(); }

corten_status corten_model_load(const char* path, corten_model** out) {
  if (!path) return null_argument("corten_model_load: path");
  if (!out) return null_argument("corten_model_load: out");
  *out = nullptr;
  return guarded([&] { *out = new corten_model{corten::Model::load(path)}; });
}

corten_status corten_model_load_signature(const char* path, const char* signature,
                                          corten_model** out) {
  if (!path) return null_argument("corten_model_load_signature: path");
  if (!signature) return null_argument("corten_model_load_signature: signature");
  if (!out) return null_argument("corten_model_load_signature: out");
  *out = nullptr;
  return guarded([&] { *out = new corten_model{corten::Model::load(path, signature)}; });
}

void corten_model_free(corten_model* model) { delete model; }

int64_t corten_model_num_inputs(const corten_model* model) {
  return model ? model->model.num_inputs() : 0;
}

int64_t corten_model_num_outputs(const corten_model* model) {
  return model ? model->model.num_outputs() : 0;
}

namespace {
bool in_range(const corten_model* model, int64_t i) {
  return model && i >= 0 && i < model->model.num_inputs();
}
}  // namespace

const char* corten_model_input_name(const corten_model* model, int64_t i) {
  return in_range(model, i) ? model->model.input_names()[static_cast<size_t>(i)].c_str() : nullptr;
}

const char* corten_model_output_name(const corten_model* model, int64_t i) {
  if (!model || i < 0 || i >= model->model.num_outputs()) return nullptr;
  return model->model.output_names()[static_cast<size_t>(i)].c_str();
}

corten_status corten_model_input_index(const corten_model* model, const char* name,
                                       int64_t* index) {
  if (!model) return null_argument("corten_model_input_index: model");
  if (!name) return null_argument("corten_model_input_index: name");
  if (!index) return null_argument("corten_model_input_index: index");
  return guarded([&] {
    const std::vector<std::string>& names = model->model.input_names();
    const auto it = std::find(names.begin(), names.end(), name);
    std::string known;
    for (const std::string& n : names) known += (known.empty() ? "'" : ", '") + n + "'";
    CORTEN_CHECK_VALUE(it != names.end(), "corten_model_input_index: the model has no input '",
                       name, "'; its inputs are ", known);
    *index = it - names.begin();
  });
}

corten_dtype corten_model_input_dtype(const corten_model* model, int64_t i) {
  return in_range(model, i)
             ? static_cast<corten_dtype>(model->model.input_dtypes()[static_cast<size_t>(i)])
             : CORTEN_FLOAT32;
}

int32_t corten_model_input_rank(const corten_model* model, int64_t i) {
  return in_range(model, i)
             ? static_cast<int32_t>(model->model.input_shapes()[static_cast<size_t>(i)].size())
             : -1;
}

const int64_t* corten_model_input_shape(const corten_model* model, int64_t i) {
  return in_range(model, i) ? model->model.input_shapes()[static_cast<size_t>(i)].data() : nullptr;
}

corten_status corten_model_predict(const corten_model* model, corten_tensor* const* inputs,
                                   int64_t num_inputs, corten_tensor** outputs,
                                   int64_t num_outputs) {
  if (!model) return null_argument("corten_model_predict: model");
  if (num_inputs > 0 && !inputs) return null_argument("corten_model_predict: inputs");
  if (num_outputs > 0 && !outputs) return null_argument("corten_model_predict: outputs");
  return guarded([&] {
    CORTEN_CHECK_VALUE(num_inputs == model->model.num_inputs(), "corten_model_predict: the model takes ",
                       model->model.num_inputs(), " inputs; got ", num_inputs);
    CORTEN_CHECK_VALUE(num_outputs == model->model.num_outputs(), "corten_model_predict: the model gives ",
                       model->model.num_outputs(), " outputs; room for ", num_outputs, " was given");
    std::vector<corten::Tensor> in;
    for (int64_t i = 0; i < num_inputs; ++i) {
      CORTEN_CHECK_VALUE(inputs[i] != nullptr, "corten_model_predict: input ", i, " is null");
      in.push_back(inputs[i]->tensor);
    }
    std::vector<corten::Tensor> out = model->model.predict(in);
    for (int64_t i = 0; i < num_outputs; ++i) outputs[i] = nullptr;
    for (int64_t i = 0; i < num_outputs; ++i) {
      outputs[i] = new corten_tensor{out[static_cast<size_t>(i)].contiguous()};
    }
  });
}

corten_status corten_tensor_create(corten_dtype dtype, const int64_t* shape, int32_t rank,
                                   const void* data, corten_tensor** out) {
  if (!out) return null_argument("corten_tensor_create: out");
  *out = nullptr;
  if (rank > 0 && !shape) return null_argument("corten_tensor_create: shape");
  return guarded([&] {
    CORTEN_CHECK_VALUE(rank >= 0, "corten_tensor_create: rank must be >= 0; got ", rank);
    CORTEN_CHECK_TYPE((dtype >= CORTEN_BOOL && dtype <= CORTEN_FLOAT64) ||
                          dtype == CORTEN_FLOAT16 || dtype == CORTEN_BFLOAT16,
                      "corten_tensor_create: unknown dtype ", static_cast<int>(dtype));
    const corten::Shape dims(shape, shape + rank);
    corten::Tensor t =
        corten::Tensor::empty(dims, static_cast<corten::DType>(dtype), corten::Device::CPU,
                              "corten_tensor_create");
    CORTEN_CHECK_VALUE(data != nullptr || t.nbytes() == 0, "corten_tensor_create: data is null");
    if (t.nbytes() > 0) std::memcpy(t.raw_data(), data, t.nbytes());
    *out = new corten_tensor{std::move(t)};
  });
}

void corten_tensor_free(corten_tensor* tensor) { delete tensor; }

corten_dtype corten_tensor_dtype(const corten_tensor* tensor) {
  return static_cast<corten_dtype>(tensor->tensor.dtype());
}

int32_t corten_tensor_rank(const corten_tensor* tensor) {
  return static_cast<int32_t>(tensor->tensor.ndim());
}

const int64_t* corten_tensor_shape(const corten_tensor* tensor) {
  return tensor->tensor.shape().data();
}

const void* corten_tensor_data(const corten_tensor* tensor) { return tensor->tensor.raw_data(); }

corten_status corten_set_num_threads(int32_t n) {
  return guarded([&] {
    CORTEN_CHECK_VALUE(n >= 1, "corten_set_num_threads: n must be >= 1; got ", n);
    corten::set_num_threads(n);
  });
}

int32_t corten_get_num_threads(void) { return corten::get_num_threads(); }

corten_status corten_set_cache_limit(int64_t bytes) {
  return guarded([&] { corten::allocator_set_cache_limit(bytes); });
}

int64_t corten_allocator_live_bytes(void) { return corten::allocator_stats().live_bytes; }

int64_t corten_allocator_peak_bytes(void) { return corten::allocator_stats().peak_bytes; }

}  // extern "C"
