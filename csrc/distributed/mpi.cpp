// Note [MPI at run time]
// ~~~~~~~~~~~~~~~~~~~~~~
// corten builds and runs without MPI: the library is opened with dlopen when a data-parallel
// strategy starts, not linked. What makes that possible is MPI 5's standard ABI: its handles
// and constants have fixed values (MPI_COMM_WORLD is 0x101, MPI_FLOAT 0x210, MPI_SUM 0x21, as
// in the standard's mpi_abi.h), so corten declares the few functions it calls with those
// types and needs no mpi.h. MPICH 4.3 and later ship the ABI as libmpi_abi.so (the `mpich`
// wheel does), and the same mpirun starts the processes. Errors come back as codes
// (MPI_ERRORS_RETURN on MPI_COMM_WORLD) and become ValueErrors naming the call, rather than
// aborting every rank.

// Note [Dead ranks]
// ~~~~~~~~~~~~~~~~~
// A collective blocks until every rank has joined it, so one rank that dies or hangs would
// hold the others forever. Every collective is therefore started non-blocking and waited on
// with MPI_Test until timeout() has passed. To say which rank is missing, each rank other
// than 0 sends rank 0 the sequence number of every collective it starts (a 8-byte message,
// two per rank and step at most), and rank 0 reads them while it waits: when it times out it
// names the ranks that never reached the collective. The other ranks cannot know which peer
// is missing: they give up a little later than rank 0, so that its message comes first. After a
// timeout MPI's state is unusable: finalize() aborts the job (MPI_Abort), which also ends a rank
// that hangs, rather than calling MPI_Finalize, which would wait for it. When a rank dies outright,
// mpirun (hydra) ends the job at once and prints which process ended.

#include <corten/distributed.h>
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace.h>
#include <dlfcn.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ops/common.h"

namespace corten::dist {

namespace {

// The standard ABI's handle types are pointers to incomplete structs; its predefined handles
// are small integers cast to them.
using Handle = void*;
Handle handle(uintptr_t v) { return reinterpret_cast<Handle>(v); }
const Handle kCommWorld = handle(0x101);
const Handle kErrorsReturn = handle(0x143);
void* const kInPlace = reinterpret_cast<void*>(1);
const Handle kInt64 = handle(0x258);
const Handle kRequestNull = handle(0x180);
constexpr int kAnySource = -1;
constexpr int kThreadFunneled = 1024;
constexpr int kMaxErrorString = 512;
constexpr int kArrivalTag = 0x7c0;  // tags of collectives are separate: any value is free
constexpr int kSpinPolls = 1 << 14;  // MPI_Test calls before a wait starts yielding the core

// MPI 5 ABI's MPI_Status.
struct Status {
  int source, tag, error, internal[5];
};

struct Mpi {
  int (*Init_thread)(int*, char***, int, int*) = nullptr;
  int (*Initialized)(int*) = nullptr;
  int (*Finalized)(int*) = nullptr;
  int (*Finalize)() = nullptr;
  int (*Comm_rank)(Handle, int*) = nullptr;
  int (*Comm_size)(Handle, int*) = nullptr;
  int (*Comm_set_errhandler)(Handle, Handle) = nullptr;
  int (*Iallreduce)(const void*, void*, int, Handle, Handle, Handle, Handle*) = nullptr;
  int (*Ibcast)(void*, int, Handle, int, Handle, Handle*) = nullptr;
  int (*Ibarrier)(Handle, Handle*) = nullptr;
  int (*Test)(Handle*, int*, Status*) = nullptr;
  int (*Isend)(const void*, int, Handle, int, int, Handle, Handle*) = nullptr;
  int (*Iprobe)(int, int, Handle, int*, Status*) = nullptr;
  int (*Recv)(void*, int, Handle, int, int, Handle, Status*) = nullptr;
  int (*Abort)(Handle, int) = nullptr;
  int (*Error_string)(int, char*, int*) = nullptr;
};

std::mutex mutex;
Mpi mpi;
bool started = false;
bool broken = false;  // a collective timed out: MPI cannot be used again (Note [Dead ranks])
int world_rank = 0, world_size = 1;
double timeout_seconds = 300.0;
Stats totals;

// Collectives started and not yet waited for, in start order, with the buffer each writes.
struct Pending {
  Tensor buffer;
  Handle request;
  int64_t seq;
};
std::vector<Pending> pending;
int64_t next_seq = 0;
// Rank 0: the last collective each rank said it started. Other ranks: the messages in flight.
std::vector<int64_t> arrived;
struct Arrival {
  int64_t seq;
  Handle request;
};
std::deque<Arrival> sends;

template <class F>
void resolve(void* lib, const char* name, F& fn, const std::string& library) {
  void* sym = dlsym(lib, name);
  CORTEN_CHECK_VALUE(sym != nullptr, "distribute: the MPI library '", library, "' has no ", name,
                     " (it must provide MPI 5's standard ABI, as MPICH's libmpi_abi.so does)");
  static_assert(sizeof(F) == sizeof(void*), "a function pointer is one pointer");
  std::memcpy(&fn, &sym, sizeof fn);
}

void check(int code, const char* call) {
  if (code == 0) return;
  char text[kMaxErrorString] = {0};
  int len = 0;
  if (mpi.Error_string) mpi.Error_string(code, text, &len);
  throw ValueError(detail::str_cat("distribute: ", call, " failed on rank ", world_rank,
                                   " (MPI error ", code, ": ", text, ")"));
}

Handle datatype(DType t, const char* op) {
  switch (t) {
    case DType::Float32: return handle(0x210);
    case DType::Float64: return handle(0x214);
    case DType::Int32: return handle(0x250);
    case DType::Int64: return handle(0x258);
    default: break;
  }
  throw TypeError(detail::str_cat(op, ": expected float32, float64, int32 or int64; got ",
                                  dtype_name(t)));
}

Handle reduce_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return handle(0x21);
    case ReduceOp::Max: return handle(0x23);
    case ReduceOp::Min: return handle(0x22);
    case ReduceOp::kCount: break;
  }
  throw ValueError("all_reduce: unknown reduction");
}

