"""The online scorer: how likely an unknown caller number is campaign traffic.

It sees only what the call path knows at setup (see the replay protocol): the
number's kind and allocation block, its trunk, what it did since the engine
started (INVITEs, and the records of its calls that have ended), and whether
anyone calls it back. The features are :data:`ONLINE_FEATURES`, computed by
:meth:`callradar.protect.engine.Engine.features`.

It is a logistic model with the scikit-learn estimator shape. ``fit`` learns the
weights from history replayed through the engine, with labels distilled from
the batch detector (numbers the day-level model scored high or low): never
from simulator truth. Before any fit, :meth:`OnlineScorer.default` uses
documented prior weights so that a fresh install still decides.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

ONLINE_FEATURES: tuple[str, ...] = (
    "kind_fixed_line",
    "kind_virtual",
    "kind_mobile",
    "block_campaign_share",
    "range_campaign_share",
    "trunk_campaign_share",
    "trunk_calls_seen_log",
    "invites_in_window_log",
    "invites_total_log",
    "distinct_callee_ratio",
    "ascending_callee_share",
    "gap_cv",
    "answer_rate_ended",
    "prompt_like_share",
    "long_talk_share",
    "ended_calls_log",
    "known_legit",
    "received_ratio",
    "callee_redial_share",
)

# Prior log-odds weights, used until the scorer is fitted on local history.
# Campaign numbers come from blocks and trunks campaigns use, burst to many
# distinct callees, in ascending order, with regular gaps, and their answered
# calls end at the prompt's length; legitimate numbers are called back and were
# seen before with low scores; and a campaign re-dials its target slice from new
# numbers, so many of a new number's callees were dialled by one campaign before.
PRIOR_WEIGHTS: dict[str, float] = {
    "kind_fixed_line": 0.5,
    "kind_virtual": 0.8,
    "kind_mobile": -0.5,
    "block_campaign_share": 4.0,
    "range_campaign_share": 2.0,
    "trunk_campaign_share": 3.0,
    "trunk_calls_seen_log": 0.0,
    "invites_in_window_log": 0.8,
    "invites_total_log": 0.3,
    "distinct_callee_ratio": 0.5,
    "ascending_callee_share": 1.0,
    "gap_cv": -0.3,
    "answer_rate_ended": -0.5,
    "prompt_like_share": 3.0,
    "long_talk_share": -1.0,
    "ended_calls_log": 0.0,
    "known_legit": -4.0,
    "received_ratio": -3.0,
    "callee_redial_share": 3.0,
}
PRIOR_INTERCEPT = -5.0

# Features whose weight is not fitted but kept at its prior: distillation labels
# come from the same batch scores, so fitting them would only learn the label.
FIXED_FEATURES: tuple[str, ...] = ("known_legit",)


class OnlineScorer(BaseEstimator, ClassifierMixin):
    """Logistic scorer over :data:`ONLINE_FEATURES`."""

    def __init__(self, C: float = 0.1, class_weight: str | None = None, max_iter: int = 500):
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> OnlineScorer:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=int)
        free = np.array([f not in FIXED_FEATURES for f in ONLINE_FEATURES])
        Xf = X[:, free]
        mean = Xf.mean(axis=0)
        scale = Xf.std(axis=0)
        scale[scale == 0] = 1.0
        lr = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter)
        lr.fit((Xf - mean) / scale, y, sample_weight=sample_weight)
        self.classes_ = lr.classes_
        # fold the standardization into the weights: one dot product per call
        coef = np.array([PRIOR_WEIGHTS[f] for f in ONLINE_FEATURES], dtype=float)
        coef[free] = lr.coef_[0] / scale
        self.coef_ = coef
        self.intercept_ = float(lr.intercept_[0] - np.dot(lr.coef_[0], mean / scale))
        self.feature_names_ = list(ONLINE_FEATURES)
        self._w = self.coef_.tolist()
        return self

    @classmethod
    def default(cls) -> OnlineScorer:
        """The prior model: documented weights, no fit needed."""
        s = cls()
        s.coef_ = np.array([PRIOR_WEIGHTS[f] for f in ONLINE_FEATURES])
        s.intercept_ = PRIOR_INTERCEPT
        s.classes_ = np.array([0, 1])
        s.feature_names_ = list(ONLINE_FEATURES)
        s._w = s.coef_.tolist()
        return s

    def decision_function(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        z = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def predict_proba_one(self, x: list[float]) -> float:
        """Fast path for the call path: one feature vector, plain Python."""
        z = self.intercept_
        for w, v in zip(self._w, x, strict=True):
            z += w * v
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> str:
        return json.dumps(
            {
                "params": self.get_params(),
                "coef": list(map(float, self.coef_)),
                "intercept": float(self.intercept_),
                "features": list(self.feature_names_),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> OnlineScorer:
        d = json.loads(text)
        if d["features"] != list(ONLINE_FEATURES):
            raise ValueError("stored online scorer was fitted on other features; relearn it")
        s = cls(**d["params"])
        s.coef_ = np.array(d["coef"])
        s.intercept_ = float(d["intercept"])
        s.classes_ = np.array([0, 1])
        s.feature_names_ = d["features"]
        s._w = s.coef_.tolist()
        return s
