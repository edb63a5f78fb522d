"""The rules of `replay check` (analysis/readiness.py): pure, judged on facts built here."""

from __future__ import annotations

import pytest

from replayer.analysis.readiness import (NOTE, OK, PROBLEM, Timing, TurnNeed, context_findings,
                                         estimate, fit_cost_law, gpu_findings, memory_findings, model_findings,
                                         offload_asked, slot_context)
from replayer.analysis.session_model import CostModel, Work
from replayer.models.gguf_facts import ModelFacts
from replayer.results.machine import BinaryFacts, Gpu

CPU_BUILD = BinaryFacts("/x/llama-server", "test", "version: 1", "ab" * 32, ("cpu",), ())
CUDA_BUILD = BinaryFacts("/x/llama-server", "test", "version: 1", "ab" * 32, ("cpu", "cuda"),
                         ("CUDA0: NVIDIA H200 (143000 MiB, 142000 MiB free)",))
H200 = Gpu(0, "NVIDIA H200", 143_000, 142_000, "9.0")


def model(arch: str = "qwen35", mtp: int = 1, file_bytes: int = 20 << 30, kv: int | None = 64 << 10,
          training: int | None = 262_144) -> ModelFacts:
    return ModelFacts("/m.gguf", arch, None, file_bytes, 27_000_000_000, training, mtp, 65, kv, False)


@pytest.mark.parametrize("args, asked", [
    ((), None), (("-ngl", "0"), None), (("-ngl", "all"), "-ngl all"), (("--n-gpu-layers", "99"), "-ngl 99"),
    (("-dev", "none", "-ngl", "99"), "-ngl 99"), (("--device", "CUDA0"), "-dev CUDA0"),
])
def test_offload_is_read_from_every_spelling(args, asked):
    assert offload_asked(args) == asked


@pytest.mark.parametrize("args, training, n_ctx", [
    (("-c", "61440", "-np", "1"), 65536, 61440),
    (("-c", "8192", "-np", "4"), 65536, 2048),  # split among slots
    (("-c", "8192", "-np", "4", "-kvu"), 65536, 8192),  # one unified cache: any slot may use it all
    (("-c", "8192"), 65536, 8192),  # -np auto: four unified slots
    (("-c", "0", "-np", "1"), 65536, 65536),  # 0: the training context
    ((), None, None),
])
def test_a_slot_holds_the_context_its_flags_give_it(args, training, n_ctx):
    assert slot_context(args, training) == n_ctx


def test_a_gpu_scenario_on_a_machine_without_a_gpu_is_one_problem_with_its_fix():
    [f] = gpu_findings("-ngl all", CPU_BUILD, (), "no NVIDIA driver")
    assert f.level == PROBLEM and "no GPU is visible" in f.text and "-ngl all" in f.text
    assert "built for the CPU only" in f.text and f.fix


def test_a_gpu_without_a_gpu_build_asks_for_a_cuda_build():
    [f] = gpu_findings("-ngl all", CPU_BUILD, (H200,), "NVML: 1 GPU(s)")
    assert f.level == PROBLEM and "no GPU backend" in f.text and "docs/gpu.md" in (f.fix or "")


def test_a_cpu_scenario_on_a_cpu_machine_is_fine_and_a_gpu_left_idle_is_a_note():
    assert [f.level for f in gpu_findings(None, CPU_BUILD, (), "no driver")] == [OK]
    assert [f.level for f in gpu_findings("-ngl all", CUDA_BUILD, (H200,), "NVML")] == [OK]
    [idle] = gpu_findings(None, CUDA_BUILD, (H200,), "NVML")
    assert idle.level == NOTE and "cli_tool_gpu.yaml" in (idle.fix or "")


def test_a_model_without_mtp_layers_cannot_speculate_with_draft_mtp():
    [f] = model_findings(model("llama", mtp=0), ["mtp-on"])
    assert f.level == PROBLEM
    assert "no MTP layers: draft-mtp cannot speculate with this model" in f.text
    assert model_findings(model("llama", mtp=0), []) == []  # no arm asks for draft-mtp


