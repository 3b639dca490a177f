from __future__ import annotations

import time

import pytest

from callradar.campaigns import link_campaigns
from callradar.config import Config
from callradar.errors import ConfigError
from callradar.protect import CallSetup, Engine, Guard, Policy
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
