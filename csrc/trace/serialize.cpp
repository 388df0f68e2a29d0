// Note [Saved plans]
// ~~~~~~~~~~~~~~~~~~
// A plan is written as a JSON document (schema in docs/model_format.md): its inputs' dtypes
// and shapes (None dimensions as null), its captures by name and declared dtype and shape, its
// nodes in order (op name, input references, output slots, attributes as typed values) and its
// outputs. The captured tensors themselves are not in the document: the caller names them and
// supplies them again when reading (a model's weights live in its weights file).
//
// Reading builds the replays again from the registry of op replays (corten/trace_registry.h):
// a node's op name and attributes are all it needs, so a plan runs in a process that never
// traced it and no code comes from the file. Everything read is checked before use: the
// format and version, every reference (a node reads only function inputs, captures or slots
// written by an earlier node, so a document cannot describe a cycle or a dangling edge), the
// slot count, the shapes, the attributes against the op's argument types (enumerators in
// range), and each capture's dtype and shape against its declaration. Only nodes without an
// effect are saved: a loaded plan computes, it never writes variables or draws random numbers.

#include <corten/trace.h>
#include <corten/trace_registry.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "core/json.h"

namespace corten::trace {

namespace {

constexpr int64_t kFormatVersion = 1;
constexpr int64_t kMaxSlots = int64_t{1} << 24;
constexpr int64_t kMaxNodes = int64_t{1} << 22;

struct Registered {
  ReplayFactory factory;
  InputCount inputs;
};

std::unordered_map<std::string, Registered>& registry() {
  static std::unordered_map<std::string, Registered> table;
  return table;
}

void write_string(std::ostringstream& o, const std::string& s) {
  o << '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      o << '\\' << c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      o << buf;
    } else {
      o << c;
    }
  }
  o << '"';
}

void write_double(std::ostringstream& o, double v) {
  if (std::isnan(v)) {
    o << "\"nan\"";
  } else if (std::isinf(v)) {
    o << (v > 0 ? "\"inf\"" : "\"-inf\"");
  } else {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    o << buf;
  }
}

void write_shape(std::ostringstream& o, const Shape& shape) {
  o << '[';
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d) o << ',';
    if (shape[d] == kUnknownDim) {
      o << "null";
    } else {
      o << shape[d];
    }
  }
  o << ']';
}

template <class T, class W>
void write_list(std::ostringstream& o, const std::vector<T>& v, W write) {
  o << '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) o << ',';
    write(v[i]);
  }
  o << ']';
}

}  // namespace

void register_replay(const char* op, ReplayFactory factory, InputCount inputs) {
  registry().insert_or_assign(op, Registered{factory, inputs});
}

bool has_replay(const std::string& op) { return registry().count(op) != 0; }

ReplayFn rebuild_replay(const std::string& op, const Attrs& attrs, size_t num_inputs) {
  const auto it = registry().find(op);
  CORTEN_CHECK_VALUE(it != registry().end(), "saved plan: op '", op,
                     "' cannot be loaded by this version of corten (no registered replay)");
  const InputCount want = it->second.inputs;
  const auto n = static_cast<int64_t>(num_inputs);
  if (n < want.min || n > want.max) {
    throw ValueError(corten::detail::str_cat("saved plan: op '", op, "' takes ", want.min,
                                             want.max == want.min ? std::string()
                                             : want.max == InputCount::kAny
                                                 ? std::string(" or more")
                                                 : corten::detail::str_cat(" to ", want.max),
                                             " inputs; the node has ", n));
  }
  return it->second.factory(op, attrs);
}

void detail::bad_attr(const std::string& op, size_t pos, const char* want) {
  throw ValueError(corten::detail::str_cat("saved plan: the attributes of op '", op,
                                   "' do not fit its arguments: attribute ", pos, " should be ",
                                   want));
}

