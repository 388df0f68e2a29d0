// Loads a model saved from Python and prints its predictions for one input row:
//   predict MODEL [THREADS] -- v0 v1 v2 ...
// The row's length must be the model's input width; the output is printed with 9 significant
// digits, enough to give back every float32 bit.
#include <corten/errors.h>
#include <corten/model.h>
#include <corten/parallel.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4 || std::strcmp(argv[3], "--") != 0) {
    std::fprintf(stderr, "usage: %s MODEL THREADS -- v0 v1 ...\n", argv[0]);
    return 2;
  }
  try {
    corten::set_num_threads(std::atoi(argv[2]));
    const corten::Model model = corten::Model::load(argv[1]);
    std::vector<float> row;
    for (int i = 4; i < argc; ++i) row.push_back(std::strtof(argv[i], nullptr));
    corten::Tensor x =
        corten::Tensor::empty({1, static_cast<int64_t>(row.size())}, corten::DType::Float32);
    std::memcpy(x.raw_data(), row.data(), row.size() * sizeof(float));
    const corten::Tensor y = model.predict({x})[0].contiguous();
    for (int64_t i = 0; i < y.numel(); ++i) {
      std::printf(i ? " %.9g" : "%.9g", static_cast<double>(y.data<float>()[i]));
    }
    std::printf("\n");
  } catch (const corten::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
