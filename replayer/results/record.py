"""One line of ``results.jsonl``: one turn, one variant, one repetition.

Times are milliseconds as the server and the client measured them. Token
counts and timings are None when the request failed before a body came back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESULT_SCHEMA = "replayer.result/5"
# Version history:
#   1 - first version; request_overhead_ms was called client_overhead_ms, and a
#       never-written "warmup" key was read.
#   2 - request_overhead_ms; unknown keys refused.
#   3 - concurrent sessions: level, session, slot, send_s, receive_s.
#   4 - distributed runs: node (the Ray node that replayed the turn).
#   5 - replay tune's sampled rounds: prime_ms (the untimed request that brought the cache to the turn).
READABLE_SCHEMAS = ("replayer.result/1", "replayer.result/2", "replayer.result/3", "replayer.result/4",
                    RESULT_SCHEMA)


@dataclass(frozen=True)
class TurnError:
    type: str  # http_error | timeout | connection_error | bad_response | interrupted
    message: str
    status: int | None = None
    server_exited: bool = False


@dataclass(frozen=True)
class TurnResult:
    trace: str
    turn: int
    variant: str
    repetition: int
    seq: int  # order in which the run sent its requests
    wall_ms: float  # client wall-clock around the request (monotonic clock)
    max_tokens: int
    max_tokens_source: str  # usage | server_tokenizer | tiktoken_estimate | cap
    started_unix: float = 0.0
    http_ms: float | None = None  # inside the SDK call: request out .. body read
    harness_ms: float = 0.0  # replayer's own time: building the request, parsing and recording the answer
    error: TurnError | None = None
    prompt_ms: float | None = None  # the server's prefill time
    predicted_ms: float | None = None  # the server's decode time
    # wall - prompt_ms - predicted_ms: mostly the server's own request handling (chat
    # template, tokenizing the whole prompt), plus HTTP and JSON; replayer's own share is harness_ms
    request_overhead_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cache_n: int | None = None
    prompt_n: int | None = None
    predicted_n: int | None = None
    draft_n: int = 0  # absent from timings when nothing was drafted
    draft_n_accepted: int = 0
    finish_reason: str | None = None
    tokens: tuple[int, ...] | None = None
    # the request's window on time.perf_counter(), to attribute GPU samples to this arm
    mono_start_s: float | None = None
    mono_end_s: float | None = None
    # per-turn speculative detail from /metrics (None without --metrics)
    spec_steps: int | None = None
    spec_drafted: int | None = None
    spec_accepted: int | None = None
    accepted_per_pos: tuple[int, ...] | None = None
    # under load (runner/concurrent.py): sessions in flight, which session, which server slot served it,
    # and the request's send and receive times in seconds from the start of the arm's level
    level: int | None = None
    session: int | None = None
    slot: int | None = None
    send_s: float | None = None
    receive_s: float | None = None
    node: str | None = None  # a distributed run's node (its id): both arms of a turn ran there
    # a sampled round (replay tune) replays turns out of the session's order: before this turn, one
    # untimed request of the previous turn's prompt (1 token) brought the prompt cache to where the
    # session had it; its wall-clock, not part of wall_ms (None: no such request)
    prime_ms: float | None = None
    schema: str = field(default=RESULT_SCHEMA)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def key(self) -> tuple[str, int, int, int | None, int | None]:
        """What pairs a candidate's turn with the baseline's: the same turn of the same session
        at the same level in the same repetition."""
        return (self.trace, self.repetition, self.turn, self.level, self.session)


def upgrade(line: dict[str, Any]) -> dict[str, Any]:
    """An older line in the current shape (same meaning, new names; new fields absent)."""
    if line.get("schema") == RESULT_SCHEMA:
        return line
    out = {k: v for k, v in line.items() if k not in ("warmup", "client_overhead_ms")}
    if line.get("schema") == "replayer.result/1":
        out["request_overhead_ms"] = line.get("client_overhead_ms")
    out["schema"] = RESULT_SCHEMA
    return out