void check_usable(const char* op) {
  CORTEN_CHECK_VALUE(started, op,
                     ": MPI is not initialised (create a "
                     "MultiWorkerMirroredStrategy first)");
  if (broken)
    throw Error(detail::str_cat(op,
                                ": an earlier collective timed out; MPI cannot be used "
                                "again in this process"));
}

// The checks of a collective's operand: a CPU tensor whose element count fits MPI's int.
void check_operand(const Tensor& x, const char* op) {
  detail::check_defined(x, op, "x");
  CORTEN_CHECK_VALUE(x.device() == Device::CPU, op, ": expected a CPU tensor; got one on ",
                     device_name(x.device()));
  CORTEN_CHECK_VALUE(x.numel() <= INT_MAX, op, ": ", x.numel(), " elements (shape ",
                     show(x.shape()), ") exceed one MPI call's count");
  check_usable(op);
}

void drain_arrivals() {
  if (world_rank == 0) {
    for (;;) {
      int flag = 0;
      Status st{};
      check(mpi.Iprobe(kAnySource, kArrivalTag, kCommWorld, &flag, &st), "MPI_Iprobe");
      if (!flag) break;
      int64_t seq = 0;
      check(mpi.Recv(&seq, 1, kInt64, st.source, kArrivalTag, kCommWorld, nullptr), "MPI_Recv");
      arrived[static_cast<size_t>(st.source)] = seq;
    }
    return;
  }
  while (!sends.empty()) {
    int flag = 0;
    check(mpi.Test(&sends.front().request, &flag, nullptr), "MPI_Test");
    if (!flag) break;
    sends.pop_front();
  }
}

// Numbers a collective about to start and tells rank 0 (Note [Dead ranks]).
int64_t announce() {
  const int64_t seq = next_seq++;
  if (world_rank != 0) {
    sends.push_back({seq, kRequestNull});
    Arrival& a = sends.back();  // a deque keeps its elements in place: MPI reads a.seq later
    check(mpi.Isend(&a.seq, 1, kInt64, 0, kArrivalTag, kCommWorld, &a.request), "MPI_Isend");
  }
  drain_arrivals();
  return seq;
}

[[noreturn]] void timed_out(const char* call, int64_t seq) {
  broken = true;
  std::string missing;
  if (world_rank == 0) {
    drain_arrivals();
    for (int r = 1; r < world_size; ++r) {
      if (arrived[static_cast<size_t>(r)] >= seq) continue;
      missing += detail::str_cat(missing.empty() ? "" : ", ", r);
    }
  }
  const std::string who =
      world_rank != 0   ? "rank 0 names the missing ranks, unless it is missing itself"
      : missing.empty() ? "every rank reached it, so MPI itself is stuck"
                        : detail::str_cat("rank(s) ", missing, " never reached it: died or hung");
  throw Error(detail::str_cat("distribute: ", call, " #", seq, " on rank ", world_rank,
                              " waited over ", timeout_seconds, " s for the other ranks (", who,
                              "); the job will be aborted"));
}

