#pragma once
/// Replays rebuilt from their attributes, so that a plan read from a file runs in a process that
/// never traced it (Note [Saved plans] in csrc/trace/serialize.cpp).
///
/// An op whose nodes can be saved declares its replay once, as a named functor, and uses it
/// both where it records and in a registration:
///
///     struct LinearReplay {
///       Tensors operator()(const Tensors& in, Activation act) const { ... }
///     };
///     const trace::ReplayRegistration<LinearReplay, Activation> kLinear("linear");
///     ...
///     rec.record("linear", {x, w, bias}, {out}, LinearReplay{}, act);

#include <corten/errors.h>
#include <corten/trace.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace corten::trace {

/// Binds an op's replay to attributes read from a file.
using ReplayFactory = ReplayFn (*)(const std::string& op, const Attrs& attrs);

/// Registers the factory of `op`'s replays (at static initialisation, by ReplayRegistration).
void register_replay(const char* op, ReplayFactory factory);
/// Whether `op` has a registered replay.
bool has_replay(const std::string& op);
/// The replay of `op` bound to `attrs`; ValueError naming the op when none is registered or the
/// attributes do not fit its arguments.
ReplayFn rebuild_replay(const std::string& op, const Attrs& attrs);

namespace detail {
[[noreturn]] void bad_attr(const std::string& op, size_t pos, const char* want);

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// The inverse of append_attr: the value at attrs[pos], advancing pos.
template <class T>
T read_attr(const std::string& op, const Attrs& a, size_t& pos) {
  if constexpr (is_optional<T>::value) {
    const bool has = read_attr<bool>(op, a, pos);
    if (!has) return std::nullopt;
    return read_attr<typename T::value_type>(op, a, pos);
  } else {
    if (pos >= a.size()) bad_attr(op, pos, "another attribute");
    const Attr& x = a[pos++];
    if constexpr (std::is_same_v<T, bool>) {
      if (x.kind != Attr::Kind::Int || (x.i != 0 && x.i != 1)) bad_attr(op, pos - 1, "a bool");
      return x.i != 0;
    } else if constexpr (std::is_same_v<T, DType>) {
      if (x.kind != Attr::Kind::Int || x.i < 0 || x.i > static_cast<int64_t>(DType::String)) {
        bad_attr(op, pos - 1, "a dtype");
      }
      return static_cast<DType>(x.i);
    } else if constexpr (std::is_enum_v<T>) {
      // Every saved enum has a kCount: a value from a file is checked against it.
      if (x.kind != Attr::Kind::Int || x.i < 0 || x.i >= static_cast<int64_t>(T::kCount)) {
        bad_attr(op, pos - 1, "an enumerator in range");
      }
      return static_cast<T>(x.i);
    } else if constexpr (std::is_integral_v<T>) {
      if (x.kind != Attr::Kind::Int) bad_attr(op, pos - 1, "an integer");
      return static_cast<T>(x.i);
    } else if constexpr (std::is_same_v<T, double>) {
      if (x.kind != Attr::Kind::Float) bad_attr(op, pos - 1, "a float");
      return x.f;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (x.kind != Attr::Kind::String) bad_attr(op, pos - 1, "a string");
      return x.s;
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
      if (x.kind != Attr::Kind::Ints) bad_attr(op, pos - 1, "a list of integers");
      return x.ints;
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      if (x.kind != Attr::Kind::Floats) bad_attr(op, pos - 1, "a list of floats");
      return x.floats;
    } else {
      static_assert(sizeof(T) == 0, "read_attr: no reader for this attribute type");
    }
  }
}
}  // namespace detail

/// A replay's check of its input count: a saved plan's node could name any number.
inline void check_replay_inputs(const Tensors& in, size_t n, const char* op) {
  CORTEN_CHECK_VALUE(in.size() == n, op, ": expected ", n, " inputs; got ", in.size());
}

/// Registers `F` (a functor called as F{}(inputs, A...)) as the replay of `op`.
/// With several names, one replay serves a family of ops (every unary op, say).
template <class F, class... A>
struct ReplayRegistration {
  explicit ReplayRegistration(const char* op) { register_replay(op, &factory); }
  explicit ReplayRegistration(const std::vector<const char*>& ops) {
    for (const char* op : ops) register_replay(op, &factory);
  }

 private:
  static ReplayFn factory(const std::string& name, const Attrs& attrs) {
    size_t pos = 0;
    // Braced initialisation reads the attributes left to right.
    std::tuple<A...> args{detail::read_attr<A>(name, attrs, pos)...};
    if (pos != attrs.size()) detail::bad_attr(name, pos, "no more attributes");
    return std::apply([](const A&... a) { return OpRecord::bind(F{}, a...); }, args);
  }
};

}  // namespace corten::trace
