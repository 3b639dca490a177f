"""Behavioural features: hand-checked values, an independent recomputation, both engines."""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict

import pytest

from callradar.errors import NotReadyError, UnknownNameError
from callradar.features import FEATURES, MODEL_FEATURES, build_features, feature_steps, to_spark
from callradar.features.engines import DUCKDB_VIEWS, last_uses
from callradar.features.sql import OUTPUTS, VIEWS
from callradar.features.synth import generate_city
from callradar.store import Store

A, B, C, D, E = (
    "+862151000001",
    "+8613800000002",
    "+8613800000003",
    "+8613800000004",
    "+8613800000005",
)


def _add_calls(store: Store, rows: list[tuple]) -> None:
    """rows: (call_id, local start 'YYYY-MM-DD HH:MM:SS', caller, callee, trunk, ring, answered,
    talk, end_reason)."""
    for r in rows:
        store.sql(
            "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,"
            " answered, talk_seconds, end_reason) VALUES (?, CAST(? || '+08' AS TIMESTAMPTZ),"
            " CAST(? || '+08' AS TIMESTAMPTZ) + to_seconds(CAST(? + ? AS DOUBLE)),"
            " ?, ?, ?, ?, ?, ?, ?)",
            [r[0], r[1], r[1], r[5], r[7], r[2], r[3], r[4], r[5], r[6], r[7], r[8]],
        )
    store.sql(
        "INSERT INTO numbers (number, kind, block) SELECT number, CASE WHEN number LIKE '+8621%'"
        " THEN 'fixed_line' ELSE 'mobile' END, left(number, length(number) - 4) FROM (SELECT"
        " caller AS number FROM calls UNION SELECT callee FROM calls)"
    )


def _row(store: Store, table: str, key: str, value: str, win: str, start: str) -> dict:
    cur = store.sql(
        f"SELECT * FROM {table} WHERE {key} = ? AND win = ? "
        "AND win_start = CAST(? || '+08' AS TIMESTAMPTZ)",
        [value, win, start],
    )
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(cols, rows[0], strict=True))


@pytest.fixture
def tiny(store: Store) -> Store:
    store.config = store.config.replace(features__min_sequence_calls=1)
    _add_calls(
        store,
        [
            # day 1: C called A (earlier contact between A and C)
            ("c0", "2026-11-23 18:00:00", C, A, "T1", 5.0, True, 40.0, "callee_hangup"),
            # day 2: A sweeps B, C, D, E at 60 s gaps
            ("a1", "2026-11-24 10:00:00", A, B, "T9", 3.0, True, 12.5, "caller_hangup"),
            ("a2", "2026-11-24 10:01:00", A, C, "T9", 25.2, False, 0.0, "no_answer"),
            ("a3", "2026-11-24 10:02:00", A, D, "T9", 2.0, True, 13.1, "caller_hangup"),
            ("a4", "2026-11-24 10:03:00", A, E, "T9", 4.0, True, 3.0, "callee_hangup"),
            # B calls A back later that day; D also called on T9 by another number
            ("b1", "2026-11-24 12:00:00", B, A, "T1", 6.0, True, 30.0, "caller_hangup"),
            ("x1", "2026-11-24 13:00:00", "+862151000009", D, "T9", 25.0, False, 0.0, "no_answer"),
        ],
    )
    return store


def test_hand_checked_caller_features(tiny: Store) -> None:
    counts = build_features(tiny, windows=("hour", "day", "week"))
    assert counts["caller_features"] > 0
    r = _row(tiny, "caller_features", "number", A, "day", "2026-11-24 00:00:00")
    assert r["attempts"] == 4 and r["distinct_callees"] == 4
    assert r["answered_calls"] == 3 and r["answer_rate"] == pytest.approx(0.75)
    assert r["ascending_share"] == pytest.approx(1.0)  # B < C < D < E
    assert r["gap_mean"] == pytest.approx(60.0) and r["gap_cv"] == pytest.approx(0.0, abs=1e-9)
    # talk 12.5 and 13.1 share the 12-14 s bin; 3.0 is a short refusal by the callee
    assert r["modal_talk_seconds"] == pytest.approx(13.0)
    assert r["modal_talk_share"] == pytest.approx(2 / 3)
    assert r["short_refusal_share"] == pytest.approx(1 / 3)
    assert r["caller_hangup_share"] == pytest.approx(2 / 3)
    assert r["long_talk_share"] == pytest.approx(0.0)
    assert r["ring_unanswered_mean"] == pytest.approx(25.2)
    assert r["modal_ring_seconds"] == pytest.approx(25.0) and r["modal_ring_share"] == 1.0
    # B called back and C had called A the day before: 2 of 4 callees have called A;
    # only C was in contact before the window
    assert r["callback_share"] == pytest.approx(0.5)
    assert r["prior_contact_share"] == pytest.approx(0.25)
    # of A's (trunk, callee) pairs on T9 that day, only D was also called by another number
    assert r["callee_overlap_share"] == pytest.approx(0.25)
    assert r["active_days"] == 1 and r["age_days"] == pytest.approx(14 / 24, rel=1e-6)
    assert (r["kind"], r["kind_landline"], r["kind_mobile"], r["kind_virtual"]) == (
        "fixed_line",
        1,
        0,
        0,
    )
    # C: called A on day 1, nobody called it back before the end of day 1... except A on day 2
    c1 = _row(tiny, "caller_features", "number", C, "day", "2026-11-23 00:00:00")
    assert c1["callback_share"] == 0.0 and c1["prior_contact_share"] == 0.0
    cw = _row(tiny, "caller_features", "number", C, "week", "2026-11-23 00:00:00")
    assert cw["callback_share"] == 1.0  # A called C within the same week
    h = _row(tiny, "caller_features", "number", A, "hour", "2026-11-24 10:00:00")
    assert h["attempts"] == 4


