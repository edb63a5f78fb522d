"""`replay tune`'s report, shared by the terminal, report.md and report.html: per level a table of
the arms (estimate against the baseline with its interval, acceptance, the round each was
dropped in), the recommendation with what it saves, and the plot of the estimate against the
tuned flag per level, the curve the published draft-depth studies draw."""

from __future__ import annotations

import io
import math

from replayer.results.summary import TuneArm, TuneLevel, TuneSection

Row = list[str]


def _label(arm: TuneArm, tune: TuneSection) -> str:
    if not arm.values:
        return arm.variant
    return ", ".join(f"{k.lstrip('-')} {v}" for k, v in arm.values.items())


def _estimate(arm: TuneArm) -> str:
    if arm.estimate is None:
        return "–"
    if arm.estimate_ci is None:
        return f"{arm.estimate:.3f}x" + (" (baseline)" if arm.estimate == 1.0 and not arm.values else "")
    return f"{arm.estimate:.3f}x [{arm.estimate_ci[0]:.3f}, {arm.estimate_ci[1]:.3f}]"


def _status(arm: TuneArm) -> str:
    if arm.status == "dropped":
        return f"dropped after round {arm.dropped_round}"
    if arm.status in ("not-live", "failed"):
        return "not ranked: " + ("did not start" if arm.status == "failed" else "no speculation")
    return arm.status


def raced(level: TuneLevel) -> bool:
    """Whether the level has a table to show: a round ended, or an arm could not be ranked."""
    return bool(level.rounds) or any(a.status in ("not-live", "failed") for a in level.arms)


def level_rows(tune: TuneSection, level: TuneLevel) -> tuple[Row, list[Row]]:
    header = ["arm", "time vs " + tune.baseline + ", 95% CI", "acceptance", "rounds", "status"]
    rows = [[_label(a, tune), _estimate(a), "–" if a.acceptance is None else f"{100 * a.acceptance:.1f}%",
             str(a.rounds), _status(a)] for a in level.arms]
    return header, rows


def level_lines(tune: TuneSection, level: TuneLevel) -> list[str]:
    """The recommendation in words, what it saves, and why any arm was not ranked."""
    out = [level.message]
    if level.saved_s is not None and level.baseline_session_s:
        share = level.saved_s / level.baseline_session_s
        verb = "saves" if level.saved_s >= 0 else "costs"
        out.append(f"per session it {verb} {abs(level.saved_s):.1f} s of {tune.baseline}'s {level.baseline_session_s:.1f} s "
                   f"({abs(share):.1%}; estimated from the sampled turns)")
    if level.outcome == "tie":
        tied = [a.variant for a in level.arms if a.status == "tied"]
        out.append(f"tie: {', '.join(tied)} within {tune.tolerance:.0%} of each other; the simplest is recommended")
    if level.outcome in _UNSETTLED and level.rounds:
        out.append(_UNSETTLED[level.outcome])
    out += [f"{a.variant}: {a.reason}" for a in level.arms if a.status in ("not-live", "failed") and a.reason]
    return out


_UNSETTLED = {"rounds": "not settled: more rounds (tune.max_rounds, --max-rounds) would decide it",
              "budget": "not settled: a larger budget (tune.budget, --budget) would decide it",
              "interrupted": "not settled: the leader is provisional; run `replay tune` again to decide it"}


def footer(tune: TuneSection) -> str:
    budget = f", budget {tune.budget_s:.0f} s" if tune.budget_s else ""
    gate = f"; the choice as a CI gate: {tune.gate_scenario}" if tune.gate_scenario else ""
    return (f"server time spent racing: {tune.server_s:.1f} s ({tune.sample} turn(s) per trace and round, at most "
            f"{tune.max_rounds} round(s), tolerance {tune.tolerance:.0%}, confidence {tune.confidence:.0%}"
            f"{budget}){gate}")


def tune_markdown(tune: TuneSection) -> list[str]:
    out = ["## Tune", ""]
    for level in tune.levels:
        header, rows = level_rows(tune, level)
        out += [f"### {level.sessions} session(s)", "", f"**{level_lines(tune, level)[0]}**", ""]
        if raced(level):
            out += ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---|"]
            out += ["| " + " | ".join(r) + " |" for r in rows]
        out += ["", *(f"- {line}" for line in level_lines(tune, level)[1:]), ""]
    out += [footer(tune), ""]
    return out


def tune_png(tune: TuneSection, title: str) -> bytes | None:
    """The estimate against the tuned flag's value per level; the baseline (no speculation) at 0."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    if not tune.levels or not tune.parameters:
        return None
    flag = tune.parameters[0]
    fig, ax = plt.subplots(figsize=(7.5, 3.8), dpi=90)
    plotted = False
    for level in tune.levels:
        pts = []
        for a in level.arms:
            if a.estimate is None:
                continue
            x = 0.0 if a.variant == tune.baseline else _number(a.values.get(flag))
            if x is None or math.isnan(x):
                continue
            lo, hi = a.estimate_ci or (a.estimate, a.estimate)
            pts.append((x, 1 / a.estimate, 1 / hi, 1 / lo))
        if not pts:
            continue
        pts.sort()
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
                    marker="o", capsize=3, label=f"{level.sessions} session(s)")
        plotted = True
    if not plotted:
        plt.close(fig)
        return None
    ax.axhline(1.0, color="#888888", linestyle="--", linewidth=1)
    ax.set_xlabel(f"{flag} (0: {tune.baseline}, no speculation)")
    ax.set_ylabel(f"speedup over {tune.baseline}, 95% CI")
    ax.set_title(f"{title}: speedup against {flag} per concurrency level")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