def test_mtp_layers_of_an_architecture_without_an_mtp_graph_are_a_problem_and_an_unknown_one_is_left_to_the_trial():
    [f] = model_findings(model("glm4", mtp=1), ["mtp-on"])
    assert f.level == PROBLEM and "no MTP graph" in f.text
    assert model("some-future-arch").mtp_wired is None
    assert model_findings(model("some-future-arch"), ["mtp-on"]) == []
    assert model_findings(model("qwen35moe"), ["mtp-on"]) == []


def test_a_context_too_small_names_the_longest_turn_and_the_context_it_needs():
    longest = TurnNeed("cli_tool", 39, 44056, 323, exact=True)
    findings = context_findings(16384, model(training=65536), longest, 34, "as the server reports it")
    [f] = [f for f in findings if f.level == PROBLEM]
    assert "34 turn(s)" in f.text and "cli_tool turn 39" in f.text and "44379" in f.text
    assert "-c 45056" in (f.fix or "")
    [ok] = context_findings(61440, model(training=65536), longest, 0, "from the flags")
    assert ok.level == OK and "every turn fits" in ok.text


def test_a_context_beyond_the_training_context_is_a_note():
    findings = context_findings(61440, model(training=8192), None, 0, "from the flags")
    assert [f.level for f in findings] == [NOTE] and "training context" in findings[0].text


def test_two_servers_that_cannot_fit_the_gpu_memory_are_a_problem():
    small_gpu = Gpu(0, "RTX 3060", 12_288, 11_500, "8.6")
    [f] = memory_findings("-ngl all", model(file_bytes=8 << 30, kv=32 << 10), 61440, 2, (small_gpu,))
    assert f.level == PROBLEM and "2 server(s)" in f.text
    [ok] = memory_findings("-ngl all", model(file_bytes=8 << 30, kv=32 << 10), 61440, 2, (H200,))
    assert ok.level == OK
    assert memory_findings(None, model(), 61440, 2, (H200,)) == []  # nothing on the GPU: nothing to fit


def law(a: float, b: float, g: float, h: float, o: float = 0.0) -> CostModel:
    """Costs in ms: prefill a + b*depth per token, decode g + h*depth per token, o per request."""
    return CostModel((0.0, a, b), (g, h), (o, 0.0), 0.0, 0)


def timing(model: CostModel, cached: int, new: int, generated: int) -> Timing:
    w = Work(new, cached, generated, 0.0)
    return Timing(w, model.prefill_ms(w), model.decode_ms(w), model.wall_ms(w))


def coefficients(model: CostModel) -> tuple[float, ...]:
    return (*model.prefill, *model.decode, model.overhead[0])


def test_the_cost_law_is_recovered_from_two_depths():
    truth = law(a=1e-2, b=1e-6, g=0.5, h=2e-5, o=50.0)
    fitted = fit_cost_law([timing(truth, 0, 13000, 64), timing(truth, 13000, 15000, 64)])
    assert fitted is not None
    for got, want in zip(coefficients(fitted), coefficients(truth)):
        assert got == pytest.approx(want, rel=1e-6)
    deep = Work(2000, 40000, 300, 0.0)
    assert fitted.wall_ms(deep) == pytest.approx(truth.wall_ms(deep), rel=1e-6)


def test_a_noisy_request_never_makes_a_cost_negative():
    truth = law(a=1e-2, b=1e-6, g=0.5, h=2e-5)
    slow_first = timing(truth, 0, 13000, 64)
    slow_first = Timing(slow_first.work, slow_first.prefill_ms * 3, slow_first.decode_ms * 3, 0.0)
    fitted = fit_cost_law([slow_first, timing(truth, 13000, 15000, 64)])
    assert fitted is not None and min(coefficients(fitted)) >= 0


def test_the_estimate_adds_every_turn_on_every_arm_and_says_when_it_has_no_rates():
    work = [Work(1000, 0, 10, 0.0), Work(200, 1000, 10, 0.0)]
    flat = law(a=1.0, b=0.0, g=10.0, h=0.0)
    est = estimate(work, [flat, flat], arms=2, repetitions=3, warmup=1)
    assert est.requests == (2 * 3 + 1) * 2
    assert est.seconds == pytest.approx(3 * 2 * (1.2 + 0.2))
    assert est.prefill_tokens == 1200 and est.generated_tokens == 20
    assert "about" in est.describe()
    none = estimate(work, [], arms=2, repetitions=1, warmup=0)
    assert none.seconds is None and "no server measured" in none.describe()
