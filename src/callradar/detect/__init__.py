"""The detect stage: a score per number with human-readable reasons.

Entry points: :func:`learn` (fit the scorer on weak labels and store it),
:func:`score` (score every number of a day into ``number_scores`` and
``scores.csv``), :func:`weak_labels`, and the estimator
:class:`~callradar.detect.model.CallerScorer`. Detect reports; protect decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callradar.detect.labels import weak_labels
from callradar.detect.model import CallerScorer
from callradar.detect.pipeline import current_model, default_model, learn, score

if TYPE_CHECKING:
    from callradar.config import Config
    from callradar.store import Store

__all__ = [
    "CallerScorer",
    "current_model",
    "default_model",
    "fit_stage",
    "learn",
    "score",
    "score_stage",
    "weak_labels",
]


def fit_stage(store: Store, config: Config | None = None) -> dict[str, Any]:
    """Pipeline stage (``callradar run``): :func:`learn` on the store's weak labels."""
    if config is not None and config is not store.config:
        store.config = config
    return learn(store)


def score_stage(store: Store, config: Config | None = None) -> dict[str, Any]:
    """Pipeline stage (``callradar run``): :func:`score` every day window the current model
    has not scored yet, so that campaign linking sees the numbers of past days too."""
    from callradar.detect.pipeline import current_model

    if config is not None and config is not store.config:
        store.config = config
    _, model = current_model(store)
    days = [
        r[0]
        for r in store.sql(
            "SELECT DISTINCT win_start FROM caller_features WHERE win = 'day' "
            "AND CAST(win_start AS DATE) NOT IN "
            "(SELECT day FROM number_scores WHERE model = ?) ORDER BY 1",
            [model],
        ).fetchall()
    ]
    numbers = 0
    for day in days:
        numbers += int(score(store, day=day).get("numbers", 0))
    return {"days": len(days), "numbers": numbers, "model": model}
