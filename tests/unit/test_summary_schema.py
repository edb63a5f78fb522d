"""summary.json against its published schema: the schema is generated from the dataclasses and
committed up to date, a built summary validates, unknown keys are refused by the schema and by
the reader alike, and the document round-trips."""

from __future__ import annotations

import copy
import json
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from replayer.scenario.model import GateSpec
from replayer.analysis.summary import RunMeta, TraceMeta, summarize
from replayer.analysis.telemetry import Sample
from replayer.errors import InputError
from replayer.results.record import TurnError, TurnResult
from replayer.results.summary import (SUMMARY_SCHEMA, HostInfo, RunInfo, RunModel, ServerInfo, Summary,
                                      TraceProvenance, VariantFacts, write_summary)

REPO_ROOT = Path(__file__).resolve().parents[2]
# The schema generator is a development tool at the repository root (tools/), not part of
# the installed package: make it importable however pytest was started.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tools import summary_schema  # noqa: E402


def schema() -> dict:
    return json.loads(resources.files("replayer.results").joinpath("summary.schema.json").read_text(encoding="utf-8"))


def validator() -> jsonschema.Draft202012Validator:
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def rec(variant, turn, rep, wall=100.0, tokens=(1, 2, 3), draft_n=0, acc=0, error=None, seq=0):
    start = 10.0 * rep + 2.0 * turn + (1.0 if variant == "on" else 0.0)
    return TurnResult(
        trace="t", turn=turn, variant=variant, repetition=rep, seq=seq, wall_ms=wall, max_tokens=64,
        max_tokens_source="usage", started_unix=1.7e9 + start, http_ms=wall - 1.0, harness_ms=0.25, error=error,
        prompt_ms=20.0, predicted_ms=wall - 30.0, request_overhead_ms=10.0, prompt_tokens=60, completion_tokens=11,
        cache_n=10, prompt_n=50, predicted_n=11, draft_n=draft_n, draft_n_accepted=acc,
        finish_reason=None if error else "stop", tokens=None if error else tokens, mono_start_s=start,
        mono_end_s=start + wall / 1e3, spec_steps=4 if draft_n else None, spec_drafted=draft_n or None,
        spec_accepted=acc or None, accepted_per_pos=(2, 1, 0) if draft_n else None)


def server(port: int) -> ServerInfo:
    return ServerInfo(url=f"http://127.0.0.1:{port}", managed=True, args=("-m", "model.gguf"),
                      build={"number": 1, "commit": "abc"}, n_ctx=8192, total_slots=1, model_path="model.gguf",
                      chat_template_caps={"supports_tools": True}, models=[{"id": "model"}], binary="llama-server",
                      binary_origin="PATH", version="b1", package=None, command=("llama-server", "-m", "model.gguf"),
                      log="server.log", ready_s=1.5, model_sha256="0" * 64, speculative_types="mtp")


def built() -> Summary:
    """A summary with most optional sections filled: a gate (with an A/A arm), a divergence,
    a failed turn, GPU figures, run facts and provenance."""
    records = []
    for rep in range(2):
        for k in range(2):
            seq = 3 * (2 * rep + k)
            records.append(rec("off", k, rep, wall=100.0 + 10 * k, seq=seq))
            records.append(rec("off-aa", k, rep, wall=101.0 + 10 * k, seq=seq + 1))
            tokens = (1, 7, 3) if (rep, k) == (1, 1) else (1, 2, 3)
            records.append(rec("on", k, rep, wall=90.0 + 10 * k, tokens=tokens, draft_n=8, acc=4, seq=seq + 2))
    records.append(rec("on", 2, 0, error=TurnError("timeout", "no answer in 60 s"), seq=99))
    facts = (VariantFacts("off", server(8081), slots_speculative=False, expect_speculation=False),
             VariantFacts("off-aa", server(8082), slots_speculative=False, expect_speculation=False, aa_of="off"),
             VariantFacts("on", server(8083), slots_speculative=True, expect_speculation=True))
    run = RunInfo(replayer_version="0.1", command="replay run s.yaml", started_at="2025-01-01T00:00:00Z",
                  scenario="s.yaml", policy={"repetitions": 2, "order": "interleaved"},
                  host=HostInfo(hostname="h", os="Linux", machine="x86_64", python="3.11", cpu_count=2,
                                cpu_affinity=2, cpu_model="cpu", memory_gib=8.0, gpus=("H200",)),
                  finished_at="2025-01-01T00:01:00Z", duration_s=60.0)
    meta = RunMeta(
        scenario="s", baseline="off", variants=facts, traces=(TraceMeta("t", "0" * 64, 3, (1.5, 2.0, 0.0)),),
        run=run, model=RunModel("m", "model.gguf", "0" * 64, False, "a model"),
        provenance=(TraceProvenance("t", agent="cline", source="recorded"),), gate=GateSpec(min_acceptance=0.3),
        gpu_samples=tuple(Sample(t / 10, 200.0, 2 * 10**9, 60.0) for t in range(250)),
        detokenize=lambda ids: f"<{ids[0]}>", notes=("a note",))
    return summarize(records, meta)


