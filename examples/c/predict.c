/* The C API version of examples/cpp/predict: predict_c MODEL THREADS -- v0 v1 ... */
#include <corten/c_api.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 4 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: %s MODEL THREADS -- v0 v1 ...\n", argv[0]);
    return 2;
  }
  corten_model* model = NULL;
  if (corten_set_num_threads(atoi(argv[2])) != CORTEN_OK ||
      corten_model_load(argv[1], &model) != CORTEN_OK) {
    fprintf(stderr, "error: %s\n", corten_last_error());
    return 1;
  }
  int n = argc - 4;
  float* row = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int i = 0; i < n; ++i) row[i] = strtof(argv[4 + i], NULL);
  int64_t shape[2] = {1, n};
  corten_tensor* x = NULL;
  corten_tensor* y = NULL;
  int status = corten_tensor_create(CORTEN_FLOAT32, shape, 2, row, &x);
  if (status == CORTEN_OK) status = corten_model_predict(model, &x, 1, &y, 1);
  if (status != CORTEN_OK) {
    fprintf(stderr, "error: %s\n", corten_last_error());
  } else {
    const float* out = corten_tensor_data(y);
    int64_t size = 1;
    for (int32_t d = 0; d < corten_tensor_rank(y); ++d) size *= corten_tensor_shape(y)[d];
    for (int64_t i = 0; i < size; ++i) printf(i ? " %.9g" : "%.9g", (double)out[i]);
    printf("\n");
  }
  corten_tensor_free(y);
  corten_tensor_free(x);
  corten_model_free(model);
  free(row);
  return status == CORTEN_OK ? 0 : 1;
}
