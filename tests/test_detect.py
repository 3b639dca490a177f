"""Weak labels, learn and score on the store, and the CLI commands."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from callradar.cli import app
from callradar.config import Config
from callradar.detect import learn, score, weak_labels
from callradar.detect.model import load_model
from callradar.detect.pipeline import current_model, default_model
from callradar.errors import BadRequestError, InputFileError, NotReadyError
from callradar.features.synth import generate_city
from callradar.protect.policy import Policy
from callradar.store import Store

X1, X2, X3, BANK = "+862151000001", "+862151000002", "+862151000003", "+862160000001"
CIT = [f"+86138000000{i:02d}" for i in range(10)]


def _labels(store: Store, label_file: Path | None = None) -> dict[str, tuple[int, float, str]]:
    t = weak_labels(store, label_file)
    return {
        n: (lab, w, s)
        for n, lab, w, s in zip(
            *(t.column(c).to_pylist() for c in ("number", "label", "weight", "source")),
            strict=True,
        )
    }


@pytest.fixture
def signals(store: Store) -> Store:
    # two citizens name X1, one names the bank; X2 called a citizen shortly before an
    # anonymous complaint; five citizens refused X3; the bank is registered
    store.sql(
        "INSERT INTO calls (call_id, start_time, end_time, caller, callee, ring_seconds, answered,"
        " talk_seconds, end_reason) VALUES ('k1', '2026-11-24 10:00:00+08',"
        " '2026-11-24 10:00:20+08', ?, ?, 5, true, 15, 'caller_hangup'),"
        " ('k2', '2026-11-24 06:00:00+08', '2026-11-24 06:00:20+08', ?, ?, 5, true, 15,"
        " 'caller_hangup')",
        [X2, CIT[3], X3, CIT[3]],
    )
    for i, (who, named) in enumerate(
        [(CIT[0], [X1]), (CIT[1], [X1]), (CIT[2], [BANK]), (CIT[3], [])]
    ):
        store.sql(
            "INSERT INTO complaints (complaint_id, received_time, complainant, reported_numbers,"
            " text) VALUES (?, '2026-11-24 10:30:00+08', ?, ?, '推销电话')",
            [f"c{i}", who, named],
        )
    for c in CIT[:5]:
        store.sql(
            "INSERT INTO refusals (time, callee, caller) VALUES ('2026-11-24 11:00:00+08', ?, ?)",
            [c, X3],
        )
    store.sql("INSERT INTO registry (number, organization) VALUES (?, 'Bank')", [BANK])
    return store


def test_weak_labels_and_their_weights(signals: Store) -> None:
    lab = _labels(signals)
    assert lab[X1][0] == 1 and lab[X1][1] == pytest.approx(1 - 0.3**2)
    assert lab[X1][2] == "complaint:2"
    assert lab[X2][0] == 1 and lab[X2][1] == pytest.approx(0.3)  # called 30 min before
    assert lab[X3][0] == 1 and lab[X3][1] == pytest.approx(1 - 0.75**5)
    assert lab[X3][2] == "refusal:5"  # its call was 4.5 h before the complaint: too early
    assert lab[BANK] == (0, 1.0, "registry;complaint:1")  # the registry wins
    assert len(lab) == 4


def test_analyst_labels_override(signals: Store, tmp_path: Path) -> None:
    f = tmp_path / "labels.csv"
    f.write_text("number,label\n021-5100-0001,legit\n13800000099,campaign\n", encoding="utf-8")
    lab = _labels(signals, f)
    assert lab[X1] == (0, 1.0, "analyst")
    assert lab["+8613800000099"] == (1, 1.0, "analyst")
    bad = tmp_path / "bad.csv"
    bad.write_text("number,label\n13800000099,maybe\n", encoding="utf-8")
    with pytest.raises(BadRequestError, match="line 2"):
        weak_labels(signals, bad)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("phone,tag\n1,1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="number,label"):
        weak_labels(signals, wrong)


@pytest.fixture
def city(store: Store) -> Store:
    generate_city(store, 30000, days=2, seed=11)
    return store


def _truth(store: Store) -> dict[str, bool]:
    return dict(store.sql("SELECT number, is_campaign FROM synth_truth").fetchall())


def test_learn_and_score(city: Store, tmp_path: Path) -> None:
    metrics = learn(city)
    assert metrics["positive_rows"] > 0 and metrics["unlabeled_rows"] > 0
    model = load_model(city, "local")
    assert model.feature_names_[0] == "attempts"
    summary = score(city, tmp_path / "out")
    n_feat = city.sql(
        "SELECT count(*) FROM caller_features WHERE win = 'day' AND win_start = "
        "(SELECT max(win_start) FROM caller_features WHERE win = 'day')"
    ).fetchall()[0][0]
    assert (
        summary["numbers"]
        == n_feat
        == city.sql("SELECT count(*) FROM number_scores").fetchall()[0][0]
    )
    assert summary["model"] == "local"
    truth = _truth(city)
    rows = city.sql("SELECT number, score, reasons FROM number_scores").fetchall()
    y = np.array([truth[n] for n, _, _ in rows])
    s = np.array([sc for _, sc, _ in rows])
    assert roc_auc_score(y, s) > 0.95  # never fitted on truth: weak labels only
    assert all(r for _, _, r in rows)
    # re-scoring the day replaces its rows (number_scores has no primary key)
    score(city)
    counts = city.sql("SELECT count(*), count(DISTINCT (number, day)) FROM number_scores")
    assert counts.fetchall()[0] == (n_feat, n_feat)

    with (tmp_path / "out" / "scores.csv").open(encoding="utf-8") as fh:
        out = list(csv.DictReader(fh))
    assert list(out[0]) == ["number", "score", "decision", "reasons"]
    assert len(out) == n_feat
    policy = Policy.from_config(city.config)
    registry = {r[0] for r in city.sql("SELECT number FROM registry").fetchall()}
    scores = [float(r["score"]) for r in out]
    assert scores == sorted(scores, reverse=True)
    for r in out:
        if r["decision"] == "allow":
            assert r["number"].startswith("p:")  # citizens pseudonymized
        else:
            assert r["number"].startswith("+86")
            assert r["decision"] == policy.decide(
                float(r["score"]), in_registry=r["number"] in registry
            )
            assert r["number"] not in registry or r["decision"] != "block"
    top = out[0]
    assert top["decision"] == "block" and truth[top["number"]]
    assert "%" in top["reasons"] or "calls" in top["reasons"]


def test_compiled_model_scores_like_lightgbm(city: Store, tmp_path: Path) -> None:
    learn(city)
    outputs = {}
    for min_rows in (0, 1):  # LightGBM's predict, then the compiled trees
        city.config = city.config.replace(detect__compile_min_rows=min_rows)
        score(city, tmp_path / str(min_rows), reveal=True)
        rows = city.sql("SELECT number, score, reasons FROM number_scores ORDER BY number")
        with (tmp_path / str(min_rows) / "scores.csv").open(encoding="utf-8") as fh:
            outputs[min_rows] = (rows.fetchall(), fh.read())
    (plain, plain_csv), (compiled, compiled_csv) = outputs[0], outputs[1]
    assert [r[0] for r in plain] == [r[0] for r in compiled]
    assert [r[2] for r in plain] == [r[2] for r in compiled]
    assert max(abs(a[1] - b[1]) for a, b in zip(plain, compiled, strict=True)) < 1e-12
    assert plain_csv == compiled_csv  # scores rounded to 6 places, same decisions


def test_learn_needs_positive_labels(store: Store) -> None:
    generate_city(store, 3000, days=1)
    store.sql("DELETE FROM complaints")
    store.sql("DELETE FROM refusals")
    with pytest.raises(NotReadyError, match="no positive weak labels"):
        learn(store)


def test_default_model_is_used_without_a_local_one(city: Store, tmp_path: Path) -> None:
    try:
        default_model()
    except NotReadyError:
        pytest.skip("this build ships no default model yet")
    model, name = current_model(city)
    assert name == "default" and model.feature_names_
    summary = score(city, tmp_path / "o")
    assert summary["model"] == "default"
    truth = _truth(city)
    rows = city.sql("SELECT number, score FROM number_scores").fetchall()
    auc = roc_auc_score([truth[n] for n, _ in rows], [s for _, s in rows])
    assert auc > 0.8


def test_cli_learn_and_score(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    with Store(db, Config(environ={})) as s:
        generate_city(s, 8000, days=1, seed=5)
    runner = CliRunner()
    res = runner.invoke(app, ["learn", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert '"model": "local"' in res.stdout
    res = runner.invoke(app, ["score", "--db", str(db), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "scores.csv").is_file()
    res = runner.invoke(app, ["features", "--db", str(db), "--window", "weak"])
    assert res.exit_code != 0


def test_pipeline_stages(store: Store) -> None:
    """The stages ``callradar run`` calls: features, fit, score."""
    from callradar.pipeline import run

    generate_city(store, 6000, days=2, seed=9)
    runs = {r.name: r.summary for r in run(store, ["features", "fit", "score"])}
    assert runs["features"]["caller_features"] > 0
    assert runs["fit"]["model"] == "local"
    assert (
        runs["score"]["numbers"] == store.sql("SELECT count(*) FROM number_scores").fetchall()[0][0]
    )
    wins = {r[0] for r in store.sql("SELECT DISTINCT win FROM caller_features").fetchall()}
    assert wins == {"hour", "day", "week"}
    # run again: incremental, the earlier day is kept and nothing is duplicated
    n = store.sql("SELECT count(*) FROM caller_features").fetchall()[0][0]
    run(store, ["features"])
    assert store.sql("SELECT count(*) FROM caller_features").fetchall()[0][0] == n
