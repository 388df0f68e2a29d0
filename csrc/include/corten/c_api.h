/* corten's C API: load a model saved by Model.save and run its inference graph, from C or any
 * language with a C foreign-function interface (Rust, Go, C#, Python ctypes). Opaque handles,
 * status codes and a per-thread error message; no C++ type crosses this boundary.
 *
 *     corten_model* model;
 *     if (corten_model_load("classifier.keras", &model) != CORTEN_OK) {
 *       fprintf(stderr, "%s\n", corten_last_error());
 *     }
 */
#ifndef CORTEN_C_API_H_
#define CORTEN_C_API_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  CORTEN_OK = 0,
  CORTEN_VALUE_ERROR = 1, /* a wrong argument, file, shape or graph */
  CORTEN_TYPE_ERROR = 2,  /* a wrong dtype */
  CORTEN_MEMORY_ERROR = 3,
  CORTEN_ERROR = 4 /* anything else */
} corten_status;

/* The element types, with corten's numbering. */
typedef enum {
  CORTEN_BOOL = 0,
  CORTEN_INT32 = 1,
  CORTEN_INT64 = 2,
  CORTEN_FLOAT32 = 3,
  CORTEN_FLOAT64 = 4,
  CORTEN_FLOAT16 = 6,  /* IEEE 754 binary16, 2 bytes */
  CORTEN_BFLOAT16 = 7, /* the top 16 bits of a float32 */
  /* Makes every int a value of the type, so that a wrong code from a caller is reported as an
   * error rather than being undefined in C++. */
  CORTEN_DTYPE_FORCE_INT_ = 0x7fffffff
} corten_dtype;

typedef struct corten_model corten_model;
typedef struct corten_tensor corten_tensor;

/* The message of the last failed call on this thread ("" when none failed). */
const char* corten_last_error(void);

/* Loads a .keras file or saved-model directory written by Model.save. */
corten_status corten_model_load(const char* path, corten_model** out);
/* The same for one signature of corten.saved_model.save ("serving_default" is the default). */
corten_status corten_model_load_signature(const char* path, const char* signature,
                                          corten_model** out);
void corten_model_free(corten_model* model);
int64_t corten_model_num_inputs(const corten_model* model);
int64_t corten_model_num_outputs(const corten_model* model);

/* The name of input (output) i, or NULL when i is out of range; valid while the model lives. */
const char* corten_model_input_name(const corten_model* model, int64_t i);
const char* corten_model_output_name(const corten_model* model, int64_t i);
/* The position of the input called `name`: a CORTEN_VALUE_ERROR names the inputs when none is. */
corten_status corten_model_input_index(const corten_model* model, const char* name, int64_t* index);
/* Input i's dtype, rank and shape (-1 for a dimension of any size, the batch most often);
 * rank -1 and a NULL shape when i is out of range. */
corten_dtype corten_model_input_dtype(const corten_model* model, int64_t i);
int32_t corten_model_input_rank(const corten_model* model, int64_t i);
const int64_t* corten_model_input_shape(const corten_model* model, int64_t i);

/* Runs the model on num_inputs tensors; fills outputs[0 .. num_outputs) with new tensors that
 * the caller frees. Several threads may call it at once on one model. */
corten_status corten_model_predict(const corten_model* model, corten_tensor* const* inputs,
                                   int64_t num_inputs, corten_tensor** outputs,
                                   int64_t num_outputs);

/* A tensor holding a copy of `data` (C order, `rank` dimensions of `shape`). */
corten_status corten_tensor_create(corten_dtype dtype, const int64_t* shape, int32_t rank,
                                   const void* data, corten_tensor** out);
void corten_tensor_free(corten_tensor* tensor);
corten_dtype corten_tensor_dtype(const corten_tensor* tensor);
int32_t corten_tensor_rank(const corten_tensor* tensor);
const int64_t* corten_tensor_shape(const corten_tensor* tensor);
/* The elements in C order (valid until the tensor is freed). */
const void* corten_tensor_data(const corten_tensor* tensor);

/* The threads of the intra-op pool (n >= 1), shared by every model of the process. */
corten_status corten_set_num_threads(int32_t n);
int32_t corten_get_num_threads(void);
/* The most bytes the allocator keeps cached for reuse (>= 0; 0 returns every freed block to
 * the system at once), and the bytes live tensors hold now and at most so far. */
corten_status corten_set_cache_limit(int64_t bytes);
int64_t corten_allocator_live_bytes(void);
int64_t corten_allocator_peak_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* CORTEN_C_API_H_ */