std::string Plan::to_json(const std::vector<std::string>& capture_names) const {
  CORTEN_CHECK_VALUE(capture_names.size() == captures_.size(), "Plan.to_json: ",
                     captures_.size(), " captures need as many names; got ",
                     capture_names.size());
  CORTEN_CHECK_VALUE(num_implicit_ == 0 && !sub_,
                     "Plan.to_json: only a function's plan can be saved, not a sub-plan");
  std::ostringstream o;
  o << "{\"format\":\"corten.plan\",\"version\":" << kFormatVersion
    << ",\"num_slots\":" << num_slots_ << ",\"inputs\":[";
  for (size_t i = 0; i < input_shapes_.size(); ++i) {
    if (i) o << ',';
    o << "{\"slot\":" << input_slots_[i] << ",\"dtype\":\"" << dtype_name(input_dtypes_[i])
      << "\",\"shape\":";
    write_shape(o, input_shapes_[i]);
    o << '}';
  }
  o << "],\"captures\":[";
  for (size_t i = 0; i < captures_.size(); ++i) {
    if (i) o << ',';
    o << "{\"name\":";
    write_string(o, capture_names[i]);
    o << ",\"dtype\":\"" << dtype_name(captures_[i].dtype()) << "\",\"shape\":";
    write_shape(o, captures_[i].shape());
    o << '}';
  }
  o << "],\"nodes\":[";
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    CORTEN_CHECK_VALUE(
        node.effect == Effect::None, "Plan.to_json: node ", n, " ('", node.op,
        "') writes a variable, draws random numbers or communicates; only computations are "
        "saved (trace the model with training=False)");
    CORTEN_CHECK_VALUE(has_replay(node.op), "Plan.to_json: op '", node.op,
                       "' (node ", n, ") cannot be saved yet: it has no registered replay");
    if (n) o << ',';
    o << "{\"op\":";
    write_string(o, node.op);
    o << ",\"inputs\":";
    write_list(o, node.inputs, [&](int32_t r) { o << r; });
    o << ",\"first_output\":" << node.first_output << ",\"num_outputs\":" << node.num_outputs
      << ",\"attrs\":";
    write_list(o, node.attrs, [&](const Attr& a) {
      switch (a.kind) {
        case Attr::Kind::Int: o << "{\"int\":" << a.i << '}'; break;
        case Attr::Kind::Float:
          o << "{\"float\":";
          write_double(o, a.f);
          o << '}';
          break;
        case Attr::Kind::String:
          o << "{\"string\":";
          write_string(o, a.s);
          o << '}';
          break;
        case Attr::Kind::Ints:
          o << "{\"ints\":";
          write_list(o, a.ints, [&](int64_t v) { o << v; });
          o << '}';
          break;
        case Attr::Kind::Floats:
          o << "{\"floats\":";
          write_list(o, a.floats, [&](double v) { write_double(o, v); });
          o << '}';
          break;
        case Attr::Kind::SubPlan:
        case Attr::Kind::Identity:
          throw ValueError(corten::detail::str_cat("Plan.to_json: op '", node.op, "' (node ", n,
                                           ") holds a sub-plan or a stateful object, which a "
                                           "saved plan cannot hold yet"));
      }
    });
    o << '}';
  }
  o << "],\"outputs\":";
  write_list(o, outputs_, [&](int32_t r) { o << r; });
  o << '}';
  return o.str();
}

namespace {

// Reads one saved plan document, with every check of Note [Saved plans].
struct PlanReader {
  const std::string& source;

