"""Fuzz every loader and importer with mutated valid inputs, and count contract violations.

    .venv/bin/python bench/fuzz.py [--examples 100000] [--only TARGET ...] [--seed N] [--findings DIR]
    .venv/bin/python bench/fuzz.py --sweep [--only TARGET ...]

The examples are spread evenly over the seeds of every target (tools/fuzz/seeds.py: the trace,
the scenarios, and each importer's files; agent files are read with --format and, for one
example in four, by detection). Each input must meet the contract of tools/fuzz/contract.py:
accepted and valid, or a one-line `Error:` with exit code 2. A worker process runs the examples
of one seed; this process watches it, so an input that hangs even inside C code (a regular
expression, the JSON scanner) is counted after 20 s and the worker is started again.

--sweep is the systematic complement: every field of every JSON, JSONL and YAML seed set in
turn to each of a few values of the wrong type (null, {}, [], 1, "x", 1e20, true, -1).

Prints, per target, how many inputs were accepted, refused cleanly, and broke the contract;
then each distinct crash site with its count and a saved input (under --findings) that shows it.
Exit code 0 when nothing broke the contract, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WATCHDOG_S = 25.0  # the worker's own alarm rings at 20 s; this catches what an alarm cannot interrupt


def worker(args: argparse.Namespace) -> None:
    """Run one seed's examples; one JSON line per example on stdout."""
    from hypothesis import HealthCheck, Phase, given, settings, seed as hseed, strategies as st

    from tools.fuzz.contract import check
    from tools.fuzz.mutate import mutated_files
    from tools.fuzz.seeds import all_seeds

    target_seed = all_seeds()[args.worker]
    workdir = Path(args.workdir)
    findings = Path(args.findings)
    count = [0]

    @hseed(args.seed)
    @settings(max_examples=args.examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(mutated_files(target_seed), st.integers(0, 3))
    def one(files: dict, detect: int) -> None:
        n = count[0]
        count[0] += 1
        print(json.dumps({"begin": n, "input": str(workdir)}), flush=True)
        outcome = check(target_seed, files, workdir, detect=detect == 0 and target_seed.target not in ("trace",
                                                                                                       "scenario"))
        if not outcome.kept:
            keep = findings / f"{target_seed.target}-{target_seed.name}-{args.seed}-{n}"
            shutil.copytree(workdir, keep, ignore=shutil.ignore_patterns("out"), dirs_exist_ok=True)
            (keep / "OUTCOME").write_text(f"{outcome.kind}: {outcome.detail}\n", encoding="utf-8")
        print(json.dumps({"end": n, "kind": outcome.kind, "detail": outcome.detail}), flush=True)

    one()


SWEEP_VALUES: list = [None, {}, [], 1, "x", 1e20, True, -1]


def sweep(args: argparse.Namespace) -> int:
    """Every field of every structured seed retyped in turn (see the module's doc)."""
    import copy

    import yaml

    from tools.fuzz.contract import check
    from tools.fuzz.mutate import _all_paths
    from tools.fuzz.seeds import all_seeds

    load = {"json": json.loads, "yaml": yaml.safe_load,
            "jsonl": lambda b: [json.loads(line) for line in b.splitlines() if line.strip()]}
    dump = {"json": lambda d: json.dumps(d).encode(), "yaml": lambda d: yaml.safe_dump(d).encode(),
            "jsonl": lambda d: b"".join(json.dumps(x).encode() + b"\n" for x in d)}
    work = Path(tempfile.mkdtemp(prefix="replayer-sweep-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    kinds: Counter = Counter()
    sites: Counter = Counter()
    seeds = [s for s in all_seeds() if s.kind in load and (not args.only or s.target in args.only)]
    try:
        for seed, name, data in ((s, n, d) for s in seeds for n, d in s.files.items()):
            doc = load[seed.kind](data)
            for path, value in ((p, v) for p in _all_paths(doc)[1:] for v in SWEEP_VALUES):
                changed = copy.deepcopy(doc)
                node = changed
                for key in path[:-1]:
                    node = node[key]
                node[path[-1]] = copy.deepcopy(value)
                outcome = check(seed, {**seed.files, name: dump[seed.kind](changed)}, work / "w")
                kinds[outcome.kind] += 1
                if not outcome.kept:
                    sites[(outcome.kind, f"{seed.target} {name} {path} = {value!r}: {outcome.detail}"[:300])] += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{sum(kinds.values())} inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    for (kind, site), n in sites.most_common():
        print(f"  {n:5}  {kind}: {site}")
    return 1 if sites else 0


def _run_seed(index: int, name: str, examples: int, seed: int, findings: Path, shm: Path) -> list[dict]:
    """All outcomes of one seed's examples; a worker that hangs is killed and started again."""
    outcomes: list[dict] = []
    restarts = 0
    while len(outcomes) < examples and restarts < 20:
        workdir = shm / f"w{index}-{restarts}"
        cmd = [sys.executable, __file__, "--worker", str(index), "--examples", str(examples - len(outcomes)),
               "--seed", str(seed + restarts * 7919), "--workdir", str(workdir), "--findings", str(findings)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        begun = None
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    break
                msg = json.loads(line)
                if "begin" in msg:
                    begun = time.monotonic()
                else:
                    outcomes.append(msg)
                    begun = None
            elif begun is not None and time.monotonic() - begun > WATCHDOG_S:
                proc.kill()
                keep = findings / f"hang-{name}-{seed}-{len(outcomes)}"
                shutil.copytree(workdir, keep, dirs_exist_ok=True)
                outcomes.append({"kind": "hang", "detail": f"no answer within {WATCHDOG_S:.0f} s (watchdog)"})
                break
        proc.wait()
        err = proc.stderr.read()
        if proc.returncode not in (0, -9) and "Traceback" in err:
            print(f"  worker of {name} failed: {err.strip()[-500:]}", file=sys.stderr)
            break
        restarts += 1
        if proc.returncode == 0:
            break  # Hypothesis ran out of distinct inputs before the count
    return outcomes


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--examples", type=int, default=2000, help="examples in all, spread over the seeds")
    p.add_argument("--only", nargs="*", help="targets to fuzz (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--findings", default=str(ROOT / "runs" / "fuzz-findings"))
    p.add_argument("--sweep", action="store_true", help="retype every field of every structured seed in turn")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker is not None:
        worker(args)
        return 0
    if args.sweep:
        return sweep(args)
    from tools.fuzz.seeds import all_seeds

    seeds = [(i, s) for i, s in enumerate(all_seeds()) if not args.only or s.target in args.only]
    findings = Path(args.findings)
    findings.mkdir(parents=True, exist_ok=True)
    shm = Path(tempfile.mkdtemp(prefix="replayer-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    per_seed = max(1, args.examples // len(seeds))
    kinds: dict[str, Counter] = defaultdict(Counter)
    sites: Counter = Counter()
    t0 = time.monotonic()
    try:
        for index, seed in seeds:
            name = f"{seed.target}/{seed.name}"
            outcomes = _run_seed(index, name, per_seed, args.seed + index, findings, shm)
            for o in outcomes:
                kinds[seed.target][o["kind"]] += 1
                if o["kind"] not in ("ok", "error"):
                    sites[(o["kind"], o["detail"].split(": ")[0] if o["kind"] == "traceback" else o["detail"][:120])] += 1
            print(f"{name:28} {len(outcomes):6} examples  " + "  ".join(f"{k} {v}" for k, v in
                                                                     sorted(Counter(o['kind'] for o in outcomes).items())),
                  flush=True)
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    total = Counter()
    for c in kinds.values():
        total.update(c)
    broken = sum(v for k, v in total.items() if k not in ("ok", "error"))
    print(f"\n{sum(total.values())} examples in {time.monotonic() - t0:.0f} s: accepted {total['ok']}, "
          f"refused cleanly {total['error']}, tracebacks {total['traceback']}, hangs {total['hang']}, "
          f"multi-line errors {total['multiline']}, other exit codes {total['exit']}, "
          f"outputs that do not load {total['output']}")
    for (kind, site), n in sites.most_common():
        print(f"  {n:5}  {kind}: {site}")
    if broken:
        print(f"inputs that show them: {findings}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
