// csrc/cuda/image_transform.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/image_transform.cu"
