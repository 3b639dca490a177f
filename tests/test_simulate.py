"""The city simulator: contract of its outputs, determinism, scenarios and realism checks.

The realism checks run on small generated cities. City-scale per-vendor volume
is checked as per-subscriber volume measured in generated data times 25M (the
simulator draws vendor volume per subscriber, so it scales linearly), plus the
scenario arithmetic of the ``shanghai`` scenario.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from callradar.cli import app
from callradar.errors import BadRequestError, UnknownNameError
from callradar.simulate import builtin_names, describe, load_scenario, simulate
from callradar.simulate import numbers as nb
from callradar.simulate.scenario import knob_paths
from callradar.simulate.writer import (
    CDR_SCHEMA,
    COMPLAINTS_SCHEMA,
    REFUSALS_SCHEMA,
    REGISTRY_SCHEMA,
    TRUTH_SCHEMA,
)

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "simulator.md"
E164 = re.compile(r"^\+86\d{10,11}$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    simulate("demo", out, days=6, seed=7, subscribers=8000)
    return out


@pytest.fixture(scope="module")
def figures(demo: Path) -> dict:
    return describe(demo)


def _con(folder: Path, fmt: str = "parquet") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    for kind in ("cdr", "truth", "refusals", "complaints"):
        con.execute(f"CREATE VIEW {kind} AS SELECT * FROM '{folder}/{kind}-*.{fmt}'")
    con.execute(f"CREATE VIEW registry AS SELECT * FROM '{folder}/registry.{fmt}'")
    con.execute("CREATE VIEW calls AS SELECT c.*, t.* EXCLUDE (call_id, caller, callee, "
                "start_time) FROM cdr c JOIN truth t USING (call_id)")  # fmt: skip
    return con


def _scalar(con: duckdb.DuckDBPyConnection, sql: str):  # type: ignore[no-untyped-def]
    return con.execute(sql).fetchone()[0]


# ---------------------------------------------------------------- scenarios -------------


def test_every_shipped_scenario_loads() -> None:
    names = builtin_names()
    for required in (
        "demo",
        "shanghai",
        "slow_rotation",
        "wide_spread",
        "sim_farm",
        "random_prompt",
        "legit_robovoice",
    ):
        assert required in names
    for name in names:
        sc = load_scenario(name)
        assert sc.name == name
        assert sc["vendors.count"] >= 8


def test_unknown_scenario_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'demo'"):
        load_scenario("demoo")


def test_scenario_file_overrides_and_rejects_unknown_or_mistyped_knobs(tmp_path: Path) -> None:
    good = tmp_path / "mine.toml"
    good.write_text('name = "mine"\n[vendors]\ncount = 3\nprompt_min = 9\n', encoding="utf-8")
    sc = load_scenario(good, days=2, subscribers=1234)
    assert (sc.name, sc["vendors.count"], sc["vendors.prompt_min"]) == ("mine", 3, 9.0)
    assert (sc["city.days"], sc["city.subscribers"]) == (2, 1234)
    bad = tmp_path / "bad.toml"
    bad.write_text("[vendors]\ncoutn = 3\n", encoding="utf-8")
    with pytest.raises(UnknownNameError, match="did you mean 'count'"):
        load_scenario(bad)
    bad.write_text('[vendors]\ncount = "many"\n', encoding="utf-8")
    with pytest.raises(BadRequestError, match="wrong type"):
        load_scenario(bad)
    bad.write_text("[vendors]\nprompt_min = 30.0\n", encoding="utf-8")
    with pytest.raises(BadRequestError, match="prompt_min"):
        load_scenario(bad)


def test_every_knob_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [k for k in knob_paths() if f"`{k}`" not in text]
    assert not missing, f"knobs not documented in {DOC.name}: {missing}"
    for name in builtin_names():
        assert f"`{name}`" in text, f"scenario {name} not documented"


def test_shanghai_vendor_volume_arithmetic_is_city_scale() -> None:
    sc = load_scenario("shanghai")
    n = sc["city.subscribers"]
    assert n == 25_000_000
    assert sc["vendors.volume_min"] * n >= 100_000
    assert sc["vendors.volume_max"] * n <= 1_000_000
    per_day = n * sc["city.calls_per_day"]
    assert per_day >= 10_000_000  # tens of millions of calls a day


# ---------------------------------------------------------------- numbers ---------------


def test_number_text_matches_python_formatting() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            rng.integers(862120000000, 862180000000, 500),
            rng.integers(8613000000000, 8619999999999, 500),
            [864001234567],
        ]
    )
    assert nb.e164_array(x).to_pylist() == [f"+{v}" for v in x]
    ids = nb.fixed_id_array("S1-D002-", np.array([0, 7, 123_456_789]))
    assert ids.to_pylist() == ["S1-D002-000000000", "S1-D002-000000007", "S1-D002-123456789"]


def test_permutation_is_a_bijection_and_units_never_repeat() -> None:
    p = nb.Permutation(10_007 * 3, seed=5, salt=1)
    y = p(np.arange(p.size))
    assert len(np.unique(y)) == p.size
    big = nb.mobile_space(9)
    idx = np.arange(0, 200_000)
    assert len(np.unique(big(idx))) == len(idx)
    alloc = nb.UnitAllocator("landline", 1)
    starts = np.concatenate([alloc.take(50), alloc.take(70)])
    assert len(np.unique(starts)) == 120
    assert np.all(starts % nb.UNIT == 0)


# ---------------------------------------------------------------- contract --------------


def test_writes_every_file_with_the_contract_schema(demo: Path) -> None:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["scenario"], manifest["seed"], manifest["days"]) == ("demo", 7, 6)
    assert manifest["knobs"]["city"]["subscribers"] == 8000
    dates = [f"2024-07-0{d}" for d in range(1, 7)]
    schemas = {
        "cdr": CDR_SCHEMA,
        "truth": TRUTH_SCHEMA,
        "complaints": COMPLAINTS_SCHEMA,
        "refusals": REFUSALS_SCHEMA,
    }
    for date in dates:
        for kind, schema in schemas.items():
            path = demo / f"{kind}-{date}.parquet"
            table = pq.read_table(path)
            assert table.schema.equals(schema), kind
            assert manifest["files"][path.name] == table.num_rows
    reg = pq.read_table(demo / "registry.parquet")
    assert reg.schema.equals(REGISTRY_SCHEMA)
    ts = pq.read_table(demo / f"cdr-{dates[0]}.parquet").schema.field("start_time").type
    assert ts.tz == "Asia/Shanghai"


def test_cdr_rows_are_consistent(demo: Path) -> None:
    con = _con(demo)
    assert _scalar(con, "SELECT count(*) - count(DISTINCT call_id) FROM cdr") == 0
    assert _scalar(con, "SELECT count(*) FROM cdr") > 150_000
    bad = _scalar(
        con,
        """SELECT count(*) FROM cdr WHERE ring_seconds < 0 OR talk_seconds < 0
           OR (answered AND (talk_seconds <= 0 OR end_reason NOT IN ('caller_hangup',
               'callee_hangup')))
           OR (NOT answered AND (talk_seconds <> 0 OR end_reason NOT IN ('no_answer', 'busy',
               'rejected', 'failed')))
           OR caller = callee OR trunk = ''""",
    )
    assert bad == 0
    # Calls of day D start on day D (local time).
    assert (
        _scalar(
            con,
            "SELECT count(*) FROM (SELECT start_time::DATE AS d, filename FROM "
            f"read_parquet('{demo}/cdr-*.parquet', filename=true)) "
            "WHERE strftime(d, '%Y-%m-%d') <> "
            "regexp_extract(filename, '(\\d{4}-\\d\\d-\\d\\d)', 1)",
        )
        == 0
    )


def test_numbers_are_valid_e164(demo: Path) -> None:
    con = _con(demo)
    nums = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT caller FROM truth WHERE is_robocall OR caller_kind <> 'ordinary' "
            "UNION SELECT * FROM (SELECT DISTINCT callee FROM cdr USING SAMPLE 2000 ROWS) "
            "UNION SELECT number FROM registry"
        ).fetchall()
    ]
    assert len(nums) > 1000
    for n in nums:
        assert E164.match(n), n
        assert phonenumbers.is_valid_number(phonenumbers.parse(n)), n


def test_truth_matches_cdr_and_registry(demo: Path) -> None:
    con = _con(demo)
    kinds = {r[0] for r in con.execute("SELECT DISTINCT caller_kind FROM truth").fetchall()}
    assert kinds == {
        "campaign", "ordinary", "courier", "bank", "hospital", "government",
        "ride_hailing", "delivery", "agent", "small_business",
    }  # fmt: skip
    mismatched = _scalar(
        con,
        """SELECT count(*) FROM cdr c JOIN truth t USING (call_id)
           WHERE c.caller <> t.caller OR c.callee <> t.callee OR c.start_time <> t.start_time
              OR t.is_robocall <> (t.campaign <> '') OR t.is_robocall <> (t.vendor <> '')
              OR t.is_robocall <> (t.client <> '') OR t.is_robocall <> (t.caller_kind = 'campaign')
              OR t.in_registry <> (t.caller IN (SELECT number FROM registry))""",
    )
    assert mismatched == 0
    # The registry covers part, not all, of the legitimate organizations' numbers.
    share = _scalar(
        con,
        "SELECT avg(in_registry::INT) FROM (SELECT DISTINCT caller, in_registry FROM truth "
        "WHERE caller_kind IN ('courier', 'bank', 'hospital', 'government', 'ride_hailing', "
        "'delivery'))",
    )
    assert 0.2 < share < 0.95


def test_refusals_are_made_during_answered_campaign_calls(demo: Path) -> None:
    con = _con(demo)
    total = _scalar(con, "SELECT count(*) FROM refusals")
    assert total > 100
    sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM refusals").fetchall()}
    assert {"agent", "ivr"} <= sources <= {"agent", "ivr", "app"}
    matched = _scalar(
        con,
        """SELECT count(DISTINCT r.rowid) FROM (SELECT row_number() OVER () AS rowid, *
           FROM refusals) r JOIN calls c ON c.caller = r.caller AND c.callee = r.callee
           AND c.is_robocall AND c.answered AND c.start_time <= r.time""",
    )
    assert matched == total


def test_complaints_are_chinese_and_come_from_campaign_callees(demo: Path) -> None:
    con = _con(demo)
    rows = con.execute(
        "SELECT complainant, received_time, reported_numbers, text, channel FROM complaints"
    ).fetchall()
    assert len(rows) >= 20
    texts = [r[3] for r in rows]
    assert all(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
    assert len(set(texts)) > 0.9 * len(texts)  # citizens' own, varied words
    orphan = _scalar(
        con,
        """SELECT count(*) FROM complaints p WHERE NOT EXISTS (SELECT 1 FROM calls c
           WHERE c.callee = p.complainant AND c.is_robocall AND c.answered
           AND c.start_time <= p.received_time)""",
    )
    assert orphan == 0
    for r in rows:
        for num in filter(None, r[2].split(";")):
            assert phonenumbers.is_valid_number(phonenumbers.parse(num, "CN")), num
    assert {r[4] for r in rows} <= {"12345", "12321", "app"}


# ---------------------------------------------------------------- realism ---------------


def test_vendor_volume_scales_to_city_range(figures: dict) -> None:
    vendors = figures["vendors"]
    assert len(vendors) >= 8
    for v in vendors:
        # measured calls per subscriber per day, times a 25M-subscriber city
        assert 100_000 <= v["at_city_scale"] <= 1_000_000, v
        assert v["trunks"] <= 4


def test_citizens_get_a_call_every_two_or_three_days(figures: dict) -> None:
    c = figures["citizens"]
    assert 1.5 <= c["median_days_per_call"] <= 3.5, c
    assert 0.0 < c["share_called_almost_daily"] < 0.3, c
    assert 0.2 < c["share_reached"] < 0.9, c


def test_most_campaign_numbers_are_shanghai_landlines(figures: dict) -> None:
    n = figures["numbers"]
    assert n["share_021_landline"] > 0.6
    assert n["share_021_landline"] + n["share_virtual_mobile"] == pytest.approx(1.0)


def test_talk_time_spikes_at_each_prompt(figures: dict) -> None:
    s = figures["prompt_spike"]
    assert s["campaigns"] >= 24
    assert s["campaigns_with_spike_at_prompt"] >= 0.9 * s["campaigns"]
    assert s["share_answered_at_prompt"] > 0.25


def test_refusals_are_ignored_by_other_vendors_only(demo: Path, figures: dict) -> None:
    r = figures["refusals"]
    assert r["share_refusers_called_again_by_other_vendors"] > 0.2
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    honouring = [v["vendor"] for v in manifest["vendors"] if v["ignores_refusals"] == 0]
    ignoring = [v["vendor"] for v in manifest["vendors"] if v["ignores_refusals"] > 0]
    assert honouring
    con = _con(demo)
    con.execute("CREATE TEMP TABLE hv AS SELECT unnest(?) AS vendor", [honouring])
    again = _scalar(
        con,
        """WITH r AS (SELECT r.time, r.callee, n.vendor FROM refusals r JOIN
             (SELECT DISTINCT caller, vendor FROM truth WHERE is_robocall) n USING (caller))
           SELECT count(*) FROM r JOIN truth t ON t.callee = r.callee AND t.vendor = r.vendor
           AND t.start_time > r.time WHERE r.vendor IN (SELECT vendor FROM hv)""",
    )
    assert again == 0  # a vendor that honours refusals never calls the refuser again
    if ignoring:
        assert r["later_calls_from_same_vendor"] > 0


def test_numbers_rotate_in_blocks_and_retire(demo: Path) -> None:
    con = _con(demo)
    per_number = con.execute(
        "SELECT max(n) FROM (SELECT caller, count(*) AS n FROM truth WHERE is_robocall "
        "GROUP BY caller)"
    ).fetchone()[0]
    assert per_number <= 300
    new_each_day = con.execute(
        """SELECT d, count(*) FROM (SELECT caller, min(start_time::DATE) AS d FROM truth
           WHERE is_robocall GROUP BY caller) GROUP BY d ORDER BY d"""
    ).fetchall()
    assert len(new_each_day) == 6 and all(n > 0 for _, n in new_each_day)
    # Landline numbers come in blocks: most share their 1000-block with another of the vendor.
    clustered = _scalar(
        con,
        """WITH n AS (SELECT DISTINCT caller, vendor FROM truth WHERE is_robocall
                      AND caller LIKE '+8621%')
           SELECT avg((k > 1)::INT) FROM (SELECT caller, count(*) OVER
             (PARTITION BY vendor, left(caller, 10)) AS k FROM n)""",
    )
    assert clustered > 0.8


def test_numeric_sweeps_dial_in_number_order(demo: Path) -> None:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    con = _con(demo)
    rows = con.execute(
        """SELECT vendor, avg((callee > prev)::INT) FROM (SELECT vendor, callee,
             lag(callee) OVER (PARTITION BY caller, start_time::DATE ORDER BY start_time) AS prev
           FROM truth WHERE is_robocall) WHERE prev IS NOT NULL
           AND length(callee) = length(prev) GROUP BY vendor"""
    ).fetchall()
    order = dict(rows)
    for v in manifest["vendors"]:
        if v["numeric_sweep"]:
            assert order[v["vendor"]] > 0.8
        else:
            assert 0.3 < order[v["vendor"]] < 0.7


def test_ordinary_calls_are_reciprocal(demo: Path) -> None:
    con = _con(demo)
    share = _scalar(
        con,
        """WITH p AS (SELECT DISTINCT caller, callee FROM truth WHERE caller_kind = 'ordinary')
           SELECT avg((EXISTS (SELECT 1 FROM p q WHERE q.caller = p.callee
                               AND q.callee = p.caller))::INT) FROM p""",
    )
    assert share > 0.3


# ---------------------------------------------------------------- determinism, formats --


def _tables(folder: Path, fmt: str = "parquet") -> dict[str, pa.Table]:
    if fmt == "parquet":
        return {p.name: pq.read_table(p) for p in sorted(folder.glob("*.parquet"))}
    import pyarrow.csv as pacsv

    text = {c: pa.string() for c in ("caller", "callee", "complainant", "number")}
    opts = pacsv.ConvertOptions(column_types=text)
    return {p.name: pacsv.read_csv(p, convert_options=opts) for p in sorted(folder.glob("*.csv"))}


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 3), (b, 3), (c, 4)):
        simulate("demo", out, days=2, seed=seed, subscribers=600)
    ta, tb, tc = _tables(a), _tables(b), _tables(c)
    assert list(ta) == list(tb)
    for name in ta:
        assert ta[name].equals(tb[name]), name
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    assert not ta["cdr-2024-07-01.parquet"].equals(tc["cdr-2024-07-01.parquet"])
    ids = pa.concat_tables([ta["cdr-2024-07-01.parquet"], ta["cdr-2024-07-02.parquet"]])
    assert len(set(ids["call_id"].to_pylist())) == ids.num_rows  # unique across days


def test_csv_has_the_same_data_with_offset_timestamps(tmp_path: Path) -> None:
    simulate("demo", tmp_path / "p", days=1, seed=5, subscribers=500)
    simulate("demo", tmp_path / "c", days=1, seed=5, subscribers=500, fmt="csv")
    text = (tmp_path / "c" / "cdr-2024-07-01.csv").read_text(encoding="utf-8").splitlines()
    assert text[0].replace('"', "").split(",") == CDR_SCHEMA.names
    assert re.search(r'"2024-07-01T\d\d:\d\d:\d\d(\.\d+)?\+08:00"', text[1])
    p = _tables(tmp_path / "p")
    c = _tables(tmp_path / "c", "csv")
    for kind in ("cdr", "truth", "refusals", "complaints"):
        assert p[f"{kind}-2024-07-01.parquet"].num_rows == c[f"{kind}-2024-07-01.csv"].num_rows
    assert (
        p["cdr-2024-07-01.parquet"]["caller"].to_pylist()
        == c["cdr-2024-07-01.csv"]["caller"].to_pylist()
    )
    assert describe(tmp_path / "c")["totals"]["calls"] == p["cdr-2024-07-01.parquet"].num_rows


def test_rerun_replaces_the_previous_run_and_keeps_other_files(tmp_path: Path) -> None:
    simulate("demo", tmp_path, days=2, seed=1, subscribers=300)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    simulate("demo", tmp_path, days=1, seed=1, subscribers=300)
    assert not (tmp_path / "cdr-2024-07-02.parquet").exists()
    assert not (tmp_path / "honeypot-2024-07-02").exists()
    assert (tmp_path / "cdr-2024-07-01.parquet").exists()
    assert (tmp_path / "honeypot-2024-07-01" / "meta.csv").exists()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="output format"):
        simulate("demo", tmp_path, fmt="xls")
    with pytest.raises(BadRequestError, match="manifest"):
        describe(tmp_path)


# ---------------------------------------------------------------- adversarial -----------


def _small(tmp_path: Path, name: str, **kw: object) -> tuple[Path, dict]:
    out = tmp_path / name
    simulate(name, out, days=kw.pop("days", 3), seed=11, subscribers=kw.pop("n", 4000))  # type: ignore[arg-type]
    return out, describe(out)


@pytest.mark.slow
def test_adversarial_scenarios_change_what_they_say(tmp_path: Path) -> None:
    _, base = _small(tmp_path, "demo")
    out, _ = _small(tmp_path, "slow_rotation", days=4)
    con = _con(out)
    per_day_max = _scalar(
        con,
        "SELECT max(n) FROM (SELECT caller, start_time::DATE, count(*) AS n FROM truth "
        "WHERE is_robocall GROUP BY ALL)",
    )
    assert per_day_max <= 12
    multi_day = _scalar(
        con,
        "SELECT avg((k > 1)::INT) FROM (SELECT caller, count(DISTINCT start_time::DATE) AS k "
        "FROM truth WHERE is_robocall GROUP BY caller)",
    )
    assert multi_day > 0.5
    _, wide = _small(tmp_path, "wide_spread")
    assert all(v["calls_per_number"] <= 20 for v in wide["vendors"])
    assert np.mean([v["trunks"] for v in wide["vendors"]]) >= 8
    assert np.mean([v["numbers"] for v in wide["vendors"]]) > 4 * np.mean(
        [v["numbers"] for v in base["vendors"]]
    )
    out, farm = _small(tmp_path, "sim_farm")
    assert farm["numbers"]["share_021_landline"] == 0.0
    assert farm["numbers"]["share_virtual_mobile"] == 0.0
    _, rnd = _small(tmp_path, "random_prompt")
    assert base["prompt_spike"]["share_answered_at_prompt"] > 0.25
    assert rnd["prompt_spike"]["share_answered_at_prompt"] < 0.1
    _, robo = _small(tmp_path, "legit_robovoice")

    def recorded(fig: dict) -> tuple[int, float]:
        rows = [k for k in fig["caller_kinds"] if k["caller_kind"] in ("hospital", "government")]
        calls = sum(k["calls"] for k in rows)
        reg = sum(k["calls"] * k["share_calls_from_registered"] for k in rows) / calls
        return calls, reg

    assert recorded(robo)[0] > 10 * recorded(base)[0]
    assert recorded(robo)[1] < recorded(base)[1]


# ---------------------------------------------------------------- CLI -------------------


def test_cli_simulate_and_describe(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(
        app,
        ["simulate", "--days", "1", "--subscribers", "500", "--seed", "2", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert (out / "cdr-2024-07-01.parquet").is_file()
    res = runner.invoke(app, ["simulate", "--describe", str(out), "--json"])
    assert res.exit_code == 0, res.output
    fig = json.loads(res.stdout)
    assert fig["seed"] == 2 and fig["totals"]["calls"] > 0
    res = runner.invoke(app, ["simulate", "--list"])
    assert "shanghai" in res.stdout
