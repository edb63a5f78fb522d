"""Sweeps: expansion of a `sweep:` section into arms, located problems, the table and the PNG."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from replayer.analysis.sweep import best_point, sweep_section
from replayer.outputs.sweep import render_sweep_markdown, render_sweep_png
from replayer.results.summary import Comparison, Summary, VariantSummary
from replayer.scenario.load import _line_of, _Loader
from replayer.scenario.model import DEFAULT_SAMPLING, Variant
from replayer.errors import InputError
from replayer.scenario.sweep import (
    SweepError,
    expand_sweep,
    safe_name,
    validate_sweep,
)

OFF = Variant("mtp-off")
ON = Variant("mtp-on", ("--spec-type", "draft-mtp", "--spec-draft-n-max", "3"))
VARIANTS = (OFF, ON)
NMAX = {"variant": "mtp-on", "args": {"--spec-draft-n-max": [1, 2, 3, 4, 6, 8]}}


# --- expansion -------------------------------------------------------------------------------

def test_args_sweep_names_replaces_the_flag_and_keeps_the_other_variants():
    plan = expand_sweep(NMAX, VARIANTS, "mtp-off", DEFAULT_SAMPLING)
    assert plan.kind == "args" and plan.base == "mtp-on" and plan.parameters == ("--spec-draft-n-max",)
    assert [v.name for v in plan.variants] == ["mtp-off"] + [f"mtp-on[--spec-draft-n-max={n}]" for n in (1, 2, 3, 4, 6, 8)]
    four = plan.point("mtp-on[--spec-draft-n-max=4]")
    assert four.variant.args == ("--spec-type", "draft-mtp", "--spec-draft-n-max", "4")  # replaced in place
    assert four.value == 4 and four.values == (("--spec-draft-n-max", 4),) and four.sampling == {}
    assert all(isinstance(v, Variant) for v in plan.variants)
    assert plan.baseline == "mtp-off"
    # one llama-server per value: flags are fixed at start-up
    assert all(len(arms) == 1 for arms in plan.servers.values()) and len(plan.servers) == 7
    assert plan.server_args["mtp-on[--spec-draft-n-max=8]"][-1] == "8"
    # every point still speculates (n-max >= 1), inferred from its args as before
    assert all(p.variant.speculates for p in plan.points)
    assert not plan.variants[0].speculates


def test_flag_is_appended_when_absent_and_replaced_under_an_alias():
    base = Variant("v", ("-t", "2", "--spec-type", "draft-mtp"))
    plan = expand_sweep({"variant": "v", "args": {"--threads": [1, 4], "--spec-draft-p-min": [0.5]}}, (base,), "v",
                        DEFAULT_SAMPLING)
    p = plan.points[1]
    assert p.name == "v[--threads=4,--spec-draft-p-min=0.5]"
    assert p.variant.args == ("--threads", "4", "--spec-type", "draft-mtp", "--spec-draft-p-min", "0.5")
    # the baseline was the swept variant: it becomes the point with its current value (-t 2: none), else the first
    assert plan.baseline == plan.points[0].name and "baseline" in plan.notes[0]


def test_grid_of_two_flags_is_the_full_product_first_flag_slowest():
    sweep = {"variant": "mtp-on", "args": {"--spec-draft-n-max": [2, 4], "--spec-draft-p-min": [0.0, 0.75]}}
    plan = expand_sweep(sweep, VARIANTS, "mtp-off", DEFAULT_SAMPLING)
    assert [p.value for p in plan.points] == [(2, 0.0), (2, 0.75), (4, 0.0), (4, 0.75)]
    assert [p.name for p in plan.points] == [
        "mtp-on[--spec-draft-n-max=2,--spec-draft-p-min=0]", "mtp-on[--spec-draft-n-max=2,--spec-draft-p-min=0.75]",
        "mtp-on[--spec-draft-n-max=4,--spec-draft-p-min=0]", "mtp-on[--spec-draft-n-max=4,--spec-draft-p-min=0.75]"]
    last = plan.points[-1].variant.args
    assert last == ("--spec-type", "draft-mtp", "--spec-draft-n-max", "4", "--spec-draft-p-min", "0.75")
    assert len(plan.servers) == 5


def test_sampling_sweep_shares_one_server_with_cold_cache():
    sweep = {"variant": "mtp-on", "sampling": {"temperature": [0, 0.3, 0.7]}}
    sampling = {**DEFAULT_SAMPLING, "seed": 7}
    plan = expand_sweep(sweep, VARIANTS, "mtp-off", sampling, cache="cold")
    names = ("mtp-on[temperature=0]", "mtp-on[temperature=0.3]", "mtp-on[temperature=0.7]")
    assert plan.kind == "sampling" and plan.names == names
    assert plan.servers == {"mtp-off": ("mtp-off",), "mtp-on": names}
    assert plan.server_args["mtp-on"] == ON.args
    assert all(p.variant.args == ON.args for p in plan.points)  # same server configuration
    assert plan.shared(names[1]) and not plan.shared("mtp-off") and plan.server_of(names[2]) == "mtp-on"
    assert plan.sampling_override(names[1]) == {"temperature": 0.3}
    eff = plan.effective_sampling(names[1])
    assert eff["temperature"] == 0.3 and eff["seed"] == 7 and eff["top_k"] == 0
    assert plan.effective_sampling("mtp-off")["temperature"] == 0
    assert plan.equality_applies(names[0]) and not plan.equality_applies(names[1])
    assert any("share the server" in n for n in plan.notes)


def test_sampling_sweep_with_cache_reuse_gets_separate_servers_unless_told_shared():
    sweep = {"variant": "mtp-on", "sampling": {"temperature": [0, 0.7]}}
    plan = expand_sweep(sweep, VARIANTS, "mtp-off", DEFAULT_SAMPLING)  # cache: reuse (the default)
    assert all(len(arms) == 1 for arms in plan.servers.values()) and len(plan.servers) == 3
    problems = validate_sweep({**sweep, "servers": "shared"}, ["mtp-off", "mtp-on"])
    assert [p for p, _ in problems] == [["sweep", "servers"]] and "cache: cold" in problems[0][1]
    assert validate_sweep({**sweep, "servers": "shared"}, ["mtp-off", "mtp-on"], cache="cold") == []


def test_sampling_sweep_of_a_running_server_shares_it():
    remote = Variant("remote", url="http://127.0.0.1:8080")
    sweep = {"variant": "remote", "sampling": {"top_k": [1, 40]}}
    plan = expand_sweep(sweep, (OFF, remote), "mtp-off", DEFAULT_SAMPLING, cache="cold")
    assert plan.servers["remote"] == ("remote[top_k=1]", "remote[top_k=40]")
    assert all(p.variant.url == remote.url for p in plan.points)
    where = [p for p, _ in validate_sweep(sweep, (OFF, remote))]  # reuse: the arms would share its cache
    assert where == [["sweep", "variant"]]
    assert [p for p, _ in validate_sweep({"variant": "remote", "args": {"-t": [1]}}, (OFF, remote), cache="cold")] == [
        ["sweep", "variant"]]


def test_swept_baseline_becomes_the_point_with_its_current_value():
    plan = expand_sweep(NMAX, VARIANTS, "mtp-on", DEFAULT_SAMPLING)
    assert plan.baseline == "mtp-on[--spec-draft-n-max=3]"
    plan = expand_sweep({"variant": "mtp-on", "sampling": {"temperature": [0.7, 0]}}, VARIANTS, "mtp-on",
                        DEFAULT_SAMPLING, cache="cold")
    assert plan.baseline == "mtp-on[temperature=0]"


def test_sweeping_the_spec_type_reinfers_expected_speculation_per_point():
    on = Variant("on", ("--spec-type", "draft-mtp"), expect_speculation=True)
    plan = expand_sweep({"variant": "on", "args": {"--spec-type": ["none", "draft-mtp"]}}, (OFF, on), "mtp-off",
                        DEFAULT_SAMPLING)
    none, mtp = plan.points
    assert none.variant.expect_speculation is None and not none.variant.speculates
    assert mtp.variant.speculates
    kept = expand_sweep({"variant": "on", "args": {"-ub": [256, 512]}}, (OFF, on), "mtp-off", DEFAULT_SAMPLING)
    assert all(p.variant.expect_speculation is True for p in kept.points)
    # a draft model swept under any spelling also re-infers it (null: the flag left out, no speculation)
    for flag in ("-md", "--model_draft", "-hfrd"):
        plan = expand_sweep({"variant": "on", "args": {flag: [None, "x"]}}, (OFF, on), "mtp-off", DEFAULT_SAMPLING)
        assert all(p.variant.expect_speculation is None for p in plan.points), flag


def test_flag_also_in_server_args_is_noted():
    plan = expand_sweep({"variant": "mtp-on", "args": {"-ub": [256, 512]}}, VARIANTS, "mtp-off", DEFAULT_SAMPLING,
                        common_args=["-c", 4096, "--ubatch-size", 512])
    assert any("-ub is also in server.args" in n for n in plan.notes)


# --- bad sections ------------------------------------------------------------------------------

@pytest.mark.parametrize(("sweep", "where", "text"), [
    ("nope", ["sweep"], "expected a mapping"),
    ({"args": {"-t": [1]}}, ["sweep"], "missing field 'variant'"),
    ({"variant": "mtp-of", "args": {"-t": [1]}}, ["sweep", "variant"], "expected one of 'mtp-off', 'mtp-on'"),
    ({"variant": "mtp-on"}, ["sweep"], "exactly one of"),
    ({"variant": "mtp-on", "args": {"-t": [1]}, "sampling": {"seed": [1]}}, ["sweep"], "exactly one of"),
    ({"variant": "mtp-on", "args": {"-t": [1]}, "repeat": 2}, ["sweep", "repeat"], "unknown field 'repeat'"),
    ({"variant": "mtp-on", "args": {}}, ["sweep", "args"], "non-empty mapping"),
    ({"variant": "mtp-on", "args": {"--spec-draft-n-max": []}}, ["sweep", "args", "--spec-draft-n-max"], "non-empty list"),
    ({"variant": "mtp-on", "args": {"--spec-draft-n-max": 4}}, ["sweep", "args", "--spec-draft-n-max"], "non-empty list"),
    ({"variant": "mtp-on", "args": {"--spec-draft-n-max": [0, 2]}}, ["sweep", "args", "--spec-draft-n-max", 0],
     "aborts on the first request"),
    ({"variant": "mtp-on", "args": {"--spec-draft-n-max": [2, -1]}}, ["sweep", "args", "--spec-draft-n-max", 1],
     "refuses negative"),
    ({"variant": "mtp-on", "args": {"--spec-draft-n-max": [2, "two"]}}, ["sweep", "args", "--spec-draft-n-max", 1],
     "expected an integer"),
    ({"variant": "mtp-on", "args": {"--spec-draft-n-max": [2, 4, "4"]}}, ["sweep", "args", "--spec-draft-n-max", 2],
     "duplicate value"),
    ({"variant": "mtp-on", "args": {"-t": [True]}}, ["sweep", "args", "-t", 0], "string or number"),
    ({"variant": "mtp-on", "args": {"-t": ["--threads"]}}, ["sweep", "args", "-t", 0], "looks like a flag"),
    ({"variant": "mtp-on", "args": {"threads": [1]}}, ["sweep", "args", "threads"], "llama-server flag"),
    ({"variant": "mtp-on", "args": {"--threads=2": [1]}}, ["sweep", "args", "--threads=2"], "llama-server flag"),
    ({"variant": "mtp-on", "args": {"--port": [1]}}, ["sweep", "args", "--port"], "set by replayer"),
    ({"variant": "mtp-on", "args": {"-m": ["x.gguf"]}}, ["sweep", "args", "-m"], "set by replayer"),
    ({"variant": "mtp-on", "args": {"--slot_save_path": ["d"]}}, ["sweep", "args", "--slot_save_path"],
     "set by replayer"),
    ({"variant": "mtp-on", "args": {"--spec-default": [1]}}, ["sweep", "args", "--spec-default"], "takes no value"),
    ({"variant": "mtp-on", "args": {"-t": [1], "--threads": [2]}}, ["sweep", "args", "--threads"], "same option as -t"),
    ({"variant": "mtp-on", "args": {"-t": [1]}, "servers": "shared"}, ["sweep", "servers"], "one server per value"),
    ({"variant": "mtp-on", "args": {"-t": [1]}, "servers": "some"}, ["sweep", "servers"], "expected one of"),
    ({"variant": "mtp-on", "sampling": {"temprature": [0.1]}}, ["sweep", "sampling", "temprature"],
     "unknown sampling parameter"),
    ({"variant": "mtp-on", "sampling": {"max_tokens": [8]}}, ["sweep", "sampling", "max_tokens"], "pinned"),
    ({"variant": "mtp-on", "sampling": {"temperature": [0, -1]}}, ["sweep", "sampling", "temperature", 1], ">= 0"),
    ({"variant": "mtp-on", "sampling": {"top_p": [0.5, 1.5]}}, ["sweep", "sampling", "top_p", 1], "[0, 1]"),
    ({"variant": "mtp-on", "sampling": {"temperature": ["hot"]}}, ["sweep", "sampling", "temperature", 0],
     "expected a number"),
    ({"variant": "mtp-on", "sampling": {"seed": [None]}}, ["sweep", "sampling", "seed", 0], "null"),
])
def test_bad_sections_give_located_problems(sweep, where, text):
    problems = validate_sweep(sweep, ["mtp-off", "mtp-on"])
    assert problems, sweep
    paths = [p for p, _ in problems]
    assert where in paths, problems
    assert text in {tuple(p): m for p, m in problems}[tuple(where)]


def test_point_name_clashing_with_a_variant_is_a_problem():
    clash = Variant("mtp-on[-t=1]")
    problems = validate_sweep({"variant": "mtp-on", "args": {"-t": [1]}}, (OFF, ON, clash))
    assert problems == [(["sweep", "args"], "the sweep point 'mtp-on[-t=1]' clashes with the variant of that name")]


def test_spec_type_in_server_args_is_refused():
    problems = validate_sweep({"variant": "mtp-on", "args": {"--spec-type": ["draft-mtp", "ngram-mod"]}},
                              ["mtp-off", "mtp-on"], common_args=["--spec-type", "draft-mtp"])
    assert [p for p, _ in problems] == [["sweep", "args", "--spec-type"]] and "adds up" in problems[0][1]


def test_expand_refuses_an_invalid_section():
    with pytest.raises(SweepError) as info:
        expand_sweep({"variant": "mtp-on", "args": {"--spec-draft-n-max": [0]}}, VARIANTS, "mtp-off", DEFAULT_SAMPLING)
    assert isinstance(info.value, InputError) and info.value.exit_code == 2  # the CLI prints one line, exits 2
    assert info.value.problems[0][0] == ["sweep", "args", "--spec-draft-n-max", 0]
    assert "sweep.args.--spec-draft-n-max[0]" in str(info.value)


def test_problems_map_to_yaml_lines_with_the_loaders_locator():
    text = """\
