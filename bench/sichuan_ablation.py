"""Sichuan fraud data: data audit, ablation of further ideas, and a measured ceiling.

Everything is measured on the same splits as ``bench/sichuan_cv.py``
(``StratifiedKFold(5, shuffle=True, random_state=seed)``, seeds 0, 1, 2) and is
leak-free: every feature, model, region and threshold for an outer test fold is
fitted on that fold's training rows (and their labels) only.

Per idea and seed: pooled out-of-fold AUC, mean fold AUC, macro-F1 at the
*oracle* threshold (chosen on the pooled test predictions: an upper bound, not
a result) and, for the ideas marked nested, macro-F1 at a threshold tuned by an
inner 4-fold CV of the training rows (the reported protocol).

    uv run python bench/sichuan_ablation.py [--seeds 0,1,2] [--quick] [--json OUT]

About 25 minutes for 3 seeds on the idle 2-core machine (one thread per model);
``--quick`` drops the slow learners (ExtraTrees, logistic regression).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer

from callradar.detect.sichuan import TUNED_PARAMS, best_threshold, load_sichuan

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sichuan-fraud"

FitPredict = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


class Study:
    """The data as arrays, plus the learners and ideas measured on it."""

    def __init__(self, directory: Path) -> None:
        d = load_sichuan(directory)
        self.names = list(d.raw.column_names)
        self.X = np.column_stack(
            [d.raw.column(c).to_numpy(zero_copy_only=False).astype(float) for c in self.names]
        )
        self.y = d.label.astype(int)
        self.A = d.adjacency
        self.directory = directory
        self.n = d.n
        self.deg = np.asarray(self.A.sum(axis=1)).ravel()
        self.P = (sp.diags(1.0 / np.maximum(self.deg, 1.0)) @ self.A).tocsr()
        self.Pt = self.P.T.tocsr()
        half = sp.diags(1.0 / np.sqrt(np.maximum(self.deg, 1.0)))
        self.S = (half @ self.A @ half).tocsr()
        missing = np.isnan(self.X)
        self.Xi = np.hstack([np.where(missing, -1.0, self.X), missing[:, missing.any(0)]])

    # -- learners ----------------------------------------------------------------
    def gbt(self, seed: int, **kw: Any) -> lgb.LGBMClassifier:
        return lgb.LGBMClassifier(**{**TUNED_PARAMS, **kw, "random_state": seed, "verbose": -1})

    def stage1(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        """Raw-feature GBT scores: inner out-of-fold for ``tr``, full-train model for ``te``."""
        s = np.zeros(self.n)
        inner = StratifiedKFold(5, shuffle=True, random_state=seed + 200)
        for a, b in inner.split(tr, self.y[tr]):
            m = self.gbt(seed).fit(self.X[tr[a]], self.y[tr[a]])
            s[tr[b]] = m.predict_proba(self.X[tr[b]])[:, 1]
        m = self.gbt(seed).fit(self.X[tr], self.y[tr])
        s[te] = m.predict_proba(self.X[te])[:, 1]
        return s

    # -- ideas: fit on tr (labels of tr only), return probabilities for te ------
    def tuned(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        m = self.gbt(seed).fit(self.X[tr], self.y[tr])
        return m.predict_proba(self.X[te])[:, 1]

    def hgb(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        m = HistGradientBoostingClassifier(
            max_iter=300, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
        ).fit(self.X[tr], self.y[tr])
        return m.predict_proba(self.X[te])[:, 1]

    def extratrees(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        m = ExtraTreesClassifier(500, max_features=0.3, n_jobs=1, random_state=seed)
        m.fit(self.Xi[tr], self.y[tr])
        return m.predict_proba(self.Xi[te])[:, 1]

    def logistic(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        m = make_pipeline(
            QuantileTransformer(n_quantiles=200, output_distribution="normal"),
            LogisticRegression(C=0.3, max_iter=2000),
        ).fit(self.Xi[tr], self.y[tr])
        return m.predict_proba(self.Xi[te])[:, 1]

    def _ppr(self, seeds: np.ndarray, alpha: float, steps: int = 30) -> np.ndarray:
        s = seeds / max(float(seeds.sum()), 1.0)
        r = s.copy()
        for _ in range(steps):
            r = alpha * s + (1 - alpha) * (self.Pt @ r)
        return r

    def _propagated(self, known: np.ndarray) -> np.ndarray:
        """Personalized PageRank from known fraud / known ordinary rows, and label spreading."""
        y = self.y
        cols = []
        for alpha in (0.15, 0.5):
            fr = self._ppr((known & (y == 1)).astype(float), alpha)
            nr = self._ppr((known & (y == 0)).astype(float), alpha)
            cols += [fr / (fr + nr + 1e-12), np.log(fr + 1e-12) - np.log(nr + 1e-12)]
        f0 = np.where(known, 2.0 * y - 1.0, 0.0)
        f = f0.copy()
        for _ in range(20):
            f = 0.8 * (self.S @ f) + 0.2 * f0
        return np.column_stack([*cols, f])

    def ppr(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        """Raw + PageRank/label-spreading features, cross-fitted so no row sees its own label.

        Training rows get features seeded by the other four fifths of the training rows;
        test rows get the mean over those five runs (same share of known labels).
        """
        F = np.zeros((self.n, 5))
        F_te = np.zeros((len(te), 5))
        for a, b in StratifiedKFold(5, shuffle=True, random_state=seed + 100).split(tr, self.y[tr]):
            known = np.zeros(self.n, dtype=bool)
            known[tr[a]] = True
            f = self._propagated(known)
            F[tr[b]] = f[tr[b]]
            F_te += f[te] / 5
        F[te] = F_te
        Z = np.hstack([self.X, F, self.deg[:, None]])
        m = self.gbt(seed).fit(Z[tr], self.y[tr])
        return m.predict_proba(Z[te])[:, 1]

    def two_stage(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        """Stage-1 GBT scores propagated over the graph; logistic stage 2."""
        s = self.stage1(tr, te, seed)

        def lg(v: np.ndarray) -> np.ndarray:
            v = np.clip(v, 1e-4, 1 - 1e-4)
            return np.asarray(np.log(v / (1 - v)))

        neigh = np.where(self.deg > 0, self.P @ s, s)
        two = np.where(self.deg > 0, self.P @ (self.P @ s), s)
        Z = np.column_stack([lg(s), lg(neigh), lg(two), np.log1p(self.deg)])
        m = LogisticRegression(max_iter=1000).fit(Z[tr], self.y[tr])
        return m.predict_proba(Z[te])[:, 1]

    def cascade(self, tr: np.ndarray, te: np.ndarray, seed: int, cut: float = 0.3) -> np.ndarray:
        """A specialist GBT re-ranks the rows the stage-1 model calls clearly ordinary."""
        s = self.stage1(tr, te, seed)
        r_tr, r_te = tr[s[tr] < cut], te[s[te] < cut]
        spec = self.gbt(seed, n_estimators=200, learning_rate=0.03, num_leaves=7)
        spec.set_params(min_child_samples=40).fit(self.X[r_tr], self.y[r_tr])
        out = s[te].copy()
        low = s[te] < cut
        q = spec.predict_proba(self.X[r_te])[:, 1]
        out[low] = np.minimum(cut - 1e-6, 0.5 * s[te][low] + 0.5 * cut * q / (q.max() + 1e-9))
        return out

    def denoise(self, tr: np.ndarray, te: np.ndarray, seed: int, cut: float = 0.05) -> np.ndarray:
        """Drop training rows whose inner out-of-fold score contradicts their label (< cut)."""
        s = self.stage1(tr, te, seed)
        y = self.y[tr]
        bad = ((y == 1) & (s[tr] < cut)) | ((y == 0) & (s[tr] > 1 - cut))
        keep = tr[~bad]
        m = self.gbt(seed).fit(self.X[keep], self.y[keep])
        return m.predict_proba(self.X[te])[:, 1]

    def cost_sensitive(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        m = self.gbt(seed, scale_pos_weight=2.0).fit(self.X[tr], self.y[tr])
        return m.predict_proba(self.X[te])[:, 1]

    def self_training(self, tr: np.ndarray, te: np.ndarray, seed: int) -> np.ndarray:
        """Refit with the confident test-fold predictions as pseudo-labels (no test label)."""
        p = self.tuned(tr, te, seed)
        sure = (p > 0.95) | (p < 0.05)
        rows = np.concatenate([tr, te[sure]])
        labels = np.concatenate([self.y[tr], (p[sure] > 0.5).astype(int)])
        m = self.gbt(seed).fit(self.X[rows], labels)
        return m.predict_proba(self.X[te])[:, 1]


def oracle_macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    grid = np.unique(np.quantile(p, np.linspace(0.3, 0.9, 121)))
    return max(float(f1_score(y, (p >= t).astype(int), average="macro")) for t in grid)


def fraud_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    grid = np.unique(np.quantile(p, np.linspace(0.3, 0.9, 121)))
    return float(grid[int(np.argmax([f1_score(y, (p >= t).astype(int)) for t in grid]))])


def evaluate(study: Study, fp: FitPredict, seed: int, nested: bool) -> tuple[dict, np.ndarray]:
    y = study.y
    oof = np.zeros(study.n)
    aucs: list[float] = []
    f1_macro_thr: list[float] = []
    f1_fraud_thr: list[float] = []
    t0 = time.perf_counter()
    outer = StratifiedKFold(5, shuffle=True, random_state=seed)
    for k, (tr, te) in enumerate(outer.split(study.X, y)):
        p = fp(tr, te, seed)
        oof[te] = p
        aucs.append(float(roc_auc_score(y[te], p)))
        if nested:
            inner_oof = np.zeros(len(tr))
            inner = StratifiedKFold(4, shuffle=True, random_state=seed + 1 + k)
            for itr, ite in inner.split(tr, y[tr]):
                inner_oof[ite] = fp(tr[itr], tr[ite], seed)
            for thr, acc in (
                (best_threshold(y[tr], inner_oof), f1_macro_thr),
                (fraud_f1_threshold(y[tr], inner_oof), f1_fraud_thr),
            ):
                acc.append(float(f1_score(y[te], (p >= thr).astype(int), average="macro")))
    row = {
        "seed": seed,
        "pooled_auc": float(roc_auc_score(y, oof)),
        "fold_auc": float(np.mean(aucs)),
        "fold_auc_std": float(np.std(aucs)),
        "oracle_macro_f1": oracle_macro_f1(y, oof),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if nested:
        row |= {
            "nested_macro_f1": float(np.mean(f1_macro_thr)),
            "nested_macro_f1_std": float(np.std(f1_macro_thr)),
            "nested_macro_f1_fraud_threshold": float(np.mean(f1_fraud_thr)),
        }
    return row, oof


def audit(study: Study) -> dict[str, Any]:
    """Label-free facts about the data, plus per-class missing-value patterns."""
    X, y = study.X, study.y
    missing = np.isnan(X)
    dup_cols = [
        (a, b)
        for i, a in enumerate(study.names)
        for j, b in enumerate(study.names)
        if i < j and np.array_equal(X[:, i], X[:, j], equal_nan=True)
    ]
    rows = Counter(tuple(np.round(np.nan_to_num(r, nan=-999.0), 6)) for r in X)
    patterns: dict[tuple[int, ...], list[int]] = {}
    for i in range(study.n):
        patterns.setdefault(tuple(np.flatnonzero(missing[i])), []).append(int(y[i]))
    top = sorted(patterns.items(), key=lambda kv: -len(kv[1]))[:6]
    raw_adj = sp.load_npz(study.directory / "node_adj_sparse.npz")
    return {
        "duplicate_columns": dup_cols,
        "constant_columns": [
            c for c, v in zip(study.names, X.T, strict=True) if np.unique(v[~np.isnan(v)]).size <= 1
        ],
        "duplicate_row_groups": sum(1 for c in rows.values() if c > 1),
        "rows_with_missing": int(missing.any(1).sum()),
        "missing_patterns": [
            {"columns": [study.names[j] for j in k], "rows": len(v), "fraud_share": np.mean(v)}
            for k, v in top
        ],
        "adjacency_values": sorted({float(v) for v in np.unique(raw_adj.data)}),
        "adjacency_stored_lower_triangle": int(sp.tril(raw_adj, -1).nnz),
    }


def ceiling(study: Study, oof: np.ndarray, seed: int) -> dict[str, Any]:
    """Where the AUC is lost, and whether more rows of the same kind would help."""
    y = study.y
    neg = np.sort(oof[y == 0])
    # share of ordinary rows scored at or above each fraud row = its AUC loss (times n_fraud)
    loss = 1.0 - np.searchsorted(neg, oof[y == 1], side="left") / len(neg)
    worst = np.sort(loss)[::-1]
    n_f = int((y == 1).sum())
    hard = (y == 1) & (oof < 0.1)
    share = np.where(study.deg > 0, (study.A @ y) / np.maximum(study.deg, 1), np.nan)
    med = {
        c: [float(np.nanmedian(study.X[m, j])) for m in (hard, y == 0, (y == 1) & ~hard)]
        for j, c in enumerate(study.names)
        if c
        in (
            "opposite_unique",
            "voc_calltype1",
            "voc_day_nunique",
            "month_ids",
            "flow_sum",
            "busi_count",
            "arpu_var",
            "phone2opposite_max",
        )
    }
    # learning curve: one fixed 20% test set per repetition, growing training subsets
    curve: dict[str, float] = {}
    for frac in (0.25, 0.5, 0.75, 1.0):
        aucs = []
        for rep in range(5):
            rest, test = next(
                StratifiedKFold(5, shuffle=True, random_state=100 + rep).split(study.X, y)
            )
            rng = np.random.default_rng(rep)
            tr = rng.choice(rest, size=int(frac * len(rest)), replace=False)
            aucs.append(float(roc_auc_score(y[test], study.tuned(tr, test, rep))))
        curve[f"{int(frac * 100)}% of 4,884 training rows"] = float(np.mean(aucs))
    return {
        "seed": seed,
        "auc_loss_total": float(loss.sum() / n_f),
        "auc_loss_worst_100_fraud_rows": float(worst[:100].sum() / n_f),
        "fraud_rows_scored_below_0.1": int(hard.sum()),
        "ordinary_rows_scored_above_0.9": int(((y == 0) & (oof > 0.9)).sum()),
        "known_fraud_share_of_neighbours": {
            "hard fraud": float(np.nanmean(share[hard])),
            "ordinary": float(np.nanmean(share[y == 0])),
            "other fraud": float(np.nanmean(share[(y == 1) & ~hard])),
        },
        "median_feature_hard_ordinary_otherfraud": med,
        "learning_curve_auc": curve,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--quick", action="store_true", help="skip ExtraTrees and logistic")
    ap.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    args = ap.parse_args(argv)
    study = Study(args.data)
    seeds = [int(s) for s in args.seeds.split(",")]
    ideas: list[tuple[str, FitPredict, bool]] = [
        ("tuned (reference)", study.tuned, True),
        ("sklearn HistGradientBoosting", study.hgb, False),
        ("raw + cross-fitted PageRank / label spreading", study.ppr, False),
        ("two-stage: GBT scores propagated, logistic", study.two_stage, False),
        ("cascade: specialist on scores < 0.3", study.cascade, True),
        ("self-training on confident test rows", study.self_training, False),
        ("label denoising: drop train rows scored < 0.05 wrong", study.denoise, True),
        ("cost-sensitive: scale_pos_weight 2", study.cost_sensitive, False),
    ]
    if not args.quick:
        ideas += [
            ("ExtraTrees 500 (NaN -> -1 + indicators)", study.extratrees, False),
            ("logistic on quantile-normal features", study.logistic, False),
        ]
    doc: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "audit": audit(study),
        "ideas": {},
    }
    print(json.dumps(doc["audit"], indent=1, default=str), flush=True)
    oofs: dict[str, dict[int, np.ndarray]] = {}
    for name, fp, nested in ideas:
        doc["ideas"][name] = []
        for seed in seeds:
            row, oof = evaluate(study, fp, seed, nested)
            doc["ideas"][name].append(row)
            oofs.setdefault(name, {})[seed] = oof
            print(
                f"{name:48s} "
                + " ".join(
                    f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                ),
                flush=True,
            )
    # optimistic stacking: a logistic meta-learner on the pooled out-of-fold scores of every
    # idea, itself cross-validated on those scores (optimistic: an upper bound for stacking)
    stack = []
    for seed in seeds:
        Z = np.column_stack(
            [
                np.log(np.clip(o[seed], 1e-4, 1 - 1e-4) / (1 - np.clip(o[seed], 1e-4, 1 - 1e-4)))
                for o in oofs.values()
            ]
        )
        p = cross_val_predict(
            LogisticRegression(max_iter=1000),
            Z,
            study.y,
            cv=StratifiedKFold(5, shuffle=True, random_state=seed + 9),
            method="predict_proba",
        )[:, 1]
        stack.append(
            {
                "seed": seed,
                "pooled_auc": float(roc_auc_score(study.y, p)),
                "oracle_macro_f1": oracle_macro_f1(study.y, p),
            }
        )
    doc["optimistic_stacking_of_all_ideas"] = stack
    print("optimistic stacking", stack, flush=True)
    doc["ceiling"] = ceiling(study, oofs["tuned (reference)"][seeds[0]], seeds[0])
    print(json.dumps(doc["ceiling"], indent=1), flush=True)
    doc["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
