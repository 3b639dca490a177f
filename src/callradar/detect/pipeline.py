"""``learn`` and ``score`` on the store.

* :func:`learn` fits a :class:`~callradar.detect.model.CallerScorer` on the
  day-window caller features and the weak labels of :mod:`.labels` (numbers
  with no label are weak negatives, sampled and reweighted), and stores it in
  ``models`` under ``detect.model_name``.
* :func:`score` scores every number of the latest day window with the local
  model (or the default model shipped in the package), writes
  ``number_scores`` and, optionally, ``DIR/scores.csv`` with the decision of
  the protect policy (detect reports, protect decides).

Work is batched (``detect.score_batch_rows``) so memory stays bounded on a
city-day of tens of millions of calls; from ``detect.compile_min_rows`` numbers
the model is compiled to machine code (:meth:`CallerScorer.compile`) first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from callradar.detect.labels import weak_labels
from callradar.detect.model import CallerScorer, Reason, load_model, save_model
from callradar.errors import NotFoundError, NotReadyError
from callradar.features import MODEL_FEATURES, build_features
from callradar.protect.policy import DECISIONS

if TYPE_CHECKING:
    from callradar.store import Store

DEFAULT_MODEL_RESOURCE = "default_model.json"
DEFAULT_MODEL_NAME = "default"

#: reason templates for day-window caller features (see CallerScorer.explain)
REASON_TEMPLATES: dict[str, str] = {
    "attempts": "{value:,.0f} calls today to {distinct_callees:,.0f} distinct numbers",
    "distinct_callees": "{attempts:,.0f} calls today to {value:,.0f} distinct numbers",
    "distinct_callee_ratio": "{pct:.0%} of today's calls to a number not called before today",
    "answered_calls": "{value:,.0f} of {attempts:,.0f} calls answered",
    "answer_rate": "{pct:.0%} of calls answered",
    "talk_mean": "answered calls last {value:.0f} s on average",
    "modal_talk_seconds": "answered calls typically end {value:.0f} s after answer",
    "modal_talk_share": (
        "{pct:.0%} of answered calls end {modal_talk_seconds:.0f}±1 s after answer"
    ),
    "long_talk_share": "{pct:.0%} of answered calls run 60 s or more",
    "short_refusal_share": "{pct:.0%} of answered calls hung up by the callee within 6 s",
    "caller_hangup_share": "{pct:.0%} of answered calls ended by the caller",
    "ring_unanswered_mean": "unanswered calls ring {value:.1f} s on average",
    "ring_unanswered_cv": "ring time of unanswered calls varies by {pct:.0%}",
    "modal_ring_seconds": "unanswered calls typically abandoned after {value:.0f} s",
    "modal_ring_share": (
        "{pct:.0%} of unanswered calls abandoned after {modal_ring_seconds:.0f}±1 s of ringing"
    ),
    "ascending_share": "{pct:.0%} of consecutive calls go to a higher number",
    "gap_mean": "one call every {value:,.0f} s",
    "gap_cv": "gaps between calls vary by {pct:.0%}",
    "active_span_hours": "calling over {value:.1f} hours",
    "callback_share": "{pct:.0%} of the people it called have ever called it back",
    "prior_contact_share": "{pct:.0%} of the people it called had been in contact before",
    "callee_overlap_share": (
        "{pct:.0%} of its callees were also called by another number on the same trunk"
    ),
    "age_days": "first seen {value:.1f} days ago",
    "active_days": "active on {value:,.0f} days so far",
}
# what a feature's absence says (a ratio over answered calls of a number nobody answered)
_MISSING_TEXT = {
    "none of its calls was answered": (
        "talk_mean",
        "modal_talk_seconds",
        "modal_talk_share",
        "long_talk_share",
        "short_refusal_share",
        "caller_hangup_share",
    ),
    "every call it made was answered": (
        "ring_unanswered_mean",
        "ring_unanswered_cv",
        "modal_ring_seconds",
        "modal_ring_share",
    ),
    "a single call so far": ("gap_mean", "gap_cv", "ascending_share"),
}
REASON_TEMPLATES.update(
    {f"{name}.missing": text for text, names in _MISSING_TEXT.items() for name in names}
)
_KIND_TEXT = {
    "kind_landline": "fixed-line",
    "kind_virtual": "virtual-operator",
    "kind_mobile": "mobile",
}


def _reason_text(r: Reason) -> str:
    if r.feature in _KIND_TEXT:
        what = _KIND_TEXT[r.feature]
        return f"a {what} number" if r.value >= 0.5 else f"not a {what} number"
    return r.text


def new_scorer(config: Any) -> CallerScorer:
    """The scorer ``learn`` fits, with hyperparameters from the settings."""
    threads = int(config.get("detect.threads"))
    return CallerScorer(
        n_estimators=int(config.get("detect.n_estimators")),
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=20,
        reg_lambda=1.0,
        features=list(MODEL_FEATURES),
        reason_templates=dict(REASON_TEMPLATES),
        random_state=0,
        n_jobs=threads if threads > 0 else None,
    )


# -- features ------------------------------------------------------------------
def ensure_day_features(
    store: Store, engine: str | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Build day-window features for call days that have none yet (the last one redone)."""
    row = store.sql(
        "SELECT (SELECT max(start_time) FROM calls), "
        "(SELECT max(win_start) FROM caller_features WHERE win = 'day')"
    ).fetchall()[0]
    last_call, last_feat = row if row else (None, None)
    if last_call is None:
        raise NotReadyError("no calls in the store yet: ingest call records first")
    if last_feat is None:
        return build_features(store, ("day",), engine=engine, progress=progress)
    if last_call >= last_feat + timedelta(days=1):
        return build_features(store, ("day",), engine=engine, since=last_feat, progress=progress)
    return {}


