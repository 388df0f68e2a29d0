// csrc/cuda/fused_elementwise.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/fused_elementwise.cu"
