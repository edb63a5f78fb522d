"""What kind of divergence: a near-tie the speculative arm may legitimately flip, or a
confident change that points at a bug.

At temperature 0 a speculative arm verifies drafts in batches, and batched kernels round
differently, so where the baseline's top two tokens are nearly tied the arm can pick the
runner-up: expected, not a bug. Anything else is a confident change. The baseline's top
candidates at the divergent position come from re-requesting that turn on the baseline
server with ``logprobs`` (runner/probe.py): a speculative server reports 0 for drafted
tokens, so only the non-speculative baseline can say.
"""

from __future__ import annotations

from dataclasses import dataclass

NEAR_TIE_NATS = 0.1  # default margin between the baseline's top two log-probabilities

NEAR_TIE = "near-tie"
CONFIDENT = "confident"
UNCLASSIFIED = "unclassified"  # no probe, or the baseline did not reproduce itself up to the position


@dataclass(frozen=True)
class Probe:
    """The baseline's top candidates at one position of a turn's generation, asked with the
    baseline's own tokens before it as the prefix."""

    index: int
    top: tuple[tuple[int, float], ...]  # (token id, logprob), best first


@dataclass(frozen=True)
class Classified:
    kind: str  # NEAR_TIE | CONFIDENT | UNCLASSIFIED
    margin: float | None  # the baseline's logprob of its own token minus the candidate token's, in nats
    why: str


def classify(probe: Probe | None, baseline_token: int | None, candidate_token: int | None,
             threshold: float = NEAR_TIE_NATS) -> Classified:
    """The class of a first divergence: near-tie when the candidate took one of the baseline's
    top two tokens and the two are closer than ``threshold`` (either way round: asked again,
    the baseline itself may flip a tie); a confident change otherwise."""
    if probe is None:
        return Classified(UNCLASSIFIED, None, "the baseline could not be asked")
    if baseline_token is None or candidate_token is None:
        return Classified(UNCLASSIFIED, None, "one arm stopped where the other went on")
    top = dict(probe.top)
    if baseline_token not in top:
        return Classified(UNCLASSIFIED, None, "the baseline's own token is not among its top candidates when asked again")
    if candidate_token not in top:
        return Classified(CONFIDENT, None, f"the candidate's token is not among the baseline's top {len(top)}")
    margin = top[baseline_token] - top[candidate_token]
    first_two = [t for t, _ in sorted(top.items(), key=lambda kv: -kv[1])[:2]]
    if candidate_token in first_two and baseline_token in first_two and abs(margin) < threshold:
        return Classified(NEAR_TIE, margin, f"the baseline's top two tokens, {margin:.3f} nats apart")
    return Classified(CONFIDENT, margin, f"{margin:.3f} nats below the baseline's token")
