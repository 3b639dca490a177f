"""Stored complaints: facts, links to campaigns (number, calls, business), listing, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callradar.cli import app
from callradar.complaints import analyse_complaints, link_complaints, list_complaints
from callradar.config import Config
from callradar.errors import NotReadyError
from callradar.store import Store

CITIZEN_A = "+8613900000001"
CITIZEN_B = "+8613900000002"
CITIZEN_C = "+8613900000003"
CITIZEN_D = "+8613900000004"
C1_NUMS = ["+862152345678", "+862152345679"]
C2_NUMS = ["+8617012345678"]
OTHER = "+862160000000"

COMPLAINTS = [
    # names a C1 number in the text
    (
        "k1",
        "2024-07-23T12:00:00+08:00",
        CITIZEN_A,
        [],
        "美华口腔用021-5234-5678打来推销种植牙，我说了不需要",
    ),
    # reports a C2 number in reported_numbers, names a loans firm
    ("k2", "2024-07-23T13:00:00+08:00", CITIZEN_B, [C2_NUMS[0]], "恒信贷款公司天天打，机器人"),
    # no number: linked through the complainant's calls (C1 answered, C2 unanswered)
    ("k3", "2024-07-23T14:00:00+08:00", CITIZEN_C, [], "美华齿科推销种植牙，拉黑也没用"),
    # no number and no calls: only the business links it
    ("k4", "2024-07-23T15:00:00+08:00", CITIZEN_D, [], "上海美华口腔门诊部又来电话"),
]
CALLS = [
    # call_id, start, caller, callee, answered
    ("a1", "2024-07-23T10:00:00+08:00", C1_NUMS[1], CITIZEN_C, True),
    ("a2", "2024-07-23T11:00:00+08:00", C2_NUMS[0], CITIZEN_C, False),
    ("a3", "2024-07-19T11:00:00+08:00", C2_NUMS[0], CITIZEN_D, True),  # too early (> 72 h)
    ("a4", "2024-07-23T16:00:00+08:00", C1_NUMS[0], CITIZEN_D, True),  # after the complaint
    ("a5", "2024-07-23T11:30:00+08:00", OTHER, CITIZEN_A, True),  # not a campaign number
]


def _fill(store: Store, campaigns: bool = True) -> None:
    for cid, t, who, reported, text in COMPLAINTS:
        store.sql(
            "INSERT INTO complaints (complaint_id, received_time, complainant, reported_numbers,"
            " text, channel) VALUES (?, ?::TIMESTAMPTZ, ?, ?, ?, '12345')",
            [cid, t, who, reported, text],
        )
    for call_id, t, caller, callee, answered in CALLS:
        store.sql(
            "INSERT INTO calls (call_id, start_time, end_time, caller, callee, ring_seconds,"
            " answered, talk_seconds, end_reason) VALUES (?, ?::TIMESTAMPTZ,"
            " ?::TIMESTAMPTZ + INTERVAL 30 SECOND, ?, ?, 5, ?, 25, 'caller_hangup')",
            [call_id, t, t, caller, callee, answered],
        )
    if campaigns:
        for camp, nums in (("C000001", C1_NUMS), ("C000002", C2_NUMS)):
            store.sql("INSERT INTO campaigns (campaign_id) VALUES (?)", [camp])
            for n in nums:
                store.sql(
                    "INSERT INTO campaign_numbers (campaign_id, number) VALUES (?, ?)", [camp, n]
                )


def _links(store: Store) -> set[tuple[str, str, str, float]]:
    rows = store.sql(
        "SELECT complaint_id, campaign_id, via, weight FROM complaint_links"
    ).fetchall()
    return {(a, b, c, round(d, 3)) for a, b, c, d in rows}


def test_analyse_fills_facts_once(store: Store) -> None:
    _fill(store)
    assert analyse_complaints(store) == 4
    assert analyse_complaints(store) == 0
    row = store.sql(
        "SELECT numbers, business_keys, category, refused_before, ai_voice "
        "FROM complaint_facts WHERE complaint_id = 'k1'"
    ).fetchone()
    assert row == (["+862152345678"], ["美华/medical"], "dental_implants", True, False)
    assert analyse_complaints(store, reanalyse=True) == 4


def test_link_by_number_calls_and_business(tmp_path: Path) -> None:
    cfg = Config({"complaints.business_min_complaints": 1}, environ={})
    with Store(tmp_path / "t.duckdb", cfg) as store:
        _fill(store)
        n = link_complaints(store)
        links = _links(store)
        assert n == len(links)
        assert ("k1", "C000001", "number", 1.0) in links
        assert ("k2", "C000002", "number", 1.0) in links
        # k3: answered call from C1 wins over the unanswered one from C2
        assert ("k3", "C000001", "calls", 0.8) in links
        assert not any(c == "k3" and camp == "C000002" for c, camp, _, _ in links)
        # k4: its calls are outside the window; the business 美华/medical is named by k1
        # and k3, both linked to C1
        assert ("k4", "C000001", "business", 0.5) in links
        assert {c for c, *_ in links} == {"k1", "k2", "k3", "k4"}
        best = dict(
            store.sql("SELECT complaint_id, campaign_id FROM complaint_campaign").fetchall()
        )
        assert best == {"k1": "C000001", "k2": "C000002", "k3": "C000001", "k4": "C000001"}
        # recomputing gives the same links
        assert link_complaints(store) == n and _links(store) == links


def test_business_links_need_support(store: Store) -> None:
    store.sql("DELETE FROM complaints")
    _fill(store)
    store.sql("DELETE FROM complaints WHERE complaint_id = 'k3'")  # k1 alone names 美华
    link_complaints(store)
    assert not any(c == "k4" for c, *_ in _links(store))  # default needs 2 complaints


def test_window_setting_is_used(tmp_path: Path) -> None:
    cfg = Config({"complaints.link_window_hours": 200.0}, environ={})
    with Store(tmp_path / "t.duckdb", cfg) as store:
        _fill(store)
        link_complaints(store)
        assert any(c == "k4" and v == "calls" for c, _, v, _ in _links(store))


def test_link_needs_campaigns(store: Store) -> None:
    _fill(store, campaigns=False)
    with pytest.raises(NotReadyError):
        link_complaints(store)


def test_list_pseudonymizes_complainants(store: Store) -> None:
    _fill(store)
    link_complaints(store)
    rows = list_complaints(store)
    assert [r["complaint_id"] for r in rows] == ["k4", "k3", "k2", "k1"]
    assert all(r["complainant"].startswith("p:") for r in rows)
    k1 = rows[-1]
    assert k1["campaign_id"] == "C000001" and k1["businesses"] == ["美华口腔"]
    full = list_complaints(store, pseudonymize=False, limit=1)
    assert len(full) == 1 and full[0]["complainant"] == CITIZEN_D


def test_cli_complaints_json(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    with Store(db, Config(environ={})) as store:
        _fill(store)
    result = CliRunner().invoke(app, ["complaints", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {d["complaint_id"] for d in data} == {"k1", "k2", "k3", "k4"}
    by_id = {d["complaint_id"]: d for d in data}
    assert by_id["k2"]["category"] == "loans" and by_id["k2"]["ai_voice"] is True
    assert by_id["k2"]["campaign_id"] == "C000002"
    assert CITIZEN_A not in result.stdout
    table = CliRunner().invoke(app, ["complaints", "--db", str(db)])
    assert table.exit_code == 0 and "k3" in table.stdout


def test_second_pass_uses_stems_named_elsewhere(store: Store) -> None:
    _fill(store)
    store.sql(
        "INSERT INTO complaints (complaint_id, received_time, complainant, reported_numbers, text)"
        " VALUES ('k5', '2024-07-23T16:00:00+08:00'::TIMESTAMPTZ, ?, [], '说是美华的，推销种牙')",
        [CITIZEN_A],
    )
    analyse_complaints(store)
    row = store.sql(
        "SELECT business_keys FROM complaint_facts WHERE complaint_id = 'k5'"
    ).fetchone()
    assert row == (["美华/medical"],)  # k1, k3 and k4 name 美华 with a suffix


def test_pipeline_stages(store: Store, config: Config) -> None:
    from callradar.pipeline import run

    _fill(store, campaigns=False)
    runs = {r.name: r.summary for r in run(store, ["complaints", "complaint_links"], config)}
    assert runs["complaints"] == {"analysed": 4}
    assert runs["complaint_links"]["links"] == 0  # no campaigns yet: no links, no error
    for camp, nums in (("C000001", C1_NUMS), ("C000002", C2_NUMS)):
        store.sql("INSERT INTO campaigns (campaign_id) VALUES (?)", [camp])
        for n in nums:
            store.sql("INSERT INTO campaign_numbers (campaign_id, number) VALUES (?, ?)", [camp, n])
    summary = run(store, ["complaint_links"], config)[0].summary
    assert summary["complaints_linked"] == 4  # k4 through k1 and k3 (two naming 美华)


def test_recent_answered_call_weighs_more(store: Store) -> None:
    _fill(store)
    who = "+8613900000009"
    store.sql(
        "INSERT INTO complaints (complaint_id, received_time, complainant, reported_numbers, text)"
        " VALUES ('k6', '2024-07-24T12:00:00+08:00'::TIMESTAMPTZ, ?, [], '又是推销电话')",
        [who],
    )
    for call_id, t, caller in (
        ("b1", "2024-07-24T02:00:00+08:00", C1_NUMS[0]),  # 10 h before
        ("b2", "2024-07-24T11:00:00+08:00", C2_NUMS[0]),  # 1 h before
    ):
        store.sql(
            "INSERT INTO calls (call_id, start_time, end_time, caller, callee, ring_seconds,"
            " answered, talk_seconds, end_reason) VALUES (?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ,"
            " ?, ?, 5, true, 20, 'caller_hangup')",
            [call_id, t, t, caller, who],
        )
    link_complaints(store)
    w = {c: x for k, c, v, x in _links(store) if k == "k6" and v == "calls"}
    assert set(w) == {"C000001", "C000002"}
    assert w["C000002"] > w["C000001"] and abs(sum(w.values()) - 0.8) < 1e-3


def test_known_from_store(store: Store) -> None:
    from callradar.complaints import extract, known_from_store

    _fill(store)
    analyse_complaints(store)
    known = known_from_store(store)
    assert known["美华"][0] == "美华/medical"
    assert extract("是美华打来的", known=known).business_keys == ("美华/medical",)
