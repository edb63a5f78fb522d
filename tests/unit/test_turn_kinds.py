"""Turn kinds: the classifier on recorded responses of every importer format, the per-kind
section, and the per-request switch estimate (never better than its oracle bound)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from replayer.analysis.by_kind import turn_kinds_section
from replayer.analysis.summary import RunMeta, TraceMeta, summarize
from replayer.analysis.switch import switch_estimate
from replayer.analysis.turn_kinds import (CODE_EDIT, DECODE_HEAVY, PROMPT_HEAVY, PROSE, REASONING, TOOL_CALL,
                                          classify_message, shape_of, shares_of)
from replayer.results.record import TurnResult
from replayer.results.summary import VariantFacts
from replayer.sources.importers import import_session
from tools.fuzz.seeds import all_seeds

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "real-traces"


def call(name: str, arguments: object) -> dict:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": "c", "type": "function", "function": {"name": name, "arguments": text}}


@pytest.mark.parametrize("message, kind", [
    ({"role": "assistant", "content": "The tests pass now; the fix was a floor division."}, PROSE),
    ({"role": "assistant", "content": ""}, PROSE),  # nothing written: counted as prose
    ({"role": "assistant", "content": None, "tool_calls": [call("execute_command", {"command": "pytest -q"})]},
     TOOL_CALL),
    ({"role": "assistant", "content": "Running them.", "tool_calls": [call("shell", {"command": ["ls", "-la"]})]},
     TOOL_CALL),
    ({"role": "assistant", "content": "I'll write it.",
      "tool_calls": [call("write_to_file", {"path": "a.py", "content": "def f():\n    return 1\n"})]}, CODE_EDIT),
    # Codex: an apply_patch through the shell tool is an edit by its argument, not its name
    ({"role": "assistant", "content": None,
      "tool_calls": [call("shell", {"command": ["apply_patch", "*** Begin Patch\n*** Update File: a.py\n@@\n-x\n+y\n"]})]},
     CODE_EDIT),
    # Aider: SEARCH/REPLACE blocks in the text
    ({"role": "assistant", "content": "calc.py\n```python\n<<<<<<< SEARCH\nreturn a // b\n=======\nreturn a / b\n"
                                      ">>>>>>> REPLACE\n```"}, CODE_EDIT),
    ({"role": "assistant", "content": "Fix:\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\nDone."},
     CODE_EDIT),
    # SWE-agent thought/action: a one-line fenced command is an action, a multi-line edit is code
    ({"role": "assistant", "content": "Let's look.\n```\nls -F\n```"}, TOOL_CALL),
    ({"role": "assistant", "content": "Now the fix.\n```\nedit 1474:1474\n        return int(round(value))\n"
                                      "end_of_edit\n```"}, CODE_EDIT),
    # Cline v3 XML tool use written in the text
    ({"role": "assistant", "content": "Listing.\n<execute_command>\n<command>ls -la src</command>\n"
                                      "</execute_command>"}, TOOL_CALL),
    ({"role": "assistant", "content": "<write_to_file>\n<path>a.py</path>\n<content>\nprint(1)\n</content>\n"
                                      "</write_to_file>"}, CODE_EDIT),
    ({"role": "assistant", "content": "ok", "reasoning_content": "The user wants the tests to pass, so first I "
                                                                 "should read the failing test and then the code."},
     REASONING),
    ({"role": "assistant", "content": "<think>Long deliberation about which file to open first, and why.</think>"
                                      "Opening a.py."}, REASONING),
    ({"role": "assistant", "content": [{"type": "text", "text": "A longer explanation in content parts."}]}, PROSE),
])
def test_what_a_recorded_response_generates(message, kind):
    assert classify_message(message) == kind


def test_every_character_is_in_one_bin():
    text = "Intro.\n```python\ndef f():\n    pass\n```\nOutro."
    shares = shares_of({"role": "assistant", "content": text, "tool_calls": [call("read_file", {"path": "a"})]})
    fence = len("```python\ndef f():\n    pass\n```")
    assert shares.code_edit == fence
    assert shares.prose == len("Intro.\n\nOutro.")  # what is left once the fence is out, stripped at the ends
    assert shares.tool_call == len("read_file") + len('{"path": "a"}')


def test_ties_go_to_the_earlier_bin():
    # 10 characters of prose, 10 of a tool call: the tool call names the turn
    message = {"role": "assistant", "content": "x" * 10, "tool_calls": [call("abcd", "012345")]}
    assert shares_of(message).tool_call == shares_of(message).prose == 10
    assert classify_message(message) == TOOL_CALL


def test_malformed_arguments_do_not_crash():
    deep = "[" * 100000
    assert classify_message({"role": "assistant", "tool_calls": [call("run", deep)]}) == TOOL_CALL
    assert classify_message({"role": "assistant", "tool_calls": [{"function": "nope"}, "junk"]}) == PROSE


def test_shape_from_processed_and_generated_tokens():
    assert shape_of(5000, 40) == PROMPT_HEAVY
    assert shape_of(400, 40) == PROMPT_HEAVY
    assert shape_of(399, 40) == DECODE_HEAVY
    assert shape_of(10, 0) == PROMPT_HEAVY  # nothing generated: the turn was all prompt


# what each seed's turns generate, read from the seeds in tools/fuzz/seeds.py (one per importer format)
SEED_KINDS = {
    ("aider", "history"): [CODE_EDIT, PROSE],
    ("claude-code", "session"): [TOOL_CALL, PROSE],
    ("cline-v3", "task"): [TOOL_CALL, PROSE],
    ("cline-v4", "session"): [TOOL_CALL, PROSE],  # 10 characters of reasoning, 16 of prose, 27 of the call
    ("codex", "rollout"): [TOOL_CALL, PROSE, PROSE],
    ("openai-jsonl", "journal"): [TOOL_CALL, PROSE],
    ("openai-jsonl", "wire-journal"): [PROSE, TOOL_CALL],
    ("opencode", "export"): [TOOL_CALL, CODE_EDIT, PROSE, PROSE, TOOL_CALL],
    ("openhands", "trajectory"): [TOOL_CALL, CODE_EDIT, PROSE],
    ("openhands", "events-dir"): [TOOL_CALL],
    ("swe-agent", "traj"): [TOOL_CALL, TOOL_CALL],
}


def _imported_kinds(seed, tmp_path: Path) -> list[str]:
    for name, data in seed.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    doc, _ = import_session(tmp_path / seed.main, seed.target)
    return [classify_message(t["response"]["message"]) for t in doc["turns"]]


@pytest.mark.parametrize("seed", [s for s in all_seeds() if (s.target, s.name) in SEED_KINDS],
                         ids=lambda s: f"{s.target}-{s.name}")
def test_every_importer_format(seed, tmp_path):
    got = _imported_kinds(seed, tmp_path)
    assert got[:len(SEED_KINDS[(seed.target, seed.name)])] == SEED_KINDS[(seed.target, seed.name)]


def test_every_importer_format_has_a_seed():
    from replayer.sources.importers import formats

    covered = {target for target, _ in SEED_KINDS}
    assert set(formats()) <= covered, set(formats()) - covered


@pytest.mark.parametrize("rel, expect", [
    ("codex-rollout/AcidicSoil_rollout-2025-11-17T15-30-28-019a93b9.jsonl", {TOOL_CALL}),
    ("aider-llm-history/jkassemi_friendly_names.aider.llm.history", {CODE_EDIT, PROSE}),
    ("openhands/openhands_basic_gui_mode.json", {CODE_EDIT, TOOL_CALL, PROSE}),
    # its thoughts outweigh its one-line actions; its edit commands are code
    ("swe-agent/sweagent_marshmallow-1867_default_thought_action.traj", {CODE_EDIT, PROSE}),
    ("cline-v4/cline_fixture_session.messages.json", {CODE_EDIT, PROSE}),
])
def test_real_sessions(rel, expect):
    path = REAL / rel
    if not path.is_file():
        pytest.skip(f"real trace not available: {path} (the shared real-traces folder is absent)")
    doc, _ = import_session(path)
    kinds = Counter(classify_message(t["response"]["message"]) for t in doc["turns"])
    assert expect <= set(kinds), kinds


def rec(variant: str, turn: int, wall: float, rep: int = 0, prompt_n: int = 100, predicted_n: int = 50,
        draft: int = 0, acc: int = 0) -> TurnResult:
    return TurnResult(trace="t", turn=turn, variant=variant, repetition=rep, seq=0, wall_ms=wall, max_tokens=64,
                      max_tokens_source="usage", prompt_ms=wall * 0.2, predicted_ms=wall * 0.7,
                      request_overhead_ms=wall * 0.1, prompt_n=prompt_n, cache_n=0, predicted_n=predicted_n,
                      draft_n=draft, draft_n_accepted=acc, tokens=(1, 2))


def test_section_splits_the_effect_by_kind():
    kinds = {("t", k): (CODE_EDIT if k % 2 else PROSE) for k in range(12)}
    noise = random.Random(3)
    records = []
    for k in range(12):
        base = 1000.0 + 100 * k
        effect = 0.5 if k % 2 else 1.6  # the candidate halves code edits and slows prose
        records.append(rec("off", k, base, prompt_n=5000 if k < 4 else 100))
        records.append(rec("on", k, base * effect * noise.uniform(0.97, 1.03), prompt_n=5000 if k < 4 else 100,
                           draft=30, acc=20 if k % 2 else 5))
    by_variant = {"off": [r for r in records if r.variant == "off"], "on": [r for r in records if r.variant == "on"]}
    section = turn_kinds_section(by_variant, "off", kinds)
    rows = {(r.group, r.name): r for r in section.rows}
    assert set(rows) == {("kind", CODE_EDIT), ("kind", PROSE), ("shape", PROMPT_HEAVY), ("shape", DECODE_HEAVY)}
    code, prose = rows[("kind", CODE_EDIT)].ratios[0], rows[("kind", PROSE)].ratios[0]
    assert code.wall_ratio_ci[0] <= code.wall_ratio <= code.wall_ratio_ci[1] < 0.6
    assert prose.wall_ratio_ci[0] > 1.4
    assert rows[("kind", CODE_EDIT)].arms["on"].acceptance == pytest.approx(20 / 30)
    assert rows[("kind", PROSE)].arms["off"].turns == 6
    assert rows[("shape", PROMPT_HEAVY)].arms["off"].turns == 4  # 5000 processed for 50 generated
    assert [(c.turn, c.kind) for c in section.turns[:2]] == [(0, PROSE), (1, CODE_EDIT)]


def test_summary_carries_the_section_and_the_switch():
    kinds = {("t", k): (CODE_EDIT if k % 2 else PROSE) for k in range(8)}
    records = [rec("off", k, 1000.0) for k in range(8)] + [rec("on", k, 500.0 if k % 2 else 1500.0) for k in range(8)]
    facts = (VariantFacts("off", None, False, False), VariantFacts("on", None, True, True))
    s = summarize(records, RunMeta(scenario="s", baseline="off", variants=facts,
                                   traces=(TraceMeta("t", "0" * 64, 8, (0.0,) * 8),), kinds=kinds))
    assert s.turn_kinds is not None and len(s.turn_kinds.turns) == 8
    switch = s.comparisons[0].switch
    assert switch.rule == {CODE_EDIT: "on", PROSE: "off"}
    assert switch.rule_s == pytest.approx(switch.oracle_s) == pytest.approx(4 * 1.0 + 4 * 0.5)
    assert switch.better == "off" and switch.better_s == pytest.approx(8.0)  # on: 4 x 0.5 + 4 x 1.5 = 8 too: a tie
    assert switch.rule_share == pytest.approx(6.0 / 8.0)


def test_switch_is_never_better_than_its_bound():
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(4, 30)
        kinds = {("t", k): rng.choice([TOOL_CALL, CODE_EDIT, PROSE]) for k in range(n)}
        base = [rec("off", k, rng.uniform(100, 2000)) for k in range(n)]
        cand = [rec("on", k, b.wall_ms * rng.uniform(0.4, 1.8)) for k, b in enumerate(base)]
        s = switch_estimate("off", "on", base, cand, kinds)
        assert s.oracle_s <= s.rule_s + 1e-9
        assert s.oracle_s <= s.better_s + 1e-9
        assert s.rule_s <= s.baseline_s + s.candidate_s


def test_switch_is_scored_on_turns_it_was_not_chosen_on():
    # one kind, two turns: each half teaches the opposite of what the other half needs
    kinds = {("t", 0): PROSE, ("t", 1): PROSE, ("t", 2): CODE_EDIT, ("t", 3): CODE_EDIT}
    base = [rec("off", 0, 1000.0), rec("off", 1, 1000.0), rec("off", 2, 1000.0), rec("off", 3, 1000.0)]
    cand = [rec("on", 0, 500.0), rec("on", 1, 2000.0), rec("on", 2, 1000.0), rec("on", 3, 1000.0)]
    s = switch_estimate("off", "on", base, cand, kinds)
    # fitted to itself it would take 0.5 + 1.0 + 2.0; scored across halves it takes 1.0 (turn 0 on off,
    # learned from turn 1) + 2.0 (turn 1 on on, learned from turn 0) + 2.0
    assert s.oracle_s == pytest.approx(3.5)
    assert s.rule_s == pytest.approx(5.0)


def test_switch_needs_paired_turns():
    kinds = {("t", k): PROSE for k in range(3)}
    assert switch_estimate("off", "on", [rec("off", k, 1.0) for k in range(3)],
                           [rec("on", k, 1.0) for k in range(3)], kinds) is None
