"""What every real-client recording test shares: the client as `setup.sh --test` installed
it, the upstream llama-server, a scratch repository and HOME, the recorder around the
session; and what each checks once the session is recorded: the trace carries no key, each
turn has the prompt tokens the server reported, and it replays on MTP off and on with no error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import git
import pytest
from scenarios import mtp_scenario

from replayer.runner.endpoint import Endpoint
from replayer.runner.server import ManagedServer
from replayer.sources.record import journal_path
from replayer.trace import Trace

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / ".venv-agents"


def installed(what: str, default: Path, env_var: str) -> Path:
    """The client's executable (``$env_var`` or ``default``); a skip saying how to install it,
    and a failure in CI, which installs it (a skip there would hide a broken set-up)."""
    path = Path(os.environ.get(env_var) or default)
    if path.is_file():
        return path
    reason = f"{what} is not installed at {path}: run ./scripts/setup.sh --test (or set {env_var})"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def upstream_server(name: str, server_bin: Path, model: Path, where: Path, ctx: int, *extra: str) -> Iterator[str]:
    """A module fixture's body: a llama-server for the client to talk to, stopped afterwards."""
    server = ManagedServer(name, server_bin, model, ["-c", str(ctx), "-np", "1", "-t", "2", *extra, "--no-webui"],
                           where / "server.log")
    with server:
        server.start(120)
        yield server.url
    assert not server.alive()


def scratch(tmp_path: Path) -> tuple[Path, Path]:
    """A git repository with one file for the client to work in, and an empty HOME for it."""
    repo_dir, home = tmp_path / "repo", tmp_path / "home"
    repo_dir.mkdir()
    home.mkdir()
    git.Repo.init(repo_dir, initial_branch="main")
    (repo_dir / "a.py").write_text("print(1)\n")
    return repo_dir, home


@contextmanager
def recording(upstream: str, out: Path, repo_dir: Path) -> Iterator[str]:
    """`replay record` in front of ``upstream`` for the length of the block (its URL); Ctrl-C
    at the end writes the trace ``out``."""
    from test_record import start_cli_recorder  # the same CLI recorder the other record tests use

    proc, url = start_cli_recorder(upstream, out, "--repo", str(repo_dir))
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr


def converted_exactly(out: Path, api: str, key: str, why: str = "") -> tuple[list[dict], Trace]:
    """A recording of the Messages or Responses API (``api``: the journal's exchange type): its
    exchanges and its trace, checked for what every such client test requires: there are
    exchanges (``why``: the client's output, when there are none), the key is nowhere, a turn
    per exchange, and the system prompt and tool schemas converted exactly."""
    from replayer.sources.importers.base import read_jsonl
    from replayer.trace import load_trace

    exchanges = [obj for _, obj in read_jsonl(journal_path(out)) if obj.get("type") == api]
    assert exchanges, f"no /v1/{api} request was recorded{why}"
    no_key(out, key)
    trace = load_trace(out)
    assert trace.n_turns == len(exchanges)
    fidelity = trace.provenance["fidelity"]
    assert any(f"{api} exchange(s) converted to chat completions" in e for e in fidelity["exact"])
    assert {"system prompt", "tool schemas"} <= set(fidelity["exact"])
    return exchanges, trace


def no_key(out: Path, key: str) -> None:
    for path in (out, journal_path(out)):
        assert key.encode() not in path.read_bytes(), path


def same_prompt_tokens(trace: Trace, server_url: str) -> None:
    """Rendered through the server's chat template, each turn's request has exactly the prompt
    tokens the server reported for the request the client sent (whatever API it spoke), and
    `replay inspect --server` says so."""
    counter = Endpoint("count", server_url)
    for turn in trace.turns():
        counted = counter.count_chat_tokens({"messages": turn.messages, **({"tools": turn.tools} if turn.tools else {})})
        assert counted == turn.response["usage"]["prompt_tokens"], turn.index
    shown = subprocess.run([sys.executable, "-m", "replayer.cli", "inspect", str(trace.path), "--server", server_url],
                           cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    n = trace.n_turns
    assert f"prompt tokens equal the usage the server reported when the session was recorded on {n} of {n} turn(s)" \
        in shown.stdout, shown.stdout[-2000:]


def replays_on_both_arms(trace_path: Path, turns: int, tmp_path: Path, ctx: int = 8192, warmup: int = 0) -> dict:
    """`replay run` of the recording on MTP off and on: every turn on both, none failed,
    speculation live; the summary, for a test's own checks."""
    scenario = mtp_scenario(tmp_path / "recorded.yaml", "recorded", [trace_path], ctx=ctx,
                            extra=f"replay: {{warmup: {warmup}}}\n")
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(run_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    for name in ("mtp-off", "mtp-on"):
        assert summary["variants"][name]["turns"] == turns and summary["variants"][name]["errors"] == 0
    assert summary["variants"]["mtp-on"]["spec_live"] is True
    return summary


def disk_matches_wire(session: Path, recorded: Trace, tmp_path: Path, *extra: str,
                      wire_turns: list[int] | None = None, server_usage: bool = True) -> dict:
    """`replay import` of what the client wrote to disk, given the system prompt and tools the
    recording caught (the formats keep neither): every stored call's request is the one the
    client sent, turn for turn (``wire_turns``: the recorded turns the disk holds, default all),
    with the usage the server reported (unless ``server_usage`` is False: the client keeps
    its own count). The import's fidelity report, for the test's own checks."""
    wire = [recorded.turn(i) for i in (wire_turns if wire_turns is not None else range(recorded.n_turns))]
    system, tools = tmp_path / "system.txt", tmp_path / "tools.json"
    system.write_text(wire[0].messages[0]["content"])
    tools.write_text(json.dumps(wire[0].tools))
    out = tmp_path / "from-disk.json"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "import", str(session), "-o", str(out),
                           "--system-prompt", str(system), "--tools", str(tools), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    from replayer.trace import load_trace

    imported = load_trace(out)
    assert imported.n_turns == len(wire)
    for turn, sent in zip(imported.turns(), wire):
        assert turn.messages == sent.messages, turn.index
        assert turn.tools == sent.tools
        if server_usage:
            assert turn.response["usage"]["prompt_tokens"] == sent.response["usage"]["prompt_tokens"], turn.index
    return json.loads(out.read_text())["provenance"]["fidelity"]
