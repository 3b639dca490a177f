"""Campaigns the call path finds to be one during the day (protect.aliases and the
engine's slice re-dial rules)."""

from __future__ import annotations

import time

from callradar.config import Config
from callradar.protect import CallSetup, Engine
from callradar.protect.aliases import Aliases
from callradar.protect.engine import Knowledge

T = time.mktime((2024, 7, 4, 10, 0, 0, 0, 0, -1))
FARM = "+8615900001234"  # a SIM farm's mobile, never seen before
SLICE_1 = [f"+86138000{i:05d}" for i in range(10)]  # C1's citizens, in list order
SLICE_2 = [f"+86138000{i:05d}" for i in range(10, 20)]  # C2's, the next stretch
OTHERS = [f"+86139000{i:05d}" for i in range(20)]  # nobody's slice


def test_aliases_keep_the_id_reported_most_then_the_larger_then_the_older() -> None:
    al = Aliases(size={"C000001": 1, "C000002": 3, "C000003": 1})
    assert al.resolve("C000009") == "C000009" and al.members("C000009") == ["C000009"]
    assert al.merge("C000001", "C000002") == "C000002"  # more numbers
    assert al.merge("C000002", "C000001") == ""  # one already
    al.reported["C000003"] = 10
    assert al.merge("C000001", "C000003") == "C000003"  # reported most today
    assert {al.resolve(c) for c in ("C000001", "C000002", "C000003")} == {"C000003"}
    assert sorted(al.members("C000001")) == ["C000001", "C000002", "C000003"]
    tie = Aliases(size={"C000012": 2, "C000007": 2})
    assert tie.merge("C000012", "C000007") == "C000007"  # the older id


def _farm_world(config: Config | None = None, own: dict[str, str] | None = None) -> Engine:
    """C1 and C2: two campaigns of the batch linking, each one SIM-farm line, whose
    citizens are two consecutive stretches of one target list (one campaign, not yet
    joined: nobody re-dialled across them before)."""
    k = Knowledge()
    k.number_campaign = {"+8615800000001": "C1", "+8615800000002": "C2", **(own or {})}
    k.number_score = {n: 0.95 for n in k.number_campaign}
    k.campaign_score = {c: 0.95 for c in set(k.number_campaign.values())}
    k.campaign_prompt = {"C1": 14.0, "C2": 14.1, "C3": 9.0}
    for c, people in (("C1", SLICE_1), ("C2", SLICE_2)):
        for p in people:
            k.callee_campaigns[p] = (c,)
    engine = Engine(k, config=config or Config(environ={}), fast_path=False)
    numbers = [FARM, *k.number_campaign]
    engine.classify(numbers)
    for n in numbers:
        k.kind_of[n] = "mobile"
    return engine


def _dial(engine: Engine, caller: str, callees: list[str], t0: float = T) -> None:
    for i, callee in enumerate(callees):
        engine.decide(CallSetup(f"{caller}-{i}", caller, callee, "IC-CM-1", t0 + 30 * i))


def _reported(engine: Engine, number: str) -> str:
    call = CallSetup("probe", number, "+8613700000000", "IC-CM-1", T + 9e4)
    return engine.decide(call).campaign_id


def test_a_new_line_re_dialling_two_slices_back_to_back_joins_their_campaigns() -> None:
    engine = _farm_world()
    _dial(engine, FARM, SLICE_1[:6] + SLICE_2[:4])
    assert not engine.aliases  # four of the second slice: not yet a re-dial
    _dial(engine, FARM, SLICE_2[4:5], T + 1000)
    assert _reported(engine, "+8615800000001") == _reported(engine, "+8615800000002") == "C1"
    # C1 survives: the farm line's calls were reported as C1 (its first slice)
    assert [(m.kept, m.merged, m.number, m.callees) for m in engine.aliases.merges] == [
        ("C1", "C2", FARM, (6, 5))
    ]
    # a citizen who refuses one line of either refused the campaign: both ids
    engine.add_refusal(SLICE_1[0], "+8615800000001", T + 2000)
    assert {"C1", "C2"} <= engine.k.refused[SLICE_1[0]]


def test_a_refusal_before_the_join_covers_the_joined_campaign() -> None:
    engine = _farm_world()
    engine.add_refusal(OTHERS[0], "+8615800000002", T - 100)  # refused C2 this morning
    _dial(engine, FARM, SLICE_1[:5] + SLICE_2[:5])
    assert engine.k.refused[OTHERS[0]] == {"C1", "C2"}
    v = engine.decide(CallSetup("late", "+8615800000001", OTHERS[0], "IC-CM-1", T + 5000))
    assert v.decision == "block" and "refused" in v.reason


def test_slices_are_not_joined_when_switched_off_interleaved_apart_or_unlike() -> None:
    off = _farm_world(Config({"protect.merge_slices": False}, environ={}))
    _dial(off, FARM, SLICE_1[:6] + SLICE_2[:6])
    assert not off.aliases
    # another vendor crossing the same stretch: its own citizens between the re-dials
    mixed = _farm_world()
    crossing = [x for pair in zip(SLICE_2, OTHERS, strict=False) for x in pair]
    _dial(mixed, FARM, SLICE_1[:6] + crossing)
    assert not mixed.aliases
    # a break of more than protect.merge_max_gap new citizens between the two slices
    apart = _farm_world()
    _dial(apart, FARM, SLICE_1[:6] + OTHERS[:4] + SLICE_2[:6])
    assert not apart.aliases
    # prompts that clearly differ: two clients
    unlike = _farm_world()
    unlike.k.campaign_prompt["C2"] = 16.0
    _dial(unlike, FARM, SLICE_1[:6] + SLICE_2[:6])
    assert not unlike.aliases
    # a landline: a vendor's range carries all its clients, whose slices meet
    land = _farm_world()
    land.k.kind_of[FARM] = "fixed_line"
    _dial(land, FARM, SLICE_1[:6] + SLICE_2[:6])
    assert not land.aliases


