"""The proof over a run that speculation was live where expected and absent elsewhere:
the "on" arm drafted, the "off" arm did not (the check at start is the server pool's)."""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Sequence

from replayer.results.record import TurnResult
from replayer.results.summary import DivergedTurn, VariantSummary

# A turn that generated at least this many tokens had room to draft: a shorter one may end
# before the first verification step.
MIN_TOKENS_TO_DRAFT = 8


def spec_problems(variants: Mapping[str, VariantSummary],
                  records: Sequence[TurnResult] | None = None) -> tuple[str, ...]:
    """The speculation proof over the whole run. ``records``: judge these instead of the
    variants' session figures (`replay synth` proves it on the calibration turns)."""
    counts = _counts(records) if records is not None else {
        name: (v.turns, v.errors, v.draft_tokens) for name, v in variants.items()}
    out = []
    for name, v in variants.items():
        turns, errors, drafted = counts.get(name, (0, 0, 0))
        if turns == 0:
            out.append(f"variant {name}: no turn completed ({errors} errors)")
            continue
        if v.expect_speculation:
            if not v.slots_speculative:
                out.append(f"variant {name}: speculation expected but /slots reports speculative=false "
                           "(silent fallback to plain decoding)")
            elif drafted == 0:
                out.append(f"variant {name}: speculation expected but the server drafted 0 tokens over the run")
        elif drafted > 0 or v.slots_speculative:
            out.append(f"variant {name}: no speculation expected but the server drafted {drafted} tokens")
        if errors:
            out.append(f"variant {name}: {errors} turn(s) failed (see results.jsonl)")
    return tuple(out)


def _counts(records: Sequence[TurnResult]) -> dict[str, tuple[int, int, int]]:
    turns: dict[str, int] = defaultdict(int)
    errors: dict[str, int] = defaultdict(int)
    drafted: dict[str, int] = defaultdict(int)
    for r in records:
        if r.ok:
            turns[r.variant] += 1
            drafted[r.variant] += r.draft_n
        else:
            errors[r.variant] += 1
    return {n: (turns[n], errors[n], drafted[n]) for n in set(turns) | set(errors)}


def undrafted_turns(records: Sequence[TurnResult]) -> tuple[DivergedTurn, ...]:
    """The turns of a speculative arm that never drafted (in no repetition) although they
    generated MIN_TOKENS_TO_DRAFT tokens or more: grammar, tool-call or short-output paths
    where the server skips drafting, hidden inside a run-level acceptance."""
    long: set[tuple[str, int]] = set()
    drafted: set[tuple[str, int]] = set()
    for r in records:
        if r.ok and (r.predicted_n or 0) >= MIN_TOKENS_TO_DRAFT:
            long.add((r.trace, r.turn))
            if r.draft_n > 0:
                drafted.add((r.trace, r.turn))
    return tuple(DivergedTurn(t, k) for t, k in sorted(long - drafted))


def undrafted_note(name: str, turns: Sequence[DivergedTurn]) -> str:
    shown = ", ".join(f"{t.trace}:{t.turn}" for t in turns[:12]) + (f" and {len(turns) - 12} more" if len(turns) > 12 else "")
    return (f"variant {name}: {len(turns)} turn(s) generated {MIN_TOKENS_TO_DRAFT}+ tokens without drafting once "
            f"({shown}): look for grammar, tool-call or short-output paths where the server skips drafting")
