// cuda::gather and gather_backward (csrc/cuda/gather.cu through the shim) against the CPU
// kernels: int32 and int64 indices, element sizes that give every word width (and misaligned
// buffers), batches, empty shapes, and many repeated indices for gather_backward, whose sums
// are bit for bit the CPU's (Note [CUDA gather_backward order]). Bad indices (negative, too
// large, several of them) give the CPU's BadIndex, the first in order, and leave the output
// untouched.
#include <corten/dtype.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "check.h"
#include "cpu/gather.h"
#include "cuda/kernels.h"
#include "shim_cases.h"

namespace {

using corten::DType;
using corten::Shape;
using namespace corten_test;

struct GatherCase {
  std::string name;
  int64_t batch, outer, n, inner, num_indices;
};

std::vector<GatherCase> gather_cases() {
  return {
      {"no indices", 1, 1, 5, 3, 0},      {"empty rows", 1, 2, 6, 0, 3},
      {"no outer", 2, 0, 4, 3, 2},        {"single", 1, 1, 1, 1, 1},
      {"scalars", 1, 1, 5, 1, 3},         {"rows", 1, 1, 10, 4, 7},
      {"batched", 2, 3, 7, 5, 4},         {"wide rows", 3, 1, 9, 16, 6},
      {"odd rows", 2, 2, 5, 3, 9},        {"embedding", 1, 1, 50, 33, 100},
      {"many indices", 2, 1, 11, 2, 700},
  };
}

// Indices of `c` in [0, n) (or [-1, n] when `bad`), with repeats.
Operand make_indices(DType index_dtype, const GatherCase& c, uint32_t seed) {
  const Shape shape{c.batch * c.num_indices};
  Operand idx = make_operand(index_dtype, shape, {1}, 0, seed, 1, false, 1);
  uint32_t s = seed * 7919u + 17u;
  for (int64_t k = 0; k < shape[0]; ++k) {
    s = s * 1664525u + 1013904223u;
    const int64_t v = c.n > 0 ? static_cast<int64_t>((s >> 8) % static_cast<uint32_t>(c.n)) : 0;
    if (index_dtype == DType::Int32) {
      reinterpret_cast<int32_t*>(idx.storage.data())[k] = static_cast<int32_t>(v);
    } else {
      reinterpret_cast<int64_t*>(idx.storage.data())[k] = v;
    }
  }
  return idx;
}

void set_index(Operand& idx, int64_t k, int64_t v) {
  if (idx.dtype == DType::Int32) {
    reinterpret_cast<int32_t*>(idx.storage.data())[k] = static_cast<int32_t>(v);
  } else {
    reinterpret_cast<int64_t*>(idx.storage.data())[k] = v;
  }
}

bool same_bad(const std::string& what, corten::cpu::BadIndex got, corten::cpu::BadIndex want) {
  if (got.position == want.position && got.value == want.value) return true;
  std::printf("%s: bad index cuda (%lld, %lld), cpu (%lld, %lld)\n", what.c_str(),
              static_cast<long long>(got.position), static_cast<long long>(got.value),
              static_cast<long long>(want.position), static_cast<long long>(want.value));
  return false;
}

// Element sizes and the offset of params (in elements): every word width of the row copy.
struct Item {
  DType dtype;  // for the values only
  size_t itemsize;
  int64_t offset;
};

void check_gather(const GatherCase& c, DType index_dtype, const Item& item, const Operand& idx,
                  uint32_t seed, const std::string& tag) {
  const std::string what = "gather " + c.name + " " + corten::dtype_name(index_dtype) +
                           " itemsize " + std::to_string(item.itemsize) + " offset " +
                           std::to_string(item.offset) + tag;
  // params as bytes of itemsize per element (the kernel moves bytes).
  const int64_t p_elems = c.batch * c.outer * c.n * c.inner;
  std::vector<unsigned char> pbytes(static_cast<size_t>(p_elems + item.offset) * item.itemsize +
                                    16);
  for (size_t i = 0; i < pbytes.size(); ++i) pbytes[i] = static_cast<unsigned char>(i * 37 + seed);
  const size_t poff = static_cast<size_t>(item.offset) * item.itemsize;
  const int64_t out_elems = c.batch * c.outer * c.num_indices * c.inner;
  const size_t bytes = static_cast<size_t>(out_elems) * item.itemsize + 17;
  std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xAB);
  corten::cpu::BadIndex got_bad;
  // The output starts `item.offset` elements in, as params does.
  {
    KernelBuffer dp(pbytes), di(idx.storage), dout(got);
    got_bad = corten::cuda::gather(item.itemsize, index_dtype, dp.get(poff), c.batch, c.outer, c.n,
                                   c.inner, di.get(), c.num_indices, dout.get(poff % 16));
    got = dout.read();
  }
  const corten::cpu::BadIndex want_bad =
      corten::cpu::gather(item.itemsize, index_dtype, pbytes.data() + poff, c.batch, c.outer, c.n,
                          c.inner, idx.data(), c.num_indices, want.data() + poff % 16);
  CHECK(same_bad(what, got_bad, want_bad));
  if (got != want) std::printf("%s: output differs\n", what.c_str());
  CHECK(got == want);
}

