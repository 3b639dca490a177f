from __future__ import annotations

import time

import numpy as np
import pytest

from callradar.campaigns import link_campaigns
from callradar.config import Config
from callradar.errors import ConfigError
from callradar.protect import CallSetup, Engine, Guard, Policy
from callradar.protect.policy import DECISIONS
from callradar.store import Store
from protect_world import A_NUMBERS, B_NUMBERS, BANK, CITIZENS, LEGIT, build

T = time.mktime((2024, 7, 2, 10, 0, 0, 0, 0, -1))


@pytest.fixture
def engine(store: Store) -> Engine:
    build(store)
    link_campaigns(store)
    return Engine.from_store(store)


def test_policy_thresholds_and_registry() -> None:
    p = Policy(block_threshold=0.9, label_threshold=0.5)
    assert [p.decide(s) for s in (0.1, 0.6, 0.95)] == ["allow", "label", "block"]
    assert p.decide(0.99, in_registry=True) == "label"
    assert p.decide(0.6, refused=True) == "block"
    assert p.decide(0.3, refused=True) == "allow"  # refused_threshold defaults to label
    p = Policy.from_config(Config(environ={}))
    assert p.refused_threshold == 0.3
    assert p.decide(0.35, refused=True) == "block" and p.decide(0.35) == "allow"
    assert p.decide(0.25, refused=True) == "allow"
    assert p.decide(0.35, refused=True, in_registry=True) == "allow"
    with pytest.raises(ConfigError):
        Policy.from_config(Config({"protect.label_threshold": 0.95}, environ={}))
    with pytest.raises(ConfigError):
        Policy.from_config(Config({"protect.refused_threshold": 0.7}, environ={}))


def test_vectorized_decisions_are_decide() -> None:
    p = Policy(block_threshold=0.9, label_threshold=0.5)
    scores = np.array([0.0, 0.1, 0.4999, 0.5, 0.6, 0.8999, 0.9, 0.95, 1.0, np.nan] * 2)
    registry = np.repeat([False, True], 10)
    got = [DECISIONS[i] for i in p.decide_many(scores, registry)]
    assert got == [
        p.decide(float(s), in_registry=bool(r)) for s, r in zip(scores, registry, strict=True)
    ]


def test_known_campaign_number_is_blocked_with_reason(engine: Engine) -> None:
    v = engine.decide(CallSetup("x1", A_NUMBERS[0], CITIZENS[5], "TA", T))
    assert v.decision == "block" and v.campaign_id.startswith("C")
    assert "campaign" in v.reason


def test_new_number_in_campaign_block_is_caught_at_first_call(engine: Engine) -> None:
    new = "+862160001077"  # same block as campaign A, never seen
    engine.k.block_of[new] = new[:-2]
    engine.k.kind_of[new] = "fixed_line"
    v = engine.decide(CallSetup("x2", new, CITIZENS[9], "TA", T))
    a = engine.k.number_campaign[A_NUMBERS[0]]
    assert v.campaign_id == a
    assert v.decision == "block", v


def test_ordinary_and_registry_numbers_are_not_blocked(engine: Engine) -> None:
    for num in LEGIT:
        assert engine.decide(CallSetup("l", num, CITIZENS[1], "TS", T)).decision == "allow"
    v = engine.decide(CallSetup("b", BANK, CITIZENS[2], "TS", T))
    assert v.decision != "block" and "registered" in v.reason


def test_refusal_of_one_number_covers_the_whole_campaign(engine: Engine) -> None:
    citizen = CITIZENS[42]
    # label-level evidence only: a number new to the engine on campaign B's trunk
    engine.policy = Policy(block_threshold=0.999, label_threshold=0.5)
    v0 = engine.decide(CallSetup("r0", B_NUMBERS[1], citizen, "TB", T))
    assert v0.decision == "label"
    engine.add_refusal(citizen, B_NUMBERS[0], T)
    v1 = engine.decide(CallSetup("r1", B_NUMBERS[2], citizen, "TB", T + 60))
    assert v1.decision == "block" and "refused" in v1.reason
    other = CITIZENS[43]
    assert engine.decide(CallSetup("r2", B_NUMBERS[2], other, "TB", T + 61)).decision == "label"


