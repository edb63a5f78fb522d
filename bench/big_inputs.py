"""Benchmark: big valid inputs in bounded time and memory (issue 10).

    .venv/bin/python bench/big_inputs.py make [--dir DIR] [--trace-mb 50] [--log-mb 100]
    .venv/bin/python bench/big_inputs.py measure [--dir DIR] [--runs 3] [--only NAME ...]

``make`` writes the inputs: ``big_trace.json``, the flagship trace (traces/cli_tool.json) with its
turns repeated until the file is --trace-mb MB (about 38,000 turns for 50 MB: the conversation is
stored once, so this is the shape of a long session's trace), a scenario replaying it on the
default model with a small context, and --log-mb MB agent logs of the formats that grow without
bound in real use: a Claude Code session (one record per message, one long conversation), a
Codex rollout (the same, as response items), an OpenHands trajectory (one JSON list of events)
and an OpenAI chat JSONL journal (every line repeats its whole request, as `replay record`
writes it).

``measure`` runs each command --runs times as its own process and prints the wall seconds and
the peak RSS (the kernel's ru_maxrss of the finished child) as min / median / max beside the
issue's target:

    inspect      replay inspect big_trace.json                     < 15 s, < 1 GB
    import-cc    replay import claude_code.jsonl -o ...            < 30 s, < 2 GB
    import-codex replay import codex.jsonl -o ...                  < 30 s, < 2 GB
    import-oh    replay import openhands.json -o ...               < 30 s, < 2 GB
    import-jsonl replay import openai.jsonl -o ...                 < 30 s, < 2 GB
    run-start    replay run big.yaml --turns 2, until its server    < 15 s to the first request
                 starts the first request (its log says launch_slot; the process is then stopped)

Asserts nothing; a figure over its target is marked "OVER".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "traces" / "cli_tool.json"
REPLAY = [sys.executable, "-m", "replayer.cli"]
MB = 1 << 20


def make_trace(out: Path, megabytes: float) -> int:
    """The flagship's turns repeated to the size; each cycle's times shifted past the previous one."""
    from datetime import datetime, timedelta

    doc = json.loads(FLAGSHIP.read_text(encoding="utf-8"))
    turns = doc["turns"]
    head = len(json.dumps({**doc, "turns": []}).encode())
    per_cycle = len(json.dumps(turns, indent=1).encode())
    cycles = max(1, int((megabytes * MB - head) / per_cycle) + 1)
    start = datetime.fromisoformat(turns[0]["requested_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(turns[-1]["responded_at"].replace("Z", "+00:00"))
    span = (end - start) + timedelta(seconds=30)
    repeated = []
    for c in range(cycles):
        for t in turns:
            t = dict(t)
            for key in ("requested_at", "responded_at"):
                when = datetime.fromisoformat(t[key].replace("Z", "+00:00")) + span * c
                t[key] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            repeated.append(t)
    doc["turns"] = repeated
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(repeated)


def _filler(n: int, seed: int) -> str:
    words = ("def", "return", "self", "value", "import", "path", "for", "in", "if", "else", "print", "line")
    return " ".join(words[(seed * 7 + i * 13) % len(words)] + str(i % 97) for i in range(n // 6))


def make_claude_code(out: Path, megabytes: float) -> int:
    """One long Claude Code session: user prompt, then tool_use / tool_result pairs."""
    records = 0
    parent = None
    with out.open("w", encoding="utf-8") as fh:
        def write(rec: dict) -> None:
            nonlocal parent, records
            rec.update({"uuid": f"u{records}", "parentUuid": parent, "isSidechain": False, "sessionId": "big",
                        "timestamp": f"2026-03-02T09:{(records // 60) % 60:02d}:{records % 60:02d}.000Z",
                        "cwd": "/work", "version": "1.0.0"})
            fh.write(json.dumps(rec) + "\n")
            parent = rec["uuid"]
            records += 1

        write({"type": "user", "message": {"role": "user", "content": "Refactor the project. " + _filler(2000, 0)}})
        k = 0
        while fh.tell() < megabytes * MB:
            k += 1
            write({"type": "assistant", "message": {
                "id": f"msg_{k}", "role": "assistant", "model": "claude-x", "stop_reason": "tool_use",
                "usage": {"input_tokens": 10, "output_tokens": 60},
                "content": [{"type": "text", "text": "Next step. " + _filler(200, k)},
                            {"type": "tool_use", "id": f"toolu_{k}", "name": "Bash",
                             "input": {"command": f"cat file_{k}.py"}}]}})
            write({"type": "user", "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": f"toolu_{k}", "content": _filler(3000, k)}]}})
        write({"type": "assistant", "message": {"id": "msg_end", "role": "assistant", "model": "claude-x",
                                                "stop_reason": "end_turn", "content": [{"type": "text", "text": "Done."}]}})
    return records


def make_codex(out: Path, megabytes: float) -> int:
    """A Codex rollout: one request, then function calls and their outputs, with token counts."""
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        def write(kind: str, payload: dict) -> None:
            stamp = f"2025-11-17T15:{(n // 60) % 60:02d}:{n % 60:02d}.000Z"
            fh.write(json.dumps({"timestamp": stamp, "type": kind, "payload": payload}) + "\n")

        write("session_meta", {"id": "big", "timestamp": "2025-11-17T15:00:00.000Z", "cwd": "/w",
                               "cli_version": "0.58.0", "instructions": "You are Codex."})
        write("turn_context", {"model": "gpt-5-codex"})
        write("response_item", {"type": "message", "role": "user",
                                "content": [{"type": "input_text", "text": "Refactor the project."}]})
        while fh.tell() < megabytes * MB:
            n += 1
            write("response_item", {"type": "function_call", "name": "shell", "call_id": f"c{n}",
                                    "arguments": json.dumps({"command": ["cat", f"file_{n}.py"]})})
            write("event_msg", {"type": "token_count", "info": {"total_token_usage": {"input_tokens": n},
                                                                "last_token_usage": {"input_tokens": 10,
                                                                                     "output_tokens": 20}}})
            write("response_item", {"type": "function_call_output", "call_id": f"c{n}", "output": _filler(3000, n)})
        write("response_item", {"type": "message", "role": "assistant",
                                "content": [{"type": "output_text", "text": "Done."}]})
    return n


def make_openhands(out: Path, megabytes: float) -> int:
    """An OpenHands trajectory (one JSON list of events): run actions with their model
    responses, and their observations."""
    events: list[dict] = [{"id": 0, "timestamp": "2025-10-09T10:00:00", "source": "user", "action": "message",
                           "message": "Refactor", "args": {"content": "Refactor the project."}}]
    size, k = 0, 0
    while size < megabytes * MB:
        k += 1
        call = {"id": f"t{k}", "type": "function",
                "function": {"name": "execute_bash", "arguments": json.dumps({"command": f"cat file_{k}.py"})}}
        response = {"id": f"r{k}", "created": 1760000000 + k, "model": "m", "usage": {"completion_tokens": 20},
                    "choices": [{"finish_reason": "tool_calls", "index": 0,
                                 "message": {"role": "assistant", "content": "Next.", "tool_calls": [call]}}]}
        meta = {"function_name": "execute_bash", "tool_call_id": f"t{k}", "model_response": response}
        action = {"id": 2 * k - 1, "timestamp": "2025-10-09T10:00:01", "source": "agent", "action": "run",
                  "args": {"command": f"cat file_{k}.py", "thought": "Next."}, "tool_call_metadata": meta}
        seen = {"id": 2 * k, "timestamp": "2025-10-09T10:00:02", "source": "agent", "observation": "run",
                "content": _filler(3000, k), "extras": {"metadata": {"exit_code": 0}}, "tool_call_metadata": meta}
        events += [action, seen]
        size += len(json.dumps(action)) + len(json.dumps(seen))
    out.write_text(json.dumps(events), encoding="utf-8")
    return k


def make_openai_jsonl(out: Path, megabytes: float) -> int:
    """A recorder journal: each line the whole request so far and its answer."""
    messages: list[dict] = [{"role": "system", "content": "You are a coding agent. " + _filler(3000, 1)},
                            {"role": "user", "content": "Fix the failing test."}]
    lines = 0
    with out.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"type": "header", "name": "big-journal", "agent": "bench"}) + "\n")
        while fh.tell() < megabytes * MB:
            answer = {"role": "assistant", "content": "Looking. " + _filler(300, lines)}
            fh.write(json.dumps({"request": {"model": "m", "messages": messages},
                                 "response": {"choices": [{"message": answer, "finish_reason": "stop"}],
                                              "usage": {"prompt_tokens": 10, "completion_tokens": 80}}}) + "\n")
            messages = messages + [answer, {"role": "user", "content": "Output: " + _filler(1500, lines)}]
            lines += 1
    return lines


def make(args: argparse.Namespace) -> None:
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    n = make_trace(d / "big_trace.json", args.trace_mb)
    print(f"{d / 'big_trace.json'}: {n} turns, {(d / 'big_trace.json').stat().st_size / MB:.1f} MB")
    (d / "big.yaml").write_text(
        "version: 1\nname: big\ntraces: [big_trace.json]\n"
        "server:\n  args: [-c, '32768', -np, '1', --fit, 'off', -fa, 'off', -t, '2', --cache-ram, '0', --metrics,"
        " --no-webui]\n"
        "variants:\n  mtp-off: {args: []}\nreplay:\n  warmup: 0\n  oversize: skip\n", encoding="utf-8")
    n = make_claude_code(d / "claude_code.jsonl", args.log_mb)
    print(f"{d / 'claude_code.jsonl'}: {n} records, {(d / 'claude_code.jsonl').stat().st_size / MB:.1f} MB")
    n = make_codex(d / "codex.jsonl", args.log_mb)
    print(f"{d / 'codex.jsonl'}: {n} calls, {(d / 'codex.jsonl').stat().st_size / MB:.1f} MB")
    n = make_openhands(d / "openhands.json", args.log_mb)
    print(f"{d / 'openhands.json'}: {n} calls, {(d / 'openhands.json').stat().st_size / MB:.1f} MB")
    n = make_openai_jsonl(d / "openai.jsonl", args.log_mb)
    print(f"{d / 'openai.jsonl'}: {n} lines, {(d / 'openai.jsonl').stat().st_size / MB:.1f} MB")


def _first_request(run_dir: Path) -> bool:
    """Whether a server of the run has started a request (llama-server logs launch_slot_)."""
    return any("launch_slot_" in log.read_text(errors="replace") for log in run_dir.glob("servers/*.log"))


def _timed(cmd: list[str], until: Callable[[], bool] | None = None, limit_s: float = 300) -> tuple[float, float, int]:
    """(wall s, peak RSS MB, exit code) of one run. With ``until``: the time until it holds;
    the command is then stopped (SIGINT, as Ctrl-C)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    wall = None
    while True:  # wait4 rather than poll(): poll would reap the child and lose its rusage
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.perf_counter() - t0
        if wall is None and until is not None and until():
            wall = elapsed
            os.killpg(proc.pid, signal.SIGINT)
        if elapsed > limit_s:
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if wall is None:
        wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 130) and until is None:
        print(f"  exit {proc.returncode}: {err.strip()[-300:]}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


def measure(args: argparse.Namespace) -> None:
    d = Path(args.dir).resolve()
    out = Path(tempfile.mkdtemp(prefix="replayer-big-"))
    cases = {
        "inspect": (REPLAY + ["inspect", str(d / "big_trace.json")], None, 15, 1024),
        "import-cc": (REPLAY + ["import", str(d / "claude_code.jsonl"), "-o", str(out / "cc.json")], None, 30, 2048),
        "import-codex": (REPLAY + ["import", str(d / "codex.jsonl"), "-o", str(out / "cx.json")], None, 30, 2048),
        "import-oh": (REPLAY + ["import", str(d / "openhands.json"), "-o", str(out / "oh.json")], None, 30, 2048),
        "import-jsonl": (REPLAY + ["import", str(d / "openai.jsonl"), "-o", str(out / "oa.json")], None, 30, 2048),
        "run-start": (None, True, 15, None),
    }
    print(f"uptime: {os.popen('uptime').read().strip()}")
    for name, (cmd, until, t_max, rss_max) in cases.items():
        if args.only and name not in args.only:
            continue
        runs = []
        for k in range(args.runs):
            target = None
            if name == "run-start":
                run_dir = out / f"run{k}"
                cmd = REPLAY + ["run", str(d / "big.yaml"), "--turns", "2", "--out", str(run_dir)]
                target = lambda run_dir=run_dir: _first_request(run_dir)  # noqa: E731
            runs.append(_timed(cmd, target))
        walls = sorted(r[0] for r in runs)
        peaks = sorted(r[1] for r in runs)
        over = " OVER" if statistics.median(walls) > t_max or (rss_max and statistics.median(peaks) > rss_max) else ""
        print(f"{name:13} wall s {walls[0]:.2f} / {statistics.median(walls):.2f} / {walls[-1]:.2f} (target < {t_max})"
              f"  peak RSS MB {peaks[0]:.0f} / {statistics.median(peaks):.0f} / {peaks[-1]:.0f}"
              + (f" (target < {rss_max})" if rss_max else "") + f"  exit {[r[2] for r in runs]}{over}")
    shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--dir", default="/tmp/replayer-big")
    mk.add_argument("--trace-mb", type=float, default=50)
    mk.add_argument("--log-mb", type=float, default=100)
    ms = sub.add_parser("measure")
    ms.add_argument("--dir", default="/tmp/replayer-big")
    ms.add_argument("--runs", type=int, default=3)
    ms.add_argument("--only", nargs="*")
    args = p.parse_args()
    make(args) if args.command == "make" else measure(args)


if __name__ == "__main__":
    main()
