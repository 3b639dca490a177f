"""CallerScorer: estimator contract, separation, reasons, persistence."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from callradar.detect.model import (
    CallerScorer,
    ModelNotFittedError,
    Reason,
    join_reasons,
    load_model,
    save_model,
)
from callradar.errors import BadRequestError, CallradarError, NotFoundError

TEMPLATES = {
    "attempts": "{value:,.0f} calls today to {distinct_callees:,.0f} distinct numbers",
    "distinct_callees": "{attempts:,.0f} calls today to {value:,.0f} distinct numbers",
    "answer_rate": "{pct:.0%} answered",
    "callback_rate": "{pct:.0%} of callees ever called it back",
}


def synthetic(n: int = 1500, seed: int = 0) -> tuple[pa.Table, np.ndarray]:
    """Robocallers: many attempts, low answer rate, nobody calls back; plus a noise column."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    # overlapping classes, so that several features carry part of the signal
    attempts = np.round(np.exp(np.where(y, rng.normal(5.0, 1.0, n), rng.normal(3.5, 1.0, n))))
    distinct = np.round(attempts * np.where(y, rng.uniform(0.8, 1.0, n), rng.uniform(0.3, 1.0, n)))
    answer = np.where(y, rng.beta(2, 4, n), rng.beta(4, 2, n))
    callback = np.where(y, rng.beta(1, 8, n), rng.beta(2, 3, n))
    noise = rng.normal(size=n)
    table = pa.table(
        {
            "attempts": attempts,
            "distinct_callees": distinct,
            "answer_rate": answer,
            "callback_rate": callback,
            "noise": noise,
        }
    )
    return table, y.astype(int)


@pytest.fixture(scope="module")
def data() -> tuple[pa.Table, np.ndarray]:
    return synthetic()


@pytest.fixture(scope="module")
def fitted(data: tuple[pa.Table, np.ndarray]) -> CallerScorer:
    X, y = data
    return CallerScorer(n_jobs=1, n_estimators=60, reason_templates=TEMPLATES, random_state=1).fit(
        X, y
    )


# -- contract ---------------------------------------------------------------
@parametrize_with_checks([CallerScorer(n_estimators=10, n_jobs=1)])
def test_sklearn_estimator_checks(estimator, check) -> None:
    """scikit-learn's own estimator checks (binary classifier, NaN allowed)."""
    check(estimator)


def test_params_are_stored_unchanged_and_clone_round_trips() -> None:
    cw = {0: 1.0, 1: 3.0}
    m = CallerScorer(
        n_jobs=1, n_estimators=7, class_weight=cw, monotone_constraints={"attempts": 1}
    )
    params = m.get_params()
    assert params["n_estimators"] == 7
    assert params["class_weight"] is cw
    c = clone(m)
    assert c is not m
    assert c.get_params() == params
    c.set_params(learning_rate=0.2)
    assert c.learning_rate == 0.2
    assert m.learning_rate == 0.05


def test_fit_returns_self_and_sets_learned_state(data: tuple[pa.Table, np.ndarray]) -> None:
    X, y = data
    m = CallerScorer(n_jobs=1, n_estimators=10)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(m))
    assert m.fit(X, y) is m
    check_is_fitted(m)
    assert m.feature_names_ == X.column_names
    assert m.n_features_in_ == 5
    assert list(m.classes_) == [0, 1]
    assert m.base_rate_ == pytest.approx(y.mean())
    assert m.feature_importances_.shape == (5,)


def test_not_fitted_error_is_both_sklearn_and_callradar(data: tuple[pa.Table, np.ndarray]) -> None:
    X, _ = data
    m = CallerScorer()
    with pytest.raises(ModelNotFittedError) as err:
        m.predict_proba(X)
    from sklearn.exceptions import NotFittedError

    assert isinstance(err.value, NotFittedError)
    assert isinstance(err.value, CallradarError)
    with pytest.raises(NotFittedError):
        check_is_fitted(m)


def test_input_kinds_agree(fitted: CallerScorer, data: tuple[pa.Table, np.ndarray]) -> None:
    X, _ = data
    ref = fitted.decision_function(X)
    as_dict = {n: X.column(n).to_numpy() for n in reversed(X.column_names)}  # order irrelevant
    np.testing.assert_array_equal(fitted.decision_function(as_dict), ref)
    with_extra = X.append_column("unrelated", pa.array(np.zeros(X.num_rows)))
    np.testing.assert_array_equal(fitted.decision_function(with_extra), ref)
    mat = np.column_stack([X.column(n).to_numpy() for n in fitted.feature_names_])
    np.testing.assert_array_equal(fitted.decision_function(mat), ref)


