#pragma once
/// Replays rebuilt from their attributes, so that a plan read from a file runs in a process that
/// never traced it (Note [Saved plans] in csrc/trace/serialize.cpp).
///
/// An op whose nodes can be saved declares its replay once, as a named functor, and uses it
/// both where it records and in a registration:
///
///     struct LinearReplay {
///       static constexpr InputCount kInputs{2, 3};  // checked when a plan is read
///       Tensors operator()(const Tensors& in, Activation act) const { ... }
///     };
///     const trace::ReplayRegistration<LinearReplay, Activation> kLinear("linear");
///     ...
///     rec.record("linear", {x, w, bias}, {out}, LinearReplay{}, act);

#include <corten/errors.h>
#include <corten/trace.h>

#include <climits>
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

/// How many inputs a replay reads: a saved plan's node could name any number, and a replay
/// indexes its inputs unchecked once the count fits. Undefined inputs (an absent bias) count.
struct InputCount {
  static constexpr int32_t kAny = INT32_MAX;
  int32_t min = 0, max = 0;
  constexpr InputCount(int32_t n) : min(n), max(n) {}  // NOLINT(google-explicit-constructor)
  constexpr InputCount(int32_t lo, int32_t hi) : min(lo), max(hi) {}
};

/// Registers the factory of `op`'s replays (at static initialisation, by ReplayRegistration).
void register_replay(const char* op, ReplayFactory factory, InputCount inputs);
/// Whether `op` has a registered replay.
bool has_replay(const std::string& op);
/// The replay of `op` bound to `attrs`, for a node with `num_inputs` inputs; ValueError naming
/// the op when none is registered, or the inputs or attributes do not fit its arguments.
ReplayFn rebuild_replay(const std::string& op, const Attrs& attrs, size_t num_inputs);

namespace detail {
[[noreturn]] void bad_attr(const std::string& op, size_t pos, const char* want);

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// An option struct (ConvOptions, say) is read by a `read_struct_attr(op, attrs, pos, (T*)0)`
/// found by argument-dependent lookup beside its append_attr.
template <class T, class = void>
struct has_struct_reader : std::false_type {};
template <class T>
struct has_struct_reader<T, std::void_t<decltype(read_struct_attr(
                                std::declval<const std::string&>(), std::declval<const Attrs&>(),
                                std::declval<size_t&>(), static_cast<T*>(nullptr)))>>
    : std::true_type {};

/// The inverse of append_attr: the value at attrs[pos], advancing pos.
template <class T>
T read_attr(const std::string& op, const Attrs& a, size_t& pos) {
  if constexpr (is_optional<T>::value) {
    const bool has = read_attr<bool>(op, a, pos);
    if (!has) return std::nullopt;
    return read_attr<typename T::value_type>(op, a, pos);
  } else if constexpr (has_struct_reader<T>::value) {
    return read_struct_attr(op, a, pos, static_cast<T*>(nullptr));
  } else {
    if (pos >= a.size()) bad_attr(op, pos, "another attribute");
    const Attr& x = a[pos++];
    if constexpr (std::is_same_v<T, bool>) {
      if (x.kind != Attr::Kind::Int || (x.i != 0 && x.i != 1)) bad_attr(op, pos - 1, "a bool");
      return x.i != 0;
    } else if constexpr (std::is_same_v<T, DType>) {
      if (x.kind != Attr::Kind::Int || x.i < 0 || x.i > static_cast<int64_t>(kLastDType)) {
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
    } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
      if (x.kind != Attr::Kind::Ints) bad_attr(op, pos - 1, "a list of integers");
      std::vector<uint8_t> out;
      for (const int64_t v : x.ints) {
        if (v < 0 || v > 255) bad_attr(op, pos - 1, "a list of bytes");
        out.push_back(static_cast<uint8_t>(v));
      }
      return out;
    } else if constexpr (std::is_same_v<T, std::vector<std::pair<int64_t, int64_t>>>) {
      if (x.kind != Attr::Kind::Ints || x.ints.size() % 2) {
        bad_attr(op, pos - 1, "a list of integer pairs");
      }
      std::vector<std::pair<int64_t, int64_t>> out;
      for (size_t i = 0; i < x.ints.size(); i += 2) out.emplace_back(x.ints[i], x.ints[i + 1]);
      return out;
    } else {
      static_assert(sizeof(T) == 0, "read_attr: no reader for this attribute type");
    }
  }
}
/// Whether F has `static void validate(const std::string& op, const A&...)`, a check of
/// attributes read from a file beyond their types (called once, when the plan is read).
template <class Void, class F, class... A>
struct has_validate : std::false_type {};
template <class F, class... A>
struct has_validate<std::void_t<decltype(F::validate(std::declval<const std::string&>(),
                                                     std::declval<const A&>()...))>,
                    F, A...> : std::true_type {};
}  // namespace detail

/// Registers `F` (a functor called as F{}(inputs, A...), with its InputCount as F::kInputs
/// and optionally a static validate(op, A...)) as the replay of `op`. With several names, one
/// replay serves a family of ops (every unary op, say). A registered replay never writes its inputs
/// or draws random numbers: a loaded plan only computes (Note [Saved plans]).
template <class F, class... A>
struct ReplayRegistration {
  explicit ReplayRegistration(const char* op) { register_replay(op, &factory, F::kInputs); }
  explicit ReplayRegistration(const std::vector<const char*>& ops) {
    for (const char* op : ops) register_replay(op, &factory, F::kInputs);
  }

 private:
  static ReplayFn factory(const std::string& name, const Attrs& attrs) {
    size_t pos = 0;
    // Braced initialisation reads the attributes left to right.
    std::tuple<A...> args{detail::read_attr<A>(name, attrs, pos)...};
    if (pos != attrs.size()) detail::bad_attr(name, pos, "no more attributes");
    if constexpr (detail::has_validate<void, F, A...>::value) {
      std::apply([&](const A&... a) { F::validate(name, a...); }, args);
    }
    return std::apply([](const A&... a) { return OpRecord::bind(F{}, a...); }, args);
  }
};

}  // namespace corten::trace
