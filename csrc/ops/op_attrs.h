#pragma once
// The node attributes of the ops' option structs (Note [Node attributes] in
// csrc/trace/attrs.cpp): each struct flattened field by field, found by argument-dependent
// lookup when an entry point records a node with it.

#include <corten/ops.h>
#include <corten/trace_attrs.h>

#include <string>
#include <vector>

namespace corten {

void append_attr(trace::Attrs& a, const ConvOptions& o);
void append_attr(trace::Attrs& a, const UpdateCommon& o);
void append_attr(trace::Attrs& a, const SgdOptions& o);
void append_attr(trace::Attrs& a, const AdamOptions& o);
void append_attr(trace::Attrs& a, const RmspropOptions& o);
void append_attr(trace::Attrs& a, const AdagradOptions& o);
void append_attr(trace::Attrs& a, const AdadeltaOptions& o);
void append_attr(trace::Attrs& a, const AdamaxOptions& o);
void append_attr(trace::Attrs& a, const NadamOptions& o);
void append_attr(trace::Attrs& a, const PhiloxSeed& s);
void append_attr(trace::Attrs& a, const PhiloxStream& s);
void append_attr(trace::Attrs& a, const std::vector<IndexItem>& items);

// Their inverses, for the option structs a saved plan's nodes hold (corten/trace_registry.h).
ConvOptions read_struct_attr(const std::string& op, const trace::Attrs& a, size_t& pos,
                             ConvOptions*);
std::vector<IndexItem> read_struct_attr(const std::string& op, const trace::Attrs& a, size_t& pos,
                                        std::vector<IndexItem>*);

}  // namespace corten
