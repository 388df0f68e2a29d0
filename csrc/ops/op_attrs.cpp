#include "ops/op_attrs.h"

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

}  // namespace corten
