// Note [Node attributes]
// ~~~~~~~~~~~~~~~~~~~~~~
// A node's replay function calls its op's entry point again with the non-tensor arguments of
// the traced call: an axis, a shape, an activation, a sub-plan. Those arguments are also kept
// as data, the node's attributes, so that a plan can be compared with another one node by node
// (reduce_retracing: two traces at different sizes that agree everywhere else make one plan
// for every size, Note [Relaxed plans] in trace/relax.cpp) and, later, written to a file.
//
// So that the attributes are all a replay depends on, OpRecord::record takes the replay as a
// lambda that captures nothing (a static_assert checks it) and the attributes as the values it
// is called with: replay(inputs, attrs...). What a replay cannot take as a value (a stateful
// random stream) is an attribute by identity. A struct of options is flattened by its own
// append_attr overload (csrc/ops/op_attrs.h), found by argument-dependent lookup.

#include <corten/trace.h>

#include <cstring>

namespace corten::trace {

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

bool Attr::operator==(const Attr& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::Int:
      return i == o.i;
    case Kind::Float:
      return same_bits(f, o.f);
    case Kind::String:
      return s == o.s;
    case Kind::Ints:
      return ints == o.ints;
    case Kind::Floats:
      if (floats.size() != o.floats.size()) return false;
      for (size_t k = 0; k < floats.size(); ++k) {
        if (!same_bits(floats[k], o.floats[k])) return false;
      }
      return true;
    case Kind::SubPlan:
      if (!plan || !o.plan) return plan == o.plan;
      return plan == o.plan || plan->same_computation(*o.plan);
    case Kind::Identity:
      return identity == o.identity;
  }
  return false;
}

void append_attr(Attrs& a, double v) {
  Attr x;
  x.kind = Attr::Kind::Float;
  x.f = v;
  a.push_back(std::move(x));
}

void append_attr(Attrs& a, const std::string& v) {
  Attr x;
  x.kind = Attr::Kind::String;
  x.s = v;
  a.push_back(std::move(x));
}

void append_attr(Attrs& a, const std::vector<int64_t>& v) {
  Attr x;
  x.kind = Attr::Kind::Ints;
  x.ints = v;
  a.push_back(std::move(x));
}

void append_attr(Attrs& a, const std::vector<uint8_t>& v) {
  append_attr(a, std::vector<int64_t>(v.begin(), v.end()));
}

void append_attr(Attrs& a, const std::vector<double>& v) {
  Attr x;
  x.kind = Attr::Kind::Floats;
  x.floats = v;
  a.push_back(std::move(x));
}

void append_attr(Attrs& a, const std::vector<std::pair<int64_t, int64_t>>& v) {
  std::vector<int64_t> flat;
  for (const auto& [lo, hi] : v) {
    flat.push_back(lo);
    flat.push_back(hi);
  }
  append_attr(a, flat);
}

void append_attr(Attrs& a, const std::shared_ptr<const Plan>& v) {
  Attr x;
  x.kind = Attr::Kind::SubPlan;
  x.plan = v;
  a.push_back(std::move(x));
}

void append_attr(Attrs& a, const std::shared_ptr<Plan>& v) {
  append_attr(a, std::shared_ptr<const Plan>(v));
}

void append_identity(Attrs& a, const void* object) {
  Attr x;
  x.kind = Attr::Kind::Identity;
  x.identity = object;
  a.push_back(std::move(x));
}

}  // namespace corten::trace
