#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU, nvcc, CMake, ninja, pybind11, numpy, pytest
# and PyTorch with CUDA (the device machine's image has them all): builds corten with its CUDA
# kernels, runs the CUDA kernel cases on the GPU (corten_test_cuda_device, the shim's cases on
# real hardware), the GPU Python tests (tests/python/test_cuda.py), then the GPU bench against
# PyTorch in the same run. About 8 minutes on an H100/H200 with 16 cores.
#
#   bench/gpu_check.sh [OUT_DIR]     (default: bench/results; files gpu-check-*.txt/json)
#
# Every step runs even when an earlier one fails, so one run reports everything; the exit
# status is that of the first failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-${OUT:-$root/bench/results}}
mkdir -p "$out"
stamp=$(date -u +%Y-%m-%d)
log="$out/gpu-check-$stamp.txt"
status=0
step() {  # step NAME COMMAND...: runs and logs one step, keeping the first failure
  echo "== $1" | tee -a "$log"
  shift
  local t0=$SECONDS
  "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  echo "== exit $rc after $((SECONDS - t0)) s" | tee -a "$log"
  [ "$status" -ne 0 ] || status=$rc
}
: >"$log"
cd "$root" || exit 1
step "machine" bash -c 'nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nvcc --version | tail -2; python3 -c "import torch; print(\"torch\", torch.__version__)"'
# One build serves all: the extension, the library and the C++ tests, for this GPU only.
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
export CORTEN_BUILD_DIR="$root/build/gpu" CORTEN_JOBS=$(nproc)
step "build (CUDA, sm_${arch:-90})" tools/dev_build.sh -DCORTEN_CUDA=ON -DCORTEN_BUILD_TESTS=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${arch:-90}" -DCMAKE_CUDA_COMPILER="$(command -v nvcc)"
cmake --build "$CORTEN_BUILD_DIR" -j"$(nproc)" --target corten_test_cuda_shim \
  corten_test_cuda_device >/dev/null 2>&1
step "CUDA kernels on the GPU" "$CORTEN_BUILD_DIR/tests/cuda_shim/corten_test_cuda_device"
export PYTHONPATH="$root/python"
step "GPU Python tests" python3 -m pytest -q -p no:cacheprovider -rs tests/python/test_cuda.py \
  tests/python/test_devices.py tests/python/test_tf_test.py
# The op and layer suites with GPU:0 as the default device (a broad check; 4 minutes at most).
step "op and layer tests placed on the GPU" timeout 240 python3 -m pytest -q -p no:cacheprovider \
  tests/python/keras/layers tests/python/ops --maxfail=20
step "GPU bench" python3 -m corten.bench --device GPU --peer torch=python3 --rounds 3 \
  --threads "$(nproc)" \
  --filter "gpu/,training/fit MLP,training/fit VAE,training/fit toy ResNet,inference/" \
  --json "$out/gpu-check-$stamp.json"
echo "== first failing status: $status" | tee -a "$log"
exit "$status"
