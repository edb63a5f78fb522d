"""Throw-away servers for ``replay check``: every arm started as the run would start it,
two short requests each (the session's first turn and one at mean depth), then stopped.

What only a running server can tell: that it starts with these flags and this model (an
out-of-memory context, an MTP head the build cannot load), its real slot context, its
exact token counts, that the speculating arm drafts, its prefill and generation costs at
two context depths, the fingerprint of what it loaded, and what its log warns about.
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

from replayer.analysis.readiness import Timing
from replayer.analysis.session_model import Work
from replayer.errors import ServerStartError, SpecNotLiveError
from replayer.runner.plan import PlannedTurn, build_request
from replayer.runner.pool import ServerBuild, ServerPool
from replayer.scenario.model import ReplayPolicy, Scenario

TRIAL_TOKENS = 64  # generated per trial turn: enough for a decode rate and for drafts, and quick
# server log lines worth repeating to the user: llama-server's own warnings that a flag was ignored
_WARNINGS = ("no usable GPU found", "compiled without GPU support", "exceeds the training context",
             "failed to fit", "will be ignored")


@dataclass(frozen=True)
class ArmTrial:
    arm: str
    timings: tuple[Timing, ...] = ()  # per trial turn, as the server timed it
    drafted: int = 0
    accepted: int = 0
    error: str | None = None


@dataclass(frozen=True)
class TrialServers:
    """What the started servers said about themselves."""

    n_ctx: int | None
    fingerprint: str | None
    backends: tuple[str, ...]
    warnings: tuple[str, ...]


class Trial:
    def __init__(self, pool: ServerPool, baseline: str) -> None:
        self.pool, self.baseline = pool, baseline

    def servers(self) -> TrialServers:
        infos = [f.server for f in self.pool.facts.values() if f.server is not None]
        contexts = [i.n_ctx for i in infos if i.n_ctx]
        first = infos[0] if infos else None
        return TrialServers(min(contexts) if contexts else None, first.fingerprint if first else None,
                            tuple(first.backends or ()) if first else (), self._warnings())

    def tokenize(self, text: str) -> list[int] | None:
        return self.pool.endpoints[self.baseline].tokenize(text)

    def count(self, body: dict[str, Any]) -> int | None:
        """Exact prompt tokens of a request, through the baseline's template and tokenizer."""
        return self.pool.endpoints[self.baseline].count_chat_tokens(body)

    def measure(self, arm: str, turns: Sequence[PlannedTurn], policy: ReplayPolicy) -> ArmTrial:
        """``turns`` sent in order on ``arm``, each cut to a few generated tokens."""
        timings, drafted, accepted = [], 0, 0
        for planned in turns:
            short = replace(planned, max_tokens=min(planned.max_tokens, TRIAL_TOKENS))
            done = self.pool.endpoints[arm].complete(build_request(short, policy))
            if done.error is not None or not isinstance(done.body, dict):
                why = done.error.message if done.error else "no answer"
                return ArmTrial(arm, tuple(timings), drafted, accepted, why)
            t = done.body.get("timings") or {}
            work = Work(_int(t.get("prompt_n")), _int(t.get("cache_n")), _int(t.get("predicted_n")), 0.0)
            timings.append(Timing(work, _float(t.get("prompt_ms")), _float(t.get("predicted_ms")), done.wall_ms))
            drafted += _int(t.get("draft_n"))
            accepted += _int(t.get("draft_n_accepted"))
        return ArmTrial(arm, tuple(timings), drafted, accepted)

    def _warnings(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for ep in self.pool.endpoints.values():
            if ep.server is not None:
                for line in ep.server.log_tail(400).splitlines():
                    if any(w in line for w in _WARNINGS):
                        seen.setdefault(f"{ep.name}: {line.split(': ', 1)[-1].strip()}", None)
        return tuple(seen)


@contextmanager
def trial_servers(scenario: Scenario, build: ServerBuild) -> Iterator[Trial]:
    """Every arm's server, started in a temporary directory that goes with them; a server
    that cannot start raises ServerStartError (SpecNotLiveError for a silent fallback)."""
    with tempfile.TemporaryDirectory(prefix="replay-check-") as tmp:
        with ServerPool(scenario, build, Path(tmp)) as pool:
            yield Trial(pool, scenario.baseline)


def start_failure(exc: ServerStartError | SpecNotLiveError) -> str:
    """One line for why a server did not start: the server's own error line when its log has one."""
    tail = getattr(exc, "log_tail", "") or ""
    errors = [line.split(": ", 1)[-1].strip() for line in tail.splitlines() if " E " in line or "error" in line.lower()]
    head = str(exc).splitlines()[0]
    return f"{head}: {errors[0]}" if errors else head


def _int(v: Any) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def _float(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0
