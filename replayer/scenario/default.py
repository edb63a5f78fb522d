"""The scenario replayer uses when given traces and no YAML: MTP off against MTP on, with the
embedded default's pinned flags (scenarios/cli_tool.yaml), as text a user can keep and grow."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import yaml

from replayer.scenario.model import DEFAULT_COMMON_ARGS

DEFAULT_MODEL = "synthetic-echo-mtp70"


def default_scenario_text(traces: Sequence[Path], model: str | None = None, name: str | None = None) -> str:
    """A scenario for ``traces`` (absolute paths, so the file works from anywhere)."""
    doc = {
        "version": 1,
        "name": name or (f"{Path(traces[0]).stem}" if len(traces) == 1 else "sessions"),
        "description": "MTP speculative decoding off against on, the common flags pinned as in scenarios/cli_tool.yaml.",
        "traces": [str(Path(t).resolve()) for t in traces],
        "server": {"model": model or DEFAULT_MODEL, "args": list(DEFAULT_COMMON_ARGS)},
        "variants": {"mtp-off": {"args": []}, "mtp-on": {"args": ["--spec-type", "draft-mtp", "--spec-draft-n-max", 3]}},
        "baseline": "mtp-off",
        "replay": {"generation": "recorded", "cache": "reuse", "warmup": 1, "repetitions": 1},
        "output": {"dir": "runs/{scenario}-{timestamp}"},
    }
    return ("# replayer scenario v1 (docs/scenario-format.md), written for the traces given on the command line\n"
            + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110))
