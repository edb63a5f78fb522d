"""`replay run --ray` on a real two-node Ray cluster (PyPI ray, the `ray` extra that
`setup.sh --test` installs) with real llama-server processes on the synthetic MTP model.

The cluster runs in a network namespace that has only `lo`, and a PID namespace of its own,
so no packet leaves loopback and no process outlives the test (tests/integration/ray_cluster.py).
Four short traces (the flagship's first 3 turns under four names) give the same records,
equality results and summary structure as a local run, with one worker node's raylet
SIGKILLed mid-run; a SIGKILLed driver is finished by `--resume`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from scenarios import mtp_scenario

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("alpha", "beta", "gamma", "delta")
RECORDS = len(NAMES) * 3 * 2  # traces x turns x arms


def _ray_or_skip() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        reason = "Ray is not installed: ./scripts/setup.sh --test installs the ray extra"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    probe = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", "true"], capture_output=True,
                           text=True)
    if probe.returncode != 0 or not shutil.which("ip"):
        pytest.skip(f"cannot make a network namespace with only lo here (unshare: {probe.stderr.strip()!r}); "
                    "the Ray test cluster must not listen on any other address")


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> list[Path]:
    where = tmp_path_factory.mktemp("ray-traces")
    flagship = json.loads((ROOT / "traces" / "cli_tool.json").read_text())
    traces = []
    for name in NAMES:
        traces.append(where / f"{name}.json")
        traces[-1].write_text(json.dumps({**flagship, "name": name}))
    return traces


def one_thread(scenario: Path) -> Path:
    # two units run at once on this machine's two cores: one thread per server, or they fight for them
    scenario.write_text(scenario.read_text().replace("-t, 2,", "-t, 1,"))
    return scenario


@pytest.fixture(scope="module")
def scenario(traces) -> Path:
    return one_thread(mtp_scenario(traces[0].with_name("ray.yaml"), "ray", traces, ctx=16384,
                                   extra="replay: {turns: 3, warmup: 0}\n"))


@pytest.fixture(scope="module")
def load_scenario(traces) -> Path:
    return one_thread(mtp_scenario(traces[0].with_name("load.yaml"), "load", traces[:2], ctx=16384,
                                   extra="replay: {turns: 2, warmup: 0}\nload: {sessions: [1, 2]}\n"))


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


def keys(rows: list[dict]) -> Counter:
    return Counter((r["trace"], r["repetition"], r["turn"], r["variant"]) for r in rows)


def shape(value):
    """The summary's structure: its keys, all the way down (lists by their first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def test_a_two_node_cluster_replays_what_a_local_run_does_and_survives_a_dead_node(scenario, load_scenario,
                                                                                  tmp_path):
    _ray_or_skip()
    local = tmp_path / "local"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(scenario), "--out", str(local)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    local_load = tmp_path / "local-load"
    done = subprocess.run([sys.executable, "-m", "replayer.cli", "run", str(load_scenario), "--out", str(local_load)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    work = tmp_path / "cluster"
    work.mkdir()
    cluster = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
                              sys.executable, str(Path(__file__).with_name("ray_cluster.py")), str(work),
                              str(scenario), str(load_scenario)], cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert cluster.returncode == 0, cluster.stdout[-3000:] + cluster.stderr[-3000:]
    report = json.loads((work / "report.json").read_text())
    assert report["listening"] and set(report["listening"]) <= {"127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"}, report

    for name, words in (("unreachable", "no Ray cluster answers there"), ("unplaceable", "offers what a unit needs")):
        seen = report[name]
        assert seen["rc"] == 2 and seen["s"] < 60, seen
        assert seen["out"].count("\n") == 1 and words in seen["out"], seen

    # the node died mid-run: the run still completes, every record once, no server left on either node
    run = report["run"]
    assert run["rc"] == 0, run["tail"]
    assert report["killed_raylets"] == 1 and 6 <= report["killed_at_records"] < RECORDS
    assert "its worker or node died; running it again elsewhere" in (work / "run.out").read_text()
    assert run["left"] == []
    ray_rows, local_rows = records(work / "ray-run"), records(local)
    assert len(ray_rows) == len(local_rows) == RECORDS
    assert keys(ray_rows) == keys(local_rows) and set(keys(ray_rows).values()) == {1}
    assert sorted(r["seq"] for r in ray_rows) == list(range(RECORDS))
    # each turn's pair ran on one node, and both nodes took part before one died
    by_turn: dict[tuple, set] = {}
    for r in ray_rows:
        by_turn.setdefault((r["trace"], r["turn"]), set()).add(r["node"])
    assert all(len(nodes) == 1 for nodes in by_turn.values()) and len(set.union(*by_turn.values())) == 2

    ray_summary = json.loads((work / "ray-run" / "summary.json").read_text())
    local_summary = json.loads((local / "summary.json").read_text())
    assert shape(ray_summary["variants"]) == shape(local_summary["variants"])
    assert shape(ray_summary["comparisons"]) == shape(local_summary["comparisons"])
    for field in ("compared_turns", "identical_turns", "diverged_turns"):
        assert ray_summary["comparisons"][0][field] == local_summary["comparisons"][0][field], field
    nodes = json.loads((work / "ray-run" / "nodes.json").read_text())
    assert len(nodes) == 2 and all(set(n["servers"]) == {"mtp-off", "mtp-on"} for n in nodes.values())

    # a SIGKILLed driver: --resume replays exactly what results.jsonl lacked
    killed = report["killed_driver"]
    assert killed["rc"] == -9 and 0 < killed["records"] < RECORDS and killed["left"] == []
    resume = report["resume"]
    assert resume["rc"] == 0, resume["tail"]
    assert resume["left"] == []
    assert "resumed:" in (work / "resume.out").read_text()
    resumed_rows = records(work / "resumed")
    assert keys(resumed_rows) == keys(local_rows) and set(keys(resumed_rows).values()) == {1}

    # a load run: each level a unit on one node, the same records and per-level figures as locally
    load = report["load"]
    assert load["rc"] == 0, load["tail"]
    assert load["left"] == []
    ray_load, local_load_rows = records(work / "load-run"), records(local_load)
    keyed = lambda rows: Counter((r["trace"], r["turn"], r["variant"], r["level"], r["session"]) for r in rows)
    assert keyed(ray_load) == keyed(local_load_rows) and set(keyed(ray_load).values()) == {1}
    assert len({r["node"] for r in ray_load if r["level"] == 2}) == 1  # a level's sessions share one node's servers
    ray_levels = json.loads((work / "load-run" / "summary.json").read_text())["load"]
    local_levels = json.loads((local_load / "summary.json").read_text())["load"]
    assert shape(ray_levels) == shape(local_levels)
