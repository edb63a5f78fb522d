"""Runs inside a network namespace with only `lo` and a PID namespace of its own (see
test_ray.py): a two-node Ray cluster on 127.0.0.1, then the steps the test asks for. Every
process started here dies with the namespace when this script (its PID 1) exits.

    python ray_cluster.py WORKDIR SCENARIO LOAD_SCENARIO

Writes WORKDIR/report.json: what each step saw (exit codes, records, llama-servers left,
the addresses anything listened on), and each run's whole output beside it (run.out, resume.out)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PORT = 6390
ADDRESS = f"127.0.0.1:{PORT}"
BIN = Path(sys.executable).parent


def start_node(log: Path, *args: str) -> subprocess.Popen:
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--resources", '{"llama_host": 1}',
              "--disable-usage-stats", "--block"]
    return subprocess.Popen([str(BIN / "ray"), "start", *args, *common], stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def alive_nodes() -> int:
    probe = "import ray; ray.init(address=%r, logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))"
    done = subprocess.run([sys.executable, "-c", probe % ADDRESS], capture_output=True, text=True, timeout=60)
    return int(done.stdout.strip() or 0) if done.returncode == 0 else 0


def wait_for(nodes: int, deadline_s: float = 90) -> None:
    end = time.monotonic() + deadline_s
    while alive_nodes() < nodes:
        if time.monotonic() > end:
            raise SystemExit(f"the Ray cluster did not reach {nodes} node(s)")
        time.sleep(0.5)


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def llama_servers() -> list[str]:
    """Every llama-server still running in the namespace, with its parent (for the failure message).
    Orphans come to this script, the namespace's PID 1: it reaps them first, as an init does."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit() and comm(int(p)) == "llama-server":
            state, ppid = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[:2]
            out.append(f"{p} ({state}, parent {ppid} {comm(int(ppid))})")
    return out


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def replay(scenario: Path, run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "replayer.cli", "run", *([str(scenario)] if scenario else []),
                             "--out", str(run_dir), "--ray", ADDRESS, "--ray-resources", "llama_host=1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def when_lines(proc: subprocess.Popen, results: Path, n: int, then) -> None:
    """Calls ``then`` once ``results`` has ``n`` lines (the run still going)."""
    while proc.poll() is None and lines(results) < n:
        time.sleep(0.05)
    if proc.poll() is None:
        then()


def main(work: Path, scenario: Path, load: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # the cluster's own token, for its nodes and drivers only (never ~/.ray/auth_token)
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    temp = tempfile.mkdtemp(prefix="rr", dir="/tmp")  # Ray's socket paths must stay short
    start_node(work / "head.log", "--head", "--port", str(PORT), "--temp-dir", temp, "--include-dashboard", "false")
    wait_for(1)
    worker = start_node(work / "worker.log", "--address", ADDRESS)
    wait_for(2)
    report: dict = {}

    # 0. what cannot work says so in one line, at once
    for name, extra in (("unreachable", ["--ray", "127.0.0.1:1"]), ("unplaceable", ["--ray-resources", "GPU=1"])):
        t0 = time.monotonic()
        proc = replay(scenario, work / name, *extra)
        out, _ = proc.communicate(timeout=120)
        report[name] = {"rc": proc.returncode, "out": out, "s": time.monotonic() - t0}

    # 1. the run, with the worker node's raylet SIGKILLed once 6 records are in
    run = work / "ray-run"
    proc = replay(scenario, run)

    def kill_worker_node() -> None:
        raylets = [c for c in children(worker.pid) if comm(c) == "raylet"]
        report["killed_raylets"] = len(raylets)
        report["killed_at_records"] = lines(run / "results.jsonl")
        for pid in raylets:
            os.kill(pid, signal.SIGKILL)

    when_lines(proc, run / "results.jsonl", 6, kill_worker_node)
    out, _ = proc.communicate(timeout=600)
    (work / "run.out").write_text(out)
    report["run"] = {"rc": proc.returncode, "tail": out[-3000:], "left": llama_servers()}

    # 2. a driver SIGKILLed mid-run, then --resume on the cluster
    resumed = work / "resumed"
    proc = replay(scenario, resumed)
    when_lines(proc, resumed / "results.jsonl", 5, proc.kill)
    proc.communicate(timeout=60)
    report["killed_driver"] = {"rc": proc.returncode, "records": lines(resumed / "results.jsonl")}
    time.sleep(3)  # Ray ends the dead driver's tasks; their servers die with their workers
    report["killed_driver"]["left"] = llama_servers()
    proc = replay(None, resumed, "--resume", str(resumed))
    out, _ = proc.communicate(timeout=600)
    (work / "resume.out").write_text(out)
    report["resume"] = {"rc": proc.returncode, "tail": out[-3000:], "left": llama_servers()}

    # 3. a load run: each concurrency level a unit of its own
    proc = replay(load, work / "load-run")
    out, _ = proc.communicate(timeout=600)
    (work / "load.out").write_text(out)
    report["load"] = {"rc": proc.returncode, "tail": out[-3000:], "left": llama_servers()}

    listening = subprocess.run(["ss", "-ltnuH"], capture_output=True, text=True).stdout.split("\n")
    report["listening"] = sorted({line.split()[4].rsplit(":", 1)[0] for line in listening if line.strip()})
    (work / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
