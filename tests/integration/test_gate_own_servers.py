"""A gate against servers the user started: two llama-servers outside the run, the candidate
behind a proxy of the test's own. The noise guard counts them (and the server behind the proxy)
as the run's own, so the gate settles without --allow-noisy: regression with 60 ms added to
every chat completion, pass with nothing added; a CPU burner beside it is still foreign work."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FLAGSHIP = ROOT / "traces" / "cli_tool.json"
PINNED = ["-c", "61440", "-np", "1", "--fit", "off", "-fa", "off", "--poll", "0", "-t", "2", "-b", "2048",
          "-ub", "512", "--cache-ram", "0", "--metrics", "--no-webui"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


@pytest.fixture(scope="module")
def servers(server_bin, synthetic_model, tmp_path_factory):
    """Two servers with the flagship's pinned flags, started as a user would: not by replayer."""
    model = synthetic_model("synthetic-echo-mtp70")
    logs = tmp_path_factory.mktemp("own-servers")
    procs, ports = [], []
    try:
        for name in ("base", "cand"):
            port = free_port()
            with (logs / f"{name}.log").open("wb") as log:
                procs.append(subprocess.Popen([str(server_bin), "-m", str(model), "--host", "127.0.0.1", "--port",
                                               str(port), *PINNED], stdout=log, stderr=subprocess.STDOUT))
            ports.append(port)
        for port in ports:
            wait_for(f"http://127.0.0.1:{port}/health")
        yield ports
    finally:
        for p in procs:  # the servers this fixture started, by their PIDs
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def proxy(tmp_path: Path, upstream: int, delay_ms: int) -> tuple[subprocess.Popen, int]:
    port_file = tmp_path / f"proxy-{delay_ms}.port"
    proc = subprocess.Popen([sys.executable, str(HERE / "delay_proxy.py"), str(port_file), str(upstream),
                             str(delay_ms)])
    deadline = time.monotonic() + 10
    while not port_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, int(port_file.read_text())


def gate(tmp_path: Path, base: int, cand: int, name: str, budget: int = 8) -> tuple[int, dict, str]:
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(f"""\
version: 1
name: {name}
traces: [{FLAGSHIP}]
variants:
  base: {{url: "http://127.0.0.1:{base}"}}
  cand: {{url: "http://127.0.0.1:{cand}"}}
baseline: base
replay: {{turns: 12, warmup: 1, repetitions: 1}}
gate: {{max_slowdown: 0.03, max_repetitions: {budget}}}
""")
    out = tmp_path / name
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    summary = json.loads((out / "summary.json").read_text())
    return done.returncode, summary, done.stdout + done.stderr


def gate_through_proxy(tmp_path: Path, base: int, cand: int, delay_ms: int,
                       name: str) -> tuple[int, dict, str, int, int]:
    """The gate with the candidate behind a proxy adding ``delay_ms``: (exit, summary, output,
    the proxy's pid and port); the proxy is stopped by its PID whatever happens."""
    proc, port = proxy(tmp_path, cand, delay_ms)
    try:
        return (*gate(tmp_path, base, port, name), proc.pid, port)
    finally:
        proc.kill()
        proc.wait()


def test_a_slower_candidate_is_a_regression_and_an_equal_one_passes(servers, tmp_path):
    base, cand = servers
    code, summary, out, slow_pid, slow_port = gate_through_proxy(tmp_path, base, cand, 60, "slow")
    noise = summary["noise"]
    assert not noise["busy"], noise
    counted = {s["address"]: s["pids"] for s in noise["own_servers"]}
    assert counted[f"http://127.0.0.1:{base}"] and counted[f"http://127.0.0.1:{slow_port}"] == [slow_pid]
    assert counted.get(f":{cand}"), noise  # the server behind the proxy, found while it served
    report = (tmp_path / "slow" / "report.md").read_text()
    assert "counted as this run's" in report and "any proxy or network" in report
    assert code == 1, out
    assert summary["comparisons"][0]["gate"]["verdict"] == "regression"
    # no terminal here, as in a CI log: the row is one line, and progress came as plain lines
    assert re.search(r"Total LLM wall-clock \(s\) +│ +[\d.]+ │ +[\d.]+ │ +[\d.]+x", out), out
    assert sum(ln.startswith("replaying ") for ln in out.splitlines()) >= 2, out

    code, summary, out, _, _ = gate_through_proxy(tmp_path, base, cand, 0, "same")
    assert not summary["noise"]["busy"], summary["noise"]
    assert code == 0, out
    assert summary["comparisons"][0]["gate"]["verdict"] == "pass"


def test_a_cpu_burner_beside_servers_the_user_started_is_still_foreign(servers, tmp_path):
    base, cand = servers
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        code, summary, out = gate(tmp_path, base, cand, "burner", budget=2)  # more would only wait longer
    finally:
        burner.kill()
        burner.wait()
    assert summary["noise"]["busy"] and code == 3, out
    assert summary["comparisons"][0]["gate"]["verdict"] == "inconclusive"
