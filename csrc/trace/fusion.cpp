// Note [Pointwise fusion]
// A traced step is full of short chains of elementwise ops: a loss's backward, an activation's
// derivative, the KL term of a VAE. Run one node at a time, each op reads its operands from
// memory and writes a full-size result that the next op reads again; on tensors of a few
// hundred KB the step's elementwise time is memory traffic, plus one allocation and one
// dispatch per op. The fusion pass (fuse_pointwise, called by trace::end) merges such ops into
// one node that runs a small program (cpu/fused_elementwise.h) tile by tile: each
// intermediate lives in an L1-sized tile and only the values that something outside the group
// reads are written out. No code is generated: the program calls the same row kernels as the
// unfused ops, in the same order per element, so a fused plan gives the unfused plan's results
// bit for bit.
//
// Which nodes join: elementwise nodes (recorded with record_pointwise) whose result has the
// dtype of their operands (float32 or float64, so no comparisons) and whose operands each
// broadcast to the result's shape (a contiguous tensor of that shape is read in place, a
// single value as a scalar, any other layout a row segment at a time into the tile). A node joins
// the open groups that produced its operands, when they have its shape and dtype. A group executes
// at the position of its last member, so it is closed (takes no more members) as soon as:
//   - a node outside it reads one of its values: that node needs the value before the group's
//     later members would run;
//   - a node that writes in place runs: members read Variables, and must read them before the
//     write, as they were traced.
// A value of a group that a node outside it, or the plan's return, reads becomes an output of
// the fused node; the others never leave the tile.
//
// Note [Row reductions in fused nodes]
// A loss is usually an elementwise chain ending in a mean over the last axis (Keras's
// mean_squared_error: mean(square(y_pred - y_true), axis=-1)). Unfused, the chain writes its
// last value in full and the reduction reads it back. A float32/float64 sum or mean of the last
// axis alone (recorded with Pointwise::last_axis) whose input is a group's value ends that
// group instead: the fused node runs tiles of whole rows and reduces each tile's rows while they
// are in L1 (cpu::reduce_last_axis_rows: the same row sums as reduce(), so the same bits), and
// the row results are one more output. The group closes there, so that the results exist where
// the reduction stood. Rows longer than a tile go through a full array and cpu::reduce after
// the tiles. The reduced value is stored only if something else reads it; reduce_grad reads it
// only for its shape, so it reads another value of that shape instead (one the group stores, or
// one of its inputs). Only plans traced on the CPU; the CUDA kernel has no reductions.

#include <corten/errors.h>
#include <corten/ops/elementwise.h>
#include <corten/trace.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>

#include "cpu/fused_elementwise.h"
#include "ops/kernels.h"
#include "trace/passes.h"

namespace corten::trace {

namespace {

// A group with more instructions than this is closed: its tiles stay within L1.
constexpr size_t kMaxGroup = 24;

// One value seen through a shape: a single element, or a broadcast view of one (all strides 0).
bool one_value(const Tensor& t) {
  if (t.numel() == 1) return true;
  const Shape& st = t.strides();
  return std::all_of(st.begin(), st.end(), [](int64_t v) { return v == 0; });
}

// Whether `from` broadcasts to `to` (numpy rules, `from` no longer than `to`).
bool broadcasts_to(const Shape& from, const Shape& to) {
  const size_t lead = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d) {
    if (from[d] != 1 && from[d] != to[lead + d]) return false;
  }
  return true;
}

bool result_keeps_dtype(const Pointwise& pw) {
  return !pw.binary || !op_info(static_cast<BinaryOp>(pw.op)).returns_bool;
}

// Runs a fused node: validates its inputs against the program and allocates its outputs, of
// the broadcast shape of its inputs (a relaxed plan's sizes vary, Note [Relaxed plans]), or of
// `traced` when every input is a single value. Inputs of that shape in C order are read in
// place, others (broadcast views, smaller shapes, transposes) through their strides.
Tensors run_fused(const cpu::FusedProgram& prog, DType dtype, const Shape& traced, bool keepdims,
                  const std::string& name, const Tensors& inputs) {
  const FlushDenormals flush;  // as the ops it replaces (Note [Denormals])
  Shape shape;
  bool sized = false;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& t = inputs[k];
    CORTEN_CHECK_VALUE(t.defined(), name, ": input ", k, " is undefined");
    CORTEN_CHECK_VALUE(t.dtype() == dtype, name, ": input ", k, " must be ", dtype_name(dtype),
                       "; got ", dtype_name(t.dtype()));
    if (one_value(t)) continue;
    shape = sized ? broadcast_shapes(shape, t.shape(), name.c_str()) : t.shape();
    sized = true;
  }
  if (!sized) shape = traced;
  const int64_t n = shape_numel(shape);
  std::vector<cpu::FusedInput> ins(inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& t = inputs[k];
    ins[k].data = t.raw_data();
    if (one_value(t)) {
      ins[k].scalar = n != 1;
    } else if (t.shape() != shape || !t.is_contiguous()) {
      ins[k].strides = broadcast_strides(t.shape(), t.strides(), shape);
    }
  }
  // The inputs' device (a plan traced on a GPU runs there; inputs share one device, as the ops
  // they replace checked while tracing).
  CORTEN_CHECK_VALUE(!inputs.empty(), name, ": a fused node has no inputs");
  const Tensor& first = inputs.front();
  Tensors outs;
  std::vector<void*> out_ptrs;
  for (size_t k = 0; k < prog.stores.size(); ++k) {
    outs.push_back(Tensor::empty(shape, dtype, first.device(), name.c_str(), first.device_index()));
    out_ptrs.push_back(outs.back().raw_data());
  }
  if (prog.reduce >= 0) {  // the row results: the shape without its last axis
    Shape rows(shape.begin(), shape.end() - 1);
    if (keepdims) rows.push_back(1);
    outs.push_back(Tensor::empty(rows, dtype, first.device(), name.c_str(), first.device_index()));
    out_ptrs.push_back(outs.back().raw_data());
  }
  kernels::fused_elementwise(first.device())(prog, dtype, shape, ins, out_ptrs.data());
  return outs;
}

