"""The evaluation harness on small hand-built truth/decision files with known answers.

Scenario (times in Asia/Shanghai): campaign C1 is active on the history day
(07-22) with number A; on the evaluated day (07-23) it calls from A and from a
new number B. Campaign C2 appears only on 07-23, from new number X. L1 is a
registry courier, L2 a bank, L3 an ordinary caller. Citizens c1..c5. Every
expected value below is worked out by hand in the comments, not by the code.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from callradar.cli import main
from callradar.errors import BadRequestError, InputFileError
from callradar.evaluate import GOALS, EvalReport, evaluate, render

A, B, X = "+862150000001", "+862150000002", "+8617000000001"
L1, L2, L3 = "+8613800000001", "+8613900000002", "+8613700000003"
C = {i: f"+861310000000{i}" for i in range(1, 6)}

TRUTH_FIELDS = [
    "call_id",
    "is_robocall",
    "campaign",
    "vendor",
    "client",
    "caller",
    "callee",
    "start_time",
    "caller_kind",
    "in_registry",
]

# (call_id, robo, campaign, caller, callee, local time, caller_kind, in_registry)
HISTORY = [
    ("000001", True, "C1", A, C[1], "2024-07-22T10:00:00", "campaign", False),
    ("000002", True, "C1", A, C[2], "2024-07-22T10:05:00", "campaign", False),
    ("000003", False, "", L3, C[3], "2024-07-22T11:00:00", "ordinary", False),
]
DAY = [
    ("000101", True, "C1", A, C[3], "2024-07-23T09:00:00", "campaign", False),
    ("000102", True, "C1", B, C[1], "2024-07-23T09:01:00", "campaign", False),
    ("000103", True, "C1", B, C[2], "2024-07-23T09:02:00", "campaign", False),
    ("000104", True, "C1", B, C[3], "2024-07-23T09:03:00", "campaign", False),
    ("000105", True, "C1", B, C[4], "2024-07-23T09:04:00", "campaign", False),
    ("000106", True, "C2", X, C[4], "2024-07-23T09:05:00", "campaign", False),
    ("000107", True, "C2", X, C[4], "2024-07-23T09:20:00", "campaign", False),
    ("000108", True, "C2", X, C[5], "2024-07-23T09:30:00", "campaign", False),
    ("000113", True, "C1", A, C[5], "2024-07-23T09:40:00", "campaign", False),
    ("000109", False, "", L1, C[1], "2024-07-23T10:00:00", "courier", True),
    ("000110", False, "", L2, C[2], "2024-07-23T10:01:00", "bank", False),
    ("000111", False, "", L3, C[3], "2024-07-23T10:02:00", "ordinary", False),
    ("000112", False, "", L3, C[5], "2024-07-23T10:03:00", "ordinary", False),
    # inside the decided window but left out of the decisions: one missing decision
    ("000199", False, "", L3, C[4], "2024-07-23T09:30:30", "ordinary", False),
]
# (call_id, decision, score, campaign_id)
DECISIONS = [
    ("000101", "block", 0.95, "P1"),
    ("000102", "allow", 0.30, ""),
    ("000103", "label", 0.60, "P1"),
    ("000104", "block", 0.92, "P1"),
    ("000105", "block", 0.91, "P2"),
    ("000106", "allow", 0.20, "P2"),
    ("000107", "label", 0.55, "P2"),
    ("000108", "allow", 0.10, "P3"),
    ("000113", "allow", 0.30, "P1"),
    ("000109", "block", 0.93, ""),
    ("000110", "label", 0.60, "P1"),
    ("000111", "allow", 0.05, ""),
    ("000112", "allow", 0.10, ""),
    ("zz-unknown", "allow", 0.0, ""),
]
# Refusals in national number formats (the truth is E.164): time, callee, caller, source.
REFUSALS = [
    # c1 refuses A during its history call 000001 -> C1
    ("2024-07-22T10:00:30+08:00", "13100000001", "021-5000-0001", "agent"),
    # c4 refuses X during 000106 -> C2
    ("2024-07-23T09:10:00+08:00", "13100000004", "17000000001", "ivr"),
    # c5 refuses the ordinary caller L3: no campaign
    ("2024-07-23T08:00:00+08:00", "13100000005", "13700000003", "app"),
    # c5 refuses B in an app before B ever called c5: falls back to B's campaign C1
    ("2024-07-23T08:00:00+08:00", "13100000005", "862150000002", "app"),
]


def _truth_rows(rows: list[tuple]) -> list[dict]:
    out = []
    for cid, robo, camp, caller, callee, t, kind, reg in rows:
        out.append(
            {
                "call_id": cid,
                "is_robocall": robo,
                "campaign": camp,
                "vendor": "V1" if robo else "",
                "client": "dental" if robo else "",
                "caller": caller,
                "callee": callee,
                "start_time": t + "+08:00",
                "caller_kind": kind,
                "in_registry": reg,
            }
        )
    return out


def _write_csv(path: Path, fields: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow(
                {k: ("true" if v is True else "false" if v is False else v) for k, v in r.items()}
            )
    return path


def _write_truth_parquet(path: Path, rows: list[dict]) -> Path:
    from datetime import datetime

    cols = {k: [r[k] for r in rows] for k in TRUTH_FIELDS}
    cols["start_time"] = [datetime.fromisoformat(t) for t in cols["start_time"]]
    table = pa.table(
        {
            **{
                k: pa.array(v, pa.string())
                for k, v in cols.items()
                if k not in ("is_robocall", "in_registry", "start_time")
            },
            "is_robocall": pa.array(cols["is_robocall"], pa.bool_()),
            "in_registry": pa.array(cols["in_registry"], pa.bool_()),
            "start_time": pa.array(cols["start_time"], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, path)
    return path


def _write_decisions(path: Path, rows: list[tuple]) -> Path:
    dicts = [
        {"call_id": c, "decision": d, "score": s, "campaign_id": p, "reason": "test"}
        for c, d, s, p in rows
    ]
    return _write_csv(path, ["call_id", "decision", "score", "campaign_id", "reason"], dicts)


@pytest.fixture
def sim_dir(tmp_path: Path) -> Path:
    """A simulator-like output directory: history day as CSV, evaluated day as Parquet."""
    d = tmp_path / "sim"
    d.mkdir()
    _write_csv(d / "truth-2024-07-22.csv", TRUTH_FIELDS, _truth_rows(HISTORY))
    _write_truth_parquet(d / "truth-2024-07-23.parquet", _truth_rows(DAY))
    refusal_rows = [
        {"time": t, "callee": ce, "caller": cr, "source": s} for t, ce, cr, s in REFUSALS
    ]
    _write_csv(d / "refusals-2024-07-23.csv", ["time", "callee", "caller", "source"], refusal_rows)
    (d / "cdr-2024-07-23.csv").write_text("not a truth file\n")  # must be ignored
    return d


@pytest.fixture
def decisions(tmp_path: Path) -> Path:
    return _write_decisions(tmp_path / "decisions.csv", DECISIONS)


def test_hand_built_scenario(sim_dir: Path, decisions: Path) -> None:
    r = evaluate(sim_dir, decisions)
    cov = r.coverage
    assert len(cov.truth_files) == 2 and len(cov.refusals_files) == 1
    assert cov.truth_calls == 3 + 14
    assert cov.decisions == 14
    assert cov.evaluated_calls == 13  # 'zz-unknown' is not in the truth
    assert cov.unknown_call_ids == 1
    assert cov.missing_decisions == 1  # 000199 at 09:30:30 lies inside 09:00 .. 10:03
    assert cov.days == 1
    assert cov.window_start is not None and cov.window_start.startswith("2024-07-23T09:00:00")
    assert cov.campaign_calls == 9 and cov.legit_calls == 4
    assert cov.decision_counts == {
        "campaign": {"allow": 4, "label": 2, "block": 3},
        "legit": {"allow": 2, "label": 1, "block": 1},
    }

    blk = r.blocking
    assert blk.blocked_share == pytest.approx(3 / 9)  # 101, 104, 105
    assert blk.caught_share == pytest.approx(5 / 9)  # + 103, 107 labeled
    assert blk.legit_blocked_per_100k == pytest.approx(100_000 / 4)  # 109
    assert blk.legit_labeled_per_100k == pytest.approx(100_000 / 4)  # 110
    assert blk.legit_by_kind == [
        {"kind": "courier", "calls": 1, "blocked": 1, "labeled": 0},
        {"kind": "bank", "calls": 1, "blocked": 0, "labeled": 1},
        {"kind": "ordinary", "calls": 2, "blocked": 0, "labeled": 0},
    ]
    assert (blk.registry_calls, blk.registry_blocked, blk.registry_labeled) == (1, 1, 0)
    assert blk.registry_numbers_blocked == 1
    # 36 campaign/legit pairs; campaign score beats legit (ties 1/2):
    # .95:4 .30:2 .60:2.5 .92:3 .91:3 .20:2 .55:2 .10:1.5 .30:2 = 22
    assert blk.score_auc == pytest.approx(22 / 36)

    ref = r.refusals
    assert ref.refusals == 4
    assert ref.mapped_to_campaign == 3  # the refusal of L3 maps to no campaign
    # 102 (B->c1 rang after c1 refused C1 on 07-22), 107 (X->c4 labeled after c4 refused
    # C2 at 09:10), 113 (A->c5 rang after c5 refused B of C1 at 08:00). 106 rang before
    # the refusal; 108 to c5 is C2, which c5 never refused.
    assert ref.violations == 3
    assert ref.citizens_affected == 3
    assert ref.campaigns_involved == 2

    rng = r.ringing
    # ringing campaign calls: 102(c1) 103(c2) 106,107(c4) 108,113(c5) = 6 over 4 citizens;
    # 5 distinct callees on 1 day; 9 campaign calls undefended.
    assert rng.per_citizen_day_reached == pytest.approx(6 / 4)
    assert rng.per_citizen_day_all == pytest.approx(6 / 5)
    assert rng.max_per_citizen_day == 2
    assert rng.undefended_per_citizen_day_all == pytest.approx(9 / 5)

    bb = r.before_block
    # A: 101 block, 113 -> 0 before; B: 102, 103, then 104 block -> 2; X: never (3 calls).
    assert (bb["all"].numbers, bb["all"].median, bb["all"].max) == (3, 2.0, 3)
    assert bb["all"].p90 == pytest.approx(2.8)  # [0, 2, 3]: 2 + 0.8 * (3 - 2)
    assert (bb["all"].never_blocked, bb["all"].never_blocked_calls) == (1, 3)
    # A was seen on 07-22, so only B and X are new.
    assert (bb["new"].numbers, bb["new"].median) == (2, 2.5)
    assert bb["new"].p90 == pytest.approx(2.9)
    assert (bb["new_of_known_campaign"].numbers, bb["new_of_known_campaign"].median) == (1, 2.0)
    assert bb["new_of_known_campaign"].never_blocked == 0
    assert (bb["new_of_new_campaign"].numbers, bb["new_of_new_campaign"].median) == (1, 3.0)
    assert bb["new_of_new_campaign"].never_blocked == 1

    lnk = r.linking
    # linked campaign calls: P1={C1:4}, P2={C1:1, C2:2}, P3={C2:1}; 102 has no id
    assert lnk.linked_calls == 8
    assert lnk.linked_share == pytest.approx(8 / 9)
    assert lnk.purity == pytest.approx((4 + 2 + 1) / 8)
    assert lnk.completeness == pytest.approx((4 + 2) / 8)  # C1 -> P1 (4 of 5), C2 -> P2 (2 of 3)
    assert (lnk.predicted_campaigns, lnk.true_campaigns) == (3, 2)
    assert lnk.legit_with_campaign_share == pytest.approx(1 / 4)  # 110

    goals = {g["key"]: g for g in r.goals()}
    assert {g.key for g in GOALS} == set(goals)
    assert goals["median_calls_before_block"]["group"] == "new_of_known_campaign"
    assert goals["median_calls_before_block"]["passed"] is True  # 2 <= 2
    for key in (
        "blocked_share",
        "caught_share",
        "legit_blocked_per_100k",
        "refusal_violations",
        "purity",
        "completeness",
        "registry_blocked",
    ):
        assert goals[key]["passed"] is False, key
    assert not r.all_goals_met
    assert any("not in the truth" in n for n in r.notes)
    assert any("have no decision" in n for n in r.notes)


def test_perfect_decisions_meet_every_goal(sim_dir: Path, tmp_path: Path) -> None:
    rows = [
        (cid, "block" if robo else "allow", 1.0 if robo else 0.0, "K" + camp if robo else "")
        for cid, robo, camp, *_ in DAY
    ]
    r = evaluate(sim_dir, _write_decisions(tmp_path / "perfect.csv", rows))
    assert r.coverage.missing_decisions == 0 and r.coverage.unknown_call_ids == 0
    assert r.blocking.blocked_share == 1.0 and r.blocking.caught_share == 1.0
    assert r.blocking.legit_blocked_per_100k == 0.0 and r.blocking.registry_blocked == 0
    assert r.refusals.violations == 0
    assert r.ringing.per_citizen_day_all == 0.0 and r.ringing.per_citizen_day_reached == 0.0
    assert r.before_block["all"].median == 0.0 and r.before_block["all"].never_blocked == 0
    assert r.linking.purity == 1.0 and r.linking.completeness == 1.0
    assert r.blocking.score_auc == 1.0
    assert all(g["passed"] is True for g in r.goals())
    assert r.all_goals_met
    d = r.to_dict()
    json.dumps(d)  # serializable as is
    assert d["all_goals_met"] is True and len(d["goals"]) == len(GOALS)


def test_explicit_files_equal_directory(sim_dir: Path, decisions: Path, tmp_path: Path) -> None:
    files = sorted(sim_dir.glob("truth-*"))
    by_files = evaluate(files, decisions, sim_dir / "refusals-2024-07-23.csv")
    by_dir = evaluate([sim_dir, files[0]], decisions)  # a file named twice counts once
    a, b = by_files.to_dict(), by_dir.to_dict()
    for d in (a, b):
        d["coverage"].pop("truth_files")
    assert a == b
    assert by_dir.coverage.truth_calls == 17
    jsonl = tmp_path / "decisions.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"call_id": c, "decision": d, "score": sc, "campaign_id": p}) + "\n"
            for c, d, sc, p in DECISIONS
        ),
        encoding="utf-8",
    )
    from_jsonl = evaluate(sim_dir, jsonl).to_dict()
    from_jsonl["coverage"].pop("truth_files")
    assert from_jsonl["coverage"].pop("decisions_file") != b["coverage"].pop("decisions_file")
    b["coverage"].pop("decisions_file", None)
    assert from_jsonl == b
    no_refusals = evaluate(sim_dir, decisions, [])
    assert no_refusals.refusals.violations is None
    assert (
        next(g for g in no_refusals.goals() if g["key"] == "refusal_violations")["passed"] is None
    )


def test_days_follow_the_configured_time_zone(tmp_path: Path) -> None:
    # 00:10 and 23:50 Shanghai time are one local day but two UTC dates.
    rows = [
        ("a", True, "C1", A, C[1], "2024-07-23T00:10:00", "campaign", False),
        ("b", True, "C1", A, C[2], "2024-07-23T23:50:00", "campaign", False),
    ]
    truth = _write_csv(tmp_path / "t.csv", TRUTH_FIELDS, _truth_rows(rows))
    dec = _write_decisions(tmp_path / "d.csv", [("a", "allow", 0.5, ""), ("b", "allow", 0.5, "")])
    r = evaluate(truth, dec)
    assert r.coverage.days == 1
    assert r.ringing.per_citizen_day_all == pytest.approx(2 / 2)  # 2 rang, 2 callees x 1 day
    assert r.before_block["all"].never_blocked_calls == 2


def test_minimal_truth_gives_what_it_can(tmp_path: Path) -> None:
    truth = _write_csv(
        tmp_path / "t.csv",
        ["call_id", "is_robocall", "campaign"],
        [
            {"call_id": "1", "is_robocall": "1", "campaign": "C1"},
            {"call_id": "2", "is_robocall": "0", "campaign": ""},
        ],
    )
    dec = _write_decisions(tmp_path / "d.csv", [("1", "BLOCK ", 0.9, "P"), ("2", "allow", 0.1, "")])
    r = evaluate(truth, dec)
    assert r.blocking.blocked_share == 1.0 and r.blocking.legit_blocked_per_100k == 0.0
    assert r.blocking.registry_blocked is None and r.blocking.legit_by_kind is None
    assert r.refusals.violations is None and r.ringing.per_citizen_day_all is None
    assert r.before_block == {} and r.coverage.missing_decisions is None
    passed = {g["key"]: g["passed"] for g in r.goals()}
    assert passed["blocked_share"] is True and passed["registry_blocked"] is None
    assert not r.all_goals_met  # unmeasured goals are not met
    assert any("'start_time'" in n for n in r.notes)
    render(r)  # renders with n/a cells


def _bad_decisions(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.csv"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("call_id,score\n000101,0.5\n", InputFileError, "missing required column 'decision'"),
        ("call_id,decision\n000101,drop\n", InputFileError, "other than allow.label.block"),
        ("call_id,decision\n000101,allow\n000101,block\n", InputFileError, "more than once"),
        ("call_id,decision\n", InputFileError, "no rows"),
        ("call_id,decision,score\n000101,allow,high\n", InputFileError, "cannot parse .*score"),
        ("call_id,decision\nnope,allow\n", BadRequestError, "none of the 1 decided"),
    ],
)
def test_bad_decisions_give_one_clear_error(
    sim_dir: Path, tmp_path: Path, text: str, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        evaluate(sim_dir, _bad_decisions(tmp_path, text))


def test_bad_truth_and_paths(tmp_path: Path, sim_dir: Path, decisions: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="no truth-"):
        evaluate(empty, decisions)
    with pytest.raises(InputFileError, match="no such truth file"):
        evaluate(tmp_path / "missing.parquet", decisions)
    with pytest.raises(InputFileError, match="no such decisions file"):
        evaluate(sim_dir, tmp_path / "missing.csv")
    txt = tmp_path / "truth.txt"
    txt.write_text("call_id,is_robocall,campaign\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="unknown file format"):
        evaluate(txt, decisions)
    bad = tmp_path / "t.csv"
    bad.write_text("call_id,is_robocall,campaign\n000101,maybe,C1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot parse column 'is_robocall'"):
        evaluate(bad, decisions)
    bad.write_text("call_id,campaign\n000101,C1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="missing required column 'is_robocall'"):
        evaluate(bad, decisions)
    broken = tmp_path / "truth-x.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InputFileError, match="cannot read truth file"):
        evaluate(broken, decisions)
    # the same day given twice under two names
    twin = tmp_path / "twin"
    twin.mkdir()
    for f in sim_dir.glob("truth-*"):
        (twin / f.name.replace("truth-", "truth-copy-")).write_bytes(f.read_bytes())
    with pytest.raises(BadRequestError, match="more than once in the truth"):
        evaluate([sim_dir, twin], decisions)


def test_strict_turns_counts_into_errors(sim_dir: Path, decisions: Path) -> None:
    with pytest.raises(BadRequestError, match="not in the truth"):
        evaluate(sim_dir, decisions, strict=True)


def test_cli_json_and_errors(
    sim_dir: Path, decisions: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--truth", str(sim_dir), "--decisions", str(decisions), "--json"])
    assert exc.value.code in (0, None)
    out = capsys.readouterr().out
    d = json.loads(out)
    assert d["blocking"]["blocked_share"] == pytest.approx(3 / 9)
    assert d["refusals"]["violations"] == 3
    assert d["all_goals_met"] is False

    with pytest.raises(SystemExit) as exc:
        main(["eval", "--truth", str(sim_dir), "--decisions", str(decisions), "--check"])
    assert exc.value.code == 1
    captured = capsys.readouterr()
    assert "campaign calls blocked" in captured.out and "33.33%" in captured.out
    assert "not in the truth" in captured.err  # notes are diagnostics: stderr

    bad = _bad_decisions(tmp_path, "call_id,score\n1,0.5\n")
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--truth", str(sim_dir), "--decisions", str(bad)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("callradar: ") and "missing required column 'decision'" in err
    assert "Traceback" not in err


def test_report_is_a_dataclass_with_goals() -> None:
    assert {"coverage", "blocking", "refusals", "ringing", "before_block", "linking"} <= set(
        EvalReport.__dataclass_fields__
    )
