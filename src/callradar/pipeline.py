"""The batch pipeline, visible in one place.

Each stage is a function ``stage(store, config) -> summary`` that reads from
and writes to the store, so ``callradar run --stages ...`` can run any part of
it and ``callradar learn`` runs the learning path. Ingest is not a stage here:
it takes files (``callradar ingest``); everything after it is.

=====================  ====================================================
stage                  reads -> writes
=====================  ====================================================
``features``           calls, numbers -> caller/trunk/block features
``fit``                features, complaints, refusals, registry -> models
``score``              features, models -> number_scores
``complaints``         complaints -> complaint_facts
``campaigns``          number_scores, calls, numbers, recordings,
                       complaint_facts -> campaigns, campaign_numbers
``complaint_links``    complaint_facts, campaign_numbers -> complaint_links
``online``             calls, number_scores, campaigns -> models (online)
=====================  ====================================================
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from callradar.config import Config
from callradar.errors import did_you_mean


@dataclass(frozen=True)
class Stage:
    name: str
    target: str  # "module:function", imported when the stage runs
    help: str

    def function(self) -> Callable[[Any, Config], Any]:
        module, _, attr = self.target.partition(":")
        fn: Callable[[Any, Config], Any] = getattr(importlib.import_module(module), attr)
        return fn


STAGES: tuple[Stage, ...] = (
    Stage("features", "callradar.features:features_stage", "behavioural features per window"),
    Stage("fit", "callradar.detect:fit_stage", "fit the scorer on weak labels"),
    Stage("score", "callradar.detect:score_stage", "score every caller number, every day"),
    Stage("complaints", "callradar.complaints:analyse_stage", "analyse complaint texts"),
    Stage("campaigns", "callradar.campaigns:campaigns_stage", "link numbers into campaigns"),
    Stage("complaint_links", "callradar.complaints:link_stage", "link complaints to campaigns"),
    Stage("online", "callradar.protect:online_stage", "fit the call-setup scorer"),
)
LEARN: tuple[str, ...] = tuple(s.name for s in STAGES)


def stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise did_you_mean(name, [s.name for s in STAGES], "pipeline stage")


@dataclass
class StageRun:
    name: str
    seconds: float
    summary: Any


def run(
    store: Any,
    stages: Sequence[str] = LEARN,
    config: Config | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> list[StageRun]:
    """Run the named stages in pipeline order (whatever order they are given in)."""
    cfg = config or store.config
    wanted = [stage(n) for n in stages]
    runs: list[StageRun] = []
    for s in STAGES:
        if s not in wanted:
            continue
        if on_stage is not None:
            on_stage(s.name)
        t0 = time.perf_counter()
        summary = s.function()(store, cfg)
        runs.append(StageRun(s.name, time.perf_counter() - t0, summary))
    return runs