// Waits for `request` (a collective numbered seq) with the timeout, reading arrivals meanwhile.
void wait(Handle& request, const char* call, int64_t seq) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  for (int polls = 0;; ++polls) {
    int flag = 0;
    check(mpi.Test(&request, &flag, nullptr), call);
    if (flag) {
      if (polls > 0)
        totals.wait_seconds += std::chrono::duration<double>(Clock::now() - start).count();
      return;
    }
    // A collective this late waits for another rank to arrive: give the core away between
    // polls, in case that rank shares it (more ranks than cores).
    if (polls > kSpinPolls) std::this_thread::yield();
    if ((polls & 1023) != 1023) continue;
    drain_arrivals();
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    // Rank 0 gives up first, since it alone can name the missing ranks; the others allow for
    // rank 0 reaching the collective late on a loaded machine.
    const double limit = world_rank == 0 ? timeout_seconds : timeout_seconds * 1.5 + 2.0;
    if (timeout_seconds > 0 && waited > limit) timed_out(call, seq);
  }
}

Tensor start_all_reduce(Tensor out, ReduceOp op, const char* name) {
  const Handle type = datatype(out.dtype(), name);
  const Handle mpi_op = reduce_op(op);
  const int64_t seq = announce();
  totals.collectives++;
  totals.bytes += static_cast<int64_t>(out.nbytes());
  Handle request = kRequestNull;
  check(mpi.Iallreduce(kInPlace, out.raw_data(), static_cast<int>(out.numel()), type, mpi_op,
                       kCommWorld, &request),
        "MPI_Iallreduce");
  pending.push_back({out, request, seq});
  return out;
}

Tensor finish(const Tensor& buffer, const char* name) {
  for (size_t i = 0; i < pending.size(); ++i) {
    if (pending[i].buffer.raw_data() != buffer.raw_data()) continue;
    // Collectives complete in start order: waiting for the earlier ones first costs nothing.
    for (size_t k = 0; k <= i; ++k) wait(pending[k].request, "MPI_Iallreduce", pending[k].seq);
    Tensor out = pending[i].buffer;
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
    return out;
  }
  throw ValueError(detail::str_cat(name, ": this tensor (shape ", show(buffer.shape()),
                                   ") is no all_reduce_start result still in flight"));
}

struct AllReduceReplay {
  Tensor operator()(const trace::Tensors& in, ReduceOp op) const { return all_reduce(in[0], op); }
};
struct AllReduceStartReplay {
  Tensor operator()(const trace::Tensors& in, ReduceOp op) const {
    return all_reduce_start(in, op);
  }
};
struct AllReduceWaitReplay {
  Tensor operator()(const trace::Tensors& in) const { return all_reduce_wait(in[0]); }
};

}  // namespace

void init(const std::string& library) {
  const std::lock_guard<std::mutex> lock(mutex);
  if (started) return;
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL);
  CORTEN_CHECK_VALUE(lib != nullptr, "distribute: cannot load the MPI library '", library,
                     "': ", dlerror());
  Mpi m;
  resolve(lib, "MPI_Init_thread", m.Init_thread, library);
  resolve(lib, "MPI_Initialized", m.Initialized, library);
  resolve(lib, "MPI_Finalized", m.Finalized, library);
  resolve(lib, "MPI_Finalize", m.Finalize, library);
  resolve(lib, "MPI_Comm_rank", m.Comm_rank, library);
  resolve(lib, "MPI_Comm_size", m.Comm_size, library);
  resolve(lib, "MPI_Comm_set_errhandler", m.Comm_set_errhandler, library);
  resolve(lib, "MPI_Iallreduce", m.Iallreduce, library);
  resolve(lib, "MPI_Ibcast", m.Ibcast, library);
  resolve(lib, "MPI_Ibarrier", m.Ibarrier, library);
  resolve(lib, "MPI_Test", m.Test, library);
  resolve(lib, "MPI_Isend", m.Isend, library);
  resolve(lib, "MPI_Iprobe", m.Iprobe, library);
  resolve(lib, "MPI_Recv", m.Recv, library);
  resolve(lib, "MPI_Abort", m.Abort, library);
  resolve(lib, "MPI_Error_string", m.Error_string, library);
  mpi = m;
  int already = 0;
  check(mpi.Initialized(&already), "MPI_Initialized");
  if (!already) {
    int provided = 0;
    check(mpi.Init_thread(nullptr, nullptr, kThreadFunneled, &provided), "MPI_Init_thread");
  }
  check(mpi.Comm_set_errhandler(kCommWorld, kErrorsReturn), "MPI_Comm_set_errhandler");
  check(mpi.Comm_rank(kCommWorld, &world_rank), "MPI_Comm_rank");
  check(mpi.Comm_size(kCommWorld, &world_size), "MPI_Comm_size");
  arrived.assign(static_cast<size_t>(world_size), -1);
  started = true;
  trace::set_progress_hook(&poll);
}

bool initialized() { return started; }

