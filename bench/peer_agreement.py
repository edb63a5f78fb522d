"""Benchmark: agreement with a trusted peer. replayer's aggregate generated tok/s at one
concurrency level against NVIDIA AIPerf's, on the same server with the same prompts and
output lengths, measured in one run, alternating replayer, AIPerf, replayer, AIPerf, ...

    nice -n 10 .venv/bin/python bench/peer_agreement.py [--rounds 3] [--sessions 2] [--requests 40]

- ONE llama-server (-np = sessions, ManagedServer) serves every run. It is warmed once,
  and every slot is erased before each run of either tool.
- replayer: ConcurrentExecutor at --sessions in flight over --requests one-turn sessions
  (closed loop: a finished request makes room for the next). Each session is a distinct
  fixed prompt with max_tokens = --output-tokens and ignore_eos (replayer's defaults:
  recorded length, temperature 0, cache_prompt).
- AIPerf is installed by this script into .venv-peers/aiperf, its own virtual environment.
  It runs `aiperf profile --concurrency <sessions> --request-count <requests>` with the same
  prompts as a single_turn JSONL (output_length per prompt) and the same request fields
  through --extra-inputs (replayer's samplers, ignore_eos, cache_prompt, return_tokens,
  verbose). max_tokens goes through --use-legacy-max-tokens, and it does not stream, as
  replayer does not.
  Two AIPerf settings keep it from measuring itself:
  * --request-rate 500 as well as --concurrency. With --concurrency alone, AIPerf 0.13.0's
    timing_manager busy-polls for a free slot (timing/strategies/request_rate.py: a 0 s
    "concurrency_burst" interval and yield_to_event_loop()). That burns a whole core. On
    this 2-core machine it starved llama-server (-t 2): about 30-50 ms per token instead
    of 0.9, and about 60 tok/s instead of about 1900. With a rate ceiling, AIPerf still
    caps requests in flight at --concurrency, but it checks for a free slot every 2 ms.
  * --warmup-request-count 8. Its services (dataset manager, record processor) load
    while those first requests run, and the warm-up requests are not measured.
- Tokenizer: AIPerf wants a Hugging Face tokenizer even when it counts with the server's
  usage (--use-server-token-count, used here). `--tokenizer builtin` needs tiktoken's
  o200k_base file from openaipublic.blob.core.windows.net, which cannot be reached here.
  AIPerf 0.13.0 with HF_HUB_OFFLINE=1 reads --tokenizer as a hub repo id even when it is a
  local directory (HFValidationError). So this script writes tokenizer.json from the GGUF's
  own vocabulary and merges (SmolLM2's byte-level BPE, digits split one by one). It stores
  that as a snapshot in a private hub cache (HF_HUB_CACHE under the run's temp dir), loads
  it offline through AIPerf's own Tokenizer class, and checks it against the server's
  /tokenize.
- Both figures use replayer's definition (replayer/analysis/load.py, generated_tok_s):
  generated tokens as the server reports them, divided by (last answer in - first
  request out). For AIPerf the figure is recomputed from its per-request records
  (profile_export.jsonl, profiling phase only). AIPerf's own output_token_throughput
  (total output tokens / (max response - min request timestamp), the same definition) is
  printed beside it.
- Diagnostics for each run:
  * mean requests in flight (sum of latencies / duration; 2.000 means no slot ever
    waited for the client), and from it the time a slot sat idle per request;
  * the server's own decode ms per token per slot, from its log ("eval time" lines, with
    AIPerf's warm-up left out). Slower here means the server itself ran slower, which
    is CPU contention, not a difference in counting;
  * the CPU used in the measured window by llama-server, by the client, and by
    everything else.

Prints, per round, both rates and AIPerf / replayer, then min / median / max. Asserts
nothing. The machine is shared, and llama-server with -t 2 on 2 cores slows down many
times over when anything else runs. So:
- a round starts only after a second in which other work used at most --contention cores;
- the CPU used in each measured window is split (from /proc) into llama-server, the tool
  being measured (its whole process tree), and everything else;
- a round in which everything else used more than --contention cores is printed but not
  counted, and it is repeated (at most --extra-rounds more times, within --budget-s);
- a request past --request-timeout ends the round (not counted).
A server slowed by the tool's own CPU use does count: that is part of what the tool
measures. Every server workload runs at nice 10: the script renices itself, and the
server and AIPerf inherit that.

Peers: inference-perf is not on PyPI here ("No matching distribution found for
inference-perf"). guidellm is, but AIPerf is the one wired up.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replayer.runner.noise import machine_busy_s, proc_stats  # noqa: E402

PEER = "aiperf"
PEER_VERSION = "0.13.0"
PEER_VENV = ROOT / ".venv-peers" / PEER
MODEL = Path("~/.cache/replayer/models/synthetic-echo-mtp70.g1.gguf").expanduser()
SERVER_ARGS = ["--fit", "off", "-fa", "off", "--poll", "0", "-t", "2", "--cache-ram", "0", "--metrics", "--no-webui"]
TOKENIZER_REPO = "local/smollm2-from-gguf"  # a name in the private hub cache; never looked up online
WORDS = ("the parser reads each line of the configuration file and keeps a map from section names to their "
         "keys so that a later lookup never scans the file again while the writer flushes it to disk").split()


# -- the peer's environment --------------------------------------------------------------------

def ensure_peer() -> Path:
    """AIPerf in its own virtual environment (created here if absent); returns its executable."""
    exe = PEER_VENV / "bin" / "aiperf"
    if exe.exists():
        return exe
    ignored = (ROOT / ".gitignore").read_text().splitlines() if (ROOT / ".gitignore").exists() else []
    if not any(line.strip().rstrip("/") in (".venv-peers", "/.venv-peers") for line in ignored):
        print("note: .gitignore does not list .venv-peers/; the peer's environment would show in git status")
    print(f"installing {PEER}=={PEER_VERSION} into {PEER_VENV} (once) ...", flush=True)
    subprocess.run(["python3", "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", f"{PEER}=={PEER_VERSION}"], check=True)
    return exe


def write_tokenizer(gguf_path: Path, out: Path) -> Path:
    """A Hugging Face tokenizer directory from the GGUF's vocabulary (SmolLM2's byte-level BPE)."""
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    fields = reader.fields

    def value(key: str):
        return fields[key].contents() if key in fields else None

    if value("tokenizer.ggml.model") != "gpt2":
        raise SystemExit(f"{gguf_path}: tokenizer {value('tokenizer.ggml.model')!r} is not a byte-level BPE")
    tokens, types = value("tokenizer.ggml.tokens"), value("tokenizer.ggml.token_type")
    merges = value("tokenizer.ggml.merges")
    special = [i for i, t in enumerate(types) if t == 3]  # control tokens: <|im_start|>, <|im_end|>, ...
    # llama.cpp's "smollm" pre-tokenizer: every digit alone, then GPT-2's byte-level split
    pre = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i in special],
        "normalizer": None, "pre_tokenizer": pre,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": [m.split(" ", 1) for m in merges]},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False))
    bos, eos = value("tokenizer.ggml.bos_token_id"), value("tokenizer.ggml.eos_token_id")
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 16384,
              "bos_token": tokens[bos] if bos is not None else None,
              "eos_token": tokens[eos] if eos is not None else None,
              "add_bos_token": False, "add_eos_token": False, "clean_up_tokenization_spaces": False}
    template = value("tokenizer.chat_template")
    if template:
        config["chat_template"] = template
    (out / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False))
    return out


def as_hub_cache(tok_dir: Path, cache: Path) -> str:
    """The tokenizer as a snapshot in a private Hugging Face hub cache; returns its repo id.

    AIPerf 0.13.0 with HF_HUB_OFFLINE=1 reads --tokenizer as a hub repo id whatever it is
    (a local directory fails: "HFValidationError: Repo id must be in the form 'repo_name'
    or 'namespace/repo_name'"), and without offline mode it may ask the hub. A snapshot in
    a cache of our own (HF_HUB_CACHE) loads with no network at all."""
    repo = TOKENIZER_REPO
    base = cache / ("models--" + repo.replace("/", "--"))
    commit = "0" * 40
    snap = base / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    for f in tok_dir.iterdir():
        shutil.copy(f, snap / f.name)
    (base / "refs").mkdir(exist_ok=True)
    (base / "refs" / "main").write_text(commit)
    return repo


def check_tokenizer(repo: str, hub_cache: Path, endpoint, samples: list[str]) -> int:
    """Token ids from the local tokenizer, loaded as AIPerf loads it (its Tokenizer class, offline,
    in its own environment), against the server's /tokenize; returns how many samples differ."""
    code = ("import json,sys; from aiperf.common.tokenizer import Tokenizer; t=Tokenizer.from_pretrained(sys.argv[1]); "
            "print(json.dumps([t.encode(s) for s in json.load(sys.stdin)]))")
    run = subprocess.run([str(PEER_VENV / "bin" / "python"), "-c", code, repo], input=json.dumps(samples),
                         capture_output=True, text=True, env=offline_env(hub_cache))
    if run.returncode != 0:
        raise SystemExit(f"AIPerf cannot load the local tokenizer:\n{run.stderr[-2000:]}")
    mine = json.loads(run.stdout.strip().splitlines()[-1])
    return sum(1 for s, ids in zip(samples, mine) if endpoint.tokenize(s) != ids)


def offline_env(hub_cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if hub_cache is not None:
        env["HF_HUB_CACHE"] = str(hub_cache)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               DO_NOT_TRACK="1", TOKENIZERS_PARALLELISM="false")
    return env


# -- the workload -------------------------------------------------------------------------------

def prompts(n: int, words: int) -> list[str]:
    """n distinct prompts of about `words` words; each opens with its own number, so no two share
    a cached prefix beyond the chat template's first tokens."""
    out = []
    for k in range(n):
        body = " ".join(WORDS[(k + j) % len(WORDS)] for j in range(words))
        out.append(f"Request {k}: summarise this note in plain words. {body}")
    return out


def write_traces(texts: list[str], output_tokens: int, where: Path) -> list[Path]:
    from replayer.sources.builder import Call, build_trace

    paths = []
    for k, text in enumerate(texts):
        call = Call(messages=[{"role": "user", "content": text}],
                    response={"role": "assistant", "content": "ok"}, params={"model": "replayer"},
                    usage={"completion_tokens": output_tokens})
        doc = build_trace(f"peer-{k:03d}", [call], provenance={"agent": "bench", "source": "bench/peer_agreement.py"})
        path = where / f"peer-{k:03d}.json"
        path.write_text(json.dumps(doc))
        paths.append(path)
    return paths


class Sink:
    def __init__(self) -> None:
        self.records = []

    def write(self, record) -> None:
        self.records.append(record)


class Quiet:
    def turn_done(self, record) -> None: ...
    def log(self, message: str) -> None: print(f"  replayer: {message}")
    def add_total(self, n: int) -> None: ...


class Cpu:
    """Who used the CPU during a measured window: the client (a process tree, the server's subtree
    left out), llama-server, and everything else on the machine. Sampled from /proc in a thread every
    `period` s, so a window (the peer's measured requests) excludes its start-up."""

    def __init__(self, client: int, server: int, period: float = 0.25) -> None:
        self.client, self.server, self.period = client, server, period
        self.samples: list[tuple[int, float, dict[str, float], dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Cpu":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._sample())
            self._stop.wait(self.period)

    def _sample(self) -> tuple[int, float, dict[str, float], dict[str, float]]:
        t = time.time_ns()
        busy = machine_busy_s()
        procs = {p.pid: (p.ppid, p.name, p.cpu_s) for p in proc_stats()}
        server = self._subtree(procs, self.server, set())
        client = self._subtree(procs, self.client, set(server))
        return (t, busy, {f"{procs[p][1]}[{p}]": procs[p][2] for p in client},
                {str(p): procs[p][2] for p in server})

    @staticmethod
    def _subtree(procs: dict[int, tuple[int, str, float]], root: int, skip: set[int]) -> list[int]:
        out, frontier = [], [root]
        while frontier:
            pid = frontier.pop()
            if pid in procs and pid not in skip:
                out.append(pid)
                frontier += [c for c, v in procs.items() if v[0] == pid]
        return out

    def window(self, start_ns: int, end_ns: int) -> dict[str, object]:
        """Cores used between the first and last sample inside the window."""
        inside = [x for x in self.samples if start_ns <= x[0] <= end_ns]
        if len(inside) < 2:
            return {"client": float("nan"), "server": float("nan"), "others": float("nan"), "client_top": {}}
        (t0, busy0, c0, s0), (t1, busy1, c1, s1) = inside[0], inside[-1]
        seconds = (t1 - t0) / 1e9
        top: dict[str, float] = {}
        for key, v in c1.items():
            name = key.rsplit("[", 1)[0]
            top[name] = top.get(name, 0.0) + (v - c0.get(key, 0.0)) / seconds
        client = sum(top.values())
        server = sum(v - s0.get(k, 0.0) for k, v in s1.items()) / seconds
        return {"client": client, "server": server, "others": max(0.0, (busy1 - busy0) / seconds - client - server),
                "client_top": dict(sorted(top.items(), key=lambda kv: -kv[1]))}


EVAL = re.compile(r"\|\s+eval time =\s+([\d.]+) ms /\s+(\d+) tokens")


class ServerLog:
    """The server's own decode time per generated token, from its log (one "eval time" line per
    finished request), for the requests of one run: the same source for both tools."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def decode_ms_per_token(self, expect: int, skip: int = 0) -> float | None:
        """Over the `expect` requests finished since mark(), the first `skip` (a warm-up) left out."""
        deadline = time.monotonic() + 2.0
        while True:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                found = EVAL.findall(fh.read().decode(errors="replace"))
            if len(found) >= expect or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        measured = found[skip:expect]
        tokens = sum(int(n) for _, n in measured)
        return sum(float(ms) for ms, _ in measured) / tokens if tokens else None


def wait_for_quiet(server_pid: int, limit: float, deadline: float) -> float | None:
    """Wait until processes other than this script and the server use at most `limit` cores over a
    second (no round is started into another session's burst); the seconds waited, or None if the
    monotonic deadline came first."""
    t0 = time.monotonic()
    while True:
        with Cpu(os.getpid(), server_pid) as cpu:
            time.sleep(1.0)
        if cpu.window(0, 2**63)["others"] <= limit:
            return time.monotonic() - t0
        if time.monotonic() > deadline:
            return None
        time.sleep(1.0)


def erase_slots(endpoint, slots: int) -> None:
    for slot in range(slots):
        endpoint.reset_slot(slot)


def run_replayer(endpoint, traces: list[Path], sessions: int, server_pid: int) -> dict:
    """One replayer run; a request past the endpoint's timeout stops it (on_error: stop)."""
    from replayer.runner.concurrent import ConcurrentExecutor
    from replayer.runner.plan import ReplayPlan, plan_turns
    from replayer.scenario.model import LoadSpec, OnError, ReplayPolicy
    from replayer.trace import load_trace

    # replayer's defaults: recorded lengths with ignore_eos, cache reuse, temperature 0
    policy = ReplayPolicy(warmup=0, on_error=OnError.STOP)
    loaded = [load_trace(p) for p in traces]
    plan = ReplayPlan(tuple(plan_turns(loaded, policy, lambda text: None, lambda text: 1)), (endpoint.name,))
    load = LoadSpec(sessions=(sessions,), sessions_total=len(traces), distinct=False)  # one prompt = one session
    sink = Sink()
    with Cpu(os.getpid(), server_pid) as cpu:
        t0 = time.time_ns()
        ConcurrentExecutor(sessions, load).run(plan, {endpoint.name: endpoint}, policy, sink, Quiet(), range(1))
        t1 = time.time_ns()
    good = [r for r in sink.records if r.ok]
    sends = [r.send_s for r in sink.records]
    receives = [r.receive_s for r in sink.records]
    duration = max(receives) - min(sends)  # as analysis/load.py _duration
    generated = sum(r.predicted_n or 0 for r in good)
    in_flight = sum(r.receive_s - r.send_s for r in sink.records) / duration
    return {"tok_s": generated / duration, "in_flight": in_flight, "generated": generated, "duration_s": duration,
            "requests": len(good), "errors": len(sink.records) - len(good), **cpu.window(t0, t1),
            "prompt_tokens": statistics.mean((r.prompt_n or 0) + (r.cache_n or 0) for r in good) if good else None}


def run_peer(exe: Path, url: str, repo: str, hub_cache: Path, dataset: Path, n: int, sessions: int, out: Path,
             policy_fields: dict, warmup: int, rate: float, server_pid: int, request_timeout: float,
             run_timeout: float) -> dict | None:
    """One AIPerf run; None if it ran past run_timeout (a busy machine) and was stopped."""
    extra = {**policy_fields}
    cmd = [str(exe), "profile", "--model", "replayer", "--url", url, "--endpoint-type", "chat",
           "--tokenizer", repo, "--use-server-token-count", "--use-legacy-max-tokens",
           "--custom-dataset-type", "single_turn", "--input-file", str(dataset),
           "--dataset-sampling-strategy", "sequential", "--request-count", str(n), "--concurrency", str(sessions),
           "--request-rate", str(rate), "--arrival-pattern", "constant",
           "--extra-inputs", json.dumps(extra), "--random-seed", "0",
           "--no-server-metrics", "--no-gpu-telemetry", "--ui-type", "none", "--workers-max", "1",
           "--record-processors", "1", "--warmup-request-count", str(warmup),
           "--request-timeout-seconds", str(request_timeout), "--failed-request-threshold", "0.01",
           "--output-artifact-dir", str(out)]
    t0 = time.perf_counter()
    # its own session: nothing AIPerf signals to its process group can reach this script
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=offline_env(hub_cache), cwd=out.parent, start_new_session=True)
    with Cpu(proc.pid, server_pid) as cpu:
        try:
            log, _ = proc.communicate(timeout=run_timeout)
        except subprocess.TimeoutExpired:
            stop_tree(proc)
            print(f"    aiperf ran past {run_timeout:.0f} s and was stopped (a busy machine)")
            return None
    if group_alive(proc.pid):  # a service it left behind: the group still has a member, so its id is still its own
        os.killpg(proc.pid, signal.SIGKILL)
    wall = time.perf_counter() - t0
    (out / "aiperf_console.log").write_text(log)
    if proc.returncode != 0:
        if (out / "profile_export.jsonl").exists():  # it ran and gave up (failed requests): a lost round
            print(f"    aiperf exited with {proc.returncode} after failed requests (log: {out}/aiperf_console.log)")
            return None
        raise SystemExit(f"aiperf exited with {proc.returncode}; its output ends:\n{log[-3000:]}")
    result = read_peer(out)
    return result | {"wall_s": wall, **cpu.window(*result.pop("window_ns"))}


def stop_tree(proc: subprocess.Popen) -> None:
    """Stop the AIPerf run this script started: its process group (started in its own session,
    the group's id is its PID). The group is signalled while its leader is still unreaped, so
    that id cannot have passed to another process; the leader is reaped last."""
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        if not group_alive(proc.pid):
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(proc.pid):
            time.sleep(0.2)
    proc.communicate()


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (an unreaped zombie is not)."""
    return any(p.pgrp == pgid and p.state != "Z" for p in proc_stats())


def read_peer(out: Path) -> dict:
    """AIPerf's per-request records, reduced with replayer's definition; and its own summary figure."""
    records = [json.loads(line) for line in (out / "profile_export.jsonl").read_text().splitlines() if line.strip()]
    starts, ends, generated, prompt, errors = [], [], 0, [], 0
    for rec in records:
        meta, metrics = rec.get("metadata", {}), rec.get("metrics", {})
        if meta.get("benchmark_phase") != "profiling":  # its warm-up requests are not measured
            continue
        if rec.get("error") or meta.get("was_cancelled"):
            errors += 1
            continue
        starts.append(meta["request_start_ns"])
        ends.append(meta["request_end_ns"])
        generated += _metric(metrics, "output_token_count") or _metric(metrics, "output_sequence_length") or 0
        isl = _metric(metrics, "input_sequence_length")
        if isl is not None:
            prompt.append(isl)
    if not starts:
        return {"tok_s": 0.0, "in_flight": 0.0, "generated": 0, "duration_s": 0.0, "requests": 0,
                "errors": max(errors, 1), "own_tok_s": None, "prompt_tokens": None, "window_ns": (0, 0)}
    duration = (max(ends) - min(starts)) / 1e9
    in_flight = sum(e - b for b, e in zip(starts, ends)) / 1e9 / duration
    summary = json.loads((out / "profile_export_aiperf.json").read_text())
    own = summary.get("output_token_throughput", {})
    return {"tok_s": generated / duration, "in_flight": in_flight, "generated": generated, "duration_s": duration,
            "requests": len(starts), "errors": errors, "own_tok_s": own.get("avg") if isinstance(own, dict) else own,
            "prompt_tokens": statistics.mean(prompt) if prompt else None,
            "window_ns": (min(starts), max(ends))}


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _metric(metrics: dict, name: str):
    m = metrics.get(name)
    return m.get("value") if isinstance(m, dict) else m


# -- the run -------------------------------------------------------------------------------------

def renice(target: int = 10) -> None:
    now = os.nice(0)
    if now < target:
        os.nice(target - now)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=2, help="sessions (requests) in flight; also the server's -np")
    ap.add_argument("--requests", type=int, default=40, help="requests per run, each its own prompt")
    ap.add_argument("--output-tokens", type=int, default=256)
    ap.add_argument("--prompt-words", type=int, default=150)
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--peer-rate", type=float, default=500.0,
                    help="AIPerf's request-rate ceiling under --concurrency: how often it looks for a free "
                         "slot (500/s: every 2 ms); pure --concurrency busy-polls a core, see the docstring")
    ap.add_argument("--peer-warmup", type=int, default=8,
                    help="AIPerf warm-up requests (not measured): its services start while they run")
    ap.add_argument("--contention", type=float, default=0.05,
                    help="a round in which processes other than the server and the tool being measured used "
                         "more than this many cores during a measured window is reported, not counted, and "
                         "repeated")
    ap.add_argument("--request-timeout", type=float, default=4.0,
                    help="seconds; a request past it stops that run and its round is not counted (normal: ~0.3 s)")
    ap.add_argument("--extra-rounds", type=int, default=4, help="at most this many repeated rounds")
    ap.add_argument("--budget-s", type=float, default=150.0,
                    help="start no round that would end past this many seconds (rounds so far as the guide)")
    ap.add_argument("--keep", type=Path, default=None, help="keep AIPerf's artifacts and the inputs here")
    args = ap.parse_args()
    renice(10)
    if not args.model.exists():
        print(f"{args.model} is missing: `replay models --prepare synthetic-echo-mtp70` writes it")
        return 2

    from replayer.runner.binary import find_server_binary
    from replayer.runner.endpoint import Endpoint
    from replayer.runner.server import ManagedServer
    from replayer.scenario.model import DEFAULT_SAMPLING

    exe = ensure_peer()
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=offline_env()).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="peer-agreement-"))
    try:
        hub_cache = work / "hf-hub"
        repo = as_hub_cache(write_tokenizer(args.model, work / "tokenizer"), hub_cache)
        texts = prompts(args.requests, args.prompt_words)
        traces = write_traces(texts, args.output_tokens, work)
        dataset = work / "prompts.jsonl"
        dataset.write_text("".join(json.dumps({"text": t, "output_length": args.output_tokens}) + "\n" for t in texts))
        # the same request fields replayer's build_request sends (max_tokens goes as output_length)
        fields = {**DEFAULT_SAMPLING, "ignore_eos": True, "cache_prompt": True, "return_tokens": True,
                  "verbose": True}

        binary = find_server_binary()[0]
        (work / "slots").mkdir()  # --slot-save-path: llama-server erases a slot only when it has one
        server = ManagedServer("peer", binary, args.model,
                               ["-c", "16384", "-np", str(args.sessions), *SERVER_ARGS,
                                "--slot-save-path", str(work / "slots")], work / "server.log")
        server.start(timeout_s=120)
        try:
            endpoint = Endpoint("peer", server.url, server, args.request_timeout)
            samples = texts[:5] + ["Hello world 12345 def foo():\n    return  x"]
            bad = check_tokenizer(repo, hub_cache, endpoint, samples)
            verdict = "matches" if bad == 0 else f"differs on {bad} of {len(samples)} samples from"
            print(f"aiperf {version}; local tokenizer from {args.model.name}: {verdict} the server's /tokenize")
            endpoint.complete({"model": "replayer", "messages": [{"role": "user", "content": "warm up"}],
                               "max_tokens": 8})
            print(f"one llama-server, -np {args.sessions}; {args.requests} requests per run, {args.sessions} in "
                  f"flight, {args.output_tokens} generated tokens each (ignore_eos), distinct prompts of "
                  f"~{args.prompt_words} words")
            log = ServerLog(work / "server.log")
            ours, theirs, rows, t0 = [], [], [], time.monotonic()
            attempts = 0
            while len(ours) < args.rounds and attempts < args.rounds + args.extra_rounds:
                spent = time.monotonic() - t0
                if attempts and spent / attempts * (attempts + 1) > args.budget_s:
                    print(f"stopping after {attempts} round(s): another would pass --budget-s {args.budget_s:.0f} "
                          f"({spent:.0f} s so far)")
                    break
                waited = wait_for_quiet(server.proc.pid, args.contention, t0 + args.budget_s - 30)
                if waited is None:
                    print("stopping: the machine stayed busy (other work above --contention) until the budget ran out")
                    break
                if waited > 1.5:
                    print(f"(waited {waited:.0f} s for other work on the machine to stop)")
                attempts += 1
                left = args.budget_s - (time.monotonic() - t0)
                erase_slots(endpoint, args.sessions)
                log.mark()
                a = run_replayer(endpoint, traces, args.sessions, server.proc.pid)
                a["ms_per_token"] = log.decode_ms_per_token(args.requests)
                erase_slots(endpoint, args.sessions)
                log.mark()
                b = run_peer(exe, server.url, repo, hub_cache, dataset, args.requests, args.sessions,
                             work / f"aiperf-{attempts}", fields, args.peer_warmup, args.peer_rate, server.proc.pid,
                             args.request_timeout, max(30.0, min(120.0, left)))
                if b is None or a["errors"] or b["errors"] or not a["generated"] or not b["generated"]:
                    print(f"round {attempts}: not counted: errors (replayer {a['errors']}, aiperf "
                          f"{'stopped' if b is None else b['errors']}); requests time out after "
                          f"{args.request_timeout:.0f} s, as on a very busy machine")
                    continue
                b["ms_per_token"] = log.decode_ms_per_token(args.peer_warmup + args.requests, skip=args.peer_warmup)
                ratio = b["tok_s"] / a["tok_s"]
                rows.append((a["tok_s"], b["tok_s"], ratio))
                print(f"round {attempts}: replayer {a['tok_s']:.1f} tok/s, aiperf {b['tok_s']:.1f} tok/s, "
                      f"aiperf / replayer {ratio:.4f}   (aiperf's own output_token_throughput "
                      f"{b['own_tok_s'] or float('nan'):.1f})")
                for name, x in (("replayer", a), ("aiperf", b)):
                    idle = (args.sessions - x["in_flight"]) * x["duration_s"] / x["requests"] * 1e3
                    print(f"    {name:8s} {x['generated']} tokens / {x['duration_s']:.3f} s, {x['requests']} requests, "
                          f"prompt {x['prompt_tokens'] or 0:.0f} tok; mean in flight {x['in_flight']:.3f} (a slot "
                          f"idle {idle:.2f} ms per request); server decode {_f(x['ms_per_token'])} ms/token/slot")
                    top = ", ".join(f"{k} {v:.2f}" for k, v in list(x["client_top"].items())[:3] if v >= 0.005)
                    print(f"             CPU in the window (cores): llama-server {x['server']:.2f}, client "
                          f"{x['client']:.2f}{f' ({top})' if top else ''}, everything else {x['others']:.2f}")
                if a["ms_per_token"] and b["ms_per_token"]:
                    flight, speed = b["in_flight"] / a["in_flight"], a["ms_per_token"] / b["ms_per_token"]
                    print(f"    accounted for: requests in flight {flight:.4f} x server decode speed {speed:.4f} "
                          f"= {flight * speed:.4f} (measured {ratio:.4f})")
                busy = max(a["others"], b["others"])
                if not busy <= args.contention:  # nan (too short a window to tell) counts as busy
                    print(f"    not counted: other work on the machine used {busy:.2f} cores during a measured "
                          f"window (more than --contention {args.contention}); repeating the round", flush=True)
                    continue
                ours.append(a["tok_s"])
                theirs.append(b["tok_s"])
                sys.stdout.flush()
            if not ours:
                print("no round with the same server speed for both tools: the machine is too busy to compare")
                return 1
            ratios = [b / a for a, b in zip(ours, theirs)]
            print(f"{len(ours)} counted round(s) of {attempts}:")
            for name, xs in (("replayer tok/s", ours), ("aiperf tok/s", theirs), ("aiperf / replayer", ratios)):
                print(f"  {name}: min/median/max {min(xs):.4g} / {statistics.median(xs):.4g} / {max(xs):.4g}")
            if len(rows) > len(ours):
                every = [r[2] for r in rows]
                print(f"  aiperf / replayer over all {len(rows)} rounds, contended ones too: min/median/max "
                      f"{min(every):.4g} / {statistics.median(every):.4g} / {max(every):.4g}")
        finally:
            server.stop()
    finally:
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
