#!/usr/bin/env bash
# Sanitizer run: builds corten and the extension with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DCORTEN_SANITIZE=ON) into build/asan, installs them with the Python sources into a separate
# prefix (build/asan-prefix), then runs the C++ tests (ctest) and the Python test suite against
# that prefix with libasan preloaded (python itself is not instrumented).
#   tools/sanitize.sh [pytest args...]      default: tests/python
# Environment: CORTEN_JOBS (parallel compile jobs, default 2), CORTEN_ASAN_BUILD_DIR,
# CORTEN_ASAN_PREFIX.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CORTEN_ASAN_BUILD_DIR:-$root/build/asan}
prefix=${CORTEN_ASAN_PREFIX:-$root/build/asan-prefix}
cxx=${CXX:-g++}

launcher=()
if command -v ccache >/dev/null 2>&1; then
  # Paths relative to the source tree, so that builds from different clones share the cache
  # (NOHASHDIR: -g would otherwise put the clone's directory into every hash).
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
# -O1 and line tables only (-g1), as the sanitizers' own documentation advises: stack traces keep
# their file:line, and the build takes about a third of the time -O2 -g takes.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCORTEN_SANITIZE=ON -DCORTEN_PYTHON=ON -DCORTEN_BUILD_TESTS=ON \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v python3)" \
  "${launcher[@]}" >/dev/null
cmake --build "$build" -j"${CORTEN_JOBS:-2}"

# A fresh prefix: the Python sources, then the sanitized _C, lib/ and include/ over them.
rm -rf "$prefix"
mkdir -p "$prefix"
python3 - "$root/python/corten" "$prefix/corten" <<'PY'
import shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2],
                ignore=shutil.ignore_patterns("_C*.so", "lib", "include", "__pycache__"))
PY
cmake --install "$build" --prefix "$prefix" >/dev/null

libasan=$("$cxx" -print-file-name=libasan.so)
if [[ ! -e "$libasan" ]]; then
  echo "sanitize.sh: libasan.so not found (got '$libasan'); install the compiler's ASan runtime" >&2
  exit 2
fi
# libstdc++ is preloaded too: python does not link it, and ASan's __cxa_throw interceptor must
# find the real one when it starts, or the first C++ exception aborts.
libstdcxx=$("$cxx" -print-file-name=libstdc++.so.6)
# Reports also go to files (pytest captures stderr, and an aborted run loses it).
reports="$build/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:log_path=$reports/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan}
report_findings() {
  if compgen -G "$reports/*" >/dev/null; then
    echo "== sanitizer reports ($reports):" >&2
    cat "$reports"/* >&2
    return 1
  fi
}
trap 'report_findings || true' ERR

echo "== C++ tests (ctest) under ASan+UBSan"
(cd "$build" && ctest --output-on-failure)
report_findings

echo "== Python tests under ASan+UBSan (LD_PRELOAD=$libasan:$libstdcxx)"
cd "$root"
if [[ $# -eq 0 ]]; then set -- tests/python; fi
LD_PRELOAD="$libasan:$libstdcxx" PYTHONPATH="$prefix" python3 -m pytest -q -p no:cacheprovider "$@"
report_findings
echo "== no sanitizer findings"
