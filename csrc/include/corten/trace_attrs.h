#pragma once
/// Node attributes: the non-tensor arguments a traced node replays with, kept as data beside
/// its replay function, so that two plans can be compared node by node (Note [Node
/// attributes] in csrc/trace/attrs.cpp).

#include <corten/dtype.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace corten {
class Tensor;
namespace trace {

class Plan;

/// One attribute value: an integer (bools, enums and dtypes too), a float, a string, a list
/// of integers (shapes, axes) or floats, a sub-plan (a branch or loop body), or the identity
/// of a stateful object the node uses (a random stream), equal only to itself.
struct Attr {
  enum class Kind : uint8_t { Int, Float, String, Ints, Floats, SubPlan, Identity };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::shared_ptr<const Plan> plan;
  const void* identity = nullptr;

  /// Same kind and value; floats compare by bits (so NaN equals NaN and -0.0 differs from
  /// 0.0); sub-plans by Plan::same_computation.
  bool operator==(const Attr& o) const;
  bool operator!=(const Attr& o) const { return !(*this == o); }
};
using Attrs = std::vector<Attr>;

template <class T>
std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>> append_attr(Attrs& a, T v) {
  Attr x;
  x.i = static_cast<int64_t>(v);
  a.push_back(std::move(x));
}
void append_attr(Attrs& a, double v);
void append_attr(Attrs& a, const std::string& v);
void append_attr(Attrs& a, const std::vector<int64_t>& v);
void append_attr(Attrs& a, const std::vector<uint8_t>& v);
void append_attr(Attrs& a, const std::vector<double>& v);
/// Pairs (paddings) as a flat list of integers.
void append_attr(Attrs& a, const std::vector<std::pair<int64_t, int64_t>>& v);
void append_attr(Attrs& a, const std::shared_ptr<Plan>& v);
void append_attr(Attrs& a, const std::shared_ptr<const Plan>& v);
/// A stateful object the node shares with its other replays (a random stream).
void append_identity(Attrs& a, const void* object);
template <class T>
void append_attr(Attrs& a, const std::optional<T>& v) {
  append_attr(a, v.has_value());
  if (v) append_attr(a, *v);
}
template <class T>
void append_attr(Attrs& a, const std::shared_ptr<T>& v) = delete;  // say what identifies it
void append_attr(Attrs& a, const Tensor&) = delete;                // tensors are the node's inputs

}  // namespace trace
}  // namespace corten