void finalize() {
  const std::lock_guard<std::mutex> lock(mutex);
  if (!started) return;
  if (broken) mpi.Abort(kCommWorld, 1);  // Note [Dead ranks]: never returns
  // Every rank announced the same collectives: rank 0 reads the announcements it has not read
  // yet, so that the other ranks' sends complete before MPI_Finalize (a send left pending
  // there never returns). Bounded by the timeout, in case a rank died since.
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto within_timeout = [&] {
    return timeout_seconds <= 0 ||
           std::chrono::duration<double>(Clock::now() - start).count() < timeout_seconds;
  };
  try {
    for (;;) {
      drain_arrivals();
      bool done = sends.empty();
      for (int r = 1; world_rank == 0 && r < world_size; ++r)
        done &= arrived[static_cast<size_t>(r)] == next_seq - 1;
      if (done || !within_timeout()) break;
    }
  } catch (const Error&) {  // NOLINT(bugprone-empty-catch): MPI_Finalize reports the state
  }
  pending.clear();
  int done = 0;
  mpi.Finalized(&done);
  if (!done) mpi.Finalize();
  started = false;
}

int rank() { return world_rank; }
int size() { return world_size; }

Stats stats() { return totals; }

void set_timeout(double seconds) {
  CORTEN_CHECK_VALUE(seconds == seconds, "set_timeout: expected a number of seconds; got NaN");
  timeout_seconds = seconds;
}
double timeout() { return timeout_seconds; }

Tensor all_reduce(const Tensor& x, ReduceOp op) {
  trace::OpRecord rec;
  constexpr const char* name = "all_reduce";
  check_operand(x, name);
  datatype(x.dtype(), name);
  Tensor out = clone(x);
  if (out.numel() > 0) out = finish(start_all_reduce(out, op, name), name);
  // Communicates: never folded, dropped or moved, so each replay exchanges its values.
  rec.record_effect(trace::Effect::Communicates, name, {x}, {out}, AllReduceReplay{}, op);
  return out;
}

Tensor all_reduce_start(const std::vector<Tensor>& parts, ReduceOp op) {
  trace::OpRecord rec;
  constexpr const char* name = "all_reduce_start";
  CORTEN_CHECK_VALUE(!parts.empty(), name, ": expected at least one tensor");
  int64_t count = 0;
  for (const Tensor& p : parts) {
    check_operand(p, name);
    CORTEN_CHECK_VALUE(p.dtype() == parts[0].dtype(), name,
                       ": every part must have one dtype; "
                       "got ",
                       dtype_name(parts[0].dtype()), " and ", dtype_name(p.dtype()));
    count += p.numel();
  }
  datatype(parts[0].dtype(), name);
  CORTEN_CHECK_VALUE(count <= INT_MAX, name, ": ", count, " elements exceed one MPI call's count");
  std::vector<Tensor> flat;
  flat.reserve(parts.size());
  for (const Tensor& p : parts) flat.push_back(reshape(p, {p.numel()}));
  Tensor out = concat(flat, 0);
  start_all_reduce(out, op, name);
  // The buffer is written by MPI until all_reduce_wait: the node is an effect, kept in order.
  rec.record_effect(trace::Effect::Communicates, name, parts, {out}, AllReduceStartReplay{}, op);
  return out;
}

Tensor all_reduce_wait(const Tensor& packed) {
  trace::OpRecord rec;
  constexpr const char* name = "all_reduce_wait";
  check_operand(packed, name);
  Tensor out = finish(packed, name);
  rec.record_effect(trace::Effect::Communicates, name, {packed}, {out}, AllReduceWaitReplay{});
  return out;
}

void poll() {
  if (!started || broken) return;
  for (Pending& p : pending) {
    int flag = 0;
    check(mpi.Test(&p.request, &flag, nullptr), "MPI_Test");
    if (!flag) break;  // a completed request reads as MPI_REQUEST_NULL, done again at once
  }
}

void broadcast_(const Tensor& x, int root) {
  constexpr const char* name = "broadcast";
  check_operand(x, name);
  CORTEN_CHECK_VALUE(x.is_contiguous(), name, ": expected a contiguous tensor");
  CORTEN_CHECK_VALUE(root >= 0 && root < world_size, name, ": root ", root,
                     " is not a rank of ", world_size);
  if (x.numel() == 0) return;
  const Handle type = datatype(x.dtype(), name);
  const int64_t seq = announce();
  totals.collectives++;
  totals.bytes += static_cast<int64_t>(x.nbytes());
  Handle request = kRequestNull;
  check(mpi.Ibcast(x.raw_data(), static_cast<int>(x.numel()), type, root, kCommWorld, &request),
        "MPI_Ibcast");
  wait(request, "MPI_Ibcast", seq);
}

void barrier() {
  check_usable("barrier");
  const int64_t seq = announce();
  Handle request = kRequestNull;
  check(mpi.Ibarrier(kCommWorld, &request), "MPI_Ibarrier");
  wait(request, "MPI_Ibarrier", seq);
}

}  // namespace corten::dist
