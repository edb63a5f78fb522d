"""Synthetic workloads (``replay synth`` and a scenario's ``synthetic:`` section):
llama-bench-like pp/tg tests at chosen depths, shape-matched synthetic sessions and
content probes, all written as traces so the same runner replays them on the same
servers as the real session. Modules: ``content`` (text of a given token length and
kind), ``workloads`` (the traces)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from replayer.errors import ReplayerError
from replayer.sources.synth.workloads import (SyntheticSpec, Workload, bench_workloads, probe_workloads,
                                              shaped_workload)
from replayer.trace import Trace, load_trace

__all__ = ["SyntheticSpec", "ServerTokenizer", "Workload", "build_workloads", "write_workloads"]


@dataclass
class ServerTokenizer:
    """The model's own tokenizer through a server's /tokenize and /detokenize."""

    tokenize: Callable[[str], list[int] | None]
    detokenize: Callable[[list[int]], str | None]
    vocab_size: int

    def encode(self, text: str) -> list[int]:
        ids = self.tokenize(text)
        if ids is None:
            raise ReplayerError("synthetic workloads: the server's /tokenize failed")
        return ids

    def decode(self, ids: list[int]) -> str:
        text = self.detokenize(ids)
        if text is None:
            raise ReplayerError("synthetic workloads: the server's /detokenize failed")
        return text


def build_workloads(spec: SyntheticSpec, traces: list[Trace], output_tokens: dict[str, list[int]],
                    tok: ServerTokenizer) -> list[Workload]:
    """``output_tokens``: per real trace, the generation length of each replayed turn."""
    out = bench_workloads(spec, tok)
    if spec.probes:
        out += probe_workloads(spec, tok)
    for trace in traces:
        for kind in spec.shaped:
            out.append(shaped_workload(trace, kind, tok, output_tokens[trace.name]))
    return out


def write_workloads(workloads: list[Workload], folder: Path) -> list[Trace]:
    """Write each workload's trace (validated on loading) and its turn labels."""
    folder.mkdir(parents=True, exist_ok=True)
    traces, labels = [], {}
    for i, w in enumerate(workloads):
        path = folder / f"{i:02d}-{w.kind}.json"
        path.write_text(json.dumps(w.doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        traces.append(load_trace(path))
        labels[w.doc["name"]] = {"kind": w.kind, "turns": {str(k): v for k, v in w.labels.items()}}
    (folder / "labels.json").write_text(json.dumps(labels, indent=1) + "\n", encoding="utf-8")
    return traces