// A fused node's attributes: its program and dtype (its shape comes from its inputs).
Attrs program_attrs(const cpu::FusedProgram& prog, DType dtype, bool keepdims) {
  Attrs a;
  std::vector<int64_t> code;
  std::vector<double> alphas;
  for (const cpu::FusedInstr& in : prog.code) {
    code.insert(code.end(), {in.binary, in.op, in.a, in.b});
    alphas.push_back(in.alpha);
  }
  append_attr(a, code);
  append_attr(a, alphas);
  append_attr(a, std::vector<int64_t>(prog.stores.begin(), prog.stores.end()));
  append_attr(a, prog.num_inputs);
  append_attr(a, dtype);
  append_attr(a, std::vector<int64_t>{prog.reduce, prog.reduce_mean, keepdims});
  return a;
}

struct Group {
  std::vector<size_t> members;  // node indices, in plan order
  bool closed = false;
  std::optional<size_t> reduction;  // the row reduction node it ends with, if any
};

// Whether reduce_grad node `node` reads slot r only for its shape (its input 1).
bool reads_shape_only(const Plan::Node& node, int32_t r) {
  return node.op == "reduce_grad" && node.inputs.size() == 2 && node.inputs[1] == r &&
         node.inputs[0] != r;
}

}  // namespace

