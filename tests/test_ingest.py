"""Ingestion: every input form, every bad-row reason, failed files leave no trace."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from callradar.cli import app
from callradar.errors import InputFileError, UnknownNameError
from callradar.ingest import ingest_arrow, ingest_files, list_quarantine
from callradar.store import Store

GOLDEN = Path(__file__).resolve().parent / "golden" / "ingest"

CDR_HEADER = [
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
GOOD = ["c1", "2024-07-23T10:15:02+08:00", "021-5234-5678", "13812345678", "T1", "5.5", "true"]
GOOD += ["30", "callee_hangup"]


def cdr_row(**changes: str) -> list[str]:
    row = dict(zip(CDR_HEADER, GOOD, strict=True))
    row.update(changes)
    return [row[c] for c in CDR_HEADER]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = CDR_HEADER) -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def snapshot(store: Store) -> dict[str, list[tuple]]:
    """Every row of every ingest table (order-independent)."""
    tables = ["calls", "complaints", "refusals", "registry", "numbers", "ingest_runs", "quarantine"]
    return {t: sorted(map(repr, store.sql(f"SELECT * FROM {t}").fetchall())) for t in tables}


# -- bad rows: one per reason ------------------------------------------------

BAD_ROWS = {
    "missing_value:callee": cdr_row(call_id="b1", callee=""),
    "missing_value:call_id": cdr_row(call_id=" "),
    "bad_number:caller": cdr_row(call_id="b2", caller="not-a-number"),
    "bad_timestamp": cdr_row(call_id="b3", start_time="2024-13-45 25:00:00"),
    "negative_duration": cdr_row(call_id="b4", ring_seconds="-1"),
    "talk_without_answer": cdr_row(call_id="b5", answered="false", talk_seconds="12"),
    "bad_bool:answered": cdr_row(call_id="b6", answered="yes please"),
    "bad_enum:end_reason": cdr_row(call_id="b7", end_reason="hung_up"),
    "bad_float:ring_seconds": cdr_row(call_id="b8", ring_seconds="five"),
}


def test_each_bad_row_reason_is_quarantined(store: Store, tmp_path: Path) -> None:
    good = [cdr_row(call_id=f"g{i}", callee=f"1381234567{i}") for i in range(3)]
    rows = [good[0], *BAD_ROWS.values(), *good[1:]]
    path = write_csv(tmp_path / "calls.csv", rows)
    (res,) = ingest_files(store, [path])
    assert (res.read, res.accepted, res.quarantined, res.duplicates) == (12, 3, 9, 0)
    q = list_quarantine(store, limit=None, reveal=True)
    assert sorted(r["reason"] for r in q) == sorted(BAD_ROWS)
    by_reason = {r["reason"]: r for r in q}
    # row_number is the data record's position; raw keeps the original text
    assert by_reason["missing_value:callee"]["row_number"] == 2
    assert by_reason["bad_float:ring_seconds"]["row_number"] == 10
    assert json.loads(by_reason["bad_number:caller"]["raw"])["caller"] == "not-a-number"
    assert store.sql("SELECT count(*) FROM calls").fetchall()[0][0] == 3


def test_malformed_line_is_quarantined_with_its_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    write_csv(path, [cdr_row(call_id="a"), cdr_row(call_id="b")])
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("c,2024-07-23 10:00:00,02152345678\n")
        fh.write(",".join(cdr_row(call_id="d", talk_seconds="x")) + "\n")
    (res,) = ingest_files(store, [path])
    assert (res.read, res.accepted, res.quarantined) == (4, 2, 2)
    q = {r["reason"]: r for r in list_quarantine(store, reveal=True)}
    assert q["malformed_row"]["row_number"] == 3
    assert q["malformed_row"]["raw"] == "c,2024-07-23 10:00:00,02152345678"
    assert q["bad_float:talk_seconds"]["row_number"] == 4


def test_normalized_values_and_end_time(store: Store, tmp_path: Path) -> None:
    rows = [
        cdr_row(call_id="x1", start_time="2024-07-23 10:00:00", caller="+86 21 5234 5678"),
        cdr_row(call_id="x2", caller="17951 13912345678", callee="+8613812345678", answered="1"),
        cdr_row(call_id="x3", caller="0086 13812345678", answered="0", talk_seconds="0"),
    ]
    ingest_files(store, [write_csv(tmp_path / "c.csv", rows)])
    got = store.sql(
        "SELECT call_id, caller, callee, answered, epoch(end_time) - epoch(start_time), "
        "strftime(start_time AT TIME ZONE 'UTC', '%H:%M') FROM calls ORDER BY call_id"
    ).fetchall()
    assert got[0] == ("x1", "+862152345678", "+8613812345678", True, 35.5, "02:00")
    assert got[1][1:4] == ("+8613912345678", "+8613812345678", True)
    assert got[2][1] == "+8613812345678" and got[2][3] is False
    kinds = dict(store.sql("SELECT number, kind FROM numbers").fetchall())
    assert kinds["+862152345678"] == "fixed_line"
    assert kinds["+8613812345678"] == "mobile"


def test_bom_and_crlf_csv(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    body = ",".join(CDR_HEADER) + "\r\n" + ",".join(cdr_row(call_id="bom1")) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    (res,) = ingest_files(store, [path])
    assert (res.kind, res.accepted) == ("cdr", 1)


def test_timezone_setting_applies_to_naive_timestamps(tmp_path: Path) -> None:
    from callradar.config import Config

    row = cdr_row(start_time="2024-07-23 10:00:00")
    path = write_csv(tmp_path / "c.csv", [row])
    with Store(tmp_path / "utc.duckdb", Config({"timezone": "UTC"}, environ={})) as s:
        ingest_files(s, [path])
        (hour,) = s.sql("SELECT hour(start_time AT TIME ZONE 'UTC') FROM calls").fetchall()[0]
    assert hour == 10


# -- duplicates and re-ingest ----------------------------------------------------


def test_reingest_adds_nothing_and_counts_add_up(store: Store, tmp_path: Path) -> None:
    rows = [cdr_row(call_id="d1"), cdr_row(call_id="d2"), cdr_row(call_id="d1", trunk="T9")]
    rows.append(BAD_ROWS["bad_timestamp"])
    path = write_csv(tmp_path / "c.csv", rows)
    (first,) = ingest_files(store, [path])
    assert (first.read, first.accepted, first.quarantined, first.duplicates) == (4, 2, 1, 1)
    # the first occurrence of a call_id wins
    assert store.sql("SELECT trunk FROM calls WHERE call_id = 'd1'").fetchall() == [("T1",)]
    data_before = {k: v for k, v in snapshot(store).items() if k != "ingest_runs"}
    (again,) = ingest_files(store, [path])
    assert (again.read, again.accepted, again.quarantined, again.duplicates) == (4, 0, 0, 4)
    assert {k: v for k, v in snapshot(store).items() if k != "ingest_runs"} == data_before
    runs = store.sql("SELECT read, accepted, quarantined, duplicates FROM ingest_runs").fetchall()
    assert all(r[0] == r[1] + r[2] + r[3] for r in runs) and len(runs) == 2


def test_registry_update_rule(store: Store, tmp_path: Path) -> None:
    header = ["number", "organization", "category"]
    p1 = write_csv(
        tmp_path / "r1.csv",
        [["95588", "ICBC", "bank"], ["02161234567", "Clinic A", "hospital"]],
        header,
    )
    p2 = write_csv(
        tmp_path / "r2.csv",
        [
            ["95588", "ICBC", "bank"],  # same: duplicate
            ["021-6123-4567", "Clinic B", "hospital"],  # changed: replaces
            ["02161234568", "X", "other"],
            ["02161234568", "Y", "other"],  # last row for a number wins
            ["02161234569", "Z", "spaceship"],  # bad category
        ],
        header,
    )
    (r1,) = ingest_files(store, [p1])
    (r2,) = ingest_files(store, [p2])
    assert r1.kind == "registry" and r1.accepted == 2
    assert (r2.read, r2.accepted, r2.quarantined, r2.duplicates) == (5, 2, 1, 2)
    reg = dict(store.sql("SELECT number, organization FROM registry").fetchall())
    assert reg == {"+8695588": "ICBC", "+862161234567": "Clinic B", "+862161234568": "Y"}


# -- the other kinds, formats and encodings ------------------------------------


def test_complaints_jsonl_gz_and_kind_guess(store: Store, tmp_path: Path) -> None:
    recs = [
        {
            "complaint_id": "k1",
            "received_time": "2024-07-23T11:00:00+08:00",
            "complainant": "13812345678",
            "reported_numbers": "021-5234-5678; 16512345678",
            "text": "又是牙科诊所的AI电话",
            "channel": 12345,
        },
        {
            "complaint_id": "k2",
            "received_time": "2024-07-23T11:05:00+08:00",
            "complainant": "13812345679",
            "reported_numbers": "02152345678;call me",
            "text": "骚扰",
        },
    ]
    path = tmp_path / "complaints.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for rec in recs:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (res,) = ingest_files(store, [path])
    assert (res.kind, res.format, res.accepted, res.quarantined) == ("complaints", "jsonl", 1, 1)
    row = store.sql("SELECT reported_numbers, text, channel FROM complaints").fetchall()[0]
    assert row == (["+862152345678", "+8616512345678"], "又是牙科诊所的AI电话", "12345")
    (q,) = list_quarantine(store, reveal=True)
    assert q["reason"] == "bad_number:reported_numbers"
    assert store.sql("SELECT kind FROM numbers WHERE number = '+8616512345678'").fetchall() == [
        ("virtual",)
    ]


def test_refusals_parquet_with_native_types(store: Store, tmp_path: Path) -> None:
    from datetime import datetime

    t = pa.table(
        {
            "time": pa.array(
                [datetime(2024, 7, 23, 2, 0, tzinfo=UTC)] * 2, pa.timestamp("us", "UTC")
            ),
            "callee": pa.array([13812345678, 13812345678], pa.int64()),
            "caller": ["02152345678", "02152345678"],
            "source": ["ivr", "ivr"],
        }
    )
    path = tmp_path / "refusals.parquet"
    pq.write_table(t, path)
    (res,) = ingest_files(store, [path])
    assert (res.kind, res.format, res.accepted, res.duplicates) == ("refusals", "parquet", 1, 1)
    assert store.sql("SELECT callee, caller FROM refusals").fetchall() == [
        ("+8613812345678", "+862152345678")
    ]


def test_gbk_file_needs_and_accepts_encoding(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "complaints_gbk.csv"
    text = (
        "complaint_id,received_time,complainant,text\n"
        "k1,2024-07-23 11:00:00,13812345678,牙科诊所推销电话\n"
    )
    path.write_bytes(text.encode("gbk"))
    before = snapshot(store)
    with pytest.raises(InputFileError, match=r"complaints_gbk\.csv: undecodable bytes"):
        ingest_files(store, [path])
    assert snapshot(store) == before
    (res,) = ingest_files(store, [path], encoding="gbk")
    assert res.accepted == 1
    assert store.sql("SELECT text FROM complaints").fetchall() == [("牙科诊所推销电话",)]


def test_arrow_input(store: Store) -> None:
    t = pa.table({c: [v] for c, v in zip(CDR_HEADER, cdr_row(call_id="arrow1"), strict=True)})
    res = ingest_arrow(store, t, "cdr", "POST /v1/cdrs")
    assert (res.file, res.accepted) == ("POST /v1/cdrs", 1)
    assert ingest_arrow(store, t, None, "again").duplicates == 1


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("asterisk_Master.csv", "asterisk", "asterisk_expected.csv"),
        ("freeswitch_Master.csv", "freeswitch", "freeswitch_expected.csv"),
    ],
)
def test_switch_formats_match_golden(
    store: Store, tmp_path: Path, name: str, fmt: str, expected: str
) -> None:
    # the format is recognized from the headerless first line (no --format)
    (res,) = ingest_files(store, [GOLDEN / name])
    assert res.format == fmt and res.kind == "cdr"
    got = store.sql(
        "SELECT call_id, strftime(start_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), "
        "caller, callee, trunk, ring_seconds, answered, talk_seconds, end_reason "
        "FROM calls ORDER BY call_id"
    ).fetchall()
    with open(GOLDEN / expected, encoding="utf-8") as fh:
        want = [tuple(r) for r in csv.reader(fh)][1:]
    assert [tuple(str(x) for x in r) for r in got] == want
    assert res.read == res.accepted + res.quarantined
    reasons = sorted(r["reason"] for r in list_quarantine(store))
    n_bad = {"asterisk": ["bad_enum:end_reason", "missing_value:caller"], "freeswitch": []}
    assert reasons == n_bad[fmt]


def test_asterisk_without_uniqueid_gets_stable_ids(store: Store, tmp_path: Path) -> None:
    lines = (GOLDEN / "asterisk_Master.csv").read_text(encoding="utf-8").splitlines()[:2]
    path = tmp_path / "Master.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(next(csv.reader([ln]))[:16] for ln in lines)
    (res,) = ingest_files(store, [path], fmt="asterisk")
    ids = [r[0] for r in store.sql("SELECT call_id FROM calls").fetchall()]
    assert res.accepted == 2 and all(i.startswith("ast-") for i in ids)
    (again,) = ingest_files(store, [path], fmt="asterisk")
    assert again.duplicates == 2


# -- files that cannot be read ---------------------------------------------------


def test_unreadable_files_fail_and_change_nothing(store: Store, tmp_path: Path) -> None:
    ok = write_csv(tmp_path / "ok.csv", [cdr_row(call_id="keep")])
    ingest_files(store, [ok])
    before = snapshot(store)

    missing_col = write_csv(
        tmp_path / "nocallee.csv", [["c1", "2024-07-23 10:00:00"]], ["call_id", "start_time"]
    )
    good_gz = write_csv(tmp_path / "big.csv.gz", [cdr_row(call_id=f"z{i}") for i in range(3000)])
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(good_gz.read_bytes()[: good_gz.stat().st_size // 2])
    badbytes = tmp_path / "badbytes.csv"
    badbytes.write_bytes(
        (",".join(CDR_HEADER) + "\n" + ",".join(cdr_row(call_id="u1")) + "\n").encode()
        + b"u2,2024-07-23 10:00:00,\xff\xfe\xfa,13812345678,T,1,false,0,busy\n"
    )
    wrong = tmp_path / "wrong.parquet"
    wrong.write_text("call_id,start_time\nc1,2024\n", encoding="utf-8")
    notjson = tmp_path / "broken.jsonl"
    notjson.write_text('{"call_id": "c1"}\n{"call_id": \n', encoding="utf-8")
    unknown_ext = tmp_path / "calls.xlsx"
    unknown_ext.write_bytes(b"PK\x03\x04")
    cases = {
        missing_col: "missing required columns caller, callee",
        truncated: "truncated.csv.gz",
        badbytes: "undecodable bytes on line 3",
        wrong: "cannot read as parquet",
        notjson: "broken.jsonl",
        unknown_ext: "cannot tell the format",
        tmp_path / "absent.csv": "no such file",
    }
    for path, message in cases.items():
        with pytest.raises(InputFileError) as info:
            ingest_files(store, [path])
        assert message in info.value.message and str(path) in info.value.message
        assert "\n" not in info.value.message
        assert snapshot(store) == before, path


def test_unknown_format_and_kind_suggest(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [cdr_row()])
    with pytest.raises(UnknownNameError, match="did you mean 'freeswitch'"):
        ingest_files(store, [path], fmt="freeswich")
    with pytest.raises(UnknownNameError, match="did you mean 'refusals'"):
        ingest_files(store, [path], kind="refusal")
    odd = write_csv(tmp_path / "odd.csv", [["1", "2"]], ["a", "b"])
    with pytest.raises(InputFileError, match="cannot guess the kind"):
        ingest_files(store, [odd])


# -- CLI -----------------------------------------------------------------------


def test_cli_ingest_quarantine_and_status(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    good = write_csv(tmp_path / "a.csv", [cdr_row(call_id="a1"), BAD_ROWS["bad_number:caller"]])
    bad = tmp_path / "b.parquet"
    bad.write_text("nonsense", encoding="utf-8")
    res = runner.invoke(app, ["ingest", str(good), "--db", db])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == f"{good}: read 2, accepted 1, quarantined 1, duplicates 0"
    res = runner.invoke(app, ["ingest", str(good), "--db", db, "--json"])
    assert json.loads(res.stdout)["duplicates"] == 2
    res = runner.invoke(app, ["quarantine", "--db", db, "--json", "--reason", "bad_number"])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["reason"] for r in rows] == ["bad_number:caller"]
    # citizens' numbers are pseudonymized unless --reveal
    assert "13812345678" not in rows[0]["raw"] and "p:" in rows[0]["raw"]
    res = runner.invoke(app, ["quarantine", "--db", db, "--reveal"])
    assert "13812345678" in res.stdout
    res = runner.invoke(app, ["status", "--db", db, "--json"])
    status = json.loads(res.stdout)
    assert status["tables"]["calls"] == 1 and len(status["recent_ingests"]) == 2


CLI = ["-c", "from callradar.cli import main; main()"]


def test_cli_failure_is_one_message_and_earlier_files_stay(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "cli.duckdb"
    good = write_csv(tmp_path / "a.csv", [cdr_row(call_id="a1")])
    bad = write_csv(tmp_path / "b.csv", [["x"]], ["call_id"])
    proc = subprocess.run(
        [sys.executable, *CLI, "ingest", str(good), str(bad), "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert proc.stdout.strip() == f"{good}: read 1, accepted 1, quarantined 0, duplicates 0"
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and str(bad) in err[0] and "missing required column" in err[0]
    assert "Traceback" not in proc.stderr
    with Store(db) as s:
        assert s.sql("SELECT count(*) FROM calls").fetchall() == [(1,)]
