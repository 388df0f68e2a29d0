#pragma once
// cuBLASLt, loaded at run time (CUDA build only).
//
// Note [cuBLASLt at run time]
// libcorten is never linked against cuBLASLt, so that one library loads on machines without
// it (no GPU, or a driver-only install) and picks it up where it is: the nvidia-cublas wheel
// puts libcublasLt.so.13 in site-packages/nvidia/cu13/lib (or .../cublas/lib), outside the
// loader's path, and the Python package passes that directory to add_library_dir(). The first
// product that could use cuBLASLt loads it: from each added directory in order
// (libcublasLt.so.13, then libcublasLt.so), then by name through the default loader path; the
// few functions the GEMM calls are resolved with dlsym. When every attempt fails, the reasons
// are kept (cublaslt_status()) and the products run on corten's own kernel (Note [CUDA GEMM]
// in cuda/matmul.cu); a directory added later makes the next product try again.
// The toolkit on the build machines need not ship cublasLt.h, so the types, enumerators and
// signatures used are declared here with the values of the cuBLASLt ABI (stable across 11.x
// to 13.x for everything below).

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace corten::cuda {

/// Adds a directory searched for libcublasLt before the default loader path (Note [cuBLASLt at
/// run time]); directories are searched in the order added.
void add_library_dir(std::string dir);

/// "" when cuBLASLt is loaded (loading it now if it was not tried), else why it is not.
std::string cublaslt_status();

namespace lt {

using Status = int;  // cublasStatus_t
constexpr Status kSuccess = 0;
using Handle = struct cublasLtContext*;
using MatmulDesc = struct CortenLtMatmulDesc*;      // cublasLtMatmulDesc_t (opaque pointer)
using MatrixLayout = struct CortenLtMatrixLayout*;  // cublasLtMatrixLayout_t
using Preference = struct CortenLtPreference*;      // cublasLtMatmulPreference_t

struct MatmulAlgo {
  uint64_t data[8];
};
struct HeuristicResult {
  MatmulAlgo algo;
  size_t workspace_size;
  Status state;
  float waves_count;
  int reserved[4];
};

// cublasComputeType_t, cudaDataType_t, cublasOperation_t.
constexpr int kCompute32F = 68, kCompute32FFastTF32 = 77, kCompute64F = 70;
constexpr int kR32F = 0, kR64F = 1;
constexpr int32_t kOpN = 0, kOpT = 1;
// cublasLtMatmulDescAttributes_t.
constexpr int kDescTransA = 3, kDescTransB = 4, kDescEpilogue = 7, kDescBiasPointer = 8,
              kDescBiasDataType = 26;
// cublasLtEpilogue_t (uint32_t attribute).
constexpr uint32_t kEpilogueDefault = 1, kEpilogueRelu = 2, kEpilogueBias = 4,
                   kEpilogueReluBias = 6;
// cublasLtMatrixLayoutAttribute_t.
constexpr int kLayoutBatchCount = 5, kLayoutStridedBatchOffset = 6;
// cublasLtMatmulPreferenceAttributes_t.
constexpr int kPrefMaxWorkspaceBytes = 1, kPrefMinAlignmentA = 5, kPrefMinAlignmentB = 6,
              kPrefMinAlignmentC = 7, kPrefMinAlignmentD = 8;

/// The functions the GEMM calls, resolved from the loaded library.
struct Api {
  Status (*create)(Handle*);
  Status (*matmul_desc_create)(MatmulDesc*, int compute_type, int scale_type);
  Status (*matmul_desc_destroy)(MatmulDesc);
  Status (*matmul_desc_set_attribute)(MatmulDesc, int attr, const void* buf, size_t size);
  Status (*matrix_layout_create)(MatrixLayout*, int type, uint64_t rows, uint64_t cols, int64_t ld);
  Status (*matrix_layout_destroy)(MatrixLayout);
  Status (*matrix_layout_set_attribute)(MatrixLayout, int attr, const void* buf, size_t size);
  Status (*preference_create)(Preference*);
  Status (*preference_destroy)(Preference);
  Status (*preference_set_attribute)(Preference, int attr, const void* buf, size_t size);
  Status (*algo_get_heuristic)(Handle, MatmulDesc, MatrixLayout, MatrixLayout, MatrixLayout,
                               MatrixLayout, Preference, int requested, HeuristicResult* results,
                               int* returned);
  Status (*matmul)(Handle, MatmulDesc, const void* alpha, const void* a, MatrixLayout,
                   const void* b, MatrixLayout, const void* beta, const void* c, MatrixLayout,
                   void* d, MatrixLayout, const MatmulAlgo* algo, void* workspace,
                   size_t workspace_size, cudaStream_t stream);
};

/// The loaded library's functions, or null when it cannot be loaded (cublaslt_status() says
/// why). Loads on the first call; thread-safe.
const Api* api();

/// A cuBLASLt handle for the current device, created on first use and kept for the process;
/// null when cuBLASLt is not available or the handle cannot be created.
Handle handle();

}  // namespace lt
}  // namespace corten::cuda
