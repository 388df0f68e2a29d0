// csrc/cuda/losses.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/losses.cu"
