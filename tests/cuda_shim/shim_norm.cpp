// csrc/cuda/norm.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/norm.cu"
