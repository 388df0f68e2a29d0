#pragma once
// Kernel scratch memory from the caching allocator (corten/allocator.h): a buffer reused from
// call to call costs no page faults, where a std::vector of the same size (above malloc's
// mmap threshold) is mapped, faulted in and zeroed on every call.

#include <corten/allocator.h>

#include <cstddef>
#include <cstdint>

namespace corten::cpu {

// `count` uninitialised elements, given back when it goes out of scope.
template <class T>
class Scratch {
 public:
  Scratch(int64_t count, const char* op)
      : bytes_(static_cast<size_t>(count) * sizeof(T)),
        p_(static_cast<T*>(bytes_ ? cpu_allocate(bytes_, op) : nullptr)) {}
  ~Scratch() {
    if (p_) cpu_free(p_, bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data() const { return p_; }

 private:
  size_t bytes_;
  T* p_;
};

}  // namespace corten::cpu
