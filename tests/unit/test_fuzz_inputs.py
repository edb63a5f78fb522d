"""Property-based: mutated valid inputs of every format meet the contract (tools/fuzz/contract.py):
accepted and valid against the trace schema, or a one-line `Error:` with exit code 2. Never a
traceback, a multi-line message, or an output that does not load.

A hundred and fifty examples per format here, derandomized so that the suite is reproducible;
`bench/fuzz.py --examples N` runs long random campaigns over the same strategies.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

REPO_ROOT = Path(__file__).resolve().parents[2]
# tools/ sits beside the installed package: make it importable however pytest was started.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tools.fuzz.contract import check  # noqa: E402
from tools.fuzz.mutate import mutated_files  # noqa: E402
from tools.fuzz.seeds import TARGETS, all_seeds, seeds_for  # noqa: E402

EXAMPLES = 150


@pytest.mark.parametrize("seed", all_seeds(), ids=lambda s: f"{s.target}/{s.name}")
def test_every_seed_is_accepted_as_it_is(seed, tmp_path):
    outcome = check(seed, dict(seed.files), tmp_path / "w")
    assert outcome.kind == "ok", outcome.detail


@pytest.mark.parametrize("target", TARGETS)
def test_mutated_inputs_meet_the_contract(target, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(target) / "w"
    importer = target not in ("trace", "scenario")

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(seeds_for(target)).flatmap(lambda s: st.tuples(st.just(s), mutated_files(s))),
           st.booleans())
    def meets_contract(seed_and_files, detect):
        seed, files = seed_and_files
        outcome = check(seed, files, workdir, detect=importer and detect)
        assert outcome.kept, f"{outcome.kind}: {outcome.detail}"

    meets_contract()