def test_guard_fails_open_on_error_and_deadline(engine: Engine) -> None:
    class Broken(Engine):
        def decide(self, call: CallSetup):  # type: ignore[no-untyped-def]
            raise RuntimeError("state corrupted")

    class Slow(Engine):
        def decide(self, call: CallSetup):  # type: ignore[no-untyped-def]
            time.sleep(0.02)
            return super().decide(call)

    call = CallSetup("f", A_NUMBERS[0], CITIZENS[0], "TA", T)
    g = Guard(Broken(engine.k), deadline_ms=50)
    v = g.decide(call)
    assert v.decision == "allow" and v.failed_open and g.failed_open["error"] == 1
    g = Guard(Slow(engine.k), deadline_ms=5)
    v = g.decide(call)
    assert v.decision == "allow" and v.failed_open and g.failed_open["deadline"] == 1
    assert Guard(engine, deadline_ms=50).decide(call).decision == "block"


def test_callee_memory_for_training_stops_before_the_window(store: Store) -> None:
    from callradar.protect.state import callee_campaigns

    build(store)
    link_campaigns(store)
    a = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())[A_NUMBERS[0]]
    live = callee_campaigns(store, 4)
    assert a in live[CITIZENS[0]]  # A's first number dialled it
    # a training window of the last day: what the call path knew at its start holds none
    # of that day's calls (a number's own calls must not vouch for it)
    assert callee_campaigns(store, 4, before_days=1) == {}


def test_a_new_number_redialling_a_campaigns_citizens_is_told_by_its_callees(
    engine: Engine,
) -> None:
    from callradar.protect.online import ONLINE_FEATURES

    new = "+8617099990000"  # no block or range evidence: a virtual line never seen
    engine.k.block_of[new] = new[:-4]
    engine.k.kind_of[new] = "virtual"
    a = engine.k.number_campaign[A_NUMBERS[0]]
    first = [c for c in CITIZENS if a in engine.k.callee_campaigns.get(c, ())][:4]
    assert len(first) == 4
    act = None
    for i, callee in enumerate(first):
        call = CallSetup(f"r{i}", new, callee, "TA", T + 60 * i)
        engine.decide(call)
        act = engine.activity[new]
    assert act is not None
    share = engine.features(call, act)[ONLINE_FEATURES.index("callee_redial_share")]
    assert share == pytest.approx(3 / 4)
    assert engine.assign(call, act)[0] == a


class _FixedScorer:
    """The call-setup scorer's place in the engine, answering one fixed score: these tests
    are about what the engine does with a score, not about the model that makes it."""

    def __init__(self, score: float) -> None:
        self.score = score

    def predict_proba_one(self, x: list[float]) -> float:
        return self.score


def _vendor_world(score: float, config: Config | None = None) -> Engine:
    from callradar.protect.engine import Knowledge
    from callradar.protect.state import vendor_groups

    k = Knowledge()
    # vendor V: campaigns C1 and C2 share range +86216000100 (two clients, one dialer);
    # campaign C3 is another vendor's
    members = {"+862160001001": "C1", "+862160001002": "C2", "+862170002001": "C3"}
    k.number_campaign = dict(members)
    k.number_score = {n: 0.6 for n in members}
    k.campaign_score = {"C1": 0.6, "C2": 0.6, "C3": 0.6}
    for num in members:
        k.kind_of[num], k.block_of[num] = "fixed_line", num[:-2]
    k.vendor_of = vendor_groups([("C1", "+862160001"), ("C2", "+862160001"), ("C3", "+862170002")])
    engine = Engine(k, config=config or Config(environ={}), fast_path=False)
    engine.scorer = _FixedScorer(score)  # type: ignore[assignment]
    return engine


def test_vendor_groups_join_campaigns_sharing_a_range_and_leave_loners_out() -> None:
    from callradar.protect.state import vendor_groups

    groups = vendor_groups([("C1", "r1"), ("C2", "r1"), ("C2", "r2"), ("C4", "r2"), ("C3", "r3")])
    assert groups == {"C1": "C1", "C2": "C1", "C4": "C1"}


def test_a_refusal_covers_the_refused_campaigns_vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _vendor_world(0.4)
    citizen, other = "+8613800000001", "+8613800000002"
    engine.add_refusal(citizen, "+862160001001", T)  # refused C1
    v = engine.decide(CallSetup("v1", "+862160001002", citizen, "T", T + 60))  # C2
    assert v.decision == "block" and "same vendor" in v.reason, v
    # another vendor's campaign, the same score: the refusal says nothing about it
    v = engine.decide(CallSetup("v2", "+862170002001", citizen, "T", T + 61))
    assert v.decision == "label", v
    # and C2 still only labels at a citizen who refused nothing
    assert engine.decide(CallSetup("v3", "+862160001002", other, "T", T + 62)).decision == "label"


