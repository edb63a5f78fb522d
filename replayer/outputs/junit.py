"""junit.xml for CI systems: one test case per gated comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from replayer.results.summary import Comparison, ComparisonGate, Summary


def _fails(gate: ComparisonGate) -> bool:
    return gate.verdict == "regression" or bool(gate.failures)


def render_junit(summary: Summary) -> str:
    gated = [(c, c.gate) for c in summary.comparisons if c.gate is not None]
    failures = sum(1 for _, g in gated if _fails(g))
    skipped = sum(1 for _, g in gated if g.verdict == "inconclusive" and not g.failures)
    duration = summary.run.duration_s if summary.run else None
    suite = ET.Element("testsuite", name=f"replayer gate: {summary.scenario}", tests=str(len(gated)),
                       failures=str(failures), errors="0", skipped=str(skipped), time=f"{duration or 0:.3f}")
    for comp, gate in gated:
        _case(suite, summary, comp, gate)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _case(suite: ET.Element, summary: Summary, comp: Comparison, gate: ComparisonGate) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"replayer.{summary.scenario}",
                         name=f"{comp.candidate} vs {comp.baseline}",
                         time=f"{summary.variant(comp.candidate).wall_s:.3f}")
    if _fails(gate):
        ET.SubElement(case, "failure", message=(gate.failures or (gate.message,))[0],
                      type=gate.verdict).text = "\n".join([gate.message, *gate.failures])
    elif gate.verdict == "inconclusive":
        ET.SubElement(case, "skipped", message=gate.message)
    ET.SubElement(case, "system-out").text = gate.message
