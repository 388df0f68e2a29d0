#pragma once
// CORTEN_HD marks the functions that CPU kernels share with CUDA kernels (cpu/reduce_functors.h):
// host and device functions under nvcc, plain functions elsewhere (the CPU build, and the CUDA
// test shim, where __host__ and __device__ mean nothing).

#ifdef __CUDACC__
#define CORTEN_HD __host__ __device__
#else
#define CORTEN_HD
#endif
