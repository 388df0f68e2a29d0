// The run-time loader of cuBLASLt (Note [cuBLASLt at run time] in cuda/cublaslt_loader.h) and
// the TF32 switch of the CUDA GEMM. Host code only; compiled in the CUDA build.

#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/cublaslt_loader.h"

namespace corten::cuda {
namespace {

struct Loader {
  std::mutex mu;
  std::vector<std::string> dirs;
  bool tried = false;  // since the last add_library_dir
  void* lib = nullptr;
  lt::Api api{};
  std::string status = "cuBLASLt has not been loaded yet";
};

Loader& loader() {
  static Loader* l = new Loader;  // never destroyed: products may run during static teardown
  return *l;
}

template <class Fn>
bool resolve(void* lib, const char* name, Fn& fn, std::string& why) {
  dlerror();
  void* sym = dlsym(lib, name);
  if (!sym) {
    const char* err = dlerror();
    why = std::string("symbol ") + name + " not found: " + (err ? err : "null");
    return false;
  }
  fn = reinterpret_cast<Fn>(sym);
  return true;
}

bool resolve_all(void* lib, lt::Api& a, std::string& why) {
  return resolve(lib, "cublasLtCreate", a.create, why) &&
         resolve(lib, "cublasLtMatmulDescCreate", a.matmul_desc_create, why) &&
         resolve(lib, "cublasLtMatmulDescDestroy", a.matmul_desc_destroy, why) &&
         resolve(lib, "cublasLtMatmulDescSetAttribute", a.matmul_desc_set_attribute, why) &&
         resolve(lib, "cublasLtMatrixLayoutCreate", a.matrix_layout_create, why) &&
         resolve(lib, "cublasLtMatrixLayoutDestroy", a.matrix_layout_destroy, why) &&
         resolve(lib, "cublasLtMatrixLayoutSetAttribute", a.matrix_layout_set_attribute, why) &&
         resolve(lib, "cublasLtMatmulPreferenceCreate", a.preference_create, why) &&
         resolve(lib, "cublasLtMatmulPreferenceDestroy", a.preference_destroy, why) &&
         resolve(lib, "cublasLtMatmulPreferenceSetAttribute", a.preference_set_attribute, why) &&
         resolve(lib, "cublasLtMatmulAlgoGetHeuristic", a.algo_get_heuristic, why) &&
         resolve(lib, "cublasLtMatmul", a.matmul, why);
}

// Tries the candidates in order; the caller holds l.mu.
void load(Loader& l) {
  l.tried = true;
  std::vector<std::string> candidates;
  for (const std::string& dir : l.dirs) {
    candidates.push_back(dir + "/libcublasLt.so.13");
    candidates.push_back(dir + "/libcublasLt.so");
  }
  candidates.push_back("libcublasLt.so.13");
  candidates.push_back("libcublasLt.so");
  std::string reasons;
  for (const std::string& path : candidates) {
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* err = dlerror();  // names the file
      reasons += "; " + (err ? std::string(err) : path + ": dlopen failed");
      continue;
    }
    lt::Api api{};
    std::string why;
    if (!resolve_all(lib, api, why)) {
      reasons += "; " + path + ": " + why;
      dlclose(lib);
      continue;
    }
    l.lib = lib;
    l.api = api;
    l.status.clear();
    return;
  }
  l.status = "cuBLASLt could not be loaded" + reasons;
}

const lt::Api* loaded_api() {
  Loader& l = loader();
  std::lock_guard<std::mutex> lock(l.mu);
  if (!l.lib && !l.tried) load(l);
  return l.lib ? &l.api : nullptr;
}

}  // namespace

void add_library_dir(std::string dir) {
  Loader& l = loader();
  std::lock_guard<std::mutex> lock(l.mu);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  l.dirs.push_back(std::move(dir));
  l.tried = false;  // a library that was not found may be there now
}

std::string cublaslt_status() {
  loaded_api();
  Loader& l = loader();
  std::lock_guard<std::mutex> lock(l.mu);
  return l.status;
}

namespace lt {

const Api* api() { return loaded_api(); }

Handle handle() {
  const Api* a = api();
  if (!a) return nullptr;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return nullptr;
  constexpr int kMaxDevices = 64;
  if (device < 0 || device >= kMaxDevices) return nullptr;
  // One handle per device for the process (cuBLASLt handles are cheap to keep, and creating one
  // per product would cost more than small products).
  static std::mutex mu;
  static Handle handles[kMaxDevices] = {};
  static bool failed[kMaxDevices] = {};
  std::lock_guard<std::mutex> lock(mu);
  if (!handles[device] && !failed[device]) {
    Handle h = nullptr;
    if (a->create(&h) == kSuccess) {
      handles[device] = h;
    } else {
      failed[device] = true;
    }
  }
  return handles[device];
}

}  // namespace lt
}  // namespace corten::cuda
