// csrc/cuda/softmax.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/softmax.cu"
