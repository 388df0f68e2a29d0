// csrc/cuda/rnn.cu compiled for the CPU through the test shim (Note [CUDA test shim]).
#include "cuda/rnn.cu"
