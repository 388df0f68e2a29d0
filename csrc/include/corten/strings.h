#pragma once
/// String tensors: the element type, building them, and keeping their bytes alive.

#include <corten/tensor.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace corten {

// Note [String tensors]
// An element of a string tensor is a StringRef: a pointer to UTF-8 (or arbitrary) bytes and a
// length. The bytes live in immutable byte buffers that the tensor's Storage keeps alive
// (Storage::keep_bytes). A string op writes all its output strings into one new buffer, each
// element being an (offset, length) slice of it, so a batch of sentences costs one allocation,
// not one per element. The element stores the slice's address instead of its offset so that
// the data-movement ops need nothing string-specific: a view, a gather, a concat or a tile of
// strings copies 16-byte elements like any other dtype and shares the bytes, which the output's
// storage keeps alive by taking over the inputs' buffers (share_string_bytes). Buffers are
// never written after they are built, so every tensor that reads them sees the same bytes.
// A zero-filled element is the empty string: Tensor::empty zero-fills string tensors, so
// memory that no kernel wrote still reads as valid strings.
struct StringRef {
  const char* data;
  int64_t size;
  std::string_view view() const {
    return size == 0 ? std::string_view() : std::string_view(data, static_cast<size_t>(size));
  }
};
static_assert(sizeof(StringRef) == 16, "itemsize(DType::String) is 16");

/// Builds the elements of a new string tensor in C order: the bytes of all elements go into
/// one buffer (Note [String tensors]).
class StringBuilder {
 public:
  explicit StringBuilder(size_t expected_elements = 0) { ends_.reserve(expected_elements); }
  /// Appends a whole element.
  void append(std::string_view s) {
    bytes_.append(s.data(), s.size());
    ends_.push_back(bytes_.size());
  }
  /// Appends bytes to the element being built; end_element() closes it.
  void append_bytes(std::string_view s) { bytes_.append(s.data(), s.size()); }
  void end_element() { ends_.push_back(bytes_.size()); }
  size_t size() const { return ends_.size(); }
  /// The tensor of the appended elements; their count must equal the shape's size.
  Tensor finish(const Shape& shape, const char* op);

 private:
  std::string bytes_;
  std::vector<size_t> ends_;
};

/// The elements of a CPU string tensor (any layout) in C order.
std::vector<std::string_view> string_values(const Tensor& t);
/// Makes `out`'s storage keep the byte buffers of `src`'s storage alive; a no-op for the
/// other dtypes. Every op that copies string elements into a new tensor calls it.
void share_string_bytes(const Tensor& out, const Tensor& src);

}  // namespace corten