  [[noreturn]] void fail(const std::string& why) const {
    throw ValueError(corten::detail::str_cat("Cannot load the plan of '", source, "': ", why));
  }
  const Json& member(const Json& v, const char* key, Json::Kind kind, const char* what) const {
    const Json* m = json_member(v, key);
    if (!m || m->kind != kind) fail(corten::detail::str_cat(what, " has no valid '", key, "'"));
    return *m;
  }
  int64_t integer(const Json& v, const char* key, const char* what, int64_t lo,
                  int64_t hi) const {
    const Json& m = member(v, key, Json::Kind::Int, what);
    if (m.integer < lo || m.integer > hi) {
      fail(corten::detail::str_cat(what, "'s '", key, "' is ", m.integer, ", outside [", lo, ", ", hi,
                           "]"));
    }
    return m.integer;
  }
  DType dtype(const Json& v, const char* what) const {
    const std::string& name = member(v, "dtype", Json::Kind::String, what).string;
    for (int t = 0; t <= static_cast<int>(kLastDType); ++t) {
      if (name == dtype_name(static_cast<DType>(t))) return static_cast<DType>(t);
    }
    fail(corten::detail::str_cat(what, " has the unknown dtype '", name, "'"));
  }
  Shape shape(const Json& v, const char* what) const {
    const Json& list = member(v, "shape", Json::Kind::Array, what);
    if (list.array.size() > static_cast<size_t>(kMaxRank)) {
      fail(corten::detail::str_cat(what, " has rank ", list.array.size(), ", above ", kMaxRank));
    }
    Shape out;
    for (const Json& d : list.array) {
      if (d.kind == Json::Kind::Null) {
        out.push_back(kUnknownDim);
      } else if (d.kind == Json::Kind::Int && d.integer >= 0 && d.integer <= (int64_t{1} << 40)) {
        out.push_back(d.integer);
      } else {
        fail(corten::detail::str_cat(what, " has an invalid dimension"));
      }
    }
    return out;
  }
  double number(const Json& v, const char* what) const {
    if (v.kind == Json::Kind::Int) return static_cast<double>(v.integer);
    if (v.kind == Json::Kind::Double) return std::strtod(v.string.c_str(), nullptr);
    if (v.kind == Json::Kind::String) {
      if (v.string == "nan") return std::nan("");
      if (v.string == "inf") return HUGE_VAL;
      if (v.string == "-inf") return -HUGE_VAL;
    }
    fail(corten::detail::str_cat(what, " is not a number"));
  }
  Attr attr(const Json& v, const std::string& op) const {
    const std::string what = "an attribute of op '" + op + "'";
    if (v.kind != Json::Kind::Object || v.object.size() != 1) fail(what + " is not {kind: value}");
    const auto& [kind, value] = v.object[0];
    Attr a;
    if (kind == "int" && value.kind == Json::Kind::Int) {
      a.kind = Attr::Kind::Int;
      a.i = value.integer;
    } else if (kind == "float") {
      a.kind = Attr::Kind::Float;
      a.f = number(value, what.c_str());
    } else if (kind == "string" && value.kind == Json::Kind::String) {
      a.kind = Attr::Kind::String;
      a.s = value.string;
    } else if (kind == "ints" && value.kind == Json::Kind::Array) {
      a.kind = Attr::Kind::Ints;
      for (const Json& x : value.array) {
        if (x.kind != Json::Kind::Int) fail(what + " lists a non-integer");
        a.ints.push_back(x.integer);
      }
    } else if (kind == "floats" && value.kind == Json::Kind::Array) {
      a.kind = Attr::Kind::Floats;
      for (const Json& x : value.array) a.floats.push_back(number(x, what.c_str()));
    } else {
      fail(what + " has the unknown kind '" + kind + "'");
    }
    return a;
  }
};

}  // namespace

