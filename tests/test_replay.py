from __future__ import annotations

import csv
import gc
from datetime import timedelta
from pathlib import Path

import pytest

from callradar.campaigns import link_campaigns
from callradar.protect import CallSetup, Engine, Verdict
from callradar.protect.replay import replay
from callradar.store import Store
from protect_world import A_NUMBERS, CITIZENS, DAY, LEGIT, build

NEXT = DAY + timedelta(days=1)
HEADER = [
    "call_id",
    "start_time",
    "caller",
    "callee",
    "trunk",
    "ring_seconds",
    "answered",
    "talk_seconds",
    "end_reason",
]


def _write_input(path: Path) -> list[str]:
    """Next day: three brand-new numbers of campaign A's block, ordinary calls, one bad row."""
    rows = []
    new_numbers = ["+862160001050", "+862160001051", "+862160001052"]
    for k, num in enumerate(new_numbers):
        for j in range(5):
            t = NEXT + timedelta(seconds=600 * k + 40 * j)
            answered = j % 2 == 0
            rows.append(
                [
                    f"n{k}-{j}",
                    t.isoformat(),
                    num,
                    CITIZENS[100 + 5 * k + j],
                    "TA",
                    8 if answered else 25,
                    "true" if answered else "false",
                    12 if answered else 0,
                    "caller_hangup" if answered else "no_answer",
                ]
            )
    for k, num in enumerate(LEGIT):
        t = NEXT + timedelta(seconds=300 + 13 * k)
        rows.append(
            [f"l{k}", t.isoformat(), num, CITIZENS[k], "TS", 5, "true", 90, "callee_hangup"]
        )
    rows.append(
        ["bad1", NEXT.isoformat(), "not-a-number", CITIZENS[0], "TS", 5, "true", 9, "caller_hangup"]
    )
    rows.sort(key=lambda r: r[1])
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return [r[0] for r in rows]


@pytest.fixture
def engine(store: Store) -> Engine:
    build(store)
    link_campaigns(store)
    return Engine.from_store(store)


def test_replay_writes_one_decision_per_input_row_in_order(engine: Engine, tmp_path: Path) -> None:
    order = _write_input(tmp_path / "day.csv")
    out = tmp_path / "decisions.csv"
    result = replay(engine, tmp_path / "day.csv", out)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["call_id"] for r in rows] == order
    assert list(rows[0]) == ["call_id", "decision", "score", "campaign_id", "reason"]
    by_id = {r["call_id"]: r for r in rows}
    assert by_id["bad1"]["decision"] == "allow" and "not accepted" in by_id["bad1"]["reason"]
    assert result.undecided == 1
    a_id = engine.k.number_campaign[A_NUMBERS[0]]
    new_calls = [r for r in rows if r["call_id"].startswith("n")]
    assert all(r["campaign_id"] == a_id for r in new_calls)
    # each new number of the known campaign is blocked from its first call
    firsts = [by_id[f"n{k}-0"] for k in range(3)]
    assert all(r["decision"] == "block" for r in firsts), firsts
    assert all(by_id[f"l{k}"]["decision"] == "allow" for k in range(len(LEGIT)))


def test_replay_never_sees_a_call_record_before_the_call_ends(
    engine: Engine, tmp_path: Path
) -> None:
    _write_input(tmp_path / "day.csv")
    seen: list[tuple[str, float]] = []

    class Spy(Engine):
        def call_ended(self, caller, callee, answered, talk_seconds, end_time):  # type: ignore[no-untyped-def]
            seen.append(("end", end_time))
            super().call_ended(caller, callee, answered, talk_seconds, end_time)

        def decide(self, call: CallSetup) -> Verdict:
            seen.append(("start", call.time))
            return super().decide(call)

    spy = Spy(engine.k, engine.scorer, engine.policy, engine.config)
    replay(spy, tmp_path / "day.csv", tmp_path / "d.csv")
    starts = [t for kind, t in seen if kind == "start"]
    assert starts == sorted(starts)
    latest_end = float("-inf")
    applied_before_last = 0
    for kind, t in seen:
        if kind == "end":
            latest_end = max(latest_end, t)
            applied_before_last += 1
        else:  # at a decision, only records of calls that already ended are known
            assert latest_end <= t
    assert applied_before_last > 0


def test_refusal_during_replay_blocks_the_campaign_for_that_citizen(
    engine: Engine, tmp_path: Path
) -> None:
    _write_input(tmp_path / "day.csv")
    engine.policy = type(engine.policy)(
        block_threshold=1.0, label_threshold=0.5, online_block_threshold=1.0
    )
    target = CITIZENS[101]  # called by new number 0, call n0-1
    ref = tmp_path / "refusals.csv"
    t = (NEXT + timedelta(seconds=10)).isoformat()
    ref.write_text(f"time,callee,caller,source\n{t},{target},{A_NUMBERS[3]},agent\n")
    out = tmp_path / "d.csv"
    replay(engine, tmp_path / "day.csv", out, refusals=ref)
    rows = {r["call_id"]: r for r in csv.DictReader(out.open())}
    assert rows["n0-1"]["decision"] == "block" and "refused" in rows["n0-1"]["reason"]
    assert rows["n0-2"]["decision"] == "label"


def test_replay_freezes_the_learned_state_while_deciding_and_thaws_it_after(
    engine: Engine, tmp_path: Path
) -> None:
    """The loop runs with the state out of the collector's reach (a third of its time
    otherwise), and gives it back afterwards, also when the loop is interrupted."""
    _write_input(tmp_path / "day.csv")
    frozen_during: list[int] = []
    replay(
        engine,
        tmp_path / "day.csv",
        tmp_path / "decisions.csv",
        progress=lambda i, n: frozen_during.append(gc.get_freeze_count()),
    )
    assert frozen_during[0] > 0  # at the first call (the last report comes after the loop)
    assert gc.get_freeze_count() == 0

    def interrupt(i: int, n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replay(engine, tmp_path / "day.csv", tmp_path / "again.csv", progress=interrupt)
    assert gc.get_freeze_count() == 0
