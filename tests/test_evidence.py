"""Dossiers: campaigns.json (contract section 7), per-campaign pages and CSVs, privacy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callradar.cli import app, main
from callradar.errors import BadRequestError, NotFoundError
from callradar.evidence import View, detail, summaries, who_called, write_report
from callradar.evidence.svg import bars, spans
from callradar.privacy import Pseudonymizer
from evidence_world import CIT, A, B, build

FIELDS = [
    "campaign_id",
    "numbers",
    "calls",
    "citizens_reached",
    "trunks",
    "first_seen",
    "last_seen",
    "refusals_ignored",
    "complaints",
    "businesses",
]


@pytest.fixture
def world(store):  # type: ignore[no-untyped-def]
    build(store)
    return store


def _view(store, reveal: bool) -> View:  # type: ignore[no-untyped-def]
    return View(store.con, store.config, Pseudonymizer.for_store(store), reveal)


def test_campaigns_json_matches_contract_and_hand_counts(world, tmp_path: Path) -> None:
    write_report(world, tmp_path / "r", role="regulator")
    got = json.loads((tmp_path / "r" / "campaigns.json").read_text(encoding="utf-8"))
    assert [c["campaign_id"] for c in got] == ["C000001", "C000002"]  # most harmful first
    a, b = got
    assert list(a) == FIELDS
    assert a["numbers"] == A
    assert (a["calls"], a["citizens_reached"], a["refusals_ignored"]) == (14, 9, 2)
    assert (b["calls"], b["citizens_reached"], b["refusals_ignored"]) == (5, 4, 0)
    assert a["trunks"] == ["TA"] and b["trunks"] == ["TB"]
    assert a["first_seen"] == "2024-07-01T10:00:00+08:00"
    assert a["last_seen"] == "2024-07-02T15:00:00+08:00"
    # K1, K2, K3 for C000001; K4's strongest link is C000002; K5 is unlinked
    assert (a["complaints"], b["complaints"]) == (3, 1)
    assert a["businesses"] == [
        {"name": "华康口腔", "complaints": 2},
        {"name": "美佳口腔", "complaints": 1},
    ]
    assert b["businesses"] == [{"name": "百合积分", "complaints": 1}]


def test_public_role_pseudonymizes_numbers_everywhere(world, tmp_path: Path) -> None:
    out = tmp_path / "pub"
    write_report(world, out)
    pseudo = Pseudonymizer.for_store(world)
    got = json.loads((out / "campaigns.json").read_text(encoding="utf-8"))
    assert got[0]["numbers"] == [pseudo(n) for n in A]
    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())
    for n in A + B + CIT[:24]:
        assert n not in everything and n[3:] not in everything
    assert "60001001" not in everything  # the number written in a complaint's text
    with (out / "C000001" / "refusals_ignored.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["callee"] for r in rows} == {pseudo(CIT[1])}


def test_regulator_sees_full_numbers_in_extracts(world, tmp_path: Path) -> None:
    out = tmp_path / "reg"
    write_report(world, out, role="regulator")
    folder = out / "C000001"
    with (folder / "refusals_ignored.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["callee"], r["caller"]) for r in rows] == [(CIT[1], A[1]), (CIT[1], A[2])]
    assert all(r["refused_number"] == A[0] for r in rows)
    with (folder / "numbers.csv").open(encoding="utf-8") as f:
        assert [r["number"] for r in csv.DictReader(f)] == A
    with (folder / "trunks.csv").open(encoding="utf-8") as f:
        (ta,) = list(csv.DictReader(f))
    # the trunk also carries a legitimate number: the dossier shows it is shared
    assert (ta["calls"], ta["trunk_calls_all"], ta["trunk_numbers_all"]) == ("14", "17", "4")
    with (folder / "volume_by_day.csv").open(encoding="utf-8") as f:
        assert [(r["day"], r["calls"]) for r in csv.DictReader(f)] == [
            ("2024-07-01", "10"),
            ("2024-07-02", "4"),
        ]
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and 'class="bar"' in html
    for authority in ("通信管理局", "市场监督管理局", "网信办"):
        assert authority in html
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="C000001/index.html"' in index


def test_detail_findings_carry_evidence(world) -> None:
    d = detail(_view(world, True), "C000001")
    assert d["reach"]["citizens_to_agent"] == 1 and d["reach"]["agent_calls"] == 1
    assert sum(r["calls"] for r in d["volume_by_hour"]) == 14 and len(d["volume_by_hour"]) == 24
    by = {f["authority"]: f for f in d["findings"] if f["authority"] != "market"}
    assert by["telecom"]["examples"][:2] == ["X0001", "X0002"]
    assert "X0001" in by["privacy"]["examples"]  # the 90 s call: a lead taken
    assert {"X0011", "X0014"} <= set(by["privacy"]["examples"])  # the ignored refusals
    assert "K3" in by["privacy"]["examples"]  # complaint stating an earlier refusal
    market = [f for f in d["findings"] if f["authority"] == "market"]
    assert market[0]["examples"] == ["K1", "K2"]
    with pytest.raises(NotFoundError):
        detail(_view(world, True), "C999999")


def test_who_called_finds_batch_and_live_links(world) -> None:
    v = _view(world, True)
    assert [r["campaign_id"] for r in who_called(v, A[2])] == ["C000001"]
    assert who_called(v, CIT[0]) == []
    world.sql("INSERT INTO serve_links (number, campaign_id) VALUES ('+862160001003', 'C000001')")
    (live,) = who_called(v, "+862160001003")
    assert (live["campaign_id"], live["linked_by"], live["campaign_calls"]) == (
        "C000001",
        "live (serve)",
        14,
    )


def test_min_link_weight_setting_drops_weak_links(tmp_path: Path) -> None:
    from callradar.config import Config
    from callradar.store import Store

    cfg = Config({"evidence.min_link_weight": 0.45}, environ={})
    with Store(tmp_path / "w.duckdb", cfg) as st:
        build(st)
        a = summaries(_view(st, True))[0]
    assert a["complaints"] == 2  # K2 (0.4) no longer counts
    assert a["businesses"] == [
        {"name": "华康口腔", "complaints": 1},
        {"name": "美佳口腔", "complaints": 1},
    ]


def test_empty_store_gives_empty_report(store, tmp_path: Path) -> None:
    index = write_report(store, tmp_path / "e")
    assert json.loads((tmp_path / "e" / "campaigns.json").read_text()) == []
    assert index.is_file()


def test_unknown_role_is_a_clear_error(world, tmp_path: Path) -> None:
    with pytest.raises(BadRequestError, match="unknown role"):
        write_report(world, tmp_path / "x", role="boss")


def test_svg_charts_scale_bars_to_values() -> None:
    chart = bars(["a", "b"], [10, 5], "t", [4, 0])
    assert chart.count('class="bar"') == 2 and 'data-value="10"' in chart
    rot = spans([("n1", "2024-07-01T10:00:00+08:00", "2024-07-01T12:00:00+08:00")], "r")
    assert rot.count('class="bar"') == 1 and "07-01 10:00" in rot


def test_cli_report(world, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "test.duckdb"
    world.close()
    res = CliRunner().invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "c" / "campaigns.json").read_text())[0]["calls"] == 14
    with pytest.raises(SystemExit) as exc:
        main(["report", "--db", str(db), "--out", str(tmp_path / "x"), "--role", "boss"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "callradar: unknown role 'boss' (roles: public, regulator)"
    )


@pytest.mark.slow
def test_report_on_a_simulated_city(tmp_path: Path) -> None:
    """Simulator -> ingest -> the learning path -> dossiers agree with the store."""
    from callradar.campaigns import link_campaigns
    from callradar.complaints import analyse_complaints, link_complaints
    from callradar.config import Config
    from callradar.detect import learn, score
    from callradar.features import build_features
    from callradar.ingest import ingest_files
    from callradar.simulate import simulate
    from callradar.store import Store

    sim = tmp_path / "sim"
    simulate("demo", sim, days=3, seed=1, subscribers=3000)
    files = [p for p in sorted(sim.glob("*.parquet")) if not p.name.startswith("truth")]
    with Store(tmp_path / "s.duckdb", Config(environ={})) as st:
        ingest_files(st, files)
        build_features(st)
        learn(st)
        for day in ("2024-07-01", "2024-07-02", "2024-07-03"):
            score(st, day=day)
        analyse_complaints(st)
        link_campaigns(st, st.config)
        link_complaints(st)
        out = write_report(st, tmp_path / "r", role="regulator").parent
        got = json.loads((out / "campaigns.json").read_text(encoding="utf-8"))
        assert got and all(list(c) == FIELDS for c in got)
        linked = st.sql(
            "SELECT count(*) FROM calls WHERE caller IN (SELECT number FROM campaign_numbers)"
        ).fetchone()
        complaints = st.sql("SELECT count(*) FROM complaint_campaign").fetchone()
    assert linked is not None and complaints is not None
    assert sum(c["calls"] for c in got) >= linked[0] > 0
    assert sum(c["complaints"] for c in got) == complaints[0]
    harm = [c["citizens_reached"] + 5 * c["refusals_ignored"] + 20 * c["complaints"] for c in got]
    assert harm == sorted(harm, reverse=True)
    for c in got:
        assert 0 < c["citizens_reached"] <= c["calls"]
        assert c["first_seen"] <= c["last_seen"]
        assert (out / c["campaign_id"] / "index.html").is_file()
        assert (out / c["campaign_id"] / "numbers.csv").read_text().count("\n") == len(
            c["numbers"]
        ) + 1