std::shared_ptr<Plan> Plan::from_json(
    const std::string& text, const std::string& source,
    const std::function<Tensor(size_t, const std::string&)>& capture) {
  const PlanReader r{source};
  const Json root = parse_json(
      text, corten::detail::str_cat("Cannot load the plan of '", source, "': it is not valid JSON ("), ")");
  if (root.kind != Json::Kind::Object) r.fail("the document is not a JSON object");
  const Json* format = json_member(root, "format");
  if (!format || format->kind != Json::Kind::String || format->string != "corten.plan") {
    r.fail("it is not a corten plan (no \"format\": \"corten.plan\")");
  }
  const int64_t version = r.integer(root, "version", "the document", 1, INT32_MAX);
  if (version > kFormatVersion) {
    r.fail(corten::detail::str_cat("it has version ", version, ", written by a newer corten; this one "
                           "reads version ", kFormatVersion));
  }
  auto plan = std::make_shared<Plan>();
  plan->num_slots_ = static_cast<int32_t>(r.integer(root, "num_slots", "the document", 0, kMaxSlots));
  std::vector<char> defined(static_cast<size_t>(plan->num_slots_), 0);
  plan->slot_types_.resize(static_cast<size_t>(plan->num_slots_));
  for (const Json& in : r.member(root, "inputs", Json::Kind::Array, "the document").array) {
    const auto slot = static_cast<int32_t>(r.integer(in, "slot", "an input", 0, plan->num_slots_ - 1));
    if (defined[static_cast<size_t>(slot)]) r.fail(corten::detail::str_cat("slot ", slot, " is filled twice"));
    defined[static_cast<size_t>(slot)] = 1;
    plan->input_slots_.push_back(slot);
    plan->input_dtypes_.push_back(r.dtype(in, "an input"));
    plan->input_shapes_.push_back(r.shape(in, "an input"));
  }
  const auto& captures = r.member(root, "captures", Json::Kind::Array, "the document").array;
  for (size_t i = 0; i < captures.size(); ++i) {
    const Json& c = captures[i];
    const std::string& name = r.member(c, "name", Json::Kind::String, "a capture").string;
    const DType want_dtype = r.dtype(c, "a capture");
    const Shape want_shape = r.shape(c, "a capture");
    Tensor t = capture(i, name);
    if (!t.defined()) r.fail(corten::detail::str_cat("the capture '", name, "' is missing"));
    if (t.dtype() != want_dtype || t.shape() != want_shape) {
      r.fail(corten::detail::str_cat("the capture '", name, "' is ", dtype_name(t.dtype()), " of shape ",
                             show(t.shape()), "; the plan expects ", dtype_name(want_dtype),
                             " of shape ", show(want_shape)));
    }
    plan->captures_.push_back(std::move(t));
  }
  const auto num_captures = static_cast<int64_t>(plan->captures_.size());
  auto check_ref = [&](const Json& v, const std::string& what) -> int32_t {
    if (v.kind != Json::Kind::Int) r.fail(what + " is not an integer");
    const int64_t ref = v.integer;
    if (ref == kUndefined) return kUndefined;
    if (ref >= 0) {
      if (ref >= plan->num_slots_ || !defined[static_cast<size_t>(ref)]) {
        r.fail(corten::detail::str_cat(what, " reads slot ", ref, ", which no input or earlier node fills"));
      }
    } else if (-1 - ref >= num_captures) {
      r.fail(corten::detail::str_cat(what, " reads capture ", -1 - ref, " of ", num_captures));
    }
    return static_cast<int32_t>(ref);
  };
  const auto& nodes = r.member(root, "nodes", Json::Kind::Array, "the document").array;
  if (static_cast<int64_t>(nodes.size()) > kMaxNodes) r.fail("it has too many nodes");
  for (size_t n = 0; n < nodes.size(); ++n) {
    const Json& j = nodes[n];
    Node node;
    node.op = r.member(j, "op", Json::Kind::String, "a node").string;
    const std::string what = corten::detail::str_cat("node ", n, " ('", node.op, "')");
    for (const Json& v : r.member(j, "inputs", Json::Kind::Array, what.c_str()).array) {
      node.inputs.push_back(check_ref(v, what + "'s input"));
    }
    node.num_outputs = static_cast<int32_t>(r.integer(j, "num_outputs", what.c_str(), 0, 1024));
    node.first_output = static_cast<int32_t>(
        r.integer(j, "first_output", what.c_str(), 0, plan->num_slots_ - node.num_outputs));
    for (int32_t k = 0; k < node.num_outputs; ++k) {
      const auto slot = static_cast<size_t>(node.first_output + k);
      if (defined[slot]) r.fail(corten::detail::str_cat(what, " writes slot ", slot, ", already filled"));
      defined[slot] = 1;
    }
    for (const Json& a : r.member(j, "attrs", Json::Kind::Array, what.c_str()).array) {
      node.attrs.push_back(r.attr(a, node.op));
    }
    node.replay = rebuild_replay(node.op, node.attrs, node.inputs.size());
    plan->nodes_.push_back(std::move(node));
  }
  for (const Json& v : r.member(root, "outputs", Json::Kind::Array, "the document").array) {
    plan->outputs_.push_back(check_ref(v, "an output"));
  }
  compute_releases(plan->nodes_, plan->outputs_, plan->num_slots_);
  plan->find_dense_chain();
  return plan;
}

}  // namespace corten::trace
