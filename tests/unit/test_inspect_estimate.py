"""`replay inspect`'s estimates in linear time equal the straightforward ones: every turn's
whole prompt rendered and tokenized afresh (what inspect did before, and what made a 50 MB
trace take minutes)."""

import json
from pathlib import Path

from replayer.tokens import Prompt, TraceEstimate, _encoding, common_prefix, render_chatml
from replayer.trace import load_trace

ROOT = Path(__file__).resolve().parents[2]


def straightforward(trace, i):
    turn = trace.turn(i)
    return _encoding().encode(render_chatml(turn.messages, turn.tools), disallowed_special=())


def test_prompt_and_shared_prefix_counts_equal_tokenizing_each_prompt_whole(tmp_path):
    doc = json.loads((ROOT / "tests" / "fixtures" / "tiny_trace.json").read_text())
    # a turn that rewrote its history, and one with its own tool list, between prefix turns
    doc["turns"].insert(2, {**doc["turns"][1], "request": {"messages": doc["conversation"][:3], "tools": False}})
    doc["turns"].insert(3, {**doc["turns"][1], "request": {**doc["turns"][1]["request"], "tools": doc["tools"][:1]}})
    (tmp_path / "t.json").write_text(json.dumps(doc))
    for trace in (load_trace(tmp_path / "t.json"), load_trace(ROOT / "traces" / "cli_tool.json")):
        estimate = TraceEstimate(trace)
        previous = None
        for i in range(trace.n_turns):
            ids = straightforward(trace, i)
            assert estimate.prompt(i) == len(ids)
            if previous is not None:
                assert estimate.shared(Prompt.of(trace, i - 1), Prompt.of(trace, i)) == common_prefix(ids, previous)
            previous = ids