def test_a_fresh_suspect_number_is_blocked_at_a_citizen_who_refused_a_campaign() -> None:
    engine = _vendor_world(0.4)
    citizen, other = "+8613800000001", "+8613800000002"
    engine.add_refusal(citizen, "+862170002001", T)  # refused C3
    fresh = "+8616500001234"
    engine.classify([fresh])
    v = engine.decide(CallSetup("n1", fresh, citizen, "T", T + 60))
    assert v.decision == "block" and "refused" in v.reason, v
    assert engine.decide(CallSetup("n2", fresh, other, "T", T + 61)).decision == "allow"
    # a number with a history of its own is judged on it, not on its newness
    engine.k.number_score["+8616500009999"] = 0.1
    engine.classify(["+8616500009999"])
    v = engine.decide(CallSetup("n3", "+8616500009999", citizen, "T", T + 62))
    assert v.decision != "block", v
    # below the refusal bar, newness alone blocks nothing
    engine.scorer = _FixedScorer(0.2)  # type: ignore[assignment]
    assert engine.decide(CallSetup("n4", "+8616500004321", citizen, "T", T + 63)).decision == (
        "allow"
    )


def test_the_call_setup_score_has_its_own_block_threshold() -> None:
    default = Policy.from_config(Config(environ={}))
    assert default.online_block_threshold == 0.9 and default.block_threshold == 0.9
    assert default.decide(0.85, online=True) == "label"
    cfg = Config({"protect.online_block_threshold": 0.7}, environ={})
    p = Policy.from_config(cfg)
    assert p.decide(0.75, online=True) == "block" and p.decide(0.75) == "label"
    assert p.decide(0.65, online=True) == "label"
    assert p.decide(0.95, online=True, in_registry=True) == "label"
    with pytest.raises(ConfigError):
        Policy.from_config(Config({"protect.online_block_threshold": 0.4}, environ={}))
    engine = _vendor_world(0.75, cfg)
    fresh = "+8616500001234"
    engine.classify([fresh])
    assert engine.decide(CallSetup("o1", fresh, "+8613800000003", "T", T)).decision == "block"
    # a campaign member's score is the day-level one, held to the day-level threshold
    v = engine.decide(CallSetup("o2", "+862160001001", "+8613800000003", "T", T))
    assert v.decision == "label", v


def test_quiet_numbers_of_a_vendor_range_are_not_taught_as_honest(store: Store) -> None:
    from datetime import timedelta

    from callradar.protect.train import training_rows
    from protect_world import DAY

    build(store)
    quiet = ["+862160001010", "+862160001011"]  # campaign A's range, a few calls each
    rows = [
        (
            f"q{i}{j}",
            DAY + timedelta(minutes=5 * j),
            DAY + timedelta(minutes=5 * j, seconds=30),
            num,
            CITIZENS[100 + 5 * i + j],
            "TA",
            25.0,
            False,
            0.0,
            "no_answer",
        )
        for i, num in enumerate(quiet)
        for j in range(5)
    ]
    store.con.executemany(
        "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,"
        " answered, talk_seconds, end_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    store.con.executemany(
        "INSERT INTO numbers (number, kind, carrier, area, block) VALUES (?, 'fixed_line', '', "
        "'Shanghai', ?)",
        [(q, q[:-2]) for q in quiet],
    )
    store.con.executemany(
        "INSERT INTO number_scores (number, day, score, reasons, model) "
        "VALUES (?, DATE '2024-07-01', 0.02, 'few calls', 'test')",
        [(q,) for q in quiet],
    )
    link_campaigns(store)
    _, y_on = training_rows(store, Config(environ={}))
    off = Config({"protect.train_vendor_range_numbers": 10**6}, environ={})
    _, y_off = training_rows(store, off)
    # the same rows but the quiet numbers' ten calls, which were negatives
    assert len(y_off) - len(y_on) == 10
    assert int(y_off.sum()) == int(y_on.sum())
    # the honest mobiles stay negatives either way
    assert int((y_on == 0).sum()) > 0


