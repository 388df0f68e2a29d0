// Note [Epoch replay]
// ~~~~~~~~~~~~~~~~~~~
// fit() and evaluate() on in-memory arrays spend, per step, a few microseconds of Python
// around the replay: the data adapter's generator, the two gathers, the callback checks, the
// Function's key. When nothing has to see the individual batches (no callback implements a
// batch hook, so no logs are read and stop_training cannot change mid-epoch), the trainer
// hands the epoch's full batches to Plan::run_batches instead, which cuts each batch with the
// same gather op and replays the same plan, so the numbers are those of the per-step loop bit
// for bit. Only the last replay's outputs (the step's logs) come back, or, for predict(),
// every replay's outputs stacked into one tensor per output. The first batch goes through the
// per-step path only when the plan is not there yet (it traces it) and in predict() (whose
// first result says whether results stack by rows); a smaller last batch (another plan) always
// does.

#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include <vector>

namespace corten::trace {

Tensors Plan::run_batches(const Tensors& sources, const std::vector<int64_t>& input_source,
                          const Tensor& order, int64_t batch_rows, int64_t first_row,
                          int64_t num_steps, bool stack) const {
  CORTEN_CHECK_VALUE(input_source.size() == input_shapes_.size(), "Plan.run_batches: the plan ",
                     "takes ", input_shapes_.size(), " inputs; got ", input_source.size(),
                     " input sources");
  CORTEN_CHECK_VALUE(batch_rows > 0 && first_row >= 0 && num_steps >= 0,
                     "Plan.run_batches: batch_rows must be positive and first_row, num_steps ",
                     "non-negative; got ", batch_rows, ", ", first_row, ", ", num_steps);
  const int64_t end_row = first_row + batch_rows * num_steps;
  for (int64_t s : input_source) {
    CORTEN_CHECK_VALUE(s >= 0 && s < static_cast<int64_t>(sources.size()),
                       "Plan.run_batches: input source ", s, " out of range for ", sources.size(),
                       " sources");
  }
  for (const Tensor& src : sources) {
    CORTEN_CHECK_VALUE(src.defined() && src.ndim() >= 1, "Plan.run_batches: every source ",
                       "must be a tensor of rank >= 1");
    const int64_t rows = order.defined() ? order.dim(0) : src.dim(0);
    CORTEN_CHECK_VALUE(end_row <= rows, "Plan.run_batches: rows [", first_row, ", ", end_row,
                       ") out of range for ", rows, " rows");
  }
  if (order.defined()) {
    CORTEN_CHECK_VALUE(order.ndim() == 1 && order.dtype() == DType::Int64,
                       "Plan.run_batches: order must be a 1-D int64 tensor; got ",
                       dtype_name(order.dtype()), " of shape ", show(order.shape()));
  }
  auto rows_of = [&](const Tensor& t, int64_t lo) {
    Shape shape = t.shape();
    shape[0] = batch_rows;
    return t.as_strided(std::move(shape), t.strides(), t.offset() + lo * t.strides()[0]);
  };
  // A source no input reads is not cut (fit(x, x) lists x's tensors twice, once as y's).
  std::vector<char> used(sources.size(), 0);
  for (int64_t s : input_source) used[static_cast<size_t>(s)] = 1;
  Tensors out, stacked;
  Tensors batch(sources.size());
  Tensors inputs(input_source.size());
  for (int64_t step = 0; step < num_steps; ++step) {
    const int64_t lo = first_row + step * batch_rows;
    const Tensor idx = order.defined() ? rows_of(order, lo) : Tensor();
    for (size_t k = 0; k < sources.size(); ++k) {
      if (!used[k]) continue;
      batch[k] = idx.defined() ? gather(sources[k], idx, 0) : rows_of(sources[k], lo);
    }
    for (size_t i = 0; i < input_source.size(); ++i) {
      inputs[i] = batch[static_cast<size_t>(input_source[i])];
    }
    out = run(inputs);
    if (!stack) continue;
    if (step == 0) {
      for (const Tensor& o : out) {
        CORTEN_CHECK_VALUE(o.defined() && o.ndim() >= 1, "Plan.run_batches: stacking needs ",
                           "outputs with a first axis; got a scalar or undefined output");
        Shape shape = o.shape();
        shape[0] *= num_steps;
        stacked.push_back(Tensor::empty(shape, o.dtype(), o.device(), "Plan.run_batches"));
      }
    }
    for (size_t k = 0; k < out.size(); ++k) {
      const Tensor& dst = stacked[k];
      const int64_t rows = out[k].ndim() >= 1 ? out[k].dim(0) : -1;
      CORTEN_CHECK_VALUE(rows * num_steps == dst.dim(0), "Plan.run_batches: output ", k,
                         " changed its first axis between batches");
      Shape shape = dst.shape();
      shape[0] = rows;
      copy_(dst.as_strided(std::move(shape), dst.strides(),
                           dst.offset() + step * rows * dst.strides()[0]),
            out[k]);
    }
  }
  return stack ? stacked : out;
}

}  // namespace corten::trace
