"""The scoring estimator: gradient-boosted trees with human-readable reasons.

:class:`CallerScorer` follows the scikit-learn estimator contract (keyword
hyperparameters stored unchanged, ``fit`` returns ``self``, learned state ends
in ``_``, raw scores from :meth:`~CallerScorer.decision_function` before any
decision). The backend is LightGBM.

Input ``X``: **columns by name**. Give a ``pyarrow.Table`` (or ``RecordBatch``),
or a mapping ``{feature name: 1-D array}`` (e.g. ``{"attempts": np.array([...])}``).
At ``fit`` every column becomes a feature, in the given order (pass
``features=[...]`` to pick and order a subset); at prediction time the same
columns are looked up by name (extra columns are ignored, a missing one is an
error). A 2-D NumPy array is accepted too and is read as the columns in
``feature_names_`` order (at ``fit``: named ``f0, f1, ...``), which keeps
scikit-learn helpers such as ``clone`` / ``cross_val_score`` usable. Nulls and
NaN are "unknown" (LightGBM routes them natively).

Reasons: :meth:`~CallerScorer.explain` returns, per row, the features that
pushed the score most (LightGBM's per-feature contributions in log-odds),
each rendered with a template such as ``"{value:,.0f} calls today"`` or
``"{pct:.0%} unanswered"``. A template may also name any other feature of the
row (``"{value:,.0f} calls today to {distinct_callees:,.0f} distinct numbers"``).
Contributions are exact TreeSHAP values by default; ``method="path"`` uses the
much faster path attribution for large batches (both sum to the raw score).

Persistence: :meth:`~CallerScorer.to_bytes` / :meth:`~CallerScorer.from_bytes`
(and ``save`` / ``load`` on files, ``save_model`` / ``load_model`` on the
store's ``models`` table) write JSON: the hyperparameters, the learned
metadata and LightGBM's own model text. Nothing is pickled.
"""

from __future__ import annotations

import json
import math
import os
import re
import string
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils.multiclass import type_of_target

from callradar.errors import BadRequestError, NotFoundError, NotReadyError

if TYPE_CHECKING:
    from callradar.store import Store

__all__ = [
    "FORMAT",
    "CallerScorer",
    "ModelNotFittedError",
    "Reason",
    "ScorerInputError",
    "join_reasons",
    "load_model",
    "save_model",
]

FORMAT = "callradar.CallerScorer/1"
#: rows per block when the feature columns are copied into the row-major matrix
_FILL_ROWS = 4096


class ScorerInputError(BadRequestError, ValueError):
    """Bad input to the scorer (also a ValueError, as scikit-learn expects)."""

    def __init__(self, message: str, **detail: Any) -> None:
        BadRequestError.__init__(self, message, **detail)


class ModelNotFittedError(NotReadyError, NotFittedError):
    """The scorer was asked to predict before ``fit`` (also sklearn's NotFittedError)."""

    code = "model_not_fitted"


@dataclass(frozen=True)
class Reason:
    """One human-readable reason behind a score."""

    feature: str
    value: float
    contribution: float  # log-odds the feature added to the raw score (negative: lowered it)
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def join_reasons(reasons: Sequence[Reason], sep: str = ", ") -> str:
    """One sentence out of a row's reasons (``"1,204 calls today, 71% unanswered"``)."""
    return sep.join(r.text for r in reasons)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _fields(template: str) -> set[str]:
    """Names a format template refers to (``"{value:.0%} of {attempts}"`` -> value, attempts)."""
    try:
        return {f.split(".")[0].split("[")[0] for _, f, _, _ in _FORMATTER.parse(template) if f}
    except ValueError:
        return set()


_FORMATTER = string.Formatter()


def _render(
    template: str | None,
    feature: str,
    value: float,
    row: Mapping[str, float],
    missing: str | None = None,
) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing or f"{feature} unknown"
    if template:
        try:
            return template.format(value=value, pct=value, name=feature, **row)
        except (KeyError, IndexError, ValueError, TypeError):
            pass  # a template that does not fit this row falls back to the plain form
    return f"{feature} = {value:,.4g}"


