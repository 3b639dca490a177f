"""The features stage: behavioural features per caller, trunk and number block.

Entry point: :func:`build_features`. The features are defined once, as DuckDB
SQL (:mod:`callradar.features.sql`), and run on DuckDB or, transpiled by
SQLGlot, on Apache Spark (:mod:`callradar.features.engines`). Outputs are the
store tables ``caller_features``, ``trunk_features`` and ``block_features``
(:mod:`callradar.features.schema`). :data:`FEATURES` names and describes every
model feature of ``caller_features`` (the scorer's reasons use it).

Sequence features (ascending share, gaps), the talk/ring modes, callee overlap
and reciprocity are computed for numbers with at least
``features.min_sequence_calls`` calls in the window and are NULL (unknown to
the scorer) for the others: a handful of calls has no meaningful rhythm, and
skipping them keeps a city-day of ordinary subscribers cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from callradar.errors import BadRequestError, NotReadyError, did_you_mean
from callradar.features import sql as _sql
from callradar.features.engines import ENGINES, to_spark

if TYPE_CHECKING:
    from callradar.config import Config
    from callradar.store import Store

__all__ = [
    "FEATURES",
    "GROUP_FEATURES",
    "MODEL_FEATURES",
    "build_features",
    "feature_steps",
    "features_stage",
    "to_spark",
]

#: caller-level feature column -> human description (what the number did in the window)
FEATURES: dict[str, str] = {
    "attempts": "call attempts placed in the window",
    "distinct_callees": "distinct numbers called",
    "distinct_callee_ratio": "distinct callees per attempt (1 = never calls anyone twice)",
    "answered_calls": "calls answered",
    "answer_rate": "share of attempts answered",
    "talk_mean": "mean talk time of answered calls, seconds",
    "modal_talk_seconds": "centre of the most common 2-second talk-time bin (a recorded prompt)",
    "modal_talk_share": "share of answered calls whose talk time falls in that modal bin",
    "long_talk_share": "share of answered calls talking 60 s or more (a live agent took over)",
    "short_refusal_share": "share of answered calls the callee hung up within 6 s",
    "caller_hangup_share": "share of answered calls ended by the caller",
    "ring_unanswered_mean": "mean ring time of unanswered calls, seconds",
    "ring_unanswered_cv": "coefficient of variation of ring time of unanswered calls",
    "modal_ring_seconds": "centre of the most common 2-second ring-time bin of unanswered calls",
    "modal_ring_share": "share of unanswered calls abandoned in that modal ring bin",
    "ascending_share": "share of consecutive calls whose callee number is higher than the last",
    "gap_mean": "mean gap between consecutive calls, seconds",
    "gap_cv": "coefficient of variation of the gaps between consecutive calls",
    "active_span_hours": "hours from the first to the last call in the window",
    "callback_share": "share of callees who have ever called the number (up to window end)",
    "prior_contact_share": "share of callees in contact with the number before the window",
    "callee_overlap_share": "share of callees also called by another number on the same trunk",
    "age_days": "days from the number's first call to the end of the window",
    "active_days": "days with calls from the number, up to the end of the window",
    "kind_landline": "1 if the number is a fixed line",
    "kind_virtual": "1 if the number is a virtual-operator (MVNO) number",
    "kind_mobile": "1 if the number is a mobile number",
}

#: the columns the scorer is fitted on (every caller feature)
MODEL_FEATURES: tuple[str, ...] = tuple(FEATURES)

#: extra columns of trunk_features and block_features
GROUP_FEATURES: dict[str, str] = {
    "distinct_callers": "distinct caller numbers in the trunk or block",
    "calls_per_caller": "attempts per distinct caller",
    "new_caller_share": "share of its callers first seen in this window",
    "virtual_caller_share": "share of its callers that are virtual-operator numbers",
}


def feature_steps(
    win: str, since: str | None = None, store: Store | None = None
) -> list[_sql.Step]:
    """The SQL steps for one window, with the tunables from the store's config."""
    if win not in _sql.WINDOWS:
        raise did_you_mean(win, list(_sql.WINDOWS), "feature window")
    if store is None:
        return _sql.steps(win, since=since)
    cfg = store.config
    return _sql.steps(
        win,
        since=since,
        long_talk=float(cfg.get("features.long_talk_seconds")),
        short_talk=float(cfg.get("features.short_talk_seconds")),
        bin_seconds=float(cfg.get("features.bin_seconds")),
        min_sequence_calls=int(cfg.get("features.min_sequence_calls")),
    )


def _window_since(store: Store, win: str, since: str | datetime | None) -> str | None:
    if since is None:
        return None
    try:
        row = store.sql(
            f"SELECT strftime(date_trunc('{_sql.WINDOWS[win]}', CAST(? AS TIMESTAMPTZ)), "
            "'%Y-%m-%d %H:%M:%S%z')",
            [str(since)],
        ).fetchall()[0]
    except Exception as exc:
        raise BadRequestError(f"cannot read --since {since!r} as a timestamp") from exc
    return str(row[0]) if row else None


def build_features(
    store: Store,
    windows: Sequence[str] | None = ("hour", "day", "week"),
    engine: str | None = "duckdb",
    since: str | datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Compute caller, trunk and block features for ``windows`` and store them.

    ``engine``: ``duckdb`` or ``spark`` (``None``: the ``features.engine``
    setting). ``since``: recompute only windows starting at or after it (the
    window containing ``since`` included); earlier rows are kept. Without it
    every window of the given kinds is recomputed. Returns rows written per
    output table.
    """
    cfg = store.config
    engine_name = str(engine or cfg.get("features.engine"))
    runner = ENGINES.get(engine_name)
    wins = list(windows if windows is not None else cfg.get("features.windows"))
    for w in wins:
        if w not in _sql.WINDOWS:
            raise did_you_mean(w, list(_sql.WINDOWS), "feature window")
    n_calls = store.sql("SELECT count(*) FROM calls").fetchall()[0]
    if not n_calls or not n_calls[0]:
        raise NotReadyError("no calls in the store yet: ingest call records first")
    jobs = []
    for w in wins:
        s = _window_since(store, w, since)
        jobs.append((w, feature_steps(w, s, store), s))
    return runner(store, jobs, progress or (lambda _msg: None))


def features_stage(store: Store, config: Config | None = None) -> dict[str, int]:
    """Pipeline stage (``callradar run``): features for the ``features.windows`` windows.

    Incremental: when day features exist, windows from the last featured day on
    are recomputed; otherwise everything is.
    """
    if config is not None and config is not store.config:
        store.config = config
    last = store.sql("SELECT max(win_start) FROM caller_features WHERE win = 'day'").fetchall()
    since = last[0][0] if last and last[0][0] is not None else None
    return build_features(store, windows=None, engine=None, since=since)