def test_bad_inputs_give_clear_errors(
    fitted: CallerScorer, data: tuple[pa.Table, np.ndarray]
) -> None:
    X, y = data
    with pytest.raises(BadRequestError, match="missing feature columns: noise"):
        fitted.predict(X.drop_columns(["noise"]))
    with pytest.raises(BadRequestError, match="exactly two classes"):
        CallerScorer(n_jobs=1, n_estimators=2).fit(X, np.zeros(X.num_rows))
    with pytest.raises(BadRequestError, match="not numeric"):
        fitted.predict(
            X.append_column("attempts2", pa.array(["x"] * X.num_rows))
            .select(["attempts2"])
            .rename_columns(["attempts"])
        )
    with pytest.raises(BadRequestError, match="monotone_constraints"):
        CallerScorer(n_jobs=1, n_estimators=2, monotone_constraints={"nope": 1}).fit(X, y)
    with pytest.raises(BadRequestError, match="class_weight"):
        CallerScorer(n_jobs=1, n_estimators=2, class_weight="heavy").fit(X, y)


def test_proba_is_sigmoid_of_raw_and_predict_uses_threshold(
    fitted: CallerScorer, data: tuple[pa.Table, np.ndarray]
) -> None:
    X, _ = data
    raw = fitted.decision_function(X)
    proba = fitted.predict_proba(X)
    assert proba.shape == (X.num_rows, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-raw)))
    strict = clone(fitted).set_params(threshold=0.99)
    strict.booster_, strict.classes_, strict.feature_names_ = (
        fitted.booster_,
        fitted.classes_,
        fitted.feature_names_,
    )
    assert strict.predict(X).sum() == int((proba[:, 1] > 0.99).sum())
    assert fitted.predict(X).sum() == int((proba[:, 1] > 0.5).sum())


# -- quality ----------------------------------------------------------------
def test_separates_classes_on_held_out_data(fitted: CallerScorer) -> None:
    X_test, y_test = synthetic(n=1000, seed=7)
    auc = roc_auc_score(y_test, fitted.score_samples(X_test))
    assert auc > 0.95
    # the pure-noise column must not matter much
    imp = dict(zip(fitted.feature_names_, fitted.feature_importances_, strict=True))
    assert imp["noise"] < 0.05 * sum(imp.values())


def test_class_weight_and_monotone_constraints_take_effect(
    data: tuple[pa.Table, np.ndarray],
) -> None:
    X, y = data
    plain = CallerScorer(n_jobs=1, n_estimators=30).fit(X, y)
    heavy = CallerScorer(n_jobs=1, n_estimators=30, class_weight={0: 1.0, 1: 10.0}).fit(X, y)
    assert heavy.score_samples(X).mean() > plain.score_samples(X).mean()
    mono = CallerScorer(n_jobs=1, n_estimators=30, monotone_constraints={"attempts": 1}).fit(X, y)
    grid = {n: np.full(50, float(np.median(X.column(n).to_numpy()))) for n in X.column_names}
    grid["attempts"] = np.linspace(0, 1000, 50)
    assert np.all(np.diff(mono.decision_function(grid)) >= -1e-12)


# -- reasons ----------------------------------------------------------------
def test_contributions_sum_to_raw_score(
    fitted: CallerScorer, data: tuple[pa.Table, np.ndarray]
) -> None:
    X, _ = data
    contrib = fitted.contributions(X.slice(0, 50))
    assert contrib.shape == (50, 6)
    np.testing.assert_allclose(contrib.sum(axis=1), fitted.decision_function(X.slice(0, 50)))


def test_path_contributions_sum_to_raw_score_and_follow_refits(
    data: tuple[pa.Table, np.ndarray],
) -> None:
    X, y = data
    m = CallerScorer(n_jobs=1, n_estimators=40, random_state=3).fit(X, y)
    part = X.slice(0, 200)
    path = m.contributions(part, method="path")
    assert path.shape == (200, 6)
    np.testing.assert_allclose(path.sum(axis=1), m.decision_function(part), atol=1e-9)
    # the strongest feature per row mostly agrees with exact SHAP values
    shap = m.contributions(part)
    top_path = np.argmax(np.abs(path[:, :-1]), axis=1)
    top_shap = np.argmax(np.abs(shap[:, :-1]), axis=1)
    assert np.mean(top_path == top_shap) > 0.7
    # refitting on other labels replaces the cached path tables
    m.fit(X, 1 - y)
    np.testing.assert_allclose(
        m.contributions(part, method="path").sum(axis=1), m.decision_function(part), atol=1e-9
    )
    with pytest.raises(BadRequestError, match="'shap' or 'path'"):
        m.contributions(part, method="lime")