const RegisterCase gather_case("gather", [] {
  const Item items[] = {{DType::Float32, 4, 0}, {DType::Float32, 4, 1}, {DType::Float64, 8, 0},
                        {DType::Bool, 1, 0},    {DType::Bool, 1, 3},    {DType::Int32, 2, 1},
                        {DType::Int64, 12, 0},  {DType::Int64, 16, 0},  {DType::Int64, 3, 0}};
  uint32_t seed = 12000;
  for (const GatherCase& c : gather_cases()) {
    for (DType index_dtype : {DType::Int32, DType::Int64}) {
      Operand idx = make_indices(index_dtype, c, ++seed);
      // Every element size on the small cases, the common ones on the larger.
      for (const Item& item : items) {
        if (c.num_indices * c.inner <= 64 || item.offset == 0) {
          check_gather(c, index_dtype, item, idx, ++seed, "");
        }
      }
      const int64_t count = c.batch * c.num_indices;
      if (count == 0) continue;
      // Bad indices: one too large at the end, then a negative one earlier, then one at the
      // start: the first in order is reported each time.
      set_index(idx, count - 1, c.n);
      check_gather(c, index_dtype, items[0], idx, ++seed, " bad last");
      set_index(idx, count / 2, -3);
      check_gather(c, index_dtype, items[2], idx, ++seed, " bad middle");
      set_index(idx, 0, c.n + 1000);
      check_gather(c, index_dtype, items[3], idx, ++seed, " bad first");
    }
  }
});

void check_gather_backward(const GatherCase& c, DType dtype, DType index_dtype, const Operand& idx,
                           bool zero_start, uint32_t seed, const std::string& tag) {
  const std::string what = "gather_backward " + c.name + " " + corten::dtype_name(dtype) + " " +
                           corten::dtype_name(index_dtype) + tag;
  const Shape g_shape{c.batch * c.outer * c.num_indices * c.inner};
  const Shape d_shape{c.batch * c.outer * c.n * c.inner};
  const Operand grad = make_operand(dtype, g_shape, {1}, 0, seed, 3.0, false, 1);
  // dparams is zero-filled by the entry point; the kernel adds onto whatever it holds.
  Operand want = make_operand(dtype, d_shape, {1}, 0, seed + 1, zero_start ? 0.0 : 2.0, false, 1);
  std::vector<unsigned char> got;
  corten::cpu::BadIndex got_bad;
  {
    KernelBuffer dg(grad.storage), di(idx.storage), dd(want.storage);
    got_bad = corten::cuda::gather_backward(dtype, index_dtype, dg.get(), c.batch, c.outer, c.n,
                                            c.inner, di.get(), c.num_indices, dd.get());
    got = dd.read();
  }
  const corten::cpu::BadIndex want_bad =
      corten::cpu::gather_backward(dtype, index_dtype, grad.data(), c.batch, c.outer, c.n, c.inner,
                                   idx.data(), c.num_indices, want.storage.data());
  CHECK(same_bad(what, got_bad, want_bad));
  CHECK(same_values(what, dtype, got.data(), want.storage.data(),
                    static_cast<int64_t>(got.size() / corten::itemsize(dtype)), 0, 0));
}

const RegisterCase gather_backward_case("gather_backward", [] {
  uint32_t seed = 13000;
  for (const GatherCase& c : gather_cases()) {
    // Each dtype with each index dtype once, over the three pairs that cover them.
    const std::pair<DType, DType> pairs[] = {{DType::Float32, DType::Int32},
                                             {DType::Float64, DType::Int64},
                                             {DType::Float32, DType::Int64}};
    for (const auto& [dtype, index_dtype] : pairs) {
      Operand idx = make_indices(index_dtype, c, ++seed);
      check_gather_backward(c, dtype, index_dtype, idx, dtype == DType::Float32, ++seed, "");
      const int64_t count = c.batch * c.num_indices;
      if (count == 0) continue;
      set_index(idx, count - 1, -1);
      check_gather_backward(c, dtype, index_dtype, idx, false, ++seed, " bad last");
      set_index(idx, count / 3, c.n);
      check_gather_backward(c, dtype, index_dtype, idx, false, ++seed, " bad middle");
    }
  }
  // Every index the same: one run over all positions, summed in order.
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const GatherCase c{"one index", 1, 2, 3, 5, 2000};
    Operand idx = make_indices(DType::Int64, c, 1);
    for (int64_t k = 0; k < c.num_indices; ++k) set_index(idx, k, 1);
    check_gather_backward(c, dtype, DType::Int64, idx, true, ++seed, "");
  }
});

}  // namespace
