"""Before the first request: turns whose prompt plus generation cannot fit the slot context.

A llama-server refuses such a request (HTTP 400, "exceeds the available context size"), so
a run that sends it fails that turn mid-run, after everything before it was measured. The
planner already knows each turn's generation length; here its prompt is counted, and the
run stops before the first request naming every turn that cannot fit (``oversize: fail``),
or goes on without them and says how many it left out (``oversize: skip``).

Pure: counting is injected (``exact``: the server's template and tokenizer), so that a
turn far from the limit costs a local estimate only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from replayer.errors import InputError
from replayer.results.summary import VariantFacts
from replayer.runner.plan import PlannedTurn, ReplayPlan, build_request
from replayer.scenario.model import ReplayPolicy
from replayer.tokens import TraceEstimate

# A turn whose estimate (tiktoken cl100k) is under this share of the room is taken to fit
# without asking the server: no model tokenizer needs twice cl100k's tokens for the same text.
EXACT_FROM = 0.5
LISTED = 8  # turns named in the message; the rest are counted


@dataclass(frozen=True)
class Oversize:
    position: int  # in the plan's turns
    trace: str
    turn: int
    prompt_tokens: int
    max_tokens: int

    @property
    def needed(self) -> int:
        return self.prompt_tokens + self.max_tokens


def check_plan(plan: ReplayPlan, facts: Mapping[str, VariantFacts], count: Callable[[dict[str, Any]], int | None],
               policy: ReplayPolicy) -> tuple[ReplayPlan, list[str]]:
    """The plan that fits the smallest slot context of the arms, and notes for the summary
    (see fit_plan). ``count``: exact prompt tokens of a request body, through a server."""
    known = [f.server.n_ctx for f in facts.values() if f.server is not None and f.server.n_ctx]
    if not known or not plan.turns:
        return plan, []  # no server said its context: nothing to check against
    n_ctx = min(known)
    counts = prompt_counts(plan.turns, n_ctx, estimator(), lambda t: count(build_request(t, policy)))
    return fit_plan(plan, oversize_turns(plan.turns, counts, n_ctx), n_ctx, policy.oversize)


def estimator() -> Callable[[PlannedTurn], int]:
    """A turn's estimated prompt tokens, each trace's messages tokenized once."""
    estimates: dict[int, TraceEstimate] = {}
    return lambda t: estimates.setdefault(id(t.trace), TraceEstimate(t.trace)).prompt(t.turn.index)


def prompt_counts(turns: Sequence[PlannedTurn], n_ctx: int, estimate: Callable[[PlannedTurn], int],
                  exact: Callable[[PlannedTurn], int | None]) -> list[int]:
    """Each turn's prompt tokens: exact where the turn comes near the context, else the estimate."""
    return [tokens for tokens, _ in counted_prompts(turns, n_ctx, estimate, exact)]


def counted_prompts(turns: Sequence[PlannedTurn], n_ctx: int, estimate: Callable[[PlannedTurn], int],
                    exact: Callable[[PlannedTurn], int | None]) -> list[tuple[int, bool]]:
    """prompt_counts, each with whether the server counted it (True) or it is the estimate."""
    out = []
    for t in turns:
        guess = estimate(t)
        counted = None if guess < EXACT_FROM * max(0, n_ctx - t.max_tokens) else exact(t)
        out.append((guess, False) if counted is None else (counted, True))
    return out


def oversize_turns(turns: Sequence[PlannedTurn], counts: Sequence[int], n_ctx: int) -> list[Oversize]:
    return [Oversize(k, t.trace.name, t.turn.index, c, t.max_tokens)
            for k, (t, c) in enumerate(zip(turns, counts)) if c + t.max_tokens > n_ctx]


def fit_plan(plan: ReplayPlan, problems: Sequence[Oversize], n_ctx: int, oversize: str) -> tuple[ReplayPlan, list[str]]:
    """The plan to replay and the notes for the summary: without the turns that cannot fit
    (``skip``), or an InputError naming them and the fixes (``fail``)."""
    if not problems:
        return plan, []
    if oversize != "skip":
        raise InputError(refusal(problems, n_ctx))
    gone = {p.position for p in problems}
    kept = tuple(t for k, t in enumerate(plan.turns) if k not in gone)
    note = (f"{len(problems)} turn(s) left out (replay.oversize: skip): their prompt plus generation does not fit "
            f"the slot context of {n_ctx} tokens: {_listed(problems)}")
    return replace(plan, turns=kept), [note]


def refusal(problems: Sequence[Oversize], n_ctx: int) -> str:
    first = min(p.turn for p in problems)
    fixes = [f"a larger context (-c, at least {max(p.needed for p in problems)} tokens per slot)"]
    if first > 0:
        fixes.append(f"--turns {first}")
    fixes.append("replay: {oversize: skip} to leave them out")
    return (f"{len(problems)} planned turn(s) cannot fit the slot context of {n_ctx} tokens: {_listed(problems)}; "
            f"nothing was sent. Fix: " + ", or ".join(fixes))


def _listed(problems: Sequence[Oversize]) -> str:
    shown = "; ".join(f"{p.trace} turn {p.turn} needs {p.needed} ({p.prompt_tokens} prompt + {p.max_tokens} "
                      "generated)" for p in problems[:LISTED])
    return shown + (f"; and {len(problems) - LISTED} more" if len(problems) > LISTED else "")
