"""`replay inspect`: what a trace holds, turn by turn, and how much of it a prompt cache can reuse.

Token counts are exact when a llama-server URL is given (its chat template and
tokenizer), otherwise a tiktoken estimate over a ChatML-like rendering, and
labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from replayer.errors import InputError
from replayer.runner.endpoint import Endpoint
from replayer.tokens import ESTIMATE_LABEL, Prompt, TraceEstimate, common_prefix
from replayer.trace import Trace, load_trace
from replayer.trace.model import Turn, assistant_text_as_generated


@dataclass(frozen=True)
class TurnStats:
    index: int
    messages: int
    tool_calls: int
    prompt_tokens: int
    output_tokens: int
    shared_prefix_tokens: int  # longest common token prefix with the previous turn's prompt
    gap_s: float | None
    repo: str | None  # short commit, "+dirty" when the tree had uncommitted changes; None: not recorded
    recorded_prompt_tokens: int | None = None  # what the server reported when the session was recorded


def repo_label(repo: dict[str, Any] | None) -> str | None:
    if not repo or not repo.get("commit"):
        return None
    return repo["commit"][:8] + ("+dirty" if repo.get("dirty") else "")


@dataclass(frozen=True)
class Inspection:
    trace: Trace
    counting: str
    turns: list[TurnStats]


def inspect_trace(path: Path, server_url: str | None = None) -> Inspection:
    trace = load_trace(path)
    if server_url:
        return Inspection(trace, f"exact ({server_url} /tokenize)", _server_stats(trace, server_url))
    return Inspection(trace, ESTIMATE_LABEL, _estimate_stats(trace))


def _server_stats(trace: Trace, server_url: str) -> list[TurnStats]:
    """Exact counts: every turn's prompt through the server's own template (which is not a
    sum over messages), one turn at a time."""
    from replayer.runner.server import http_json

    ep = Endpoint("inspect", server_url)

    def prompt_ids(turn: Turn) -> list[int]:
        body = {"messages": turn.messages, **({"tools": turn.tools} if turn.tools else {})}
        status, out = http_json(ep.url + "/apply-template", "POST", body, timeout=120)
        if status != 200 or not isinstance(out, dict):
            raise InputError(f"{server_url}: /apply-template failed with HTTP {status}: {out}")
        ids = ep.tokenize(out["prompt"], add_special=True)
        if ids is None:
            raise InputError(f"{server_url}: /tokenize failed")
        return ids

    gaps = trace.recorded_gaps_s()
    out, previous = [], None
    for i in range(trace.n_turns):
        turn = trace.turn(i)
        ids = prompt_ids(turn)
        shared = common_prefix(ids, previous) if previous is not None else 0
        output = _output_tokens(turn.response, lambda text: len(ep.tokenize(text) or []))
        stats = _turn_stats(turn.index, turn.response, len(turn.messages), len(ids), output, shared, gaps[i], turn.repo)
        out.append(replace(stats, recorded_prompt_tokens=_recorded_prompt(turn.response)))
        previous = ids
    return out


def _estimate_stats(trace: Trace) -> list[TurnStats]:
    """Estimates in time linear in the trace (TraceEstimate)."""
    counter = TraceEstimate(trace)
    gaps = trace.recorded_gaps_s()
    out, previous = [], None
    for i, raw in enumerate(trace.data["turns"]):
        prompt = Prompt.of(trace, i)
        shared = counter.shared(previous, prompt) if previous is not None else 0
        output = _output_tokens(raw["response"], counter.text)
        out.append(_turn_stats(i, raw["response"], prompt.n, counter.prompt(prompt), output, shared, gaps[i],
                               raw.get("repo")))
        previous = prompt
    return out


def _recorded_prompt(response: dict[str, Any]) -> int | None:
    usage = response.get("usage") or {}
    value = usage.get("prompt_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _output_tokens(response: dict[str, Any], count: Callable[[str], int]) -> int:
    usage = response.get("usage") or {}
    return usage.get("completion_tokens") or count(assistant_text_as_generated(response["message"]))


def _turn_stats(index: int, response: dict[str, Any], messages: int, prompt: int, output: int, shared: int,
                gap: float | None, repo: dict[str, Any] | None) -> TurnStats:
    return TurnStats(index, messages, len(response["message"].get("tool_calls") or []), prompt, output, shared, gap,
                     repo_label(repo))


RICH_TABLE_ROWS = 1000  # above this the table streams as plain text: rich measures every cell (~0.5 ms a row)
_COLUMNS = [("turn", "right"), ("msgs", "right"), ("calls", "right"), ("prompt tok", "right"), ("output tok", "right"),
            ("prompt/output", "right"), ("prefix of prev", "right"), ("gap after (s)", "right")]


def render_inspection(insp: Inspection, console: Console) -> None:
    t = insp.trace
    prov = t.provenance
    # the trace's own text (name, path, agent) is never read as markup
    console.print(Text.assemble((str(t.name), "bold"), f" ({t.path}) — {t.n_turns} turns, "
                                f"{len(t.data['conversation'])} messages, {len(t.tools)} tools; agent: "
                                f"{prov.get('agent')}; sha256 {t.sha256[:12]}…"), highlight=False)
    fidelity = prov.get("fidelity") or {}
    for key in ("exact", "reconstructed", "missing"):
        if fidelity.get(key):
            console.print(f"  fidelity {key}: " + "; ".join(fidelity[key]), markup=False, highlight=False)
    console.print(f"token counts: [bold]{insp.counting}[/]", highlight=False)
    with_repo = any(s.repo for s in insp.turns)  # recorded sessions carry git context; imports rarely do
    with_recorded = any(s.recorded_prompt_tokens is not None for s in insp.turns)
    columns = _COLUMNS + ([("repo commit", "left")] if with_repo else []) + \
        ([("vs recorded usage", "right")] if with_recorded else [])
    rows = [_row(s, with_repo) + ([_versus(s)] if with_recorded else []) for s in insp.turns]
    if len(rows) <= RICH_TABLE_ROWS:
        table = Table(title_justify="left")
        for col, just in columns:
            table.add_column(col, justify=just)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        _plain_table(console, columns, rows)
    prompt = sum(s.prompt_tokens for s in insp.turns)
    output = sum(s.output_tokens for s in insp.turns)
    shared = sum(s.shared_prefix_tokens for s in insp.turns)
    gaps = [s.gap_s for s in insp.turns if s.gap_s is not None]
    console.print(f"total: {prompt} prompt tokens, {output} output tokens (ratio {prompt / max(output, 1):.0f}:1); "
                  f"{100 * shared / max(prompt, 1):.1f}% of all prompt tokens are a prefix of the previous turn's prompt "
                  f"(cache-reuse potential); recorded gaps {sum(gaps):.0f} s", highlight=False)
    if with_recorded:
        known = [s for s in insp.turns if s.recorded_prompt_tokens is not None]
        same = sum(s.prompt_tokens == s.recorded_prompt_tokens for s in known)
        console.print(f"prompt tokens equal the usage the server reported when the session was recorded on {same} of "
                      f"{len(known)} turn(s)" + ("" if same == len(known) else
                                                  " (a different template, tokenizer or conversion: see the last column)"),
                      highlight=False)


def _versus(s: TurnStats) -> str:
    """This count against the recorded one: "=" when equal, else the difference."""
    if s.recorded_prompt_tokens is None:
        return "–"
    diff = s.prompt_tokens - s.recorded_prompt_tokens
    return "=" if diff == 0 else f"{diff:+d}"


def _row(s: TurnStats, with_repo: bool) -> list[str]:
    reuse = f"{100 * s.shared_prefix_tokens / s.prompt_tokens:.1f}%" if s.index and s.prompt_tokens else "–"
    return [str(s.index), str(s.messages), str(s.tool_calls), str(s.prompt_tokens), str(s.output_tokens),
            f"{s.prompt_tokens / max(s.output_tokens, 1):.0f}", reuse, "–" if s.gap_s is None else f"{s.gap_s:.1f}",
            *([s.repo or "–"] if with_repo else [])]


def _plain_table(console: Console, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    """The table as aligned text, written in one piece."""
    widths = [max(len(name), *(len(r[i]) for r in rows)) for i, (name, _) in enumerate(columns)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if just == "right" else c.ljust(w)
                         for c, w, (_, just) in zip(cells, widths, columns)).rstrip()

    out = [line([name for name, _ in columns]), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    console.file.write("\n".join(out) + "\n")