FusionStats fuse_pointwise(std::vector<Plan::Node>& nodes, std::vector<int32_t>& outputs,
                           std::vector<Tensor>& slot_values, const std::vector<Tensor>& captures) {
  FusionStats stats;
  const size_t n = nodes.size();
  auto traced = [&](int32_t r) -> const Tensor& {
    static const Tensor undefined;
    if (r == Plan::kUndefined) return undefined;
    return r >= 0 ? slot_values[static_cast<size_t>(r)] : captures[static_cast<size_t>(-1 - r)];
  };
  std::unordered_map<int32_t, size_t> producer;  // slot -> node
  for (size_t i = 0; i < n; ++i) {
    for (int32_t k = 0; k < nodes[i].num_outputs; ++k) producer[nodes[i].first_output + k] = i;
  }
  // Whether node i can be a member: its result's shape and dtype, or null.
  auto member_value = [&](size_t i) -> const Tensor* {
    const Plan::Node& node = nodes[i];
    if (!node.pointwise || node.pointwise->row_reduction || node.num_outputs != 1 ||
        !result_keeps_dtype(*node.pointwise)) {
      return nullptr;
    }
    const Tensor& out = traced(node.first_output);
    if (!out.defined() || out.is_meta() || !is_floating(out.dtype()) || !out.is_contiguous()) {
      return nullptr;
    }
    for (int32_t r : node.inputs) {
      const Tensor& t = traced(r);
      if (!t.defined() || t.is_meta() || t.dtype() != out.dtype()) return nullptr;
      // Any layout of the result's shape, or a shape that broadcasts to it.
      if (!one_value(t) && (t.ndim() > out.ndim() || !broadcasts_to(t.shape(), out.shape()))) {
        return nullptr;
      }
    }
    return &out;
  };

  std::vector<std::unique_ptr<Group>> groups;
  std::vector<Group*> group_of(n, nullptr);
  auto find = [&](size_t i) { return group_of[i]; };
  // The group that row reduction node i can end (Note [Row reductions in fused nodes]), or null.
  auto reduction_target = [&](size_t i) -> Group* {
    const Plan::Node& node = nodes[i];
    if (!node.pointwise || !node.pointwise->row_reduction || node.inputs.size() != 1 ||
        node.num_outputs != 1 || node.inputs[0] < 0) {
      return nullptr;
    }
    const auto p = producer.find(node.inputs[0]);
    if (p == producer.end()) return nullptr;
    Group* g = find(p->second);
    if (!g || g->reduction || g->members.empty()) return nullptr;
    const Tensor& x = traced(node.inputs[0]);
    if (!x.defined() || x.is_meta() || x.device() != Device::CPU || !x.is_contiguous() ||
        x.ndim() < 1 || x.shape().back() < 2) {
      return nullptr;
    }
    return g;
  };
  for (size_t i = 0; i < n; ++i) {
    Plan::Node& node = nodes[i];
    if (node.effect == Effect::Writes) {
      for (auto& g : groups) g->closed = true;
    }
    if (Group* g = reduction_target(i)) {
      g->reduction = i;
      g->closed = true;  // the group now runs where it stands, the reduction with it
      group_of[i] = g;
      continue;
    }
    const Tensor* value = member_value(i);
    std::vector<Group*> joins;
    for (int32_t r : node.inputs) {
      if (r < 0) continue;
      const auto p = producer.find(r);
      if (p == producer.end()) continue;  // a plan input
      Group* g = find(p->second);
      if (!g || g->closed) continue;
      const Tensor& pv = traced(r);
      const bool fits = value && pv.shape() == value->shape() && pv.dtype() == value->dtype();
      if (fits) {
        if (std::find(joins.begin(), joins.end(), g) == joins.end()) joins.push_back(g);
      } else {
        g->closed = true;  // this node reads the group's value where the group now stands
      }
    }
    if (!value) continue;
    size_t size = 1;
    for (Group* g : joins) size += g->members.size();
    if (size > kMaxGroup) {
      for (Group* g : joins) g->closed = true;
      joins.clear();
    }
    groups.push_back(std::make_unique<Group>());
    Group* mine = groups.back().get();
    mine->members.push_back(i);
    for (Group* g : joins) {
      for (size_t m : g->members) {
        group_of[m] = mine;
        mine->members.push_back(m);
      }
      g->members.clear();
      g->closed = true;
    }
    std::sort(mine->members.begin(), mine->members.end());
    group_of[i] = mine;
  }

  // Readers outside each group, and the plan's return: the values a fused node stores.
  std::vector<char> read_outside(slot_values.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    for (int32_t r : nodes[i].inputs) {
      if (r < 0) continue;
      const auto p = producer.find(r);
      if (p != producer.end() && group_of[p->second] != group_of[i]) {
        read_outside[static_cast<size_t>(r)] = 1;
      }
    }
  }
  for (int32_t r : outputs) {
    if (r >= 0) read_outside[static_cast<size_t>(r)] = 1;
  }
  // A reduced value that only reduce_grad reads, for its shape, stays in the tiles when another
  // value of its shape and dtype can be read instead: a value the group stores anyway, or one
  // of its inputs (Note [Row reductions in fused nodes]).
  for (const auto& g : groups) {
    if (!g->reduction) continue;
    const int32_t x = nodes[*g->reduction].inputs[0];
    if (!read_outside[static_cast<size_t>(x)]) continue;
    bool other_reader = std::find(outputs.begin(), outputs.end(), x) != outputs.end();
    std::vector<std::pair<size_t, size_t>> shape_reads;
    for (size_t i = 0; i < n && !other_reader; ++i) {
      if (group_of[i] == g.get()) continue;
      for (size_t k = 0; k < nodes[i].inputs.size(); ++k) {
        if (nodes[i].inputs[k] != x) continue;
        if (k == 1 && reads_shape_only(nodes[i], x)) {
          shape_reads.emplace_back(i, k);
        } else {
          other_reader = true;
        }
      }
    }
    if (other_reader) continue;
    const Tensor& xv = traced(x);
    auto in_group = [&](int32_t r) {
      const auto p = r >= 0 ? producer.find(r) : producer.end();
      return p != producer.end() && group_of[p->second] == g.get();
    };
    std::optional<int32_t> stand_in;
    for (size_t m = 0; !stand_in && m < g->members.size(); ++m) {
      const int32_t slot = nodes[g->members[m]].first_output;
      if (slot != x && read_outside[static_cast<size_t>(slot)]) stand_in = slot;
    }
    for (size_t m = 0; !stand_in && m < g->members.size(); ++m) {
      for (int32_t r : nodes[g->members[m]].inputs) {
        if (r == Plan::kUndefined || in_group(r)) continue;
        const Tensor& t = traced(r);
        if (t.defined() && !t.is_meta() && t.shape() == xv.shape() && t.dtype() == xv.dtype()) {
          stand_in = r;
          break;
        }
      }
    }
    if (!stand_in) continue;
    for (const auto& [i, k] : shape_reads) nodes[i].inputs[k] = *stand_in;
    read_outside[static_cast<size_t>(x)] = 0;
  }

  std::vector<int32_t> remap(slot_values.size());
  std::iota(remap.begin(), remap.end(), 0);
  std::vector<char> removed(n, 0);
  for (const auto& g : groups) {
    if (g->members.empty() || (g->members.size() < 2 && !g->reduction)) continue;
    cpu::FusedProgram prog;
    std::vector<int32_t> ext;                     // the fused node's inputs
    std::unordered_map<int32_t, int32_t> reg_of;  // member's output slot -> register
    std::string name = "fused[";
    // Copies: slot_values grows below, which would leave a reference dangling.
    const Tensor root_value = traced(nodes[g->members.back()].first_output);
    for (size_t m : g->members) {
      const Plan::Node& node = nodes[m];
      cpu::FusedInstr in;
      in.binary = node.pointwise->binary;
      in.op = node.pointwise->op;
      in.alpha = node.pointwise->alpha;
      int32_t* operand[2] = {&in.a, &in.b};
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        const int32_t r = node.inputs[k];
        const auto reg = reg_of.find(r);
        if (reg != reg_of.end()) {
          *operand[k] = reg->second;
          continue;
        }
        auto at = std::find(ext.begin(), ext.end(), r);
        if (at == ext.end()) at = ext.insert(ext.end(), r);
        *operand[k] = -1 - static_cast<int32_t>(at - ext.begin());
      }
      const auto reg = static_cast<int32_t>(prog.code.size());
      prog.code.push_back(in);
      reg_of[node.first_output] = reg;
      name += (reg ? "," : "") + node.op;
    }
    if (g->reduction) name += "," + nodes[*g->reduction].op;
    name += "]";
    prog.num_inputs = static_cast<int32_t>(ext.size());
    Plan::Node fused;
    fused.op = name;
    fused.inputs = ext;
    fused.first_output = static_cast<int32_t>(slot_values.size());
    for (size_t m : g->members) {
      const int32_t slot = nodes[m].first_output;
      if (!read_outside[static_cast<size_t>(slot)]) continue;
      prog.stores.push_back(reg_of[slot]);
      remap[static_cast<size_t>(slot)] = static_cast<int32_t>(slot_values.size());
      remap.push_back(static_cast<int32_t>(slot_values.size()));
      Tensor value = slot_values[static_cast<size_t>(slot)];
      slot_values.push_back(std::move(value));
    }
    bool keepdims = false;
    if (g->reduction) {
      const Plan::Node& red = nodes[*g->reduction];
      prog.reduce = reg_of[red.inputs[0]];
      prog.reduce_mean = static_cast<ReduceOp>(red.pointwise->op) == ReduceOp::Mean;
      keepdims = red.pointwise->keepdims;
      const int32_t slot = red.first_output;
      remap[static_cast<size_t>(slot)] = static_cast<int32_t>(slot_values.size());
      remap.push_back(static_cast<int32_t>(slot_values.size()));
      Tensor value = slot_values[static_cast<size_t>(slot)];
      slot_values.push_back(std::move(value));
      removed[*g->reduction] = 1;
    }
    fused.num_outputs = static_cast<int32_t>(prog.stores.size()) + (g->reduction ? 1 : 0);
    fused.attrs = program_attrs(prog, root_value.dtype(), keepdims);
    fused.replay = [prog = std::move(prog), dtype = root_value.dtype(), shape = root_value.shape(),
                    keepdims, name](const Tensors& in) {
      return run_fused(prog, dtype, shape, keepdims, name, in);
    };
    for (size_t k = 0; k + 1 < g->members.size(); ++k) removed[g->members[k]] = 1;
    nodes[g->members.back()] = std::move(fused);
    ++stats.groups;
    stats.nodes += static_cast<int64_t>(g->members.size()) + (g->reduction ? 1 : 0);
  }
  if (stats.groups == 0) return stats;
  std::vector<Plan::Node> kept;
  kept.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (removed[i]) continue;
    for (int32_t& r : nodes[i].inputs) {
      if (r >= 0) r = remap[static_cast<size_t>(r)];
    }
    kept.push_back(std::move(nodes[i]));
  }
  for (int32_t& r : outputs) {
    if (r >= 0) r = remap[static_cast<size_t>(r)];
  }
  nodes = std::move(kept);
  return stats;
}

}  // namespace corten::trace