# -- learn ---------------------------------------------------------------------
def training_set(
    store: Store, label_file: str | Path | None = None
) -> tuple[pa.Table, np.ndarray, np.ndarray, dict[str, Any]]:
    """Day-window feature rows with weak labels: ``(X, y, weight, info)``."""
    cfg = store.config
    labels = weak_labels(store, label_file)
    con = store.con
    con.register("_weak_labels", labels)
    try:
        n_unl = con.execute(
            "SELECT count(*) FROM caller_features f ANTI JOIN _weak_labels l USING (number) "
            "WHERE f.win = 'day'"
        ).fetchall()[0]
        n_unlabeled = int(n_unl[0]) if n_unl else 0
        cap = int(cfg.get("detect.max_unlabeled"))
        frac = 1.0 if n_unlabeled <= cap else cap / n_unlabeled
        w_unl = float(cfg.get("detect.weight_unlabeled")) / frac
        cols = ", ".join(f"f.{c}" for c in MODEL_FEATURES)
        table = con.sql(
            f"""
            SELECT {cols},
                   coalesce(l.label, 0) AS _label,
                   coalesce(l.weight, {w_unl}) AS _weight,
                   coalesce(l.source, 'unlabeled') AS _source
            FROM caller_features f LEFT JOIN _weak_labels l USING (number)
            WHERE f.win = 'day'
              AND (l.number IS NOT NULL
                   OR hash(f.number, f.win_start) % 1000000 < {int(frac * 1e6)})
            ORDER BY f.number, f.win_start
            """
        ).to_arrow_table()
    finally:
        con.unregister("_weak_labels")
    y = table.column("_label").to_numpy().astype(np.int64)
    w = table.column("_weight").to_numpy().astype(np.float64)
    sources = table.column("_source").to_pylist()
    X = table.select(list(MODEL_FEATURES))
    info = {
        "rows": table.num_rows,
        "positive_rows": int(y.sum()),
        "negative_labeled_rows": int(
            sum(1 for s, lab in zip(sources, y, strict=True) if lab == 0 and s != "unlabeled")
        ),
        "unlabeled_rows": int(sum(1 for s in sources if s == "unlabeled")),
        "unlabeled_total": n_unlabeled,
        "unlabeled_weight": w_unl,
        "labeled_numbers": labels.num_rows,
        "positive_weight": float(w[y == 1].sum()),
        "negative_weight": float(w[y == 0].sum()),
    }
    return X, y, w, info


