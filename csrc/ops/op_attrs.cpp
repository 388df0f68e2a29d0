#include "ops/op_attrs.h"

#include <corten/trace_registry.h>

namespace corten {

using trace::append_attr;

void append_attr(trace::Attrs& a, const ConvOptions& o) {
  append_attr(a, o.strides);
  append_attr(a, o.dilations);
  append_attr(a, o.padding);
  append_attr(a, o.groups);
  append_attr(a, o.channels_last);
  append_attr(a, o.reference);
}

void append_attr(trace::Attrs& a, const UpdateCommon& o) {
  append_attr(a, std::vector<double>{o.learning_rate, o.weight_decay, o.grad_scale, o.clip_value});
}

void append_attr(trace::Attrs& a, const SgdOptions& o) {
  append_attr(a, static_cast<const UpdateCommon&>(o));
  append_attr(a, o.momentum);
  append_attr(a, o.nesterov);
}

void append_attr(trace::Attrs& a, const AdamOptions& o) {
  append_attr(a, static_cast<const UpdateCommon&>(o));
  append_attr(a, std::vector<double>{o.beta_1, o.beta_2, o.epsilon, o.step});
  append_attr(a, o.amsgrad);
}

void append_attr(trace::Attrs& a, const RmspropOptions& o) {
  append_attr(a, static_cast<const UpdateCommon&>(o));
  append_attr(a, std::vector<double>{o.rho, o.momentum, o.epsilon});
  append_attr(a, o.centered);
}

void append_attr(trace::Attrs& a, const AdagradOptions& o) {
  append_attr(a, static_cast<const UpdateCommon&>(o));
  append_attr(a, o.epsilon);
}

void append_attr(trace::Attrs& a, const AdadeltaOptions& o) {
  append_attr(a, static_cast<const UpdateCommon&>(o));
  append_attr(a, std::vector<double>{o.rho, o.epsilon});
}

void append_attr(trace::Attrs& a, const AdamaxOptions& o) {
  append_attr(a, static_cast<const UpdateCommon&>(o));
  append_attr(a, std::vector<double>{o.beta_1, o.beta_2, o.epsilon, o.step});
}

void append_attr(trace::Attrs& a, const NadamOptions& o) {
  append_attr(a, static_cast<const UpdateCommon&>(o));
  append_attr(a, std::vector<double>{o.beta_1, o.beta_2, o.epsilon, o.step, o.u_product});
}

void append_attr(trace::Attrs& a, const PhiloxSeed& s) {
  append_attr(a, static_cast<int64_t>(s.key));
  append_attr(a, static_cast<int64_t>(s.offset));
}

void append_attr(trace::Attrs& a, const PhiloxStream& s) {
  append_attr(a, static_cast<int64_t>(s.key));
}

void append_attr(trace::Attrs& a, const std::vector<IndexItem>& items) {
  std::vector<int64_t> flat;
  for (const IndexItem& it : items) {
    flat.insert(flat.end(), {static_cast<int64_t>(it.kind), it.index, it.has_start, it.has_stop,
                             it.start, it.stop, it.step});
  }
  append_attr(a, flat);
}

ConvOptions read_struct_attr(const std::string& op, const trace::Attrs& a, size_t& pos,
                             ConvOptions*) {
  using trace::detail::read_attr;
  ConvOptions o;
  o.strides = read_attr<std::vector<int64_t>>(op, a, pos);
  o.dilations = read_attr<std::vector<int64_t>>(op, a, pos);
  o.padding = read_attr<std::vector<int64_t>>(op, a, pos);
  o.groups = read_attr<int64_t>(op, a, pos);
  o.channels_last = read_attr<bool>(op, a, pos);
  o.reference = read_attr<bool>(op, a, pos);
  return o;
}

std::vector<IndexItem> read_struct_attr(const std::string& op, const trace::Attrs& a, size_t& pos,
                                        std::vector<IndexItem>*) {
  const size_t at = pos;
  const auto flat = trace::detail::read_attr<std::vector<int64_t>>(op, a, pos);
  constexpr size_t kFields = 7;
  if (flat.size() % kFields) trace::detail::bad_attr(op, at, "a list of index items");
  std::vector<IndexItem> items;
  for (size_t i = 0; i < flat.size(); i += kFields) {
    const int64_t kind = flat[i];
    if (kind < IndexItem::Int || kind > IndexItem::NewAxis || flat[i + 2] < 0 || flat[i + 2] > 1 ||
        flat[i + 3] < 0 || flat[i + 3] > 1) {
      trace::detail::bad_attr(op, at, "a list of index items");
    }
    IndexItem it;
    it.kind = static_cast<IndexItem::Kind>(kind);
    it.index = flat[i + 1];
    it.has_start = flat[i + 2] != 0;
    it.has_stop = flat[i + 3] != 0;
    it.start = flat[i + 4];
    it.stop = flat[i + 5];
    it.step = flat[i + 6];
    items.push_back(it);
  }
  return items;
}

}  // namespace corten