def test_a_number_redialling_a_refused_campaigns_slice_is_held_to_the_refusal() -> None:
    engine = _vendor_world(0.4)
    slice_ = [f"+86138000001{i:02d}" for i in range(8)]  # citizens C1 dialled before
    for c in slice_:
        engine.k.callee_campaigns[c] = ("C1",)
    refuser = slice_[-1]
    engine.add_refusal(refuser, "+862160001001", T)  # refused C1
    caller = "+862170002001"  # C3: another vendor's range, linking never joined them
    # its first calls: too few of C1's citizens to say whose slice it dials
    for i, c in enumerate(slice_[:3]):
        engine.decide(CallSetup(f"s{i}", caller, c, "T", T + i))
    v = engine.decide(CallSetup("s-early", caller, refuser, "T", T + 10))
    assert v.decision == "label", v
    # calling the same citizen again is no new evidence
    for i in range(3):
        engine.decide(CallSetup(f"again{i}", caller, slice_[0], "T", T + 20 + i))
    assert engine.decide(CallSetup("s-again", caller, refuser, "T", T + 30)).decision == "label"
    for i, c in enumerate(slice_[3:6]):
        engine.decide(CallSetup(f"t{i}", caller, c, "T", T + 40 + i))
    v = engine.decide(CallSetup("s-late", caller, refuser, "T", T + 50))
    assert v.decision == "block" and "C1 (its slice)" in v.reason, v


def test_a_new_number_is_named_only_once_its_callees_clearly_point_at_one_client() -> None:
    engine = _vendor_world(0.6)
    engine.k.range_campaigns["+862160001"] = {"C1": 1, "C2": 1}
    engine.k.range_seen["+862160001"] = 2
    a = [f"+86138000002{i:02d}" for i in range(4)]  # C1's slice
    b = [f"+86138000003{i:02d}" for i in range(4)]  # C2's slice
    for c in a:
        engine.k.callee_campaigns[c] = ("C1",)
    for c in b:
        engine.k.callee_campaigns[c] = ("C2",)
    new = "+862160001050"  # the vendor's range, never seen
    engine.classify([new])
    verdicts = [
        engine.decide(CallSetup(f"c{i}", new, callee, "T", T + i))
        for i, callee in enumerate([a[0], b[0], a[1], b[1]])
    ]
    # one citizen of a slice says nothing; two against one lead; two of each are a tie
    assert [v.campaign_id for v in verdicts] == ["", "", "C1", ""], verdicts
    v = engine.decide(CallSetup("c4", new, a[2], "T", T + 4))
    assert v.campaign_id == "", v  # 3 against 2 is no clear lead
    v = engine.decide(CallSetup("c5", new, a[3], "T", T + 5))
    assert v.campaign_id == "C1" and "callees were dialled by C1" in v.reason, v


def test_one_call_at_the_prompt_of_the_slice_it_re_dials_keeps_the_number_named() -> None:
    engine = _vendor_world(0.6)
    engine.k.range_campaigns["+862160001"] = {"C1": 1, "C2": 1}
    engine.k.range_seen["+862160001"] = 2
    engine.k.campaign_prompt.update({"C1": 12.0, "C2": 15.0})
    a = [f"+86138000002{i:02d}" for i in range(6)]  # C1's slice
    for c in a:
        engine.k.callee_campaigns[c] = ("C1",)
    new = "+862160001050"  # the vendor's range, never seen
    engine.classify([new])
    for i, callee in enumerate(a[:4]):
        v = engine.decide(CallSetup(f"c{i}", new, callee, "T", T + i))
    assert v.campaign_id == "C1", v
    # one answered call at C1's prompt: it agrees with the slice, and the id stays
    engine.call_ended(new, a[0], True, 12.0, T + 30)
    v = engine.decide(CallSetup("c4", new, a[4], "T", T + 40))
    assert v.campaign_id == "C1" and "12.0 s, C1's prompt" in v.reason, v
    # another new line whose one answered call ended at C2's prompt: the call and the
    # slice disagree, and no id is reported yet
    other = "+862160001051"
    engine.classify([other])
    for i, callee in enumerate(a[:4]):
        engine.decide(CallSetup(f"d{i}", other, callee, "T", T + 60 + i))
    engine.call_ended(other, a[0], True, 15.0, T + 70)
    v = engine.decide(CallSetup("d4", other, a[5], "T", T + 80))
    assert v.campaign_id == "" and "most likely C2" in v.reason, v


def test_a_sweep_moving_into_a_refused_campaigns_part_of_the_list_is_held_to_it() -> None:
    engine = _vendor_world(0.4)
    c2_part = [f"+86138000004{i:02d}" for i in range(16)]  # citizens C2 dialled before
    c1_part = [f"+86138000005{i:02d}" for i in range(6)]  # ... and C1
    for c in c2_part:
        engine.k.callee_campaigns[c] = ("C2",)
    for c in c1_part:
        engine.k.callee_campaigns[c] = ("C1",)
    refuser = c1_part[-1]
    engine.add_refusal(refuser, "+862160001001", T)  # refused C1
    caller = "+862170002001"  # C3: linking never joined it to C1
    calls = [*c2_part, *c1_part[:3]]
    for i, c in enumerate(calls):
        engine.decide(CallSetup(f"w{i}", caller, c, "T", T + i))
    # with the refuser, 4 of its last 10 citizens are C1's, 4 of 20 in all: not yet
    assert engine.decide(CallSetup("w-early", caller, refuser, "T", T + 30)).decision == "label"
    engine.decide(CallSetup("w4", caller, c1_part[3], "T", T + 31))
    # 5 of the last 10: its sweep is in C1's part of the list now
    v = engine.decide(CallSetup("w-late", caller, refuser, "T", T + 32))
    assert v.decision == "block" and "C1 (its slice)" in v.reason, v


