// Tests of the public C++ API, without Python: tensors, views, broadcasting, error types,
// parallel_for, allocator statistics, DLPack, CPU kernel selection. A plain program: prints each
// failed check and exits nonzero if any failed.
#include <corten/allocator.h>
#include <corten/cpu_features.h>
#include <corten/dlpack.h>
#include <corten/errors.h>
#include <corten/ops.h>
#include <corten/parallel.h>
#include <corten/tensor.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "check.h"

namespace {

using corten::DType;
using corten::Shape;
using corten::Tensor;

// Values of a float32 tensor in C order (any layout).
std::vector<float> values(const Tensor& t) {
  const Tensor c = t.contiguous();
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

Tensor arange_f32(int64_t n) {
  Tensor t = Tensor::empty({n}, DType::Float32);
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

corten::IndexItem slice(int64_t start, int64_t stop, int64_t step) {
  corten::IndexItem it;
  it.kind = corten::IndexItem::Slice;
  it.has_start = it.has_stop = true;
  it.start = start;
  it.stop = stop;
  it.step = step;
  return it;
}
corten::IndexItem at(int64_t i) {
  corten::IndexItem it;
  it.kind = corten::IndexItem::Int;
  it.index = i;
  return it;
}

void test_creation() {
  Tensor z = corten::zeros({2, 3});
  CHECK(z.defined());
  CHECK(z.shape() == (Shape{2, 3}));
  CHECK(z.strides() == (Shape{3, 1}));
  CHECK(z.dtype() == DType::Float32);
  CHECK(z.device() == corten::Device::CPU);
  CHECK(z.numel() == 6 && z.nbytes() == 24 && z.ndim() == 2);
  CHECK(z.is_contiguous());
  CHECK(values(z) == std::vector<float>(6, 0.0f));
  CHECK(values(corten::ones({4})) == std::vector<float>(4, 1.0f));
  Tensor f = corten::full({2}, 2.5, DType::Float64);
  CHECK(f.dtype() == DType::Float64 && f.data<double>()[1] == 2.5);
  Tensor s = corten::full({}, 7.0, DType::Int32);
  CHECK(s.ndim() == 0 && s.numel() == 1 && *s.data<int32_t>() == 7);
  Tensor e = corten::zeros({0, 5});
  CHECK(e.numel() == 0 && e.shape() == (Shape{0, 5}));
  CHECK(std::string(corten::dtype_name(DType::Int64)) == "int64");
  CHECK(corten::itemsize(DType::Bool) == 1);
  Tensor m = Tensor::empty({3, corten::kUnknownDim}, DType::Float32, corten::Device::Meta);
  CHECK(m.is_meta() && m.raw_data() == nullptr);
}

void test_views() {
  Tensor base = arange_f32(12);
  Tensor r = corten::reshape(base, {3, 4});
  CHECK(r.storage() == base.storage());  // reshape of contiguous data is a view
  Tensor tr = corten::transpose(r);
  CHECK(tr.shape() == (Shape{4, 3}) && tr.strides() == (Shape{1, 4}));
  CHECK(!tr.is_contiguous() && tr.storage() == base.storage());
  CHECK(values(tr) == (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  Tensor row = corten::index(r, {at(1)});
  CHECK(row.shape() == (Shape{4}) && values(row) == (std::vector<float>{4, 5, 6, 7}));
  Tensor cols = corten::index(r, {slice(0, 3, 1), slice(0, 4, 2)});
  CHECK(cols.shape() == (Shape{3, 2}) && values(cols) == (std::vector<float>{0, 2, 4, 6, 8, 10}));
  // Writes through the base are seen by the views.
  base.data<float>()[6] = 60.0f;
  CHECK(values(row)[2] == 60.0f);
  CHECK(values(cols)[3] == 60.0f);
  Tensor c = tr.contiguous();
  CHECK(c.is_contiguous() && c.storage() != base.storage());
  Tensor e = corten::expand_dims(row, 0);
  CHECK(e.shape() == (Shape{1, 4}) && e.storage() == base.storage());
  CHECK_THROWS(corten::IndexError, corten::index(r, {at(3)}));
  CHECK_THROWS(corten::ValueError, corten::reshape(r, {5, 2}));
}

void test_broadcast_add() {
  Tensor a = corten::reshape(arange_f32(3), {3, 1});
  Tensor b = corten::reshape(arange_f32(4), {1, 4});
  Tensor c = corten::add(a, b);
  CHECK(c.shape() == (Shape{3, 4}));
  CHECK(values(c) == (std::vector<float>{0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5}));
  Tensor d = corten::multiply(c, corten::full({}, 2.0, DType::Float32));
  CHECK(values(d)[11] == 10.0f);
  // A non-contiguous operand.
  Tensor t = corten::transpose(c);
  Tensor s = corten::add(t, t);
  CHECK(s.shape() == (Shape{4, 3}) && values(s)[1] == 2.0f);
  Tensor m = corten::matmul(corten::reshape(arange_f32(6), {2, 3}),
                            corten::reshape(arange_f32(6), {3, 2}));
  CHECK(values(m) == (std::vector<float>{10, 13, 28, 40}));
  CHECK(values(corten::relu(corten::add(arange_f32(3), corten::full({}, -1.0, DType::Float32)))) ==
        (std::vector<float>{0, 0, 1}));
  CHECK(corten::broadcast_shapes({4}, {2, 3, 4}, "test") == (Shape{2, 3, 4}));
}

void test_errors() {
  // Shape mismatch: ValueError whose message names both shapes.
  try {
    corten::add(corten::zeros({2, 3}), corten::zeros({4}));
    CHECK(false);
  } catch (const corten::ValueError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("(2, 3)") != std::string::npos && msg.find("(4,)") != std::string::npos);
  }
  CHECK_THROWS(corten::ValueError, corten::add(corten::zeros({2, 3}), corten::zeros({4})));
  CHECK_THROWS(corten::ValueError,
               corten::matmul(corten::zeros({2, 3}), corten::zeros({4, 5})));
  CHECK_THROWS(corten::ValueError, corten::zeros({-2}));
  // Absurd sizes: MemoryError, and the allocator still works afterwards.
  CHECK_THROWS(corten::MemoryError, corten::zeros({int64_t{1} << 40, int64_t{1} << 40}));
  CHECK_THROWS(corten::MemoryError, corten::zeros({int64_t{1} << 62}));
  CHECK_THROWS(corten::MemoryError, corten::zeros({int64_t{1} << 42}));
  CHECK_THROWS(corten::MemoryError, Tensor::empty({int64_t{1} << 61}, DType::Float64));
  CHECK(values(corten::ones({2})) == (std::vector<float>{1, 1}));
  // dtype mismatch: TypeError.
  CHECK_THROWS(corten::TypeError,
               corten::add(corten::zeros({2}), corten::zeros({2}, DType::Int32)));
  CHECK_THROWS(corten::TypeError, corten::sigmoid(corten::zeros({2}, DType::Bool)));
  CHECK_THROWS(corten::NotImplementedError,
               Tensor::empty({2}, DType::Float32, corten::Device::CUDA));
  // Every corten exception is a corten::Error and a std::runtime_error.
  try {
    corten::add(corten::zeros({2}), corten::zeros({3}));
  } catch (const std::runtime_error& e) {
    CHECK(dynamic_cast<const corten::Error*>(&e) != nullptr);
  }
}

// parallel_items: every index exactly once, one per call; a thread held up in its first index
// leaves the rest of its share to the others (Note [Chunk affinity]).
void test_parallel_items(int threads) {
  for (int64_t n : {0, 1, 3, 7, 1000}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    corten::parallel_items(n, [&](int64_t b, int64_t e) {
      CHECK(e == b + 1);
      ++hits[static_cast<size_t>(b)];
    });
    bool each_once = true;
    for (const auto& h : hits) each_once &= h.load() == 1;
    CHECK(each_once);
  }
  CHECK_THROWS(corten::ValueError, corten::parallel_items(16, [](int64_t i, int64_t) {
                 if (i == 9) throw corten::ValueError("item failed");
               }));
  if (threads < 2) return;
  // Index 0 opens the caller's share; while it sleeps, the workers finish their own shares and
  // take the rest of the caller's.
  const int64_t n = 8L * threads;
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<std::thread::id> ran_on(static_cast<size_t>(n));
  corten::parallel_items(n, [&](int64_t i, int64_t) {
    if (i == 0 && std::this_thread::get_id() == caller)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ran_on[static_cast<size_t>(i)] = std::this_thread::get_id();
  });
  if (ran_on[0] == caller) {
    int64_t by_others = 0;
    for (int64_t i = 1; i < n / threads; ++i) by_others += ran_on[static_cast<size_t>(i)] != caller;
    CHECK(by_others == n / threads - 1);
  }
}

void test_parallel_for() {
  const int previous = corten::get_num_threads();
  for (int threads : {1, 2, 4}) {
    corten::set_num_threads(threads);
    CHECK(corten::get_num_threads() == threads);
    const int64_t n = 100000;
    std::vector<int> hits(n, 0);
    std::atomic<int64_t> sum{0};
    corten::parallel_for(0, n, 1000, [&](int64_t b, int64_t e) {
      int64_t local = 0;
      for (int64_t i = b; i < e; ++i) {
        ++hits[static_cast<size_t>(i)];
        local += i;
      }
      sum += local;
    });
    CHECK(sum.load() == n * (n - 1) / 2);
    bool each_once = true;
    for (int h : hits) each_once &= h == 1;
    CHECK(each_once);
    // Nested calls run inline; exceptions reach the caller.
    std::atomic<int64_t> inner{0};
    corten::parallel_for(0, 8, 1, [&](int64_t b, int64_t e) {
      corten::parallel_for(0, 100, 1,
                           [&](int64_t ib, int64_t ie) { inner += (ie - ib) * (e - b); });
    });
    CHECK(inner.load() == 800);
    CHECK_THROWS(corten::ValueError, corten::parallel_for(0, 1000, 10, [](int64_t, int64_t e) {
                   if (e > 500) throw corten::ValueError("chunk failed");
                 }));
    int calls = 0;
    corten::parallel_for(5, 5, 1, [&](int64_t, int64_t) { ++calls; });
    CHECK(calls == 0);
    test_parallel_items(threads);
  }
  CHECK_THROWS(corten::ValueError, corten::set_num_threads(-1));
  corten::set_num_threads(0);
  CHECK(corten::get_num_threads() >= 1);
  corten::set_num_threads(previous);
}

void test_allocator_stats() {
  const corten::AllocatorStats before = corten::allocator_stats();
  {
    Tensor t = corten::zeros({1000});  // 4000 bytes, in the 4032-byte size class
    const corten::AllocatorStats during = corten::allocator_stats();
    CHECK(during.live_bytes == before.live_bytes + 4032);
    CHECK(during.peak_bytes >= during.live_bytes);
    CHECK(during.num_allocs == before.num_allocs + 1);
  }
  const corten::AllocatorStats after = corten::allocator_stats();
  CHECK(after.live_bytes == before.live_bytes);
  CHECK(after.cached_bytes >= 4032);
  corten::allocator_reset_peak();
  CHECK(corten::allocator_stats().peak_bytes == after.live_bytes);
  corten::allocator_empty_cache();
  CHECK(corten::allocator_stats().cached_bytes == 0);
  CHECK_THROWS(corten::ValueError, corten::allocator_set_cache_limit(-1));
}

void test_freed_buffer_poisoning() {
  corten::allocator_set_poison_freed(true);
  const void* block = nullptr;
  {
    Tensor t = corten::zeros({1000});
    block = t.raw_data();
  }
  // The cache hands the same size class back: the block comes back filled with NaN.
  auto s = corten::Storage::allocate(4000);
  CHECK(s->data() == block);
  const auto* bytes = static_cast<const unsigned char*>(s->data());
  bool all_ones = true;
  for (int i = 0; i < 4000; ++i) all_ones = all_ones && bytes[i] == 0xFF;
  CHECK(all_ones);
  corten::allocator_set_poison_freed(false);
  CHECK(!corten::allocator_poison_freed());
}

int g_deleted = 0;

void test_dlpack() {
  // Export: shares memory, keeps the tensor alive after the handle is gone.
  Tensor base = corten::reshape(arange_f32(6), {2, 3});
  Tensor t = corten::transpose(base);
  corten::DLManagedTensor* m = corten::to_dlpack(t);
  CHECK(m->dl_tensor.ndim == 2 && m->dl_tensor.shape[0] == 3 && m->dl_tensor.strides[0] == 1);
  CHECK(m->dl_tensor.device.device_type == corten::kDLCPU);
  CHECK(m->dl_tensor.dtype.code == corten::kDLFloat && m->dl_tensor.dtype.bits == 32);
  CHECK(m->dl_tensor.data == base.raw_data());
  // Import of our own export: a view of the same memory; the deleter runs with the storage.
  Tensor back = corten::from_dlpack(m);
  CHECK(back.raw_data() == base.raw_data());
  CHECK(values(back) == values(t));
  base = Tensor();
  t = Tensor();
  CHECK(values(back) == (std::vector<float>{0, 3, 1, 4, 2, 5}));
  back = Tensor();

  // A foreign producer with negative strides, a byte offset and a counting deleter.
  static double data[6] = {0, 1, 2, 3, 4, 5};
  static int64_t shape[2] = {2, 3};
  static int64_t strides[2] = {-3, 1};
  corten::DLManagedTensor foreign{};
  foreign.dl_tensor.data = data;
  foreign.dl_tensor.byte_offset = 3 * sizeof(double);  // starts at row 1
  foreign.dl_tensor.device = {corten::kDLCPU, 0};
  foreign.dl_tensor.ndim = 2;
  foreign.dl_tensor.dtype = {corten::kDLFloat, 64, 1};
  foreign.dl_tensor.shape = shape;
  foreign.dl_tensor.strides = strides;
  foreign.deleter = [](corten::DLManagedTensor*) { ++g_deleted; };
  {
    Tensor f = corten::from_dlpack(&foreign);
    const Tensor c = f.contiguous();
    const double* p = c.data<double>();
    CHECK(p[0] == 3 && p[2] == 5 && p[3] == 0 && p[5] == 2);
    CHECK(g_deleted == 0);
  }
  CHECK(g_deleted == 1);
  // Rejected inputs leave ownership with the caller (the deleter is not called).
  foreign.dl_tensor.dtype = {corten::kDLUInt, 8, 1};
  CHECK_THROWS(corten::TypeError, corten::from_dlpack(&foreign));
  foreign.dl_tensor.dtype = {corten::kDLFloat, 64, 1};
  foreign.dl_tensor.device = {corten::kDLCUDA, 0};
  CHECK_THROWS(corten::ValueError, corten::from_dlpack(&foreign));
  foreign.dl_tensor.device = {corten::kDLCPU, 0};
  int64_t huge[2] = {int64_t{1} << 40, int64_t{1} << 40};
  foreign.dl_tensor.shape = huge;
  CHECK_THROWS(corten::ValueError, corten::from_dlpack(&foreign));
  CHECK_THROWS(corten::ValueError, corten::from_dlpack(nullptr));
  CHECK(g_deleted == 1);
  // Versioned export.
  corten::DLManagedTensorVersioned* v = corten::to_dlpack_versioned(corten::ones({2}, DType::Bool));
  CHECK(v->version.major == 1 && v->flags == 0 && v->dl_tensor.dtype.code == corten::kDLBool);
  v->deleter(v);
}

// The backward ops of indexing, gather, pad and softmax (adjoints of their forward ops).
void test_backward_ops() {
  // index_grad: zeros with the gradient written through the same view.
  const Tensor g2 = corten::full({2}, 1.0, DType::Float32);
  const Tensor di = corten::index_grad(g2, {2, 3}, {at(1), slice(0, 3, 2)});
  CHECK(values(di) == (std::vector<float>{0, 0, 0, 1, 0, 1}));
  CHECK_THROWS(corten::ValueError, corten::index_grad(corten::ones({2}), {2, 3}, {at(1)}));
  // gather_grad: duplicate indices accumulate.
  Tensor idx = Tensor::empty({3}, DType::Int64);
  idx.data<int64_t>()[0] = 2;
  idx.data<int64_t>()[1] = 0;
  idx.data<int64_t>()[2] = 2;
  const Tensor dg = corten::gather_grad(arange_f32(3), idx, {4}, 0);
  CHECK(values(dg) == (std::vector<float>{1, 0, 2, 0}));
  CHECK_THROWS(corten::ValueError, corten::gather_grad(arange_f32(2), idx, {4}, 0));
  CHECK_THROWS(corten::IndexError, corten::gather_grad(arange_f32(3), idx, {2}, 0));
  CHECK_THROWS(corten::TypeError,
               corten::gather_grad(corten::ones({3}, DType::Int32), idx, {4}, 0));
  // pad_grad: REFLECT folds the mirrored elements back onto their sources.
  const Tensor dp = corten::pad_grad(corten::ones({6}), {{2, 1}}, corten::PadMode::Reflect);
  CHECK(values(dp) == (std::vector<float>{1, 3, 2}));  // (x2 x1) x0 x1 x2 (x1)
  const Tensor dc = corten::pad_grad(arange_f32(5), {{1, 2}}, corten::PadMode::Constant);
  CHECK(values(dc) == (std::vector<float>{1, 2}));
  CHECK_THROWS(corten::ValueError,
               corten::pad_grad(corten::ones({4}), {{2, 1}}, corten::PadMode::Reflect));
  CHECK_THROWS(corten::ValueError,
               corten::pad_grad(corten::ones({2}), {{2, 1}}, corten::PadMode::Constant));
  // softmax_grad: uniform y and a constant g give zero.
  const Tensor y = corten::full({2, 4}, 0.25, DType::Float32);
  const Tensor ds = corten::softmax_grad(y, corten::ones({2, 4}), -1);
  CHECK(values(ds) == std::vector<float>(8, 0.0f));
  CHECK_THROWS(corten::ValueError, corten::softmax_grad(y, corten::ones({4, 2}), -1));
  CHECK_THROWS(corten::ValueError, corten::log_softmax_grad(y, corten::ones({2, 4}), 2));
}

// The ISA ladder: every level the CPU has can be selected and includes the levels below; the
// same product comes out of each (exact here: small integers in float32).
void test_cpu_isa() {
  using corten::CpuIsa;
  const std::string before = corten::cpu_isa_name();
  CHECK(before == "avx512" || before == "avx2" || before == "baseline");
  CHECK(!corten::cpu_has_avx512() || corten::cpu_has_avx2());
  const Tensor a = corten::reshape(arange_f32(70 * 9), {70, 9});
  const Tensor b = corten::reshape(arange_f32(9 * 33), {9, 33});
  std::vector<float> first;
  for (const char* name : {"baseline", "avx2", "avx512"}) {
    const std::string isa = name;
    const bool has = isa == "baseline" ||
                     (isa == "avx2" ? corten::cpu_has_avx2() : corten::cpu_has_avx512());
    if (!has) {
      CHECK_THROWS(corten::ValueError, corten::set_cpu_isa(name));
      continue;
    }
    corten::set_cpu_isa(name);
    CHECK(corten::cpu_isa_name() == name);
    CHECK(corten::cpu_isa_at_least(CpuIsa::Baseline));
    CHECK(corten::cpu_isa_at_least(CpuIsa::Avx2) == (isa != "baseline"));
    CHECK(corten::cpu_isa_at_least(CpuIsa::Avx512) == (isa == "avx512"));
    const std::vector<float> c = values(corten::matmul(a, b));
    if (first.empty()) first = c;
    CHECK(c == first);
  }
  CHECK_THROWS(corten::ValueError, corten::set_cpu_isa("sse"));
  corten::set_cpu_isa(before);
  CHECK(corten::cpu_isa_name() == before);
}

}  // namespace

int main() {
  test_creation();
  test_views();
  test_broadcast_add();
  test_errors();
  test_parallel_for();
  test_allocator_stats();
  test_freed_buffer_poisoning();
  test_dlpack();
  test_backward_ops();
  test_cpu_isa();
  return corten_test::check_summary();
}
