// csrc/cuda/arg_reduce.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/arg_reduce.cu"