def test_a_new_number_between_two_of_todays_campaign_numbers_is_that_campaign() -> None:
    """A dialer takes a client's lines from its range in a run: a new number whose
    neighbours just below and above were decided as one campaign's today is that one."""
    engine = _vendor_world(0.95)
    first, third, inside, far = (f"+8621600010{i:02d}" for i in (10, 12, 11, 30))
    engine.classify([first, third, inside, far])
    for i, num in enumerate((first, third)):
        engine._learn_member(CallSetup(f"r{i}", num, "+8613800000003", "T", T), "C2")
    act = engine._observe(CallSetup("r2", inside, "+8613800000004", "T", T + 5))
    campaign, confident, why = engine.assign(CallSetup("r2", inside, "+8613800000004", "T", T), act)
    assert (campaign, confident) == ("C2", True) and "next to it" in why[-1]
    act = engine._observe(CallSetup("r3", far, "+8613800000005", "T", T + 6))
    campaign, confident, why = engine.assign(CallSetup("r3", far, "+8613800000005", "T", T), act)
    assert not any("next to it" in w for w in why)


def test_a_prompt_length_shared_on_a_resellers_trunk_names_no_campaign() -> None:
    """Among a vendor's clients (its range's campaigns) one prompt length tells them
    apart; among the dozens of campaigns a reseller's trunk carries, a match of length is
    often chance: it is only the best guess (for refusal memory), not a reported id."""
    engine = _vendor_world(0.95)
    engine.k.campaign_prompt.update({"C1": 12.0, "C2": 15.0, "C3": 18.0})
    engine.k.trunk_campaigns["TM"] = {"C1": 3, "C2": 2, "C3": 4}
    engine.k.range_campaigns["+862160001"] = {"C1": 1, "C2": 1}
    engine.k.range_seen["+862160001"] = 2
    mobile, landline = "+8615900001234", "+862160001077"  # a SIM farm's, the vendor's range
    engine.k.kind_of[mobile], engine.k.block_of[mobile] = "mobile", mobile[:-4]
    engine.classify([mobile, landline])
    found = {}
    for num in (mobile, landline):
        call = CallSetup(f"p-{num}", num, "+8613800000009", "TM", T)
        act = engine._observe(call)
        for talk in (15.0, 15.1, 15.0):
            engine.call_ended(num, "+8613800000009", True, talk, T + 20)
        found[num] = engine.assign(call, act)
    assert found[mobile][:2] == ("C2", False), found[mobile]
    assert found[landline][:2] == ("C2", True), found[landline]


def test_a_sim_farm_line_with_a_farm_prompt_is_a_best_guess_not_a_new_campaign() -> None:
    """A SIM farm's lines come in on every operator's trunk: a new farm mobile whose prompt
    no campaign on its trunk plays, but a farm campaign does, is most likely that one (a
    best guess, not reported), not a campaign never heard before."""
    found = {}
    for farm_kind in ("mobile", "fixed_line"):
        engine = _vendor_world(0.95)
        engine.k.campaign_prompt.update({"C1": 12.0, "C2": 15.0, "C3": 18.0})
        engine.k.trunk_campaigns["TX"] = {"C3": 4}
        engine.k.number_campaign["+8615800000001"] = "C2"  # C2's line on another trunk
        engine.k.kind_of["+8615800000001"] = farm_kind
        new = "+8615900001234"
        engine.classify([new])
        engine.k.kind_of[new] = "mobile"
        call = CallSetup("f1", new, "+8613800000009", "TX", T)
        act = engine._observe(call)
        for talk in (15.0, 15.1, 15.0):
            engine.call_ended(new, "+8613800000009", True, talk, T + 20)
        found[farm_kind] = engine.assign(call, act)
    assert found["mobile"][:2] == ("C2", False), found["mobile"]
    assert (
        found["fixed_line"][0].startswith("N-") and "not heard before" in found["fixed_line"][2][-1]
    )
