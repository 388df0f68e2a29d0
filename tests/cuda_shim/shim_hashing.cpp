// csrc/cuda/hashing.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/hashing.cu"
