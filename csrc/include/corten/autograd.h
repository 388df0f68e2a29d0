#pragma once
/// Reverse-mode automatic differentiation with TensorFlow's GradientTape semantics.
///
/// A Tape records, while it is active, every differentiable op that has an input on the tape
/// (a tensor passed to watch(), a trainable Variable read by an op when the tape watches
/// accessed variables, or the output of an op already recorded). gradient() walks the recorded
/// ops backwards. Backward rules are written with the public ops, so when another tape is
/// recording while gradient() runs, the backward computation is itself recorded there: nested
/// tapes give higher-order derivatives.
///
/// Tapes are per thread: ops record only into tapes active on the calling thread. With no tape
/// active, an op pays one thread-local read and allocates nothing for autograd.

#include <corten/tensor.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace corten::autograd {

/// Computes the gradients of an op's inputs from the gradients of its outputs. grads has one
/// defined tensor per output (zeros where an output received none). Returns one entry per
/// input: an undefined Tensor where the input gets no gradient.
using BackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads)>;

struct TapeState;

/// A non-owning view of a sequence of tensors: what record() reads its inputs and outputs from.
/// Built from a braced list (`{a, b}`, whose array lives until the end of the calling
/// expression) or a vector, without allocating, so that ops pay nothing when no tape holds them.
class TensorSpan {
 public:
// The array behind a braced list passed as a function argument lives until the end of the
// full-expression containing the call ([class.temporary]), so a TensorSpan parameter built from
// one stays valid for the whole record() call; GCC's -Winit-list-lifetime cannot see that.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  TensorSpan(std::initializer_list<Tensor> l) : data_(l.begin()), size_(l.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  TensorSpan(const std::vector<Tensor>& v) : data_(v.data()), size_(v.size()) {}
  const Tensor* begin() const { return data_; }
  const Tensor* end() const { return data_ + size_; }
  size_t size() const { return size_; }
  const Tensor& operator[](size_t i) const { return data_[i]; }

 private:
  const Tensor* data_;
  size_t size_;
};

/// A non-owning reference to a callable (LLVM's function_ref): unlike std::function it never
/// allocates, so passing a capturing lambda to record() is free when the op is not recorded.
/// Valid only while the referenced callable lives (for the duration of the call it is passed to).
template <class Sig>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* obj, Args... args) -> R {
          return (*static_cast<std::add_pointer_t<std::remove_reference_t<F>>>(obj))(
              std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

/// Told of each source's gradient as soon as the backward pass has finished it, before
/// Tape::gradient returns: the data-parallel strategies start summing gradients over the
/// processes while the rest of the backward pass runs.
class GradientObserver {
 public:
  virtual ~GradientObserver() = default;
  /// Source `source`'s final gradient (undefined when it has none); once per source.
  virtual void ready(size_t source, const Tensor& grad) = 0;
  /// Called after each op's backward rule.
  virtual void step() {}
};

class Tape {
 public:
  /// persistent: gradient() may be called more than once (a non-persistent tape frees its
  /// records after the first call). watch_accessed_variables: trainable Variables used by an op
  /// while the tape records are watched automatically.
  Tape(bool persistent, bool watch_accessed_variables);
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// Starts recording on this thread (the `with` block of a GradientTape).
  void push();
  /// Stops recording (end of the `with` block). Records stay for gradient().
  void pop();
  /// Suspends / resumes recording while active (GradientTape.stop_recording()).
  void pause();
  void resume();
  bool recording() const;

  /// Puts a tensor on the tape (only floating tensors can get gradients; others are ignored).
  void watch(const Tensor& t);
  /// Records every op with a floating input, watched or not (traced control flow traces a
  /// branch under such a tape to differentiate it with respect to whatever it read).
  void set_watch_all(bool watch_all);
  /// Variables watched so far, in first-watch order.
  std::vector<Tensor> watched_variables() const;
  /// Forgets all records and watched tensors.
  void reset();

  /// d(sum of targets)/d(sources). output_gradients (empty, or one per target; undefined
  /// entries mean ones) weight the targets. Unconnected sources give an undefined tensor, or
  /// zeros when unconnected_zero. A non-persistent tape can do this once (RuntimeError-class
  /// corten::Error afterwards). `observer`, if given, hears of each source's gradient as soon
  /// as it is final.
  std::vector<Tensor> gradient(const std::vector<Tensor>& targets,
                               const std::vector<Tensor>& sources,
                               const std::vector<Tensor>& output_gradients, bool unconnected_zero,
                               GradientObserver* observer = nullptr);

  /// Number of op records currently held.
  int64_t num_records() const;

 private:
  std::unique_ptr<TapeState> state_;
};

/// True when a tape is recording on this thread (the cheap check every op makes).
bool is_recording() noexcept;

/// Records an op on every recording tape that holds one of `inputs`, unless no output is
/// floating. `make_backward` is called (at most once) only when the op is recorded. Allocates
/// nothing unless the op is recorded (or a trainable Variable is watched for the first time).
void record(const char* op, TensorSpan inputs, TensorSpan outputs,
            FunctionRef<BackwardFn()> make_backward);

/// Inside a backward rule: whether the gradient() call running it uses the gradient of the
/// rule's input k (it leads to a requested source). A rule may skip the work for inputs that
/// are not needed and return an undefined Tensor for them. True outside gradient().
bool needs_input_grad(size_t k) noexcept;

/// Runs `fn` with every tape on this thread paused (ops inside are not recorded).
class PauseRecording {
 public:
  PauseRecording();
  ~PauseRecording();
  PauseRecording(const PauseRecording&) = delete;
  PauseRecording& operator=(const PauseRecording&) = delete;

 private:
  std::vector<TapeState*> paused_;
};

/// Total op records ever created in this process (tests use it to show that ops run outside a
/// tape record nothing).
int64_t records_created() noexcept;

/// Names of the ops that have a backward rule (every name passed to record() by the library).
std::vector<std::string> differentiable_ops();

/// A new Variable holding a copy of `value`.
Tensor make_variable(const Tensor& value, bool trainable);
/// How assign_variable updates a Variable.
enum class AssignMode { Assign, Add, Subtract };
/// Variable.assign / assign_add / assign_sub: writes `value` (or variable +/- value) into the
/// variable in place. `value` must have the variable's shape and dtype (ValueError / TypeError
/// naming `op`, the shapes and dtypes otherwise); on error the variable is unchanged. The update
/// is never recorded by a tape.
void assign_variable(const Tensor& variable, const Tensor& value, AssignMode mode);
/// Changes a Variable's trainable flag (ValueError for non-variables).
void set_trainable(const Tensor& variable, bool trainable);
/// A tensor sharing `x`'s data whose gradient is never propagated (stop_gradient).
Tensor stop_gradient(const Tensor& x);

}  // namespace corten::autograd