def test_trunk_and_block_features(tiny: Store) -> None:
    build_features(tiny, windows=("day",))
    t = _row(tiny, "trunk_features", "trunk", "T9", "day", "2026-11-24 00:00:00")
    assert t["attempts"] == 5 and t["distinct_callers"] == 2 and t["distinct_callees"] == 4
    assert t["calls_per_caller"] == pytest.approx(2.5)
    assert t["new_caller_share"] == pytest.approx(1.0)  # both first seen that day
    b = _row(tiny, "block_features", "block", "+86215100", "day", "2026-11-24 00:00:00")
    assert b["distinct_callers"] == 2 and b["attempts"] == 5


def test_independent_recomputation_on_synthetic_city(store: Store) -> None:
    generate_city(store, 6000, days=2, seed=3)
    build_features(store, windows=("day",))
    calls = store.sql(
        "SELECT caller, callee, call_id, start_time, answered, "
        "strftime(start_time, '%Y-%m-%d') FROM calls ORDER BY start_time, call_id"
    ).fetchall()
    seq: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for caller, callee, _cid, ts, answered, day in calls:
        seq[(caller, day)].append((callee, ts, answered))
    got = {
        (n, d): (a, ans, asc)
        for n, d, a, ans, asc in store.sql(
            "SELECT number, strftime(win_start, '%Y-%m-%d'), attempts, answer_rate,"
            " ascending_share FROM caller_features WHERE win = 'day'"
        ).fetchall()
    }
    assert len(got) == len(seq)
    for key, items in seq.items():
        attempts, answer_rate, asc = got[key]
        assert attempts == len(items)
        assert answer_rate == pytest.approx(sum(i[2] for i in items) / len(items))
        pairs = list(itertools.pairwise(items))
        if len(items) >= store.config.get("features.min_sequence_calls"):
            expect = sum(1 for p, q in pairs if q[0] > p[0]) / len(pairs)
            assert asc == pytest.approx(expect)
        else:
            assert asc is None


def test_campaign_numbers_look_different(store: Store) -> None:
    generate_city(store, 20000, days=1, seed=1)
    build_features(store, windows=("day",))
    rows = store.sql(
        "SELECT t.is_campaign, avg(f.ascending_share), avg(f.gap_cv), avg(f.modal_ring_share),"
        " avg(f.callback_share) FROM caller_features f JOIN synth_truth t USING (number)"
        " WHERE f.attempts >= 10 GROUP BY 1"
    ).fetchall()
    stats = {r[0]: r[1:] for r in rows}
    camp, other = stats[True], stats[False]
    assert camp[0] > 0.95 and other[0] < 0.7  # sweeps
    assert camp[1] < 0.1 < other[1]  # machine-regular gaps
    assert camp[2] > 0.9 > other[2]  # fixed ring-abandon time


def test_since_recomputes_only_later_windows(tiny: Store) -> None:
    build_features(tiny, windows=("day",))
    before = dict(
        tiny.sql(
            "SELECT strftime(win_start, '%d'), max(computed_at) FROM caller_features GROUP BY 1"
        ).fetchall()
    )
    n = tiny.sql("SELECT count(*) FROM caller_features").fetchall()[0][0]
    counts = build_features(tiny, windows=("day",), since="2026-11-24T09:00:00+08:00")
    after = dict(
        tiny.sql(
            "SELECT strftime(win_start, '%d'), max(computed_at) FROM caller_features GROUP BY 1"
        ).fetchall()
    )
    assert tiny.sql("SELECT count(*) FROM caller_features").fetchall()[0][0] == n
    assert after["23"] == before["23"] and after["24"] > before["24"]
    day24 = tiny.sql(
        "SELECT count(*) FROM caller_features WHERE win_start >= '2026-11-24 00:00:00+08'"
    ).fetchall()[0][0]
    assert counts["caller_features"] == day24


