from replayer.analysis.metrics import acceptance_by_position, parse_spec_counters, spec_delta
from replayer.results.record import TurnResult


def rec(**kw):
    return TurnResult(**{"trace": "t", "turn": 0, "variant": "on", "repetition": 0, "seq": 0, "wall_ms": 100.0,
                         "max_tokens": 64, "max_tokens_source": "usage", **kw})

SCRAPE = """# HELP llamacpp:spec_decode_num_drafts_total Number of drafts
# TYPE llamacpp:spec_decode_num_drafts_total counter
llamacpp:prompt_tokens_total 120
llamacpp:spec_decode_num_draft_tokens_total 66
llamacpp:spec_decode_num_accepted_tokens_total 37
llamacpp:spec_decode_num_drafts_total 22
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position="0"} 17
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position="1"} 11
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position="2"} 9
"""


def test_counters_of_a_real_scrape():
    c = parse_spec_counters(SCRAPE)
    assert c == {"steps": 22, "drafted": 66, "accepted": 37, "per_pos": {0: 17, 1: 11, 2: 9}}


def test_turn_delta_and_positions_that_appear_later():
    before = parse_spec_counters("llamacpp:spec_decode_num_drafts_total 0\n")
    d = spec_delta(before, parse_spec_counters(SCRAPE))
    assert d == {"spec_steps": 22, "spec_drafted": 66, "spec_accepted": 37, "accepted_per_pos": [17, 11, 9]}


def test_acceptance_by_position_over_turns():
    recs = [rec(spec_steps=10, accepted_per_pos=(8, 5, 2)), rec(spec_steps=10, accepted_per_pos=(6, 3))]
    assert acceptance_by_position(recs) == (0.7, 0.4, 0.1)
    assert acceptance_by_position([rec(spec_steps=0)]) is None
    # turns without /metrics (no steps, no positions) add nothing
    assert acceptance_by_position([*recs, rec()]) == (0.7, 0.4, 0.1)
    assert acceptance_by_position([]) is None
