// csrc/cuda/batch_norm.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/batch_norm.cu"