version: 1
traces: [t.json]
variants:
  mtp-off: {}
  mtp-on: {args: [--spec-type, draft-mtp]}
sweep:
  variant: mtp-on
  args:
    --spec-draft-n-max:
      - 2
      - 0
"""
    node = yaml.compose(text, Loader=_Loader)
    data = yaml.load(text, Loader=_Loader)
    (where, message), = validate_sweep(data["sweep"], list(data["variants"]))
    assert _line_of(node, where) == "11"
    assert "aborts on the first request" in message


def test_safe_name_for_paths():
    assert safe_name("mtp-on[--spec-draft-n-max=4]") == "mtp-on[--spec-draft-n-max=4]"
    assert safe_name("v[-md=/models/x y.gguf]") == "v[-md=_models_x_y.gguf]"
    assert safe_name("../x") == "_.._x"


@pytest.fixture()
def nmax_plan():
    return expand_sweep(NMAX, VARIANTS, "mtp-off", DEFAULT_SAMPLING)


# --- report section and chart (typed summaries, as the builder makes them) ---------------------

def _typed_variant(wall: float, rate: float, *, acceptance: float | None = 0.7, turns: int = 10,
                   errors: int = 0) -> VariantSummary:
    drafts = 0 if acceptance is None else 400
    return VariantSummary(
        wall_s=wall, prefill_s=wall / 4, decode_s=wall / 2, request_overhead_s=0.1, harness_overhead_s=0.01,
        prompt_tokens=5000, cached_tokens=4000, processed_prompt_tokens=1000, generated_tokens=500,
        prefill_tok_s=900.0 + wall, decode_tok_s=rate, draft_tokens=drafts,
        accepted_tokens=round(drafts * (acceptance or 0)), acceptance=acceptance, verification_steps=0,
        acceptance_by_position=None, turns=turns, errors=errors, repetitions=3, wall_s_per_repetition=(wall,) * 3,
        recorded_gaps_s=None, projected_session_s=None, spec_live=drafts > 0, slots_speculative=drafts > 0,
        expect_speculation=drafts > 0)


def _typed_comparison(baseline: str, name: str, r: float, *, with_ci: bool = True) -> Comparison:
    return Comparison(
        baseline=baseline, candidate=name, aa=False, wall_ratio=r, prefill_ratio=r, decode_ratio=r, speedup=1 / r,
        decode_tok_s_ratio=1 / r, prefill_tok_s_ratio=1 / r, projected_session_ratio=None, compared_turns=10,
        identical_turns=9, diverged_turns=1, diverged=(), equality_applies=True, first_divergence=None, n_pairs=30,
        confidence=0.95, wall_ratio_ci=(r * 0.95, r * 1.04) if with_ci else None,
        decode_ratio_ci=(r * 0.9, r * 1.1), p_value=0.01)


def _typed_summary(plan, walls: dict[str, float], *, base_wall: float = 20.0, errors: dict[str, int] | None = None,
                   no_ci: tuple[str, ...] = (), unmeasured: tuple[str, ...] = ()) -> Summary:
    """The summary a sweep run gets: figures per point, comparisons to the baseline, and the
    sweep section from :func:`replayer.analysis.sweep.sweep_section`."""
    errors = errors or {}
    variants = {"mtp-off": _typed_variant(base_wall, 50.0, acceptance=None)}
    for name, wall in walls.items():
        turns = 0 if name in unmeasured else 10 - errors.get(name, 0)
        variants[name] = _typed_variant(wall, 50.0 * base_wall / wall, errors=errors.get(name, 0), turns=turns)
    comparisons = tuple(_typed_comparison("mtp-off", n, w / base_wall, with_ci=n not in no_ci)
                        for n, w in walls.items())
    section = sweep_section("mtp-off", variants, comparisons, plan)
    return Summary(scenario="cli_tool", baseline="mtp-off", traces=(), variants=variants, comparisons=comparisons,
                   sweep=section)


def _typed_nmax(plan, **kw) -> Summary:
    return _typed_summary(plan, dict(zip(plan.names, [18.0, 15.0, 14.0, 13.5, 14.5, 16.0])), **kw)


# --- the table (analysis.sweep) ---------------------------------------------------------------

def test_sweep_rows_values_ratios_and_best(nmax_plan):
    rows = _typed_nmax(nmax_plan).sweep.rows
    assert [r.value for r in rows] == [1, 2, 3, 4, 6, 8]
    four = rows[3]
    assert four.variant == "mtp-on[--spec-draft-n-max=4]" and four.best
    assert [r.best for r in rows].count(True) == 1
    assert four.wall_ratio == pytest.approx(13.5 / 20)
    assert four.wall_ratio_ci == pytest.approx([13.5 / 20 * 0.95, 13.5 / 20 * 1.04])
    assert four.wall_s_ci == pytest.approx([13.5 * 0.95, 13.5 * 1.04])
    assert four.decode_tok_s_ci[0] < four.decode_tok_s < four.decode_tok_s_ci[1]
    assert four.diverged_turns == 1 and four.compared_turns == 10 and four.equality_applies
    assert four.acceptance == 0.7 and four.prefill_tok_s == pytest.approx(913.5)


def test_best_point_ignores_a_point_with_failed_turns(nmax_plan):
    # n-max=4 lost turns to errors: its smaller sum must not win
    rows = _typed_nmax(nmax_plan, errors={"mtp-on[--spec-draft-n-max=4]": 3}).sweep.rows
    assert best_point(rows).variant == "mtp-on[--spec-draft-n-max=3]"
    assert rows[2].best and not rows[3].best


def test_sampling_rows_do_not_claim_equality_above_temperature_zero():
    plan = expand_sweep({"variant": "mtp-on", "sampling": {"temperature": [0, 0.7]}}, VARIANTS, "mtp-off",
                        DEFAULT_SAMPLING, cache="cold")
    table = _typed_summary(plan, dict(zip(plan.names, [14.0, 15.0]))).sweep
    rows = table.rows
    assert rows[0].equality_applies and rows[0].diverged_turns == 1
    assert not rows[1].equality_applies and rows[1].diverged_turns is None and "T>0" in rows[1].note
    assert table.best == plan.names[0] and any("temperature 0" in n for n in table.notes)
    assert table.servers["mtp-on"] == tuple(plan.names)


def test_rows_when_the_baseline_is_a_sweep_point():
    plan = expand_sweep(NMAX, VARIANTS, "mtp-on", DEFAULT_SAMPLING)
    walls = dict(zip(plan.names, [18.0, 15.0, 14.0, 13.5, 14.5, 16.0]))
    variants = {n: _typed_variant(w, 50.0 * 14.0 / w) for n, w in walls.items()}
    comparisons = tuple(_typed_comparison(plan.baseline, n, w / 14.0) for n, w in walls.items() if n != plan.baseline)
    rows = sweep_section(plan.baseline, variants, comparisons, plan).rows
    base = rows[2]
    assert base.is_baseline and base.wall_ratio == 1.0 and base.wall_ratio_ci is None
    assert base.diverged_turns is None and base.note == "baseline"


def test_markdown_section_marks_the_best_point(nmax_plan):
    summary = _typed_nmax(nmax_plan)
    text = render_sweep_markdown(summary)
    assert "| 4 **(best)** | 13.50 | 0.675 [0.641, 0.702] |" in text
    assert "diverged at T=0" in text and "1 of 10" in text
    assert "Best point: **--spec-draft-n-max=4**, faster than mtp-off" in text
    assert summary.sweep is not None
    assert summary.sweep.best == "mtp-on[--spec-draft-n-max=4]" and summary.sweep.best_vs_baseline == "faster"
    slow = _typed_nmax(nmax_plan, base_wall=10.0).sweep
    assert slow is not None and slow.best_vs_baseline == "slower"
    assert render_sweep_markdown(replace(summary, sweep=None)) == ""


def _check_png(data: bytes, min_bytes: int = 10_000):
    import io

    import matplotlib.image

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > min_bytes
    img = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 600 and img.shape[2] in (3, 4)
    rgb = img[..., :3]
    assert (rgb.reshape(-1, 3) != rgb.reshape(-1, 3)[0]).any(), "the image is a single colour"
    # more than a blank canvas with a frame: a good share of pixels are not white
    assert (rgb < 0.9).any(axis=-1).mean() > 0.01
    return img


def _gold_pixels(img) -> int:
    rgb = img[..., :3]  # the best point's star is drawn in gold (1, 0.84, 0)
    return int(((abs(rgb[..., 0] - 1.0) < 0.05) & (abs(rgb[..., 1] - 0.843) < 0.05) & (rgb[..., 2] < 0.1)).sum())


def test_png_for_a_numeric_sweep(nmax_plan, tmp_path):
    section = _typed_nmax(nmax_plan).sweep
    assert section is not None
    data = render_sweep_png(section, "cli_tool")
    assert data == render_sweep_png(section, "cli_tool")  # from the section alone: the same bytes every time
    assert _gold_pixels(_check_png(data)) > 20
    assert not list(tmp_path.iterdir())  # nothing written: the caller decides where the bytes go


def test_png_for_a_grid_and_a_categorical_sweep():
    grid = expand_sweep({"variant": "mtp-on", "args": {"--spec-draft-n-max": [2, 4],
                                                       "--spec-draft-p-min": [0.0, 0.75]}},
                        VARIANTS, "mtp-off", DEFAULT_SAMPLING)
    # a point without an interval is drawn without a bar
    summary = _typed_summary(grid, dict(zip(grid.names, [15.0, 16.0, 13.0, 14.0])), no_ci=(grid.names[0],))
    assert summary.sweep is not None
    _check_png(render_sweep_png(summary.sweep, summary.scenario))
    cat = expand_sweep({"variant": "mtp-on", "args": {"-ctk": ["f16", "q8_0", "q4_0"]}}, VARIANTS, "mtp-off",
                       DEFAULT_SAMPLING)
    # a point that measured nothing is left out
    summary = _typed_summary(cat, dict(zip(cat.names, [15.0, 14.0, 14.5])), unmeasured=(cat.names[2],))
    assert summary.sweep is not None
    _check_png(render_sweep_png(summary.sweep, summary.scenario))


def test_png_draws_the_baseline_line_only_when_the_baseline_is_not_a_point(nmax_plan, monkeypatch):
    from matplotlib.axes import Axes

    lines: list[float] = []
    monkeypatch.setattr(Axes, "axhline", lambda self, y=0, *a, **kw: lines.append(y))
    section = _typed_nmax(nmax_plan).sweep
    assert section is not None and not any(r.is_baseline for r in section.rows)
    _check_png(render_sweep_png(section, "cli_tool"))
    assert lines == [section.baseline.decode_tok_s, section.baseline.wall_s] == [50.0, 20.0]
    lines.clear()
    rows = tuple(replace(r, is_baseline=i == 2) for i, r in enumerate(section.rows))
    _check_png(render_sweep_png(replace(section, rows=rows), "cli_tool"))
    assert lines == []
