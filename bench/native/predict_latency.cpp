// Times corten::Model::predict on a saved model, as a native application calls it:
//   predict_latency MODEL BATCH THREADS ROUNDS [--profile]
// Inputs are random (uniform [0, 1) floats; integers in [0, 10) for integer inputs) of the
// model's input shapes with the batch dimension set to BATCH. Each round times a block of
// calls sized to take about 20 ms and records the mean per call; the program prints one JSON
// object: the median over rounds of the per-call microseconds, the rounds themselves, and with
// --profile each op's mean microseconds (the op's entry point and kernels) and their sum.
#include <corten/errors.h>
#include <corten/model.h>
#include <corten/parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::vector<corten::Tensor> random_inputs(const corten::Model& model, int64_t batch) {
  std::mt19937 gen(0);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<corten::Tensor> inputs;
  for (int64_t i = 0; i < model.num_inputs(); ++i) {
    corten::Shape shape = model.input_shapes()[static_cast<size_t>(i)];
    for (int64_t& d : shape) {
      // The batch, and any other free dimension (a sequence's length), take BATCH and 32.
      if (d == corten::kUnknownDim) d = (&d == &shape[0]) ? batch : 32;
    }
    const corten::DType dtype = model.input_dtypes()[static_cast<size_t>(i)];
    corten::Tensor t = corten::Tensor::empty(shape, dtype);
    for (int64_t k = 0; k < t.numel(); ++k) {
      const float v = uniform(gen);
      switch (dtype) {
        case corten::DType::Float32:
          t.data<float>()[k] = v;
          break;
        case corten::DType::Float64:
          t.data<double>()[k] = v;
          break;
        case corten::DType::Int32:
          t.data<int32_t>()[k] = static_cast<int32_t>(v * 10);
          break;
        case corten::DType::Int64:
          t.data<int64_t>()[k] = static_cast<int64_t>(v * 10);
          break;
        default:
          throw corten::TypeError("predict_latency: unsupported input dtype");
      }
    }
    inputs.push_back(std::move(t));
  }
  return inputs;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s MODEL BATCH THREADS ROUNDS [--profile]\n", argv[0]);
    return 2;
  }
  try {
    const int64_t batch = std::atoll(argv[2]);
    corten::set_num_threads(std::atoi(argv[3]));
    const int rounds = std::atoi(argv[4]);
    const bool profile = argc > 5 && std::strcmp(argv[5], "--profile") == 0;
    const corten::Model model = corten::Model::load(argv[1]);
    const std::vector<corten::Tensor> inputs = random_inputs(model, batch);
    // Warm up (allocator cache, thread pool), then size the block to about 20 ms.
    auto start = Clock::now();
    int64_t calls = 0;
    while (seconds_since(start) < 0.2 || calls < 10) {
      model.predict(inputs);
      ++calls;
    }
    const int64_t block = std::max<int64_t>(1, static_cast<int64_t>(0.02 * calls / 0.2));
    std::vector<double> per_call;
    for (int r = 0; r < rounds; ++r) {
      start = Clock::now();
      for (int64_t i = 0; i < block; ++i) model.predict(inputs);
      per_call.push_back(seconds_since(start) / static_cast<double>(block) * 1e6);
    }
    std::vector<double> sorted = per_call;
    std::sort(sorted.begin(), sorted.end());
    std::printf("{\"median_us\": %.4f, \"block\": %lld, \"rounds_us\": [",
                sorted[sorted.size() / 2], static_cast<long long>(block));
    for (size_t i = 0; i < per_call.size(); ++i) std::printf(i ? ", %.4f" : "%.4f", per_call[i]);
    std::printf("]");
    if (profile) {
      const auto ops = model.profile(inputs, static_cast<int>(std::max<int64_t>(block, 10)));
      double sum = 0;
      std::printf(", \"ops_us\": [");
      for (size_t i = 0; i < ops.size(); ++i) {
        sum += ops[i].seconds * 1e6;
        std::printf(i ? ", [\"%s\", %.4f]" : "[\"%s\", %.4f]", ops[i].op.c_str(),
                    ops[i].seconds * 1e6);
      }
      std::printf("], \"ops_sum_us\": %.4f", sum);
    }
    std::printf("}\n");
  } catch (const corten::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
