"""Synthetic workloads: token lengths, determinism, and the shape of a real trace kept."""

import json
from pathlib import Path

import pytest

from replayer.sources.synth import ServerTokenizer, SyntheticSpec, build_workloads, write_workloads
from replayer.sources.synth.content import text_of
from replayer.sources.synth.workloads import bench_workloads, shaped_workload
from replayer.tokens import _encoding
from replayer.trace import load_trace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tok():
    enc = _encoding()  # a stand-in for the server's tokenizer: same interface
    return ServerTokenizer(lambda t: enc.encode(t, disallowed_special=()), enc.decode, enc.n_vocab)


@pytest.mark.parametrize("kind", ["prose", "code", "random"])
def test_text_has_the_asked_length_and_is_deterministic(tok, kind):
    for n in (1, 37, 700):
        text = text_of(kind, n, tok, seed=3)
        slack = 0.25 if kind == "random" else 0.02  # random ids may merge when re-tokenized
        assert abs(len(tok.encode(text)) - n) <= max(2, slack * n), (kind, n)
        assert text == text_of(kind, n, tok, seed=3)
    assert text_of(kind, 200, tok, seed=3) != text_of(kind, 200, tok, seed=4)


def test_code_looks_like_code_and_prose_like_prose(tok):
    assert "def " in text_of("code", 300, tok, 1) and "return" in text_of("code", 300, tok, 1)
    assert text_of("prose", 300, tok, 1).count(" ") > 100


def test_bench_traces_fill_then_measure_at_depth(tok):
    spec = SyntheticSpec(pp=(64, 128), tg=(32,), depths=(0, 500))
    d0, d500 = bench_workloads(spec, tok)
    assert [lab["test"] for lab in d0.labels.values()] == ["pp64", "pp128", "tg32"]
    assert [lab["test"] for lab in d500.labels.values()] == ["fill", "pp64", "pp128", "tg32"]
    turns = d500.doc["turns"]
    # ppN turns extend the filled context; the tg turn resends the last ppN prompt exactly
    assert turns[3]["request"] == turns[2]["request"] or \
        turns[3]["request"].get("conversation_prefix") == turns[2]["request"].get("conversation_prefix")
    assert turns[3]["response"]["usage"]["completion_tokens"] == 32
    assert all(t["response"]["usage"]["completion_tokens"] == 1 for t in turns[:3])


def test_a_shaped_session_keeps_lengths_roles_and_shared_prefixes(tok, tmp_path):
    real = load_trace(ROOT / "traces" / "cli_tool.json")
    outputs = [10 + k for k in range(6)]
    w = shaped_workload(real, "prose", tok, outputs)
    synth = write_workloads([w], tmp_path)[0]
    assert synth.name == "synth:shaped-prose:cli_tool" and synth.n_turns == 6
    for k in range(6):
        r, s = real.turn(k), synth.turn(k)
        assert [m["role"] for m in s.messages] == [m["role"] for m in r.messages]
        real_len = sum(len(tok.encode(m.get("content") or "")) for m in r.messages)
        synth_len = sum(len(tok.encode(m.get("content") or "")) for m in s.messages)
        assert abs(synth_len / real_len - 1) < 0.05, k
        assert s.recorded_completion_tokens == outputs[k]
        for rm, sm in zip(r.messages, s.messages):
            assert sm.get("tool_call_id") == rm.get("tool_call_id")
            assert [shape(c) for c in sm.get("tool_calls") or []] == [shape(c) for c in rm.get("tool_calls") or []]
    assert any(m.get("tool_calls") for m in synth.turn(5).messages)  # the flagship calls tools from its start
    # turn k+1's history starts with turn k's messages, as in the real session (cache reuse)
    for k in range(5):
        assert synth.turn(k + 1).messages[:len(synth.turn(k).messages)] == synth.turn(k).messages
    assert synth.turn(0).tools == real.turn(0).tools  # tool schemas are part of the prompt's shape


def shape(call: dict) -> tuple:
    """A tool call's structure: id, name, argument keys (values are content)."""
    args = json.loads(call["function"]["arguments"])
    return call.get("id"), call["function"]["name"], sorted(args)


def test_tool_call_arguments_keep_their_keys_and_lengths(tok):
    from replayer.sources.synth.workloads import _arguments_like

    real = json.dumps({"path": "src/wordstat/cli.py", "content": "import sys\n\ndef main():\n    return 0\n",
                       "line": 12})
    synth = json.loads(_arguments_like(real, "code", tok, seed=5))
    assert sorted(synth) == ["content", "line", "path"] and synth["line"] == 12
    for key in ("path", "content"):
        assert synth[key] != json.loads(real)[key]
        assert abs(len(tok.encode(synth[key])) - len(tok.encode(json.loads(real)[key]))) <= 2
    assert _arguments_like("not json {", "code", tok, seed=5) != "not json {"  # text of its length instead
    nested = json.dumps({"edits": [{"old": "x = 1", "new": "x = 2"}], "dry_run": False})
    out = json.loads(_arguments_like(nested, "code", tok, seed=5))
    assert set(out) == {"edits", "dry_run"} and out["dry_run"] is False and set(out["edits"][0]) == {"old", "new"}
    assert out["edits"][0]["old"] != "x = 1"  # no real text left anywhere inside


def test_reasoning_is_replaced_too(tok):
    from replayer.sources.synth.workloads import _synthetic_like

    real = {"role": "assistant", "content": "Done.", "reasoning_content": "The user wants the tests to pass first."}
    synth = _synthetic_like(real, "prose", tok, seed=1)
    assert set(synth) == {"role", "content", "reasoning_content"}
    assert synth["reasoning_content"] != real["reasoning_content"]
    assert abs(len(tok.encode(synth["reasoning_content"])) - len(tok.encode(real["reasoning_content"]))) <= 2


def test_build_workloads_covers_every_kind(tok):
    real = load_trace(ROOT / "traces" / "cli_tool.json")
    ws = build_workloads(SyntheticSpec(depths=(0,), shaped=("code", "random")), [real], {real.name: [5, 5]}, tok)
    assert [w.kind for w in ws] == ["bench", "probe", "shaped", "shaped"]
    with pytest.raises(ValueError, match="expected one of random, prose, code"):
        shaped_workload(real, "poetry", tok, [5])
