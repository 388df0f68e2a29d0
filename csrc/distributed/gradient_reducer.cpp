// Gradient buckets summed while the backward pass runs (GradientReducer in
// corten/distributed.h). The buckets follow the sources in reverse, the order in which a
// backward pass finishes them; a bucket's all-reduce starts once all its gradients are final
// and every earlier bucket has started, since every rank must start the same collectives in
// the same order.

#include <corten/distributed.h>
#include <corten/errors.h>
#include <corten/ops.h>

#include <cstdint>
#include <vector>

#include "ops/common.h"

namespace corten::dist {

namespace {
constexpr int64_t kDefaultBytesPerPack = int64_t{25} << 20;  // DDP's default bucket
}  // namespace

struct GradientReducer::Impl {
  struct Bucket {
    std::vector<size_t> sources;
    size_t waiting = 0;  // gradients not yet final
    Tensor packed;       // in flight once started
  };
  std::vector<Tensor> sources;
  std::vector<Tensor> local;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;  // per source; SIZE_MAX for those not reduced
  size_t next_start = 0;
  bool finished = false;

  void start_ready_buckets() {
    while (next_start < buckets.size() && buckets[next_start].waiting == 0) {
      Bucket& b = buckets[next_start++];
      std::vector<Tensor> parts;
      parts.reserve(b.sources.size());
      for (size_t i : b.sources) {
        // An unconnected source has no gradient on any rank; zeros keep the bucket's layout.
        parts.push_back(local[i].defined() ? local[i]
                                           : zeros(sources[i].shape(), sources[i].dtype()));
      }
      b.packed = all_reduce_start(parts, ReduceOp::Sum);
    }
  }
};

GradientReducer::GradientReducer(const std::vector<Tensor>& sources, int64_t bytes_per_pack)
    : impl_(new Impl) {
  Impl& m = *impl_;
  m.sources = sources;
  m.local.resize(sources.size());
  m.bucket_of.assign(sources.size(), SIZE_MAX);
  const int64_t limit = bytes_per_pack > 0 ? bytes_per_pack : kDefaultBytesPerPack;
  int64_t bytes = 0;
  for (size_t i = sources.size(); i-- > 0;) {
    const Tensor& s = sources[i];
    CORTEN_CHECK_VALUE(s.defined(), "GradientReducer: source ", i, " is undefined");
    if (s.dtype() != DType::Float32 && s.dtype() != DType::Float64) continue;
    const bool fits = !m.buckets.empty() && bytes < limit &&
                      m.sources[m.buckets.back().sources.back()].dtype() == s.dtype();
    if (!fits) {
      m.buckets.emplace_back();
      bytes = 0;
    }
    m.buckets.back().sources.push_back(i);
    m.buckets.back().waiting++;
    m.bucket_of[i] = m.buckets.size() - 1;
    bytes += static_cast<int64_t>(s.nbytes());
  }
}

GradientReducer::~GradientReducer() {
  // Started collectives must complete before their buffers go: another rank is writing them.
  if (!impl_->finished) {
    try {
      finish();
    } catch (...) {  // NOLINT(bugprone-empty-catch): the job is failing already
    }
  }
}

void GradientReducer::ready(size_t source, const Tensor& grad) {
  Impl& m = *impl_;
  CORTEN_CHECK_VALUE(source < m.sources.size() && !m.finished, "GradientReducer.ready: source ",
                     source, " out of range or reducer finished");
  m.local[source] = grad;
  const size_t b = m.bucket_of[source];
  if (b == SIZE_MAX) return;
  CORTEN_CHECK_VALUE(m.buckets[b].waiting > 0, "GradientReducer.ready: source ", source,
                     " reported twice");
  if (--m.buckets[b].waiting == 0) m.start_ready_buckets();
}

void GradientReducer::step() {
  if (impl_->next_start > 0) poll();
}

const std::vector<Tensor>& GradientReducer::local() const { return impl_->local; }

size_t GradientReducer::num_buckets() const { return impl_->buckets.size(); }

std::vector<Tensor> GradientReducer::finish() {
  Impl& m = *impl_;
  CORTEN_CHECK_VALUE(!m.finished, "GradientReducer.finish: called twice");
  m.finished = true;
  for (Impl::Bucket& b : m.buckets) b.waiting = 0;  // sources never reported: no gradient
  m.start_ready_buckets();
  std::vector<Tensor> out(m.sources.size());
  for (Impl::Bucket& b : m.buckets) {
    const Tensor total = all_reduce_wait(b.packed);
    std::vector<int64_t> sizes;
    sizes.reserve(b.sources.size());
    for (size_t i : b.sources) sizes.push_back(m.sources[i].numel());
    const std::vector<Tensor> parts = split(total, sizes, 0);
    for (size_t k = 0; k < b.sources.size(); ++k) {
      const size_t i = b.sources[k];
      if (m.local[i].defined()) out[i] = reshape(parts[k], m.sources[i].shape());
    }
    b.packed = Tensor();
  }
  return out;
}

}  // namespace corten::dist
