"""Sichuan study: leak-free neighbour-label features and the CV on the real data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from callradar.detect.sichuan import (
    VARIANTS,
    SichuanData,
    best_threshold,
    build_features,
    cross_validate,
    label_features,
    load_sichuan,
)
from callradar.errors import BadRequestError, NotFoundError, UnknownNameError


def graph(n: int, edges: list[tuple[int, int]]) -> sp.csr_matrix:
    r, c = zip(*edges, strict=True)
    a = sp.coo_matrix((np.ones(len(edges)), (r, c)), shape=(n, n))
    return ((a + a.T) > 0).astype(float).tocsr()


def test_label_features_by_hand() -> None:
    # 0-1, 1-2, 2-3, 0-2; labels 1,0,1,? (row 3 unknown)
    adj = graph(4, [(0, 1), (1, 2), (2, 3), (0, 2)])
    y = np.array([1, 0, 1, 0])
    f = label_features(adj, y, np.array([True, True, True, False]))
    np.testing.assert_array_equal(f["l_fraud_neighbours"], [1, 2, 1, 1])
    np.testing.assert_array_equal(f["l_normal_neighbours"], [1, 0, 1, 0])
    np.testing.assert_allclose(f["l_fraud_share"], [0.5, 1.0, 0.5, 1.0])
    # two hops, walks back to the row itself excluded: 0->1->2 (fraud), 0->2->1 (normal)
    assert f["l_fraud_share_2hop"][0] == pytest.approx(0.5)
    assert f["l_fraud_share_2hop"][3] == pytest.approx(0.5)  # 3->2->0 fraud, 3->2->1 normal
    # neighbours' shares without me: for 0, neighbour 1 -> {2}: 1.0, neighbour 2 -> {1}: 0.0
    assert f["l_neigh_mean_fraud_share"][0] == pytest.approx(0.5)
    assert f["l_neigh_mean_fraud_share"][3] == pytest.approx(0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_label_features_never_read_unknown_or_own_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    edges = [(int(a), int(b)) for a, b in rng.integers(0, n, (250, 2)) if a != b]
    adj = graph(n, edges)
    y = (rng.random(n) < 0.4).astype(int)
    known = rng.random(n) < 0.7
    ref = label_features(adj, y, known)
    # 1. any change to the labels of unknown (test) rows changes nothing at all
    y2 = y.copy()
    y2[~known] = 1 - y2[~known]
    for name, values in label_features(adj, y2, known).items():
        np.testing.assert_array_equal(values, ref[name], err_msg=name)
    # 2. a known row's own label never enters its own features
    for i in np.flatnonzero(known)[:15]:
        y3 = y.copy()
        y3[i] = 1 - y3[i]
        for name, values in label_features(adj, y3, known).items():
            np.testing.assert_array_equal(values[i], ref[name][i], err_msg=f"{name} row {i}")


def test_build_features_groups() -> None:
    rng = np.random.default_rng(3)
    n = 40
    raw = pa.table(
        {
            name: rng.integers(1, 100, n).astype(float)
            for name in [
                "opposite_count",
                "opposite_unique",
                "voc_calltype1",
                "call_dur_mean",
                "call_dur_median",
                "call_dur_max",
                "imeis",
                "sms_count",
                "sms_nunique",
                "calltype_rate",
                "flow_sum",
                "flow_max",
                "arpu_mean",
                "arpu_var",
                "arpu_max",
                "arpu_min",
                "arpu_sum",
                "month_ids",
                "busi_count",
                "voc_day_nunique",
                "voc_hour_nunique",
                "voc_hour_mode_count",
                "voc_day_mode_count",
                "county_name_call",
            ]
        }
    )
    adj = graph(n, [(int(a), int(b)) for a, b in rng.integers(0, n, (80, 2)) if a != b])
    data = SichuanData(raw=raw, label=(rng.random(n) < 0.3).astype(np.int8), adjacency=adj)
    only_raw = build_features(data, None, ("raw",))
    assert only_raw.column_names == raw.column_names
    full = build_features(data, np.ones(n, dtype=bool))
    names = full.column_names
    assert full.num_rows == n
    assert {"x_unique_share", "g_degree", "l_fraud_share"} <= set(names)
    np.testing.assert_array_equal(full.column("g_degree").to_numpy(), adj.sum(axis=1).A1)
    with pytest.raises(BadRequestError, match="known"):
        build_features(data, None, ("raw", "labels"))


def test_best_threshold_separates() -> None:
    y = np.array([0] * 50 + [1] * 50)
    p = np.concatenate([np.linspace(0.0, 0.3, 50), np.linspace(0.6, 1.0, 50)])
    t = best_threshold(y, p)
    assert 0.3 < t <= 0.6


def test_missing_data_and_unknown_variant(tmp_path, shared_data) -> None:
    with pytest.raises(NotFoundError, match="Sichuan data file missing"):
        load_sichuan(tmp_path)
    data = load_sichuan(shared_data / "sichuan-fraud")
    with pytest.raises(UnknownNameError, match="did you mean 'graph'"):
        cross_validate(data, "grahp")


def test_real_data_loads(shared_data) -> None:
    data = load_sichuan(shared_data / "sichuan-fraud")
    assert data.n == 6106
    assert data.raw.num_columns == 55
    assert int(data.label.sum()) == 1962
    adj = data.adjacency
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    assert adj.nnz == 2 * 416_211


@pytest.mark.slow
def test_cv_on_real_data_beats_floor(shared_data) -> None:
    """Fewer trees and folds than the benchmark; the floor is well below its figures."""
    data = load_sichuan(shared_data / "sichuan-fraud")
    small = {"n_estimators": 60, "learning_rate": 0.1}
    res = cross_validate(data, "graph", n_splits=3, inner_splits=2, params=small)
    m = res.mean()
    assert len(res.folds) == 3
    assert res.oof_proba is not None and not np.isnan(res.oof_proba).any()
    assert m["auc"] > 0.93
    assert m["f1_macro"] > 0.89
    assert m["accuracy"] > 0.90
    assert set(VARIANTS) == {"plain", "tuned", "graph"}
