from replayer.sources.builder import Call, Fidelity, build_trace, iso
from replayer.trace.load import validate_trace_document

SYS = {"role": "system", "content": "s"}
U1 = {"role": "user", "content": "do it"}
A1 = {"role": "assistant", "content": "ok", "tool_calls": [
    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
T1 = {"role": "tool", "tool_call_id": "c1", "content": "done"}
A2 = {"role": "assistant", "content": "finished"}
TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]


def test_growing_history_is_stored_once_and_referenced_by_prefix():
    doc = build_trace("x", [Call([SYS, U1], A1, tools=TOOLS), Call([SYS, U1, A1, T1], A2, tools=TOOLS)],
                      provenance={"agent": "a", "source": "s"}, fidelity=Fidelity(exact=["messages"]))
    assert doc["conversation"] == [SYS, U1, A1, T1, A2]
    assert [t["request"]["conversation_prefix"] for t in doc["turns"]] == [2, 4]
    assert doc["tools"] == TOOLS and all(t["request"]["tools"] is True for t in doc["turns"])
    assert doc["provenance"]["fidelity"]["exact"] == ["messages"]
    validate_trace_document(doc)


def test_rewritten_history_is_stored_whole():
    truncated = [SYS, {"role": "user", "content": "[history truncated]"}, T1]
    doc = build_trace("x", [Call([SYS, U1], A1), Call(truncated, A2)], provenance={"agent": "a", "source": "s"})
    assert doc["turns"][1]["request"]["messages"] == truncated
    assert "conversation_prefix" not in doc["turns"][1]["request"]
    assert doc["turns"][0]["request"]["tools"] is False


def test_iso_timestamps_are_utc_with_milliseconds():
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso(1.5) == "1970-01-01T00:00:01.500Z"


def test_calls_sharing_one_growing_history_are_stored_as_with_copies():
    from replayer.sources.builder import SharedHistory

    history: list = []
    shared, copied = [], []
    for k in range(50):
        history.append({"role": "user", "content": f"step {k}"})
        answer = {"role": "assistant", "content": f"answer {k}"}
        shared.append(Call(SharedHistory(history, head=[SYS]), answer))
        copied.append(Call([SYS, *history], answer))
        history.append(answer)
    shared.append(Call(SharedHistory(history[:3], head=[SYS], tail=[U1]), A2))  # a rewrite: stored whole
    copied.append(Call([SYS, *history[:3], U1], A2))
    provenance = {"agent": "a", "source": "s"}
    assert build_trace("x", shared, provenance=provenance) == build_trace("x", copied, provenance=provenance)
    view = SharedHistory(history, head=[SYS], tail=[U1], n=4)
    full = [SYS, *history[:4], U1]
    assert len(view) == 6 and list(view) == full and view == full and full == view
    assert all(view[a:b] == full[a:b] for a in range(-7, 8) for b in range(-7, 8)) and view[-1] is U1


def test_what_json_and_utf8_cannot_carry_is_replaced_and_reported():
    call = Call([SYS, {"role": "user", "content": "cut \ud83d"}], A2, params={"temperature": float("nan")})
    doc = build_trace("x", [call], provenance={"agent": "a", "source": "s"})
    assert doc["conversation"][1]["content"] == "cut \ufffd" and doc["turns"][0]["request"]["params"]["temperature"] is None
    notes = doc["provenance"]["fidelity"]["reconstructed"]
    assert any("lone UTF-16 surrogate" in n and "$.conversation[1].content" in n for n in notes)
    assert any("NaN or Infinity" in n and "temperature" in n for n in notes)


def test_times_outside_1970_2100_are_refused():
    import pytest

    for bad in (-1, 1e20, float("nan"), 4102444800):
        with pytest.raises(ValueError, match="outside 1970-2100"):
            iso(bad)
