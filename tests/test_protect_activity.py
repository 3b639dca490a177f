"""What one caller number's calls today show (protect.activity)."""

from __future__ import annotations

from collections import deque

from callradar.protect.activity import NumberActivity, gap_cv, plays, prompt_of, slice_of


def test_a_prompt_is_named_where_a_third_of_the_answered_calls_end_together() -> None:
    assert prompt_of([12.0, 12.1, 12.0, 30.0, 5.0], 0.2) == 12.0
    assert prompt_of([12.0, 12.1], 0.2) is None  # too few
    # three together, but not a third of the answered calls
    assert (
        prompt_of([12.0, 12.1, 12.0, 3.0, 5.0, 7.0, 9.0, 20.0, 25.0, 40.0, 50.0, 60.0], 0.2) is None
    )


def test_calls_spread_about_a_known_prompt_still_show_it() -> None:
    spread = [13.8, 14.2, 13.9, 14.1, 40.0, 6.0]
    assert prompt_of(spread, 0.2) is None  # no three within 0.1 s of one another
    assert plays(spread, 14.0, 0.2)
    assert not plays(spread, 9.0, 0.2)
    assert not plays([13.9, 14.1, 30.0], 14.0, 0.2)  # two are not enough
    # three calls at 14 s, but more at 9 s: it plays another prompt
    assert not plays([9.0, 9.1, 9.0, 9.1, 14.0, 14.1, 13.9], 14.0, 0.2)


def test_the_slice_a_number_re_dials_and_how_regular_its_calls_are() -> None:
    act = NumberActivity(first_seen=0.0, callees={f"c{i}" for i in range(6)})
    act.callee_votes = {"C1": 3, "C2": 1}
    assert slice_of(act) == "C1"  # 3 of 6: half its callees
    act.callees.add("c6")
    assert slice_of(act) == ""  # 3 of 7
    assert gap_cv(act) == 1.0  # fewer than two gaps: no evidence
    act.gaps = deque([30.0, 30.0, 30.0], maxlen=16)
    act.gap_sum, act.gap_sumsq = 90.0, 2700.0
    assert gap_cv(act) == 0.0  # machine-regular


def test_a_citizens_own_number_keeps_a_small_record_until_it_bursts() -> None:
    from callradar.config import Config
    from callradar.protect import CallSetup, Engine, Knowledge

    k = Knowledge()
    k.known_legit = {"+8613911112222"}
    engine = Engine(k, config=Config({"protect.fast_path_calls": 3}, environ={}))
    for i in range(3):  # within the fast path: times and counters only
        v = engine.decide(CallSetup(f"c{i}", "+8613911112222", f"+861380000{i:04d}", "T", 60.0 * i))
        assert v.decision == "allow"
    act = engine.activity["+8613911112222"]
    assert act.light and act.recent == [0.0, 60.0, 120.0]
    assert act.gaps is None and act.recent_slices is None
    # a burst: the sequence statistics start
    engine.decide(CallSetup("c3", "+8613911112222", "+8613800009999", "T", 180.0))
    assert not act.light and act.gaps is not None and act.recent_slices is not None
    assert act.recent_slices.maxlen == engine.recent_slice_callees
    # INVITE times older than protect.burst_window_s leave the record
    engine.decide(CallSetup("c4", "+8613911112222", "+8613800009998", "T", 180.0 + 1e5))
    assert act.recent == [180.0 + 1e5]
