// Tensor <-> DLManagedTensor. See Note [DLPack ownership] in corten/dlpack.h.
#include <corten/devices.h>
#include <corten/dlpack.h>
#include <corten/errors.h>
#include <corten/ops.h>

#include <cstdint>
#include <memory>
#include <string>

namespace corten {
namespace {

// Everything an exported DLManagedTensor points into; deleted by its deleter.
struct ExportContext {
  Tensor tensor;  // keeps the storage alive
  Shape shape;
  Shape strides;
  DLManagedTensor managed{};
  DLManagedTensorVersioned versioned{};
};

void delete_export(DLManagedTensor* self) {
  if (self) delete static_cast<ExportContext*>(self->manager_ctx);
}
void delete_export_versioned(DLManagedTensorVersioned* self) {
  if (self) delete static_cast<ExportContext*>(self->manager_ctx);
}

DLDataType dl_dtype_of(DType t) {
  switch (t) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
    case DType::Float16:
      return {kDLFloat, 16, 1};
    case DType::BFloat16:
      return {kDLBfloat, 16, 1};
    case DType::String:
      break;
  }
  throw TypeError(detail::str_cat("to_dlpack: dtype ", dtype_name(t), " has no DLPack type"));
}

std::string dl_dtype_str(DLDataType t) {
  const char* code = "unknown";
  switch (t.code) {
    case kDLInt: code = "int"; break;
    case kDLUInt: code = "uint"; break;
    case kDLFloat: code = "float"; break;
    case kDLOpaqueHandle: code = "opaque"; break;
    case kDLBfloat: code = "bfloat"; break;
    case kDLComplex: code = "complex"; break;
    case kDLBool: code = "bool"; break;
    default: break;
  }
  std::string s = detail::str_cat(code, static_cast<int>(t.bits));
  if (t.lanes != 1) s += detail::str_cat("x", t.lanes);
  return s;
}

DType dtype_from_dl(DLDataType t) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32) return DType::Float32;
    if (t.code == kDLFloat && t.bits == 64) return DType::Float64;
    if (t.code == kDLFloat && t.bits == 16) return DType::Float16;
    if (t.code == kDLBfloat && t.bits == 16) return DType::BFloat16;
    if (t.code == kDLInt && t.bits == 32) return DType::Int32;
    if (t.code == kDLInt && t.bits == 64) return DType::Int64;
    if (t.code == kDLBool && t.bits == 8) return DType::Bool;
  }
  throw TypeError(detail::str_cat(
      "from_dlpack: unsupported DLPack dtype ", dl_dtype_str(t),
      " (code=", static_cast<int>(t.code), ", bits=", static_cast<int>(t.bits), ", lanes=", t.lanes,
      "); supported: float32, float64, float16, bfloat16, int32, int64, bool"
      " (convert other dtypes in the producing library first)"));
}

const char* dl_device_str(int32_t type) {
  switch (type) {
    case kDLCPU: return "cpu";
    case kDLCUDA: return "cuda";
    case kDLCUDAHost: return "cuda_host";
    case kDLROCM: return "rocm";
    case kDLMetal: return "metal";
    case kDLCUDAManaged: return "cuda_managed";
    default: return "other";
  }
}

// Owns a producer's managed tensor once armed; calls its deleter when the storage dies.
struct ImportOwner {
  void* managed = nullptr;
  void (*release)(void*) = nullptr;
  bool armed = false;
  ~ImportOwner() {
    if (armed) release(managed);
  }
};

void release_unversioned(void* p) {
  auto* m = static_cast<DLManagedTensor*>(p);
  if (m->deleter) m->deleter(m);
}
void release_versioned(void* p) {
  auto* m = static_cast<DLManagedTensorVersioned*>(p);
  if (m->deleter) m->deleter(m);
}