def learn(
    store: Store,
    label_file: str | Path | None = None,
    *,
    name: str | None = None,
    engine: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit the scorer on the store's features and weak labels and store it; returns its metrics."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    ensure_day_features(store, engine, say)
    t_feat = time.perf_counter()
    say("weak labels")
    X, y, w, info = training_set(store, label_file)
    if info["positive_rows"] == 0:
        raise NotReadyError(
            "no positive weak labels: ingest complaints or refusals (or pass --labels FILE)"
        )
    if info["positive_rows"] == len(y):
        raise NotReadyError("every training row is positive: ingest more call records")
    say(f"fit on {len(y):,} rows")
    model = new_scorer(store.config).fit(X, y, sample_weight=w)
    t_fit = time.perf_counter()
    model_name = name or str(store.config.get("detect.model_name"))
    metrics = dict(info)
    metrics.update(
        {
            "model": model_name,
            "seconds_features": round(t_feat - t0, 2),
            "seconds_fit": round(t_fit - t_feat, 2),
            "top_features": _top_features(model),
        }
    )
    save_model(store, model_name, model, metrics)
    return metrics


def _top_features(model: CallerScorer, k: int = 8) -> list[str]:
    imp = model.feature_importances_
    order = np.argsort(-imp)[:k]
    return [model.feature_names_[i] for i in order if imp[i] > 0]


# -- models --------------------------------------------------------------------
def default_model() -> CallerScorer:
    """The model shipped with the package (trained on simulated data)."""
    try:
        blob = resources.files("callradar.detect").joinpath(DEFAULT_MODEL_RESOURCE).read_bytes()
    except (FileNotFoundError, OSError) as exc:
        raise NotReadyError(
            "no model: run `callradar learn` (this build ships no default model)"
        ) from exc
    return CallerScorer.from_bytes(blob)


def current_model(store: Store, name: str | None = None) -> tuple[CallerScorer, str]:
    """The named model, else the local one (``detect.model_name``), else the default."""
    if name:
        if name == DEFAULT_MODEL_NAME:
            return default_model(), DEFAULT_MODEL_NAME
        return load_model(store, name), name
    local = str(store.config.get("detect.model_name"))
    try:
        return load_model(store, local), local
    except NotFoundError:
        return default_model(), DEFAULT_MODEL_NAME


# -- score ---------------------------------------------------------------------
def _summary_sql() -> str:
    """A cheap one-line reason for numbers scored too low to explain feature by feature.

    "N calls today to M distinct numbers, P% answered", thousands separated; built by
    concatenation, and formatted only from 1,000 (a third of the CPU of one ``printf``
    with two ``format`` calls, for every number of a city-day).
    """

    def count(col: str) -> str:
        return (
            f"CASE WHEN {col} < 1000 THEN CAST({col} AS VARCHAR) ELSE format('{{:,}}', {col}) END"
        )

    return (
        f"{count('attempts')} || ' calls today to ' || {count('distinct_callees')} || "
        "' distinct numbers, ' || "
        "CAST(CAST(round(100 * coalesce(answer_rate, 0)) AS INTEGER) AS VARCHAR) || '% answered'"
    )


def score(
    store: Store,
    out_dir: str | Path | None = None,
    *,
    model_name: str | None = None,
    day: Any = None,
    reveal: bool = False,
    engine: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Score every number of one day window (default: the latest) and store the scores.

    Writes ``number_scores`` (number, day, score, reasons, model) and, with
    ``out_dir``, ``out_dir/scores.csv`` (number, score, decision, reasons)
    ordered by descending score. Decisions come from
    :class:`callradar.protect.policy.Policy`. Numbers the policy allows are
    pseudonymized in the CSV unless ``reveal`` (they are mostly citizens).
    """
    from callradar.privacy import Pseudonymizer
    from callradar.protect.policy import Policy

    say = progress or (lambda _m: None)
    cfg = store.config
    ensure_day_features(store, engine, say)
    model, name = current_model(store, model_name)
    if day is None:
        rows = store.sql("SELECT max(win_start) FROM caller_features WHERE win = 'day'").fetchall()
        win_start = rows[0][0]
    else:
        row = store.sql(
            "SELECT max(win_start) FROM caller_features WHERE win = 'day' "
            "AND win_start = date_trunc('day', CAST(? AS TIMESTAMPTZ))",
            [str(day)],
        ).fetchall()[0]
        win_start = row[0] if row else None
        if win_start is None:
            raise NotFoundError(f"no day features for {day}", day=str(day))
    if win_start is None:
        raise NotReadyError("no day features to score")
    of_day = f"win = 'day' AND win_start = CAST('{win_start.isoformat()}' AS TIMESTAMPTZ)"
    compile_min = int(cfg.get("detect.compile_min_rows"))
    if compile_min > 0:
        n_rows = store.sql(f"SELECT count(*) FROM caller_features WHERE {of_day}").fetchall()[0][0]
        if n_rows >= compile_min:
            say(f"compile the model for {n_rows:,} numbers")
            model.compile()
    explain_min = float(cfg.get("detect.explain_min_score"))
    top_k = int(cfg.get("detect.reasons_top_k"))
    batch = int(cfg.get("detect.score_batch_rows"))
    policy = Policy.from_config(cfg)
    cols = ", ".join(MODEL_FEATURES)
    con = store.con
    # batches stream from a second connection and go straight back into a temp table
    # of this one, so scored rows live in DuckDB's memory (bounded, spilling), not in Arrow
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _scored (number VARCHAR, score DOUBLE, decision VARCHAR, "
        "reasons VARCHAR, summary VARCHAR)"
    )
    reader_con = con.cursor()
    n = 0
    say("score the numbers")
    try:
        reader = reader_con.sql(
            f"SELECT number, {cols}, {_summary_sql()} AS _summary, "
            "number IN (SELECT number FROM registry) AS _in_registry "
            f"FROM caller_features WHERE {of_day}"
        ).to_arrow_reader(batch)
        for rb in reader:
            _score_batch(con, model, policy, rb, explain_min, top_k)
            n += rb.num_rows
            say(f"scored {n:,} numbers")
    finally:
        reader_con.close()
    counts: dict[str, int] = {"allow": 0, "label": 0, "block": 0}
    if n == 0:
        con.execute("DROP TABLE IF EXISTS temp._scored")
        return {"numbers": 0, "day": str(win_start.date()), "model": name, **counts}
    try:
        with store.transaction() as tx:
            tx.execute("DELETE FROM number_scores WHERE day = CAST(? AS DATE)", [win_start.date()])
            tx.execute(
                "INSERT INTO number_scores (number, day, score, reasons, model) "
                f"SELECT number, CAST(? AS DATE), score, {_REASONS}, ? FROM _scored",
                [win_start.date(), name],
            )
        for dec, k in con.execute(
            "SELECT decision, count(*) FROM _scored GROUP BY decision"
        ).fetchall():
            counts[str(dec)] = int(k)
        if out_dir is not None:
            out = Path(out_dir)
            out.mkdir(parents=True, exist_ok=True)
            number_expr = "number"
            if not reveal:
                pseudo = Pseudonymizer.for_store(store)
                number_expr = (
                    f"CASE WHEN decision = 'allow' THEN {pseudo.sql_expr('number')} ELSE number END"
                )
            target = str(out / "scores.csv").replace("'", "''")
            con.execute(
                f"COPY (SELECT {number_expr} AS number, round(score, 6) AS score, decision, "
                f"{_REASONS} AS reasons FROM _scored ORDER BY score DESC, number) TO '{target}' "
                "(HEADER, DELIMITER ',')"
            )
    finally:
        con.execute("DROP TABLE IF EXISTS temp._scored")
    return {"numbers": n, "day": str(win_start.date()), "model": name, **counts}


_REASONS = "coalesce(reasons, 'low score: ' || summary)"


def _score_batch(
    con: Any, model: CallerScorer, policy: Any, rb: pa.RecordBatch, explain_min: float, top_k: int
) -> None:
    """Score one batch (reasons for scores from ``explain_min``), append it to ``_scored``."""
    tbl = pa.Table.from_batches([rb])
    X = tbl.select(list(model.feature_names_))
    p = model.score_samples(X)
    hot = np.flatnonzero(p >= explain_min)
    if len(hot):
        reasons = np.full(tbl.num_rows, None, dtype=object)  # None: the summary line, in SQL
        expl = model.explain(X.take(pa.array(hot)), top_k=top_k, templates=REASON_TEMPLATES)
        reasons[hot] = ["; ".join(_reason_text(r) for r in rs) or None for rs in expl]
        reason_col = pa.array(reasons, pa.string())
    else:
        reason_col = pa.nulls(tbl.num_rows, pa.string())
    in_reg = tbl.column("_in_registry").to_numpy(zero_copy_only=False).astype(bool)
    decision = pa.DictionaryArray.from_arrays(
        pa.array(policy.decide_many(p, in_reg), pa.int8()), pa.array(DECISIONS, pa.string())
    )
    part = pa.table(
        {
            "number": tbl.column("number"),
            "score": pa.array(p, pa.float64()),
            "decision": decision,
            "reasons": reason_col,
            "summary": tbl.column("_summary"),
        }
    )
    con.register("_scored_part", part)
    try:
        con.execute("INSERT INTO _scored SELECT * FROM _scored_part")
    finally:
        con.unregister("_scored_part")


def model_info(store: Store) -> list[Mapping[str, Any]]:
    """Stored models: name, created_at and metrics."""
    return [
        {"name": r[0], "created_at": str(r[1]), "metrics": json.loads(r[2] or "{}")}
        for r in store.sql("SELECT name, created_at, metrics FROM models ORDER BY name").fetchall()
    ]
