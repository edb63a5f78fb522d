"""The ``load`` section in every output: one row per concurrency level (shaped like the
published MTP-vs-parallel tables: level, baseline tok/s, candidate tok/s, speedup), the
latency detail, and the plots of speedup and throughput/latency against sessions."""

from __future__ import annotations

import io

from replayer.results.summary import LoadLevel, LoadSection

Row = list[str]


def _f(value: float | None, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def candidates(section: LoadSection) -> list[str]:
    names = {v for level in section.levels for v in level.arms}
    return sorted(n for n in names if n != section.baseline)


def load_rows(section: LoadSection) -> tuple[Row, list[Row]]:
    """Per level: generated tok/s of every arm, and each candidate's speedup with its interval."""
    cands = candidates(section)
    header = ["sessions", "slots", f"{section.baseline} tok/s", *(f"{c} tok/s" for c in cands),
              *(f"speedup {c}" for c in cands)]
    rows = []
    for level in section.levels:
        base = level.arms.get(section.baseline)
        row = [str(level.sessions), str(base.slots if base else "–"),
               _f(base.generated_tok_s if base else None, "{:.1f}")]
        row += [_f(level.arms[c].generated_tok_s if c in level.arms else None, "{:.1f}") for c in cands]
        row += [_speedup(level, c) for c in cands]
        rows.append(row)
    return header, rows


def _speedup(level: LoadLevel, candidate: str) -> str:
    value = level.speedup.get(candidate)
    ci = level.speedup_ci.get(candidate)
    text = _f(value, "{:.3f}x")
    return f"{text} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and value is not None else text


def latency_rows(section: LoadSection) -> tuple[Row, list[Row]]:
    """Per level and arm: requests/s, latency and queue-wait percentiles, session time, acceptance, equality."""
    header = ["sessions", "variant", "req/s", "latency p50/p90/p99 ms", "queue wait p50/p99 ms",
              "session p50/p90 s", "acceptance", "diverged vs alone", "errors", "first token p90 s",
              "session decode p10 tok/s"]
    rows = []
    for level in section.levels:
        for name, arm in level.arms.items():
            compared = level.compared_alone.get(name)
            alone = "–" if not compared else f"{level.diverged_alone.get(name, 0)} of {compared}"
            rows.append([str(level.sessions), name, _f(arm.requests_s, "{:.2f}"),
                         f"{_f(arm.latency_p50_ms, '{:.0f}')}/{_f(arm.latency_p90_ms, '{:.0f}')}/"
                         f"{_f(arm.latency_p99_ms, '{:.0f}')}",
                         f"{_f(arm.queue_wait_p50_ms, '{:.0f}')}/{_f(arm.queue_wait_p99_ms, '{:.0f}')}",
                         f"{_f(arm.session_p50_s, '{:.2f}')}/{_f(arm.session_p90_s, '{:.2f}')}",
                         _f(arm.acceptance, "{:.1%}"), alone, str(arm.errors), _f(arm.ttft_p90_s, "{:.2f}"),
                         _f(arm.session_decode_tok_s_p10, "{:.1f}")])
    return header, rows


def slo_lines(section: LoadSection) -> list[str]:
    """What the SLO search found, in words: per arm the most sessions served within it."""
    slo = section.slo
    if slo is None:
        return []
    bounds = []
    if slo.ttft_p90_s is not None:
        bounds.append(f"time to first token p90 <= {slo.ttft_p90_s:g} s")
    if slo.decode_tok_s_p10 is not None:
        bounds.append(f"per-session decode p10 >= {slo.decode_tok_s_p10:g} tok/s")
    names = [section.baseline, *candidates(section)]
    served = [f"{n} serves {'' if slo.bounded.get(n) else 'at least '}{slo.largest[n]} agent(s) within it"
              for n in sorted(slo.largest, key=lambda n: names.index(n) if n in names else len(names))]
    how = "searched by bisection" if slo.searched else "over the levels listed"
    tried = ", ".join(f"{lv.sessions}: " + " ".join(f"{a} {'ok' if ok else 'over'}" for a, ok in lv.passed.items())
                      for lv in slo.levels)
    return [f"SLO ({', '.join(bounds)}; {how}, up to {slo.most}): " + "; ".join(served) + ".",
            f"levels run: {tried}"]


def load_markdown(section: LoadSection) -> list[str]:
    out = ["## Concurrent sessions", ""]
    for header, rows in (load_rows(section), latency_rows(section)):
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out.append("")
    out += [f"**{line}**" if i == 0 else line for i, line in enumerate(slo_lines(section))]
    out.append("")
    out.append(f"Think time: {section.think_time}; sessions distinct: {section.distinct}; "
               f"shared prefix: {section.shared_prefix}. Speedup = baseline time / candidate time for the same work.")
    out += [f"- {n}" for n in section.notes]
    out.append("")
    return out


def load_png(section: LoadSection, title: str) -> bytes:
    """Speedup against sessions, and throughput and median latency against sessions, per arm."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    levels = [lv.sessions for lv in section.levels]
    fig, (ax_s, ax_t, ax_l) = plt.subplots(1, 3, figsize=(13, 3.8), dpi=100)
    for c in candidates(section):
        ys = [lv.speedup.get(c) or float("nan") for lv in section.levels]
        cis = [lv.speedup_ci.get(c) or (y, y) for lv, y in zip(section.levels, ys)]
        ax_s.errorbar(levels, ys, yerr=[[y - lo for y, (lo, _) in zip(ys, cis)], [hi - y for y, (_, hi) in zip(ys, cis)]],
                      marker="o", capsize=3, label=f"{c} (95% CI)")
    ax_s.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    names = [section.baseline, *candidates(section)]
    for name in names:
        arms = [lv.arms.get(name) for lv in section.levels]
        ax_t.plot(levels, [a.generated_tok_s if a and a.generated_tok_s else float("nan") for a in arms],
                  marker="o", label=name)
        ax_l.plot(levels, [a.latency_p50_ms if a and a.latency_p50_ms else float("nan") for a in arms],
                  marker="o", label=name)
    for ax, label in ((ax_s, "speedup (baseline time / candidate time)"), (ax_t, "generated tok/s, all sessions"),
                      (ax_l, "request latency p50 (ms)")):
        ax.set_xlabel("sessions in flight")
        ax.set_ylabel(label)
        ax.set_xticks(levels)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: concurrent sessions", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