// Fills ctx's shape and strides from t and returns the DLTensor describing t.
DLTensor describe(ExportContext& ctx, const Tensor& t) {
  CORTEN_CHECK_VALUE(t.defined(), "to_dlpack: the tensor is undefined");
  CORTEN_CHECK_VALUE(!t.is_meta(), "to_dlpack: a meta tensor of shape ", show(t.shape()),
                     " has no data to export");
  // Note [DLPack and streams]: a consumer may read a GPU tensor on any of its streams, so the
  // export waits until the kernels that wrote it have finished; an import of a GPU tensor asks
  // the producer to order its work before the legacy default stream, which corten's blocking
  // streams follow (Note [CUDA streams and memory]).
  if (t.device() == Device::CUDA) synchronize_devices();
  ctx.tensor = t;
  ctx.shape = t.shape();
  ctx.strides = t.strides();
  DLTensor dl{};
  dl.data = t.raw_data();
  dl.device =
      t.device() == Device::CUDA ? DLDevice{kDLCUDA, t.device_index()} : DLDevice{kDLCPU, 0};
  dl.ndim = static_cast<int32_t>(t.ndim());
  dl.dtype = dl_dtype_of(t.dtype());
  dl.shape = ctx.shape.empty() ? nullptr : ctx.shape.data();
  dl.strides = ctx.strides.empty() ? nullptr : ctx.strides.data();
  dl.byte_offset = 0;
  return dl;
}

// A view of the memory `dl` describes; on success `owner` is armed (ownership taken).
Tensor import_view(const DLTensor& dl, const std::shared_ptr<ImportOwner>& owner) {
  const bool on_gpu = dl.device.device_type == kDLCUDA;
  CORTEN_CHECK_VALUE(dl.device.device_type == kDLCPU || on_gpu,
                     "from_dlpack: only CPU (kDLCPU) and CUDA (kDLCUDA) tensors can be imported; "
                     "got device type ",
                     static_cast<int>(dl.device.device_type), " (",
                     dl_device_str(dl.device.device_type), ")");
  CORTEN_CHECK_VALUE(
      !on_gpu || (dl.device.device_id >= 0 && dl.device.device_id < cuda_device_count()),
      "from_dlpack: the tensor is on cuda:", dl.device.device_id, ", but ",
      cuda_device_count() == 0 ? "corten sees no GPU (" + cuda_unavailable_reason() + ")"
                               : detail::str_cat("corten sees ", cuda_device_count(), " GPUs"));
  const DType dtype = dtype_from_dl(dl.dtype);
  CORTEN_CHECK_VALUE(dl.ndim >= 0 && dl.ndim <= kMaxRank, "from_dlpack: ndim must be in [0, ",
                     kMaxRank, "]; got ", dl.ndim);
  const auto ndim = static_cast<size_t>(dl.ndim);
  CORTEN_CHECK_VALUE(ndim == 0 || dl.shape != nullptr, "from_dlpack: shape is null for ndim ",
                     dl.ndim);
  Shape shape(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    shape[i] = dl.shape[i];
    CORTEN_CHECK_VALUE(shape[i] >= 0, "from_dlpack: dimensions must be >= 0; got shape ",
                       show(shape));
  }
  Shape strides = dl.strides ? Shape(dl.strides, dl.strides + ndim) : contiguous_strides(shape);

  // Element range [lo, hi] touched by the view, relative to the first element, and whether the
  // element count and byte extent fit in int64.
  const int64_t isz = static_cast<int64_t>(itemsize(dtype));
  int64_t numel = 1, lo = 0, hi = 0;
  bool overflow = false;
  for (size_t i = 0; i < ndim; ++i) overflow |= __builtin_mul_overflow(numel, shape[i], &numel);
  if (numel > 0) {
    for (size_t i = 0; i < ndim; ++i) {
      int64_t reach = 0;
      overflow |= __builtin_mul_overflow(shape[i] - 1, strides[i], &reach);
      overflow |= __builtin_add_overflow(reach < 0 ? lo : hi, reach, reach < 0 ? &lo : &hi);
    }
  }
  int64_t span = 0, nbytes = 0;
  overflow |= __builtin_sub_overflow(hi, lo, &span);
  overflow |= __builtin_add_overflow(span, numel > 0 ? 1 : 0, &span);
  overflow |= __builtin_mul_overflow(span, isz, &nbytes);
  overflow |= dl.byte_offset > static_cast<uint64_t>(INT64_MAX);
  CORTEN_CHECK_VALUE(!overflow, "from_dlpack: shape ", show(shape), " with strides ",
                     show(strides), " addresses more than 2^63 bytes");

  char* first = nullptr;
  if (dl.data != nullptr) first = static_cast<char*>(dl.data) + dl.byte_offset;
  CORTEN_CHECK_VALUE(first != nullptr || numel == 0, "from_dlpack: data is null for a tensor of "
                     "shape ", show(shape));
  const auto address = reinterpret_cast<uintptr_t>(first);
  CORTEN_CHECK_VALUE(numel == 0 || address % static_cast<uintptr_t>(isz) == 0,
                     "from_dlpack: data address is not aligned to the ", dtype_name(dtype),
                     " element size (", isz, " bytes)");

  // The storage starts at the lowest address the view touches, so that negative strides stay
  // inside it; the tensor's offset points back at the first element.
  void* base = first == nullptr ? nullptr : first + lo * isz;
  auto storage = Storage::borrow(base, static_cast<size_t>(nbytes), owner);
  Tensor out = Tensor::view_of(std::move(storage), -lo, std::move(shape), std::move(strides),
                               dtype);
  if (on_gpu) {
    out.impl()->device = Device::CUDA;
    out.impl()->device_index = static_cast<int16_t>(dl.device.device_id);
  }
  owner->armed = true;  // nothing below can throw: ownership is taken
  return out;
}

}  // namespace

