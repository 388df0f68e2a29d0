// The cuBLASLt engine of the CUDA GEMM (Note [CUDA GEMM] in cuda/matmul.cu): describes a
// row-major product to cuBLASLt, which is column-major, asks its heuristic for an algorithm
// (cached per shape, layout and alignment), and runs it on current_stream().
//
// C (m x n, row-major) is the column-major n x m matrix C^T = B^T A^T, so cuBLASLt's "A" is
// corten's B^T (n x k) and its "B" is corten's A^T (k x m); an operand whose rows are the unit
// stride is passed transposed (CUBLAS_OP_T) instead of being copied. The bias is then one value
// per row of cuBLASLt's D, which is what CUBLASLT_EPILOGUE_BIAS adds.

#include <corten/devices.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>

#include "cuda/common.cuh"
#include "cuda/cublaslt_loader.h"
#include "cuda/matmul_cublaslt.h"

namespace corten::cuda {
namespace {

// Most workspace an algorithm may ask for (what cuBLAS itself reserves on Hopper).
constexpr uint64_t kMaxWorkspace = uint64_t{32} << 20;

// A logical R x C matrix with element (r, c) at r * rs + c * cs, as a column-major cuBLASLt
// operand op(M): M is rows x cols with columns ld apart.
struct LtOperand {
  bool ok = false;
  int32_t op = lt::kOpN;
  int64_t rows = 0, cols = 0, ld = 0;
};

LtOperand describe(int64_t r, int64_t c, int64_t rs, int64_t cs) {
  LtOperand o;
  if (rs == 1 || r == 1) {  // column-major as it is
    const int64_t ld = c == 1 ? r : cs;
    if (ld >= r && ld >= 1) return {true, lt::kOpN, r, c, ld};
  }
  if (cs == 1 || c == 1) {  // its transpose is column-major
    const int64_t ld = r == 1 ? c : rs;
    if (ld >= c && ld >= 1) return {true, lt::kOpT, c, r, ld};
  }
  return o;
}

// The largest power of two up to 256 dividing the address of every batch's matrix.
int64_t alignment(const void* p, int64_t batch, int64_t bstride_bytes) {
  uint64_t v = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)) | 256u;
  if (batch > 1) v |= static_cast<uint64_t>(bstride_bytes < 0 ? -bstride_bytes : bstride_bytes);
  return static_cast<int64_t>(v & (~v + 1));
}

// Destroys the descriptors of one call.
struct Descriptors {
  const lt::Api* api;
  lt::MatmulDesc desc = nullptr;
  lt::MatrixLayout a = nullptr, b = nullptr, d = nullptr;
  lt::Preference pref = nullptr;
  ~Descriptors() {
    if (pref) api->preference_destroy(pref);
    if (d) api->matrix_layout_destroy(d);
    if (b) api->matrix_layout_destroy(b);
    if (a) api->matrix_layout_destroy(a);
    if (desc) api->matmul_desc_destroy(desc);
  }
};

struct CachedAlgo {
  bool found = false;
  lt::MatmulAlgo algo{};
  size_t workspace = 0;
};

using Key = std::array<int64_t, 20>;

std::mutex g_cache_mu;
std::map<Key, CachedAlgo>& algo_cache() {
  static auto* cache = new std::map<Key, CachedAlgo>;
  return *cache;
}

}  // namespace

