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

#include <corten/distributed.h>
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/trace.h>

#include <dlfcn.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>

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
constexpr int kThreadFunneled = 1024;
constexpr int kMaxErrorString = 512;

struct Mpi {
  int (*Init_thread)(int*, char***, int, int*) = nullptr;
  int (*Initialized)(int*) = nullptr;
  int (*Finalized)(int*) = nullptr;
  int (*Finalize)() = nullptr;
  int (*Comm_rank)(Handle, int*) = nullptr;
  int (*Comm_size)(Handle, int*) = nullptr;
  int (*Comm_set_errhandler)(Handle, Handle) = nullptr;
  int (*Allreduce)(const void*, void*, int, Handle, Handle, Handle) = nullptr;
  int (*Bcast)(void*, int, Handle, int, Handle) = nullptr;
  int (*Barrier)(Handle) = nullptr;
  int (*Error_string)(int, char*, int*) = nullptr;
};

std::mutex mutex;
Mpi mpi;
bool started = false;
int world_rank = 0, world_size = 1;

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

// The checks of a collective's operand: a CPU tensor whose element count fits MPI's int.
void check_operand(const Tensor& x, const char* op) {
  detail::check_defined(x, op, "x");
  CORTEN_CHECK_VALUE(x.device() == Device::CPU, op, ": expected a CPU tensor; got one on ",
                     device_name(x.device()));
  CORTEN_CHECK_VALUE(x.numel() <= INT_MAX, op, ": ", x.numel(), " elements (shape ",
                     show(x.shape()), ") exceed one MPI call's count");
  CORTEN_CHECK_VALUE(started, op, ": MPI is not initialised (create a "
                     "MultiWorkerMirroredStrategy first)");
}

struct AllReduceReplay {
  Tensor operator()(const trace::Tensors& in, ReduceOp op) const { return all_reduce(in[0], op); }
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
  resolve(lib, "MPI_Allreduce", m.Allreduce, library);
  resolve(lib, "MPI_Bcast", m.Bcast, library);
  resolve(lib, "MPI_Barrier", m.Barrier, library);
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
  started = true;
}

bool initialized() { return started; }

void finalize() {
  const std::lock_guard<std::mutex> lock(mutex);
  if (!started) return;
  int done = 0;
  mpi.Finalized(&done);
  if (!done) mpi.Finalize();
  started = false;
}

int rank() { return world_rank; }
int size() { return world_size; }

Tensor all_reduce(const Tensor& x, ReduceOp op) {
  trace::OpRecord rec;
  constexpr const char* name = "all_reduce";
  check_operand(x, name);
  const Handle type = datatype(x.dtype(), name);
  const Handle mpi_op = reduce_op(op);
  Tensor out = clone(x);
  if (out.numel() > 0) {
    check(mpi.Allreduce(kInPlace, out.raw_data(), static_cast<int>(out.numel()), type, mpi_op,
                        kCommWorld),
          "MPI_Allreduce");
  }
  // Communicates: never folded, dropped or moved, so each replay exchanges its values.
  rec.record_effect(trace::Effect::Communicates, name, {x}, {out}, AllReduceReplay{}, op);
  return out;
}

void broadcast_(const Tensor& x, int root) {
  constexpr const char* name = "broadcast";
  check_operand(x, name);
  CORTEN_CHECK_VALUE(x.is_contiguous(), name, ": expected a contiguous tensor");
  CORTEN_CHECK_VALUE(root >= 0 && root < world_size, name, ": root ", root,
                     " is not a rank of ", world_size);
  if (x.numel() == 0) return;
  check(mpi.Bcast(x.raw_data(), static_cast<int>(x.numel()), datatype(x.dtype(), name), root,
                  kCommWorld),
        "MPI_Bcast");
}

void barrier() {
  CORTEN_CHECK_VALUE(started, "barrier: MPI is not initialised");
  check(mpi.Barrier(kCommWorld), "MPI_Barrier");
}

}  // namespace corten::dist