DLManagedTensor* to_dlpack(const Tensor& t) {
  auto ctx = std::make_unique<ExportContext>();
  ctx->managed.dl_tensor = describe(*ctx, t);
  ctx->managed.manager_ctx = ctx.get();
  ctx->managed.deleter = &delete_export;
  return &ctx.release()->managed;
}

DLManagedTensorVersioned* to_dlpack_versioned(const Tensor& t, bool is_copied) {
  auto ctx = std::make_unique<ExportContext>();
  ctx->versioned.version = {kDLPackMajorVersion, kDLPackMinorVersion};
  ctx->versioned.dl_tensor = describe(*ctx, t);
  ctx->versioned.flags = is_copied ? kDLPackFlagIsCopied : 0;
  ctx->versioned.manager_ctx = ctx.get();
  ctx->versioned.deleter = &delete_export_versioned;
  return &ctx.release()->versioned;
}

Tensor from_dlpack(DLManagedTensor* src) {
  CORTEN_CHECK_VALUE(src != nullptr, "from_dlpack: got a null DLManagedTensor");
  auto owner = std::make_shared<ImportOwner>();
  owner->managed = src;
  owner->release = &release_unversioned;
  return import_view(src->dl_tensor, owner);
}

Tensor from_dlpack_versioned(DLManagedTensorVersioned* src) {
  CORTEN_CHECK_VALUE(src != nullptr, "from_dlpack: got a null DLManagedTensorVersioned");
  CORTEN_CHECK_VALUE(src->version.major == kDLPackMajorVersion, "from_dlpack: DLPack version ",
                     src->version.major, ".", src->version.minor, " is not supported (corten "
                     "reads major version ", kDLPackMajorVersion, ")");
  auto owner = std::make_shared<ImportOwner>();
  owner->managed = src;
  owner->release = &release_versioned;
  if (src->flags & kDLPackFlagReadOnly) {
    // Copy through a temporary view that does not own the producer's tensor (so that a failed
    // copy leaves it with the caller), then release the producer's tensor.
    Tensor view = import_view(src->dl_tensor, owner);
    owner->armed = false;
    Tensor copy = clone(view);
    view = Tensor();
    owner->armed = true;
    owner.reset();  // the last reference: runs the deleter now
    return copy;
  }
  return import_view(src->dl_tensor, owner);
}

}  // namespace corten