LtOutcome cublaslt_gemm(DType dtype, int64_t batch, int64_t m, int64_t n, int64_t k, const void* a,
                        int64_t a_bstride, int64_t a_rs, int64_t a_cs, const void* b,
                        int64_t b_bstride, int64_t b_rs, int64_t b_cs, void* c, int64_t ldc,
                        bool accumulate, const void* bias, Activation act) {
  LtOutcome none;
  if (dtype != DType::Float32 && dtype != DType::Float64) return none;
  if (m <= 0 || n <= 0 || k <= 0 || batch <= 0 || batch > INT32_MAX || ldc < n) return none;
  // cuBLASLt's A = B^T (n x k), cuBLASLt's B = A^T (k x m), D = C^T (n x m, ld ldc).
  const LtOperand la = describe(n, k, b_cs, b_rs);
  const LtOperand lb = describe(k, m, a_cs, a_rs);
  if (!la.ok || !lb.ok) return none;
  const lt::Api* api = lt::api();
  if (!api) return none;
  lt::Handle handle = lt::handle();
  if (!handle) return none;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return none;

  const bool f32 = dtype == DType::Float32;
  const int64_t size = f32 ? 4 : 8;
  const int type = f32 ? lt::kR32F : lt::kR64F;
  const int compute = f32 ? (::corten::tensor_float_32_execution_enabled() ? lt::kCompute32FFastTF32
                                                                           : lt::kCompute32F)
                          : lt::kCompute64F;
  const int64_t align_a = alignment(b, batch, b_bstride * size);  // cuBLASLt's A is our B
  const int64_t align_b = alignment(a, batch, a_bstride * size);
  const int64_t align_d = alignment(c, batch, m * ldc * size);
  const int64_t align_bias = bias ? alignment(bias, 1, 0) : 256;

  // The epilogues to try, most fused first (Note [CUDA GEMM]).
  struct Plan {
    uint32_t epilogue;
    bool bias_done, act_done;
  };
  Plan plans[2];
  int nplans = 0;
  const bool relu = act == Activation::Relu;
  if (bias) {
    plans[nplans++] = {relu ? lt::kEpilogueReluBias : lt::kEpilogueBias, true, relu};
  } else if (relu) {
    plans[nplans++] = {lt::kEpilogueRelu, false, true};
  }
  plans[nplans++] = {lt::kEpilogueDefault, false, act == Activation::Identity};

  for (int pi = 0; pi < nplans; ++pi) {
    const Plan& plan = plans[pi];
    const Key key{device,     static_cast<int64_t>(dtype),
                  compute,    plan.epilogue,
                  la.op,      la.rows,
                  la.cols,    la.ld,
                  lb.op,      lb.rows,
                  lb.cols,    lb.ld,
                  batch,      b_bstride,
                  a_bstride,  align_a,
                  align_b,    align_d,
                  align_bias, ldc};
    Descriptors ds{api};
    bool ok = api->matmul_desc_create(&ds.desc, compute, type) == lt::kSuccess;
    auto set_desc = [&](int attr, const void* v, size_t bytes) {
      ok = ok && api->matmul_desc_set_attribute(ds.desc, attr, v, bytes) == lt::kSuccess;
    };
    set_desc(lt::kDescTransA, &la.op, sizeof(la.op));
    set_desc(lt::kDescTransB, &lb.op, sizeof(lb.op));
    set_desc(lt::kDescEpilogue, &plan.epilogue, sizeof(plan.epilogue));
    if (plan.bias_done) {
      const int32_t bias_type = type;
      set_desc(lt::kDescBiasPointer, &bias, sizeof(bias));
      set_desc(lt::kDescBiasDataType, &bias_type, sizeof(bias_type));
    }
    auto layout = [&](lt::MatrixLayout* l, int64_t rows, int64_t cols, int64_t ld,
                      int64_t bstride) {
      ok = ok && api->matrix_layout_create(l, type, static_cast<uint64_t>(rows),
                                           static_cast<uint64_t>(cols), ld) == lt::kSuccess;
      if (batch > 1) {
        const int32_t count = static_cast<int32_t>(batch);
        ok = ok && api->matrix_layout_set_attribute(*l, lt::kLayoutBatchCount, &count,
                                                    sizeof(count)) == lt::kSuccess;
        ok = ok && api->matrix_layout_set_attribute(*l, lt::kLayoutStridedBatchOffset, &bstride,
                                                    sizeof(bstride)) == lt::kSuccess;
      }
    };
    layout(&ds.a, la.rows, la.cols, la.ld, b_bstride);
    layout(&ds.b, lb.rows, lb.cols, lb.ld, a_bstride);
    layout(&ds.d, n, m, ldc, m * ldc);
    if (!ok) continue;

    CachedAlgo found;
    bool cached = false;
    {
      std::lock_guard<std::mutex> lock(g_cache_mu);
      const auto it = algo_cache().find(key);
      if (it != algo_cache().end()) {
        found = it->second;
        cached = true;
      }
    }
    if (!cached) {
      ok = api->preference_create(&ds.pref) == lt::kSuccess;
      auto set_pref = [&](int attr, const void* v, size_t bytes) {
        ok = ok && api->preference_set_attribute(ds.pref, attr, v, bytes) == lt::kSuccess;
      };
      const uint64_t workspace = kMaxWorkspace;
      const uint32_t aligns[4] = {static_cast<uint32_t>(align_a), static_cast<uint32_t>(align_b),
                                  static_cast<uint32_t>(align_d), static_cast<uint32_t>(align_d)};
      set_pref(lt::kPrefMaxWorkspaceBytes, &workspace, sizeof(workspace));
      set_pref(lt::kPrefMinAlignmentA, &aligns[0], sizeof(uint32_t));
      set_pref(lt::kPrefMinAlignmentB, &aligns[1], sizeof(uint32_t));
      set_pref(lt::kPrefMinAlignmentC, &aligns[2], sizeof(uint32_t));
      set_pref(lt::kPrefMinAlignmentD, &aligns[3], sizeof(uint32_t));
      lt::HeuristicResult result{};
      int returned = 0;
      if (ok &&
          api->algo_get_heuristic(handle, ds.desc, ds.a, ds.b, ds.d, ds.d, ds.pref, 1, &result,
                                  &returned) == lt::kSuccess &&
          returned > 0 && result.state == lt::kSuccess) {
        found.found = true;
        found.algo = result.algo;
        found.workspace = result.workspace_size;
      }
      std::lock_guard<std::mutex> lock(g_cache_mu);
      algo_cache().emplace(key, found);
    }
    if (!found.found) continue;

    DeviceScratch workspace(found.workspace, "matmul");
    const float one32 = 1.0f, zero32 = 0.0f;
    const double one64 = 1.0, zero64 = 0.0;
    const void* alpha = f32 ? static_cast<const void*>(&one32) : &one64;
    const void* beta = accumulate ? alpha : f32 ? static_cast<const void*>(&zero32) : &zero64;
    // cuBLASLt's A is our B and its B our A (the file comment).
    if (api->matmul(handle, ds.desc, alpha, b, ds.a, a, ds.b, beta, c, ds.d, c, ds.d, &found.algo,
                    workspace.as<void>(), found.workspace, current_stream()) != lt::kSuccess) {
      continue;
    }
    return {true, plan.bias_done, plan.act_done};
  }
  return none;
}

}  // namespace corten::cuda
