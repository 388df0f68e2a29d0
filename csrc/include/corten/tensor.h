#pragma once
/// Tensor: a cheap, shared handle to a TensorImpl (storage + offset + shape + strides + dtype +
/// device). Copying a Tensor copies the handle; both copies name the same tensor. Views
/// (slices, transposes, reshapes of contiguous data) are new TensorImpls sharing the Storage.
///
/// Threading: a Tensor may be read from several threads; writing the same storage from two
/// threads at once is the caller's responsibility, as with any buffer.

#include <corten/device.h>
#include <corten/dtype.h>
#include <corten/shape.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace corten {

/// A block of memory that tensors view. Either owned (from the caching allocator, freed back to
/// it) or borrowed from an external owner (a numpy array, a DLPack producer) that is kept alive
/// until the storage dies.
class Storage {
 public:
  /// New 64-byte-aligned storage of `nbytes` bytes from the caching allocator (uninitialised).
  static std::shared_ptr<Storage> allocate(size_t nbytes, const char* op = "allocate");
  /// Borrowed storage: `owner` is released when the storage dies.
  static std::shared_ptr<Storage> borrow(void* data, size_t nbytes, std::shared_ptr<void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  bool owned() const { return !owner_; }
  /// Read-only storage (a constant's) is exposed to numpy as a read-only buffer. corten's own
  /// ops never write into it: only Variables are updated in place, and they own their storage.
  bool read_only() const { return read_only_; }
  void set_read_only() { read_only_ = true; }
  /// Keeps a byte buffer that string elements point into alive as long as this storage
  /// (Note [String tensors]).
  void keep_bytes(std::shared_ptr<const void> buffer);
  /// Keeps the byte buffers of `other` alive as long as this storage.
  void keep_bytes_of(const Storage& other);

 private:
  Storage(void* data, size_t nbytes, std::shared_ptr<void> owner)
      : data_(data), nbytes_(nbytes), owner_(std::move(owner)) {}
  void* data_;
  size_t nbytes_;
  std::shared_ptr<void> owner_;
  std::vector<std::shared_ptr<const void>> string_bytes_;
  bool read_only_ = false;
};

namespace detail {
/// A process-wide unique, never reused tensor id (the autograd tape keys tensors by it).
uint64_t next_tensor_id() noexcept;
}  // namespace detail

struct TensorImpl {
  std::shared_ptr<Storage> storage;  ///< null for meta tensors
  int64_t offset = 0;                ///< in elements
  Shape shape;
  Shape strides;                     ///< in elements
  DType dtype = DType::Float32;
  Device device = Device::CPU;
  int16_t device_index = 0;  ///< the ordinal of a cuda device (0 for cpu and meta)
  uint64_t id = detail::next_tensor_id();
  bool is_variable = false;  ///< a Variable: mutable in place, watched by tapes when trainable
  bool trainable = false;
};

class Tensor {
 public:
  /// An undefined tensor (defined() is false).
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// New contiguous tensor with uninitialised data. MemoryError if the size overflows or the
  /// allocation fails; ValueError for negative dimensions (unknown dimensions only on meta).
  /// `device_index` is the ordinal of a cuda device.
  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::CPU,
                      const char* op = "empty", int device_index = 0);
  /// A view of `storage` (no copy). The caller guarantees the view stays inside the storage.
  static Tensor view_of(std::shared_ptr<Storage> storage, int64_t offset, Shape shape,
                        Shape strides, DType dtype);

  bool defined() const { return static_cast<bool>(impl_); }
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->device; }
  /// The device's ordinal (cuda:N); 0 for cpu and meta.
  int device_index() const { return impl_->device_index; }
  bool is_meta() const { return impl_->device == Device::Meta; }
  int64_t ndim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t dim(int64_t i) const { return impl_->shape[static_cast<size_t>(i)]; }
  /// Number of elements (kUnknownDim if a dimension is unknown).
  int64_t numel() const { return shape_numel(impl_->shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * itemsize(dtype()); }
  /// True when the elements are laid out in C order without gaps.
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }
  /// Address of element [0, 0, ...]; null for meta tensors.
  void* raw_data() const;
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw_data());
  }
  /// This tensor if contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A view with the same storage and new geometry (offset in elements, absolute).
  Tensor as_strided(Shape shape, Shape strides, int64_t offset) const;
  /// Unique id of this tensor (views and copies get their own).
  uint64_t id() const { return impl_->id; }
  bool is_variable() const { return impl_->is_variable; }
  bool trainable() const { return impl_->trainable; }
  /// Whether two handles name the same tensor.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace corten