def as_written(s: Summary) -> dict:
    """The document as ``write_summary`` puts it on disk (tuples become lists)."""
    return json.loads(json.dumps(s.to_json()))


def test_the_committed_schema_is_generated_from_the_dataclasses():
    committed = summary_schema.SCHEMA_PATH.read_text(encoding="utf-8")
    assert summary_schema.render() == committed, "out of date: run python -m tools.summary_schema"
    assert json.loads(committed) == schema()  # the file the package ships is that one
    assert json.loads(committed)["properties"]["schema"] == {"const": SUMMARY_SCHEMA}


def test_a_built_summary_fills_the_sections_this_test_means_to_check():
    s = built()
    assert s.gate is not None and all(c.gate is not None for c in s.comparisons)
    assert [c.aa for c in s.comparisons] == [True, False]
    on = next(c for c in s.comparisons if c.candidate == "on")
    assert on.first_divergence is not None and on.first_divergence.baseline_text is not None
    assert on.wall_ratio_ci is not None and s.variants["on"].gpu is not None and s.gpu.measured
    assert s.variants["on"].errors == 1 and s.problems and s.variants["on"].acceptance_by_position is not None


def test_a_built_summary_validates_against_the_schema(tmp_path):
    s = built()
    validator().validate(as_written(s))
    path = tmp_path / "summary.json"
    write_summary(path, s)
    validator().validate(json.loads(path.read_text(encoding="utf-8")))


def _add_key(doc: dict, where: str) -> dict:
    doc = copy.deepcopy(doc)
    target = {"top": doc, "variant": doc["variants"]["on"], "comparison": doc["comparisons"][1]}[where]
    target["surprise"] = 1
    return doc


@pytest.mark.parametrize("where, json_path", [
    ("top", "$"), ("variant", "$.variants['on']"), ("comparison", "$.comparisons[1]")])
def test_an_unknown_key_is_refused_by_the_schema_and_by_the_reader(where, json_path):
    doc = _add_key(as_written(built()), where)
    errors = list(validator().iter_errors(doc))
    assert errors and all("surprise" in e.message for e in errors)
    with pytest.raises(InputError) as info:
        Summary.from_json(doc, "run/summary.json")
    message = str(info.value)
    assert message.startswith(f"run/summary.json: {json_path}: ") and "surprise" in message


def test_the_document_round_trips():
    s = built()
    assert Summary.from_json(s.to_json(), "x") == s
    assert Summary.from_json(as_written(s), "x") == s  # from the file's JSON too


def test_a_first_version_summary_is_refused_naming_the_schema():
    old = {"schema": "replayer.summary/1", "scenario": "s", "baseline": "off", "traces": [], "variants": {},
           "comparisons": []}
    with pytest.raises(InputError, match=r"old/summary\.json: \$\.schema: expected 'replayer\.summary/3', "
                                         r"got 'replayer\.summary/1'"):
        Summary.from_json(old, "old/summary.json")
    with pytest.raises(InputError, match=r"\$\.schema"):
        Summary.from_json([old], "list.json")


def test_a_second_version_summary_still_reads():
    """/3 only added sections: a run directory written before them re-renders as it was."""
    old = {"schema": "replayer.summary/2", "scenario": "s", "baseline": "off", "traces": [], "variants": {},
           "comparisons": []}
    summary = Summary.from_json(old, "old/summary.json")
    assert summary.schema == SUMMARY_SCHEMA and summary.turn_kinds is None
