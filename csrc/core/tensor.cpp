#include <corten/allocator.h>
#include <corten/ops.h>
#include <corten/tensor.h>

#include <atomic>
#include <cstring>
#include <limits>

#include "core/cuda_runtime.h"

namespace corten {

uint64_t detail::next_tensor_id() noexcept {
  static std::atomic<uint64_t> counter{1};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, const char* op) {
  // One heap block for the Storage and its reference counts (make_shared needs a public
  // constructor; a local class of a member function has the member function's access).
  struct Owned : Storage {
    Owned(void* data, size_t n) : Storage(data, n, nullptr) {}
  };
  void* p = cpu_allocate(nbytes, op);
  try {
    return std::make_shared<Owned>(p, nbytes);
  } catch (...) {
    cpu_free(p, nbytes);
    throw;
  }
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, std::move(owner)));
}

void Storage::keep_bytes(std::shared_ptr<const void> buffer) {
  for (const auto& b : string_bytes_) {
    if (b == buffer) return;
  }
  string_bytes_.push_back(std::move(buffer));
}

void Storage::keep_bytes_of(const Storage& other) {
  if (&other == this) return;
  for (const auto& b : other.string_bytes_) keep_bytes(b);
}

Storage::~Storage() {
  if (!owner_) cpu_free(data_, nbytes_);
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, const char* op,
                     int device_index) {
  auto impl = std::make_shared<TensorImpl>();
  CORTEN_CHECK_VALUE(static_cast<int64_t>(shape.size()) <= kMaxRank, op, ": rank ", shape.size(),
                     " exceeds the maximum rank ", kMaxRank);
  size_t numel = 1;
  bool overflow = false;
  for (int64_t d : shape) {
    if (d == kUnknownDim && device == Device::Meta) continue;
    if (d < 0) {
      std::string dims;
      for (int64_t v : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(v);
      throw ValueError(detail::str_cat(op, ": dimensions must be >= 0; got shape (", dims,
                                       shape.size() == 1 ? ",)" : ")"));
    }
    overflow |= __builtin_mul_overflow(numel, static_cast<size_t>(d), &numel);
  }
  size_t nbytes = 0;
  overflow |= __builtin_mul_overflow(numel, itemsize(dtype), &nbytes);
  overflow |= nbytes > static_cast<size_t>(std::numeric_limits<int64_t>::max());
  if (overflow) {
    throw MemoryError(detail::str_cat(op, ": a ", dtype_name(dtype), " tensor of shape ",
                                      shape_str(shape), " needs more than 2^63 bytes"));
  }
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->device = device;
  CORTEN_CHECK_TYPE(dtype != DType::String || device != Device::CUDA, op,
                    ": string tensors live on the CPU; a string tensor cannot be placed on a GPU");
  if (device == Device::CPU) {
    impl->storage = Storage::allocate(nbytes, op);
    // Unwritten string elements must read as empty strings, not as stray pointers.
    if (dtype == DType::String && nbytes > 0) std::memset(impl->storage->data(), 0, nbytes);
  } else if (device == Device::CUDA) {
    impl->storage = detail::cuda_runtime_allocate(nbytes, device_index, op);
    impl->device_index = static_cast<int16_t>(device_index);
  }
  return Tensor(std::move(impl));
}

Tensor Tensor::view_of(std::shared_ptr<Storage> storage, int64_t offset, Shape shape,
                       Shape strides, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = dtype;
  impl->device = Device::CPU;
  return Tensor(std::move(impl));
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  const Shape& sh = shape();
  const Shape& st = strides();
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;
    if (sh[i] == 0) return true;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  if (!impl_->storage) return nullptr;
  return static_cast<char*>(impl_->storage->data()) +
         impl_->offset * static_cast<int64_t>(itemsize(impl_->dtype));
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone(*this);
}

Tensor Tensor::as_strided(Shape shape, Shape strides, int64_t offset) const {
  CORTEN_CHECK_VALUE(static_cast<int64_t>(shape.size()) <= kMaxRank, "view: rank ", shape.size(),
                     " exceeds the maximum rank ", kMaxRank);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = impl_->dtype;
  impl->device = impl_->device;
  impl->device_index = impl_->device_index;
  return Tensor(std::move(impl));
}

}  // namespace corten