def test_since_gives_the_values_of_a_full_recomputation(store: Store) -> None:
    # the windows from `since` on read the earlier history (first-seen age, active days,
    # reciprocity) from the calls, the later calls from the window's own table
    generate_city(store, 4000, days=3, seed=5)
    build_features(store, windows=("hour", "day", "week"))
    since = "2026-11-24 09:00:00+08"
    query = (
        "SELECT * EXCLUDE (computed_at) FROM {t} WHERE win_start >= "
        "date_trunc(CASE win WHEN 'hour' THEN 'hour' WHEN 'day' THEN 'day' ELSE 'week' END, "
        f"TIMESTAMPTZ '{since}') ORDER BY ALL"
    )
    tables = ("caller_features", "trunk_features", "block_features")
    full = {t: store.sql(query.format(t=t)).fetchall() for t in tables}
    build_features(store, windows=("hour", "day", "week"), since=since)
    for t in tables:
        again = store.sql(query.format(t=t)).fetchall()
        assert len(again) == len(full[t]) > 0, t
        for r_full, r_again in zip(full[t], again, strict=True):
            for u, v in zip(r_full, r_again, strict=True):
                if isinstance(u, float) and isinstance(v, float):
                    assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9), (t, r_full, r_again)
                else:
                    assert u == v, (t, r_full, r_again)


def test_errors(store: Store) -> None:
    with pytest.raises(NotReadyError):
        build_features(store, windows=("day",))
    with pytest.raises(UnknownNameError, match="did you mean 'spark'"):
        build_features(store, windows=("day",), engine="sprak")
    with pytest.raises(UnknownNameError, match="did you mean 'week'"):
        build_features(store, windows=("weak",))


def test_feature_list_and_spark_sql() -> None:
    assert set(MODEL_FEATURES) == set(FEATURES)
    assert all(len(d) > 10 for d in FEATURES.values())
    for win in ("hour", "day", "week"):
        for step in feature_steps(win, since="2026-11-24 00:00:00+0800"):
            spark_sql = to_spark(step.sql)
            assert "SELECT" in spark_sql.upper()
            assert "EPOCH" not in spark_sql.upper()


def _snapshot(store: Store) -> dict[str, tuple[list[str], list[tuple]]]:
    out = {}
    for table, key in (
        ("caller_features", "number"),
        ("trunk_features", "trunk"),
        ("block_features", "block"),
    ):
        cur = store.sql(
            f"SELECT * EXCLUDE (computed_at) FROM {table} ORDER BY win, {key}, win_start"
        )
        out[table] = ([d[0] for d in cur.description], cur.fetchall())
    return out


@pytest.mark.slow
def test_duckdb_and_spark_produce_the_same_tables(store: Store) -> None:
    generate_city(store, 3000, days=2, seed=7)
    store.config = store.config.replace(features__spark_partitions=1)
    build_features(store, windows=("hour", "day", "week"), engine="spark")
    spark = _snapshot(store)
    build_features(store, windows=("hour", "day", "week"), engine="duckdb")
    duck = _snapshot(store)
    for table, (cols, rows) in duck.items():
        s_cols, s_rows = spark[table]
        assert cols == s_cols
        assert len(rows) == len(s_rows) > 0, table
        for r_duck, r_spark in zip(rows, s_rows, strict=True):
            for col, u, v in zip(cols, r_duck, r_spark, strict=True):
                if isinstance(u, float) and isinstance(v, float):
                    assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9), (table, col, u, v)
                else:
                    assert u == v, (table, col, u, v)


def test_intermediates_are_freed_only_after_their_last_reader() -> None:
    # Spark keeps VIEWS as views; DuckDB the outputs too (their readers live until the
    # outputs are copied into the store, then everything is dropped)
    for views in (VIEWS, DUCKDB_VIEWS):
        for win in ("hour", "day", "week"):
            step_list = feature_steps(win)
            free = last_uses(step_list, views)
            dropped: set[str] = set()
            for i, step in enumerate(step_list):
                names_re = {s.name for s in step_list[:i]}
                read = {n for n in names_re if re.search(rf"\b{n}\b", step.sql)}
                assert not read & dropped, (win, step.name, read & dropped)
                dropped |= set(free.get(i, []))
            # every materialized intermediate no output view reads is freed before the
            # outputs are copied out
            out_reads = {
                s.name
                for o in step_list
                if o.name in OUTPUTS and o.name in views
                for s in step_list
                if re.search(rf"\b{s.name}\b", o.sql)
            }
            kept = {s.name for s in step_list} - dropped - set(OUTPUTS) - set(views)
            assert kept == (out_reads - set(views) if views is DUCKDB_VIEWS else set()), kept
