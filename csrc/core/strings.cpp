#include <corten/strings.h>

#include <memory>

namespace corten {

Tensor StringBuilder::finish(const Shape& shape, const char* op) {
  Tensor out = Tensor::empty(shape, DType::String, Device::CPU, op);
  CORTEN_CHECK_VALUE(static_cast<size_t>(out.numel()) == ends_.size(), op, ": built ", ends_.size(),
                     " strings for a tensor of shape ", shape_str(shape));
  if (ends_.empty()) return out;
  auto bytes = std::make_shared<const std::string>(std::move(bytes_));
  out.storage()->keep_bytes(bytes);
  auto* refs = out.data<StringRef>();
  size_t begin = 0;
  for (size_t i = 0; i < ends_.size(); ++i) {
    refs[i] = StringRef{bytes->data() + begin, static_cast<int64_t>(ends_[i] - begin)};
    begin = ends_[i];
  }
  return out;
}

std::vector<std::string_view> string_values(const Tensor& t) {
  std::vector<std::string_view> values;
  const int64_t n = t.numel();
  values.reserve(static_cast<size_t>(n));
  if (n == 0) return values;
  const auto* base = t.data<StringRef>();
  const Shape& shape = t.shape();
  const Shape& strides = t.strides();
  const auto rank = static_cast<int64_t>(shape.size());
  Shape index(shape.size(), 0);
  int64_t at = 0;
  for (int64_t i = 0; i < n; ++i) {
    values.push_back(base[at].view());
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) {
        at += strides[d];
        break;
      }
      at -= (shape[d] - 1) * strides[d];
      index[d] = 0;
    }
  }
  return values;
}

void share_string_bytes(const Tensor& out, const Tensor& src) {
  if (out.dtype() != DType::String || !out.storage() || !src.storage()) return;
  out.storage()->keep_bytes_of(*src.storage());
}

}  // namespace corten
