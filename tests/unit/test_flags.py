"""The llama-server flag vocabulary: aliases, the speculation check, per-run flags, set/read one flag."""

from __future__ import annotations

import pytest

from replayer.scenario.flags import (
    MANAGED_FLAGS,
    PER_RUN_FLAGS,
    SPEC_SELECTORS,
    TOGGLES,
    canonical,
    flag_value,
    normalize,
    selects_speculation,
    set_flag,
    spellings,
    without_per_run,
)

# --- aliases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("flag", "name"), [
    ("-md", "--spec-draft-model"), ("--model-draft", "--spec-draft-model"), ("--model_draft", "--spec-draft-model"),
    ("--spec-draft-model", "--spec-draft-model"),
    ("-hfd", "--spec-draft-hf"), ("-hfrd", "--spec-draft-hf"), ("--hf-repo-draft", "--spec-draft-hf"),
    ("-m", "--model"), ("-c", "--ctx-size"), ("-ngl", "--gpu-layers"), ("--n_gpu_layers", "--gpu-layers"),
    ("-td", "--spec-draft-threads"), ("--spec_type", "--spec-type"),
    ("--not-an-alias", "--not-an-alias"), ("-x", "-x"),
])
def test_canonical_names_one_option_whatever_the_spelling(flag, name):
    assert canonical(flag) == name


def test_spellings_are_the_whole_group_and_underscores_read_as_dashes():
    assert spellings("-hfrd") == {"--spec-draft-hf", "-hfd", "-hfrd", "--hf-repo-draft"}
    assert spellings("--model_draft") == {"--spec-draft-model", "-md", "--model-draft"}
    assert spellings("--spec_draft_n_max") == {"--spec-draft-n-max"}  # no alias: itself, normalized
    assert normalize("--spec_draft_n_max") == "--spec-draft-n-max" and normalize("-no_x") == "-no_x"
    # every spelling of an option has the same canonical name and the same group
    for flag in ("-ngl", "--gpu-layers", "--n-gpu-layers"):
        assert canonical(flag) == "--gpu-layers" and spellings(flag) == spellings("-ngl")


def test_vocabulary_sets_hold_canonical_names():
    assert SPEC_SELECTORS == {"--spec-type", "--spec-default", "--spec-draft-model", "--spec-draft-hf"}
    assert all(canonical(f) == f for f in SPEC_SELECTORS | PER_RUN_FLAGS | MANAGED_FLAGS)
    assert MANAGED_FLAGS <= PER_RUN_FLAGS and {"--model", "--host", "--port", "--slot-save-path"} <= MANAGED_FLAGS
    assert "--spec-default" in TOGGLES and "--spec-type" not in TOGGLES


# --- speculation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    ((), False),
    (("-c", "4096", "--spec-draft-n-max", "3"), False),  # a speculative knob alone selects nothing
    (("--spec-type", "none"), False),
    (("--spec-type", "none,draft-mtp"), True),
    (("--spec-type", "draft-mtp,none"), True),
    (("--spec-type", " none , none "), False),
    (("--spec-type", "draft-mtp"), True),
    (("--spec-type=draft-mtp",), True),
    (("--spec-type=none",), False),
    (("--spec_type", "draft-mtp"), True),
    (("--spec-type", "none", "--spec-type", "ngram-mod"), True),  # occurrences add up
    (("--spec-type",), False),  # no value: nothing asked for
    (("-md", "x"), True),
    (("--model-draft", "x"), True),
    (("--spec-draft-model=x.gguf",), True),
    (("-hfrd", "repo"), True),
    (("-hfd", "repo"), True),
    (("--hf-repo-draft=repo",), True),
    (("--spec-default",), True),
    (("-m", "model.gguf", "--port", "8080"), False),
])
def test_selects_speculation(args, expected):
    assert selects_speculation(args) is expected


def test_selects_speculation_reads_lists_and_non_string_args():
    assert selects_speculation(["-c", 4096, "--spec-type", "none", "-md", "d.gguf"])
    assert not selects_speculation(["-c", 4096, "--spec-draft-n-max", 3])


# --- per-run flags -----------------------------------------------------------------------------


def test_without_per_run_drops_the_flags_and_their_values():
    command = ["-m", "/a/model.gguf", "--host", "127.0.0.1", "--port", "8081", "-c", "4096",
               "--spec-type", "draft-mtp", "--slot-save-path", "/run/slots/on"]
    assert without_per_run(command) == ["-c", "4096", "--spec-type", "draft-mtp"]
    other = ["--model", "/b/model.gguf", "--host", "0.0.0.0", "--port", 9000, "-c", 4096,
             "--spec-type", "draft-mtp", "--slot_save_path", "/x"]
    assert without_per_run(other) == without_per_run(command)  # any spelling, any run
    assert without_per_run(["--port=8080", "-a", "name", "-t", "2", "--api-key", "k"]) == ["-t", "2"]
    assert without_per_run(["-t", "2", "--port"]) == ["-t", "2"]  # a trailing flag without its value
    assert without_per_run([]) == []


def test_without_per_run_keeps_what_changes_the_measurement():
    args = ["-md", "draft.gguf", "--spec-draft-n-max", "3", "-ngl", "99", "-fa", "on"]
    assert without_per_run(args) == args


# --- set_flag / flag_value ---------------------------------------------------------------------


def test_set_flag_edge_cases():
    assert set_flag(("--a", "1", "--spec_draft_n_max", "3", "--spec-draft-n-max", "5"), "--spec-draft-n-max", 2) == (
        "--a", "1", "--spec-draft-n-max", "2")  # first occurrence replaced, later ones dropped, _ = -
    assert set_flag(("-md", "x.gguf", "--b", "1"), "--spec-draft-model", None) == ("--b", "1")  # null: left out
    assert set_flag((), "--spec-draft-p-min", 0.30) == ("--spec-draft-p-min", "0.3")
    assert set_flag((), "--spec-draft-n-max", 4.0) == ("--spec-draft-n-max", "4")
    assert set_flag((), "--spec-type", "draft-mtp") == ("--spec-type", "draft-mtp")
    assert set_flag(("-t", "2", "-c", "8"), "--threads", 4) == ("--threads", "4", "-c", "8")  # in place, any alias
    assert set_flag(("-c", "8"), "-hfrd", None) == ("-c", "8")  # absent and null: unchanged


def test_flag_value_last_wins_under_any_spelling():
    assert flag_value(("-c", "10", "--ctx-size", "20"), "-c") == "20"  # last wins, as in llama-server
    assert flag_value(("--spec-type", "draft-mtp"), "--spec-type") == "draft-mtp"
    assert flag_value(("-hfd", "a/b"), "--hf-repo-draft") == "a/b"
    assert flag_value(("-c",), "-c") is None  # no value after it
    assert flag_value(("-t", "2"), "-c") is None
    assert flag_value(set_flag(("-t", "2"), "--threads", 8), "-t") == "8"