def _carried_over(engine: Engine, line: str, talk: float | list[float | None], n: int = 6) -> None:
    """A line linked yesterday re-dials the first ``n`` citizens of C1's slice today, its
    calls answered and ending at ``talk`` (one length, or one per call; None: not
    answered)."""
    talks = talk if isinstance(talk, list) else [talk] * n
    for i, callee in enumerate(SLICE_1[:n]):
        t = T + 30 * i
        engine.decide(CallSetup(f"{line}-{i}", line, callee, "IC-CM-1", t))
        took = talks[i]
        engine.call_ended(line, callee, took is not None, took or 0.0, t + 20)


def test_a_line_carried_over_into_its_campaigns_slice_joins_it() -> None:
    engine = _farm_world(own={"+8615800000005": "C5"})
    assert _reported(engine, "+8615800000005") == "C5"
    _carried_over(engine, "+8615800000005", 14.0)
    # its campaign's only line: one campaign, under the id reported most today (C5)
    assert engine.aliases.resolve("C1") == engine.aliases.resolve("C5") == "C5"
    assert _reported(engine, "+8615800000005") == _reported(engine, "+8615800000001") == "C5"


TWO_AND_TWO = {"+8615800000005": "C5", "+8615800000006": "C5", "+8615800000003": "C1"}


def test_a_carried_over_line_moves_alone_when_both_campaigns_have_others() -> None:
    engine = _farm_world(own=TWO_AND_TWO)
    _carried_over(engine, "+8615800000005", 14.0)
    assert _reported(engine, "+8615800000005") == "C1"
    assert _reported(engine, "+8615800000006") == "C5"  # the batch link may be the error
    assert not engine.aliases
    # a landline's batch link is backed by its range's lines: it stays
    land = _farm_world(own=TWO_AND_TWO)
    land.k.kind_of["+8615800000005"] = "fixed_line"
    _carried_over(land, "+8615800000005", 14.0)
    assert _reported(land, "+8615800000005") == "C5"


def test_a_carried_over_line_with_another_prompt_stays_in_its_campaign() -> None:
    # a vendor's next client round re-dials the last client's citizens with its own prompt
    engine = _farm_world(own={"+8615800000005": "C5"})
    _carried_over(engine, "+8615800000005", 9.0)
    assert _reported(engine, "+8615800000005") == "C5" and not engine.aliases
    off = _farm_world(Config({"protect.merge_slices": False}, environ={}), {"+8615800000005": "C5"})
    _carried_over(off, "+8615800000005", 14.0)
    assert _reported(off, "+8615800000005") == "C5"


def test_a_line_re_dialling_a_lone_campaigns_slice_joins_the_two() -> None:
    # C1 is one line: the carried-over line of C5 re-dials the slice that line dialled
    engine = _farm_world(own={"+8615800000005": "C5", "+8615800000006": "C5"})
    _carried_over(engine, "+8615800000005", 14.0)
    assert engine.aliases.resolve("C1") == engine.aliases.resolve("C5") == "C5"
    assert _reported(engine, "+8615800000001") == _reported(engine, "+8615800000006") == "C5"


def test_a_line_whose_calls_spread_about_the_prompt_moves_to_its_slice() -> None:
    # no three of its answered calls within 0.1 s, but four within 0.2 s of C1's 14 s
    spread: list[float | None] = [13.8, 14.2, 13.9, 14.1, 40.0, 6.0]
    engine = _farm_world(own=TWO_AND_TWO)
    _carried_over(engine, "+8615800000005", spread)
    assert _reported(engine, "+8615800000005") == "C1"


def test_a_lone_line_nothing_was_heard_from_moves_only_on_a_long_re_dial() -> None:
    # its campaign's only line, no prompt of its own or its campaign's: twice
    # campaigns.callee_min_shared (5) of C1's citizens in list order before it joins
    engine = _farm_world(own={"+8615800000005": "C5"})
    _carried_over(engine, "+8615800000005", [None] * 9, n=9)
    assert not engine.aliases and _reported(engine, "+8615800000005") == "C5"
    engine.decide(CallSetup("tenth", "+8615800000005", SLICE_1[9], "IC-CM-1", T + 300))
    assert engine.aliases.resolve("C5") == engine.aliases.resolve("C1")
    # a line of a campaign with others (its range or farm may back its link) waits for
    # a prompt
    two = _farm_world(own={"+8615800000005": "C5", "+8615800000006": "C5"})
    two.k.number_campaign["+8615800000003"] = "C1"
    two.aliases.size["C1"] = 2
    _carried_over(two, "+8615800000005", [None] * 10, n=10)
    assert not two.aliases and _reported(two, "+8615800000005") == "C5"
