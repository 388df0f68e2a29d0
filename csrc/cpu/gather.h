#pragma once
// CPU gather kernel. Callers have validated shapes and dtypes; the kernel reports bad index
// values instead of validating them, so the op entry point can throw.

#include <corten/dtype.h>

#include <cstddef>
#include <cstdint>

namespace corten::cpu {

/// The first index (in C order) that is outside [0, N): its flat position in `indices` and its
/// value; position -1 when every index is valid.
struct BadIndex {
  int64_t position = -1;
  int64_t value = 0;
};

/// params: (B, outer, N, inner) contiguous, indices: (B, I) contiguous int32/int64
/// -> out: (B, outer, I, inner) contiguous, out[b, o, i, :] = params[b, o, indices[b, i], :].
/// Nothing is written when an index is bad.
BadIndex gather(size_t itemsize, DType index_dtype, const void* params, int64_t batch,
                int64_t outer, int64_t n, int64_t inner, const void* indices, int64_t num_indices,
                void* out);

/// The adjoint of gather for a floating dtype. grad: (B, outer, I, inner) contiguous, indices:
/// (B, I) -> dparams: (B, outer, N, inner) contiguous and zero-filled by the caller;
/// dparams[b, o, indices[b, i], :] += grad[b, o, i, :]. Each element accumulates its
/// contributions in index order, so results do not depend on the thread count. Nothing is
/// written when an index is bad.
BadIndex gather_backward(DType dtype, DType index_dtype, const void* grad, int64_t batch,
                         int64_t outer, int64_t n, int64_t inner, const void* indices,
                         int64_t num_indices, void* dparams);

}  // namespace corten::cpu