def test_reasons_are_sensible(fitted: CallerScorer) -> None:
    robo = {
        "attempts": [1204.0],
        "distinct_callees": [1190.0],
        "answer_rate": [0.29],
        "callback_rate": [0.0],
        "noise": [0.0],
    }
    human = {
        "attempts": [9.0],
        "distinct_callees": [4.0],
        "answer_rate": [0.9],
        "callback_rate": [0.6],
        "noise": [0.0],
    }
    (robo_reasons,) = fitted.explain(robo, top_k=3)
    assert 1 <= len(robo_reasons) <= 3
    assert all(isinstance(r, Reason) and r.contribution > 0 for r in robo_reasons)
    assert "noise" not in {r.feature for r in robo_reasons}
    contribs = [r.contribution for r in robo_reasons]
    assert contribs == sorted(contribs, reverse=True)
    expected = {
        "attempts": "1,204 calls today to 1,190 distinct numbers",
        "distinct_callees": "1,204 calls today to 1,190 distinct numbers",
        "answer_rate": "29% answered",
        "callback_rate": "0% of callees ever called it back",
    }
    assert [r.text for r in robo_reasons] == [expected[r.feature] for r in robo_reasons]
    assert join_reasons(robo_reasons) == ", ".join(expected[r.feature] for r in robo_reasons)
    (path_reasons,) = fitted.explain(robo, top_k=3, method="path")
    assert path_reasons and all(r.contribution > 0 for r in path_reasons)
    assert [r.text for r in path_reasons] == [expected[r.feature] for r in path_reasons]
    (human_reasons,) = fitted.explain(human, top_k=2)
    assert human_reasons and all(r.contribution < 0 for r in human_reasons)
    # templates given to explain override the constructor's; a broken one falls back
    broken = {"distinct_callees": "{missing} x", "callback_rate": "{value:.1f} back"}
    (over,) = fitted.explain(robo, top_k=5, templates=broken)
    texts = {r.feature: r.text for r in over}
    assert texts["distinct_callees"] == "distinct_callees = 1,190"
    assert texts["callback_rate"] == "0.0 back"
    # unknown value renders as unknown
    robo_nan = dict(robo, answer_rate=[float("nan")])
    (nan_reasons,) = fitted.explain(robo_nan, top_k=5)
    assert all(r.text == "answer_rate unknown" for r in nan_reasons if r.feature == "answer_rate")
    # ... unless the templates say what its absence means
    said = {"answer_rate.missing": "no call was answered"}
    (nan_said,) = fitted.explain(robo_nan, top_k=5, templates=said)
    assert any(r.feature == "answer_rate" for r in nan_said)
    assert [r.text for r in nan_said if r.feature == "answer_rate"] == [
        r.text.replace("answer_rate unknown", "no call was answered")
        for r in nan_reasons
        if r.feature == "answer_rate"
    ]


def test_the_detect_reasons_say_what_a_missing_talk_time_means() -> None:
    from callradar.detect.pipeline import REASON_TEMPLATES

    assert REASON_TEMPLATES["talk_mean.missing"] == "none of its calls was answered"
    assert all(k.split(".")[0] in REASON_TEMPLATES for k in REASON_TEMPLATES if "." in k)


# -- persistence --------------------------------------------------------------
def test_bytes_round_trip_gives_identical_predictions(
    fitted: CallerScorer, data: tuple[pa.Table, np.ndarray], tmp_path
) -> None:
    X, _ = data
    blob = fitted.to_bytes()
    doc = json.loads(blob)
    assert doc["format"].startswith("callradar.CallerScorer")
    path = tmp_path / "model.json"
    fitted.save(path)
    for again in (CallerScorer.from_bytes(blob), CallerScorer.load(path)):
        np.testing.assert_array_equal(again.decision_function(X), fitted.decision_function(X))
        assert again.get_params() == fitted.get_params()
        assert again.explain(X.slice(0, 20)) == fitted.explain(X.slice(0, 20))
    with pytest.raises(BadRequestError, match="not a saved callradar model"):
        CallerScorer.from_bytes(b"\x80not json")
    with pytest.raises(NotFoundError):
        CallerScorer.load(tmp_path / "absent.json")


def test_store_round_trip(store, data: tuple[pa.Table, np.ndarray]) -> None:
    X, y = data
    m = CallerScorer(n_jobs=1, n_estimators=15, class_weight={0: 1.0, 1: 2.0}).fit(X, y)
    save_model(store, "default", m, metrics={"auc": 0.99})
    save_model(store, "default", m, metrics={"auc": 0.98})  # replaces
    assert store.sql("SELECT count(*), any_value(metrics) FROM models").fetchone() == (
        1,
        '{"auc": 0.98}',
    )
    again = load_model(store, "default")
    assert again.class_weight == {0: 1.0, 1: 2.0}
    np.testing.assert_array_equal(again.decision_function(X), m.decision_function(X))
    with pytest.raises(NotFoundError, match="known: default"):
        load_model(store, "other")