class CallerScorer(ClassifierMixin, BaseEstimator):
    """Binary scorer (positive class = unwanted automated caller) with reasons.

    Hyperparameters (all keyword, stored unchanged):

    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples,
    subsample, subsample_freq, colsample_bytree, reg_alpha, reg_lambda,
    min_split_gain: as in LightGBM.
    class_weight: ``None``, ``"balanced"`` or ``{class label: weight}``.
    monotone_constraints: ``{feature: -1 | 0 | 1}`` (1: the score may only rise
    with the feature); unnamed features are unconstrained.
    features: column names to use, in order; ``None`` = every column of ``X``.
    reason_templates: ``{feature: template}`` used by :meth:`explain`.
    threshold: probability above which :meth:`predict` says positive.
    random_state: seed (``None`` = 0). n_jobs: LightGBM threads (``None`` = its default).
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        max_depth: int = -1,
        min_child_samples: int = 20,
        subsample: float = 1.0,
        subsample_freq: int = 0,
        colsample_bytree: float = 1.0,
        reg_alpha: float = 0.0,
        reg_lambda: float = 0.0,
        min_split_gain: float = 0.0,
        class_weight: str | Mapping[Any, float] | None = None,
        monotone_constraints: Mapping[str, int] | None = None,
        features: Sequence[str] | None = None,
        reason_templates: Mapping[str, str] | None = None,
        threshold: float = 0.5,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.min_split_gain = min_split_gain
        self.class_weight = class_weight
        self.monotone_constraints = monotone_constraints
        self.features = features
        self.reason_templates = reason_templates
        self.threshold = threshold
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        return tags

    # -- input ----------------------------------------------------------------
    @staticmethod
    def _columns(X: Any) -> dict[str, np.ndarray] | None:
        """Named columns of X as float arrays, or None when X is a bare 2-D array."""
        if sp.issparse(X):
            raise ScorerInputError("sparse input is not supported: pass dense named columns")
        if isinstance(X, pa.RecordBatch):
            X = pa.Table.from_batches([X])
        if isinstance(X, pa.Table):
            out = {}
            for name in X.column_names:
                col = X.column(name)
                if pa.types.is_boolean(col.type):
                    col = col.cast(pa.int8())
                try:
                    arr = col.to_numpy(zero_copy_only=False)
                    out[name] = np.asarray(arr, dtype=np.float64)
                except (TypeError, ValueError, pa.ArrowInvalid) as exc:
                    raise ScorerInputError(
                        f"feature column {name!r} is not numeric ({col.type})", column=name
                    ) from exc
            return out
        if isinstance(X, Mapping):
            out = {}
            for name, values in X.items():
                arr = np.asarray(values)
                if arr.ndim != 1:
                    raise ScorerInputError(f"feature column {name!r} is not 1-D", column=name)
                try:
                    out[str(name)] = arr.astype(np.float64)
                except (TypeError, ValueError) as exc:
                    raise ScorerInputError(
                        f"feature column {name!r} is not numeric ({arr.dtype})", column=name
                    ) from exc
            return out
        return None

    def _matrix(self, X: Any, names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
        cols = self._columns(X)
        if cols is None:
            if X is None:
                raise ScorerInputError("X is None: pass a pyarrow Table or named columns")
            arr = np.asarray(X)
            if arr.dtype.kind == "c":
                raise ScorerInputError("Complex data not supported")
            arr = arr.astype(np.float64)
            if arr.ndim != 2:
                raise ScorerInputError(
                    "X must be a pyarrow Table, a mapping of named columns, or a 2-D array "
                    "(Reshape your data: a single feature is X.reshape(-1, 1))"
                )
            if names is None:
                names = [f"f{i}" for i in range(arr.shape[1])]
            if arr.shape[1] != len(names):
                raise ScorerInputError(
                    f"X has {arr.shape[1]} features, but CallerScorer is expecting "
                    f"{len(names)} features as input",
                    expected=list(names),
                )
            return np.ascontiguousarray(arr), list(names)
        if names is None:
            names = list(cols)
        missing = [n for n in names if n not in cols]
        if missing:
            raise ScorerInputError(
                "missing feature columns: " + ", ".join(missing), missing=missing
            )
        lengths = {len(cols[n]) for n in names}
        if len(lengths) > 1:
            raise ScorerInputError("feature columns differ in length")
        n_rows = lengths.pop() if lengths else 0
        mat = np.empty((n_rows, len(names)), dtype=np.float64)
        # row blocks that stay in the cache: filling one column of the whole matrix at a
        # time rewrites every cache line of it once per column (4-8x slower)
        for r0 in range(0, n_rows, _FILL_ROWS):
            block = mat[r0 : r0 + _FILL_ROWS]
            for j, n in enumerate(names):
                block[:, j] = cols[n][r0 : r0 + _FILL_ROWS]
        return mat, list(names)

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ModelNotFittedError(
                "the scorer is not fitted yet: call fit (or load a saved model) first"
            )

    # -- fitting --------------------------------------------------------------
    def _lgb_params(self, names: list[str]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_child_samples": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": self.subsample_freq,
            "feature_fraction": self.colsample_bytree,
            "lambda_l1": self.reg_alpha,
            "lambda_l2": self.reg_lambda,
            "min_gain_to_split": self.min_split_gain,
            "seed": 0 if self.random_state is None else int(self.random_state),
            "deterministic": True,
            "verbosity": -1,
        }
        if self.n_jobs is not None:
            params["num_threads"] = int(self.n_jobs)
        if self.monotone_constraints:
            unknown = sorted(set(self.monotone_constraints) - set(names))
            if unknown:
                raise ScorerInputError(
                    "monotone_constraints name unknown features: " + ", ".join(unknown)
                )
            params["monotone_constraints"] = [
                int(self.monotone_constraints.get(n, 0)) for n in names
            ]
        return params

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CallerScorer:
        """Fit on named feature columns ``X`` and binary labels ``y``; returns ``self``."""
        mat, names = self._matrix(X, list(self.features) if self.features is not None else None)
        if y is None:
            raise ScorerInputError("CallerScorer requires y to be passed, but the target y is None")
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it was flattened",
                DataConversionWarning,
                stacklevel=2,
            )
            y_arr = y_arr.ravel()
        if y_arr.ndim != 1 or len(y_arr) != mat.shape[0]:
            raise ScorerInputError(f"y must be 1-D with {mat.shape[0]} labels, got {y_arr.shape}")
        if mat.shape[1] == 0:
            raise ScorerInputError(
                f"0 feature(s) (shape={mat.shape}) while a minimum of 1 is required."
            )
        if mat.shape[0] < 2:
            raise ScorerInputError(
                f"{mat.shape[0]} sample(s) (shape={mat.shape}) while a minimum of 2 is required; "
                f"n_samples={mat.shape[0]} is too few to fit"
            )
        kind = type_of_target(y_arr)
        if kind not in ("binary", "multiclass"):
            raise ScorerInputError(f"Unknown label type: {kind}; the scorer needs two classes")
        classes, y_idx = np.unique(y_arr, return_inverse=True)
        if len(classes) > 2:
            raise ScorerInputError(
                f"Only binary classification is supported. The target has {len(classes)} classes",
                classes=[str(c) for c in classes],
            )
        if len(classes) != 2:
            raise ScorerInputError(
                f"the scorer needs exactly two classes in y, got {len(classes)}",
                classes=[str(c) for c in classes],
            )
        weight = np.ones(len(y_idx)) if sample_weight is None else np.asarray(sample_weight, float)
        if weight.shape != y_idx.shape:
            raise ScorerInputError("sample_weight must have one weight per row")
        if self.class_weight is not None:
            if isinstance(self.class_weight, str):
                if self.class_weight != "balanced":
                    raise ScorerInputError(
                        f"class_weight must be None, 'balanced' or a mapping, "
                        f"not {self.class_weight!r}"
                    )
                counts = np.bincount(y_idx, minlength=2).astype(float)
                per_class = len(y_idx) / (2.0 * counts)
            else:
                per_class = np.array([float(self.class_weight.get(c, 1.0)) for c in classes])
            weight = weight * per_class[y_idx]
        if not np.all(np.isfinite(weight)) or np.sum(weight) <= 0:
            raise ScorerInputError("sample weights must be finite and not all zero")
        params = self._lgb_params(names)
        data = lgb.Dataset(
            mat,
            label=y_idx.astype(np.float64),
            weight=weight,
            feature_name=names,
            free_raw_data=True,
        )
        booster = lgb.train(params, data, num_boost_round=int(self.n_estimators))
        self.booster_ = booster
        self.classes_ = classes
        self.feature_names_ = names
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.base_rate_ = float(np.sum(weight * y_idx) / np.sum(weight))
        return self

    # -- scores ---------------------------------------------------------------
    def decision_function(self, X: Any) -> np.ndarray:
        """Raw score (log-odds of the positive class) per row."""
        self._check_fitted()
        mat, _ = self._matrix(X, self.feature_names_)
        compiled = getattr(self, "compiled_", None)
        if compiled is not None and compiled[0] is self.booster_:
            raw = compiled[1].predict(mat, n_jobs=os.cpu_count() or 1)
        else:
            raw = self.booster_.predict(mat, raw_score=True)
        return np.asarray(raw, dtype=np.float64)

    def compile(self) -> CallerScorer:
        """Compile the trees to machine code (lleaves, LLVM) for large batches; returns ``self``.

        Later predictions run the compiled trees: about 5x less CPU than LightGBM's
        predict, for about 2 s of compiling (200 trees). Same trees, so the same
        leaves; raw scores equal LightGBM's up to the order of the floating-point sum
        over trees (about 1e-14). A refit or reload drops the compiled code.
        """
        self._check_fitted()
        import lleaves

        with tempfile.TemporaryDirectory(prefix="callradar-model-") as tmp:
            path = Path(tmp) / "model.txt"
            path.write_text(self.booster_.model_to_string(), encoding="utf-8")
            compiled = lleaves.Model(model_file=str(path))
            # no inlining: a third of the compile time for a little more predict time
            compiled.compile(raw_score=True, finline=False)
        self.compiled_ = (self.booster_, compiled)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` probabilities in ``classes_`` order."""
        raw = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-raw))
        return np.column_stack([1.0 - p, p])

    def score_samples(self, X: Any) -> np.ndarray:
        """Probability of the positive class, 0..1 (the ``score`` of the contracts)."""
        return self.predict_proba(X)[:, 1]

    def predict(self, X: Any) -> np.ndarray:
        """Class label per row: positive when its probability exceeds ``threshold``."""
        p = self.score_samples(X)
        return self.classes_[(p > self.threshold).astype(int)]

    @property
    def feature_importances_(self) -> np.ndarray:
        """Total split gain per feature, in ``feature_names_`` order."""
        self._check_fitted()
        return np.asarray(self.booster_.feature_importance(importance_type="gain"), float)

    # -- reasons --------------------------------------------------------------
    def contributions(self, X: Any, method: str = "shap") -> np.ndarray:
        """Per-row, per-feature contributions in log-odds; last column is the bias.

        Each row sums to :meth:`decision_function` of that row. ``method``:
        ``"shap"`` (LightGBM's TreeSHAP: exact Shapley values, about a
        millisecond per row for a few hundred trees) or ``"path"`` (Saabas
        path attribution: each split on the row's path credits its feature
        with the change of the node value; tens of times faster, fine for
        ranking reasons over millions of rows).
        """
        self._check_fitted()
        mat, _ = self._matrix(X, self.feature_names_)
        return self._contributions(mat, method)

    def _contributions(self, mat: np.ndarray, method: str) -> np.ndarray:
        if method == "shap":
            return np.asarray(self.booster_.predict(mat, pred_contrib=True), dtype=np.float64)
        if method != "path":
            raise ScorerInputError(f"contribution method must be 'shap' or 'path', not {method!r}")
        table, offsets, bias = self._path_tables()
        leaves = np.asarray(self.booster_.predict(mat, pred_leaf=True), dtype=np.int64)
        leaves = leaves.reshape(mat.shape[0], -1) + offsets[None, :]
        n_rows, n_trees = leaves.shape
        # one-hot rows x (all leaves of all trees), times the stacked per-leaf path table
        onehot = sp.csr_matrix(
            (np.ones(leaves.size), leaves.ravel(), np.arange(0, leaves.size + 1, n_trees)),
            shape=(n_rows, table.shape[0]),
        )
        out = np.empty((n_rows, len(self.feature_names_) + 1))
        out[:, :-1] = onehot @ table
        out[:, -1] = bias
        return out

    def _path_tables(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Stacked (all leaves x features) path contributions, each tree's first row, bias."""
        cached = getattr(self, "_paths", None)
        if cached is not None and cached[0] is self.booster_:
            return cached[1], cached[2], cached[3]
        n_feat = len(self.feature_names_)
        tables: list[np.ndarray] = []
        bias = 0.0
        for info in self.booster_.dump_model()["tree_info"]:
            root = info["tree_structure"]
            table = np.zeros((max(1, int(info["num_leaves"])), n_feat))
            tables.append(table)
            if "split_feature" not in root:  # a single leaf: all of it is bias
                bias += float(root["leaf_value"])
                continue
            bias += float(root["internal_value"])
            stack = [(root, np.zeros(n_feat))]
            while stack:
                node, acc = stack.pop()
                parent = float(node["internal_value"])
                for side in ("left_child", "right_child"):
                    child = node[side]
                    is_leaf = "leaf_index" in child
                    value = float(child["leaf_value"] if is_leaf else child["internal_value"])
                    step = acc.copy()
                    step[int(node["split_feature"])] += value - parent
                    if is_leaf:
                        table[int(child["leaf_index"])] = step
                    else:
                        stack.append((child, step))
        sizes = np.array([t.shape[0] for t in tables], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        stacked = np.vstack(tables) if tables else np.zeros((0, n_feat))
        self._paths = (self.booster_, stacked, offsets, bias)
        return stacked, offsets, bias

    def explain(
        self,
        X: Any,
        top_k: int = 3,
        templates: Mapping[str, str] | None = None,
        min_contribution: float = 1e-6,
        method: str = "shap",
    ) -> list[list[Reason]]:
        """Up to ``top_k`` reasons per row, strongest first.

        A row scored above the model's average gets the features that raised
        its score; a row below average those that lowered it. Templates given
        here override ``reason_templates`` feature by feature. ``method`` is
        that of :meth:`contributions` (``"path"`` for large batches).
        """
        self._check_fitted()
        mat, names = self._matrix(X, self.feature_names_)
        contrib = self._contributions(mat, method)
        tmpl: dict[str, str] = dict(self.reason_templates or {})
        tmpl.update(templates or {})
        feat = contrib[:, :-1]
        bias = contrib[:, -1]
        raw = feat.sum(axis=1) + bias
        # direction: positive contributions for rows above the average raw score
        sign = np.where(raw >= bias, 1.0, -1.0)
        signed = feat * sign[:, None]
        k = max(0, min(int(top_k), len(names)))
        order = np.argsort(-signed, axis=1, kind="stable")[:, :k]
        ident = [n for n in names if _IDENT.match(n)]
        idx_ident = [names.index(n) for n in ident]
        needs_row = {n: _fields(t) - {"value", "pct", "name"} for n, t in tmpl.items()}
        out: list[list[Reason]] = []
        for i in range(mat.shape[0]):
            row_vals: dict[str, float] | None = None
            reasons: list[Reason] = []
            for j in order[i]:
                if signed[i, j] <= min_contribution:
                    break
                name = names[j]
                value = float(mat[i, j])
                if row_vals is None and needs_row.get(name):
                    row_vals = dict(zip(ident, mat[i, idx_ident].tolist(), strict=True))
                reasons.append(
                    Reason(
                        feature=name,
                        value=value,
                        contribution=float(feat[i, j]),
                        text=_render(
                            tmpl.get(name), name, value, row_vals or {}, tmpl.get(name + ".missing")
                        ),
                    )
                )
            out.append(reasons)
        return out

    # -- persistence ----------------------------------------------------------
    def _json_params(self) -> dict[str, Any]:
        params = self.get_params()
        cw = params.get("class_weight")
        if isinstance(cw, Mapping):
            params["class_weight"] = [[_py(k), float(v)] for k, v in cw.items()]
        for key in ("monotone_constraints", "reason_templates"):
            if params.get(key) is not None:
                params[key] = dict(params[key])
        if params.get("features") is not None:
            params["features"] = list(params["features"])
        return params

    def to_bytes(self) -> bytes:
        """The fitted model as JSON bytes (parameters, metadata, LightGBM model text)."""
        self._check_fitted()
        doc = {
            "format": FORMAT,
            "params": self._json_params(),
            "classes": [_py(c) for c in self.classes_],
            "feature_names": list(self.feature_names_),
            "base_rate": self.base_rate_,
            "booster": self.booster_.model_to_string(),
        }
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, blob: bytes) -> CallerScorer:
        """Rebuild a fitted scorer written by :meth:`to_bytes`."""
        try:
            doc = json.loads(blob.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ScorerInputError(f"not a saved callradar model: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ScorerInputError(
                f"not a saved callradar model (format {doc.get('format') if isinstance(doc, dict) else None!r}, expected {FORMAT!r})"  # noqa: E501
            )
        params = dict(doc["params"])
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = {k: v for k, v in params["class_weight"]}
        model = cls(**params)
        model.booster_ = lgb.Booster(model_str=doc["booster"])
        model.classes_ = np.asarray(doc["classes"])
        model.feature_names_ = list(doc["feature_names"])
        model.feature_names_in_ = np.asarray(model.feature_names_, dtype=object)
        model.n_features_in_ = len(model.feature_names_)
        model.base_rate_ = float(doc["base_rate"])
        return model

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> CallerScorer:
        p = Path(path)
        if not p.is_file():
            raise NotFoundError(f"no saved model at {p}", path=str(p))
        return cls.from_bytes(p.read_bytes())


def _py(value: Any) -> Any:
    """NumPy scalar -> plain Python value (for JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def save_model(
    store: Store, name: str, model: CallerScorer, metrics: Mapping[str, Any] | None = None
) -> None:
    """Store a fitted scorer in the ``models`` table under ``name`` (replacing it)."""
    blob = model.to_bytes()
    params = json.dumps(model._json_params(), ensure_ascii=False)
    with store.transaction() as con:
        con.execute("DELETE FROM models WHERE name = ?", [name])
        con.execute(
            "INSERT INTO models(name, params, metrics, blob) VALUES (?, ?, ?, ?)",
            [name, params, json.dumps(dict(metrics or {})), blob],
        )


def load_model(store: Store, name: str) -> CallerScorer:
    """Load the scorer stored under ``name`` in the ``models`` table."""
    row = store.sql("SELECT blob FROM models WHERE name = ?", [name]).fetchone()
    if row is None:
        known = [r[0] for r in store.sql("SELECT name FROM models ORDER BY name").fetchall()]
        raise NotFoundError(
            f"no model named {name!r} in the store (known: {', '.join(known) or 'none'})",
            name=name,
        )
    return CallerScorer.from_bytes(bytes(row[0]))
