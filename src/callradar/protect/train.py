"""Fit the online scorer by distillation from the batch detector.

The batch detector scores a number on a whole day of its behaviour, with weak
labels behind it; at call setup only the first calls are known. To teach the
online scorer what the batch detector would conclude, history is replayed
through the engine as if every number were new, and each call becomes a
training row: its online features (:data:`ONLINE_FEATURES`) against its
number's batch score (``>= protect.block_threshold`` positive, ``<= 0.1``
negative, in between left out; a number the campaigns stage linked into a
campaign of several numbers that scores past the block threshold is positive
too, however quiet its own day was; a low-scoring number of a range crowded
with campaign numbers is left out, not taken as a negative). Simulator truth
is never read.

Block evidence leaves the number itself out (its own membership would leak the
label into the feature).
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from typing import Any

import numpy as np

from callradar.config import Config
from callradar.protect.engine import CallSetup, Engine, Knowledge, range_key
from callradar.protect.online import ONLINE_FEATURES, OnlineScorer
from callradar.protect.replay import call_columns
from callradar.protect.state import (
    callee_campaigns,
    load_knowledge,
    received_calls,
    save_scorer,
)


def training_rows(store: Any, config: Config) -> tuple[np.ndarray, np.ndarray]:
    days = int(config.get("protect.train_days"))
    max_rows = int(config.get("protect.train_max_calls"))
    block_t = float(config.get("protect.block_threshold"))
    k = load_knowledge(store, config)
    # reciprocity as the call path would know it at the window's start: calls received
    # *before* it (the knowledge holds all history, which would leak the answer)
    k.received = dict(received_calls(store, before_days=days))
    # ... and which campaigns had dialled each citizen before it (the window's own calls
    # would name every campaign number's own campaign)
    k.callee_campaigns = callee_campaigns(
        store, int(config.get("protect.callee_memory_days")), before_days=days
    )
    # every number fully tracked: the scorer must learn from the same features for all
    engine = Engine(knowledge=k, config=config, learn_live=False, fast_path=False)
    calls = store.arrow(
        f"""
        WITH last AS (SELECT max(start_time) AS m FROM calls)
        SELECT caller, callee, trunk, start_time, end_time, answered, talk_seconds
        FROM calls, last
        WHERE start_time > last.m - INTERVAL {days} DAY
        ORDER BY start_time
        LIMIT {max_rows}
        """
    )
    callers, callees, trunks, starts, ends, answered, talk = call_columns(calls)
    campaign_of = k.number_campaign
    label_of = _labels(k, block_t, config)
    X: list[list[float]] = []
    y: list[int] = []
    pending: list[tuple[float, int]] = []
    bi = ONLINE_FEATURES.index("block_campaign_share")
    ri = ONLINE_FEATURES.index("range_campaign_share")
    for i in range(len(callers)):
        t = starts[i]
        while pending and pending[0][0] <= t:
            _, j = heapq.heappop(pending)
            engine.call_ended(callers[j], callees[j], answered[j], talk[j], ends[j])
        heapq.heappush(pending, (ends[i], i))
        caller = callers[i]
        call = CallSetup("", caller, callees[i], trunks[i], t)
        act = engine._observe(call)
        label = label_of.get(caller)
        if label is None:
            continue
        x = engine.features(call, act)
        if caller in campaign_of:  # leave the number itself out of its block's evidence
            block = k.block_of.get(caller, "")
            rng = range_key(caller, k.kind_of.get(caller, ""), block)
            for idx, seen in ((bi, k.block_seen.get(block, 0)), (ri, k.range_seen.get(rng, 0))):
                if x[idx] > 0:
                    x[idx] = max(0.0, (x[idx] * seen - 1) / (seen - 1)) if seen > 1 else 0.0
        X.append(x)
        y.append(label)
    return np.asarray(X, dtype=float), np.asarray(y, dtype=int)


def _labels(k: Knowledge, block_t: float, config: Config) -> dict[str, int]:
    """Each scored number's training label, 1 campaign or 0 honest; numbers left out
    have none. ``>= block_t`` is 1 and ``<= 0.1`` is 0, in between left out, and:

    * a number the campaigns stage put into a campaign of several numbers that scores
      past the block threshold is 1 (the batch stages' verdict on quiet numbers the
      day-level score alone leaves in between);
    * a low-scoring number of a landline or virtual range crowded with campaign
      numbers (a vendor's) is left out: it scored low because it made few calls, not
      because it looks like a person."""
    size = Counter(k.number_campaign.values())
    confirmed = {
        n
        for n, cid in k.number_campaign.items()
        if size[cid] > 1 and k.campaign_score.get(cid, 0.0) >= block_t
    }
    min_members = int(config.get("protect.train_vendor_range_numbers"))
    min_share = float(config.get("protect.train_vendor_range_share"))
    vendor_ranges = {
        rng
        for rng, dist in k.range_campaigns.items()
        if (m := sum(dist.values())) >= min_members and m >= min_share * k.range_seen.get(rng, 0)
    }
    labels: dict[str, int] = {}
    for number, s in k.number_score.items():
        if s >= block_t or number in confirmed:
            labels[number] = 1
        elif s <= 0.1:
            kind = k.kind_of.get(number, "")
            if (
                kind == "mobile"
                or range_key(number, kind, k.block_of.get(number, "")) not in vendor_ranges
            ):
                labels[number] = 0
    return labels


def fit_online(store: Any, config: Config | None = None) -> tuple[OnlineScorer, dict[str, Any]]:
    """Fit the online scorer on local history and store it; returns it with fit figures."""
    cfg = config or store.config
    X, y = training_rows(store, cfg)
    info: dict[str, Any] = {"rows": len(y), "positives": int(y.sum()) if len(y) else 0}
    if len(y) < 50 or len(set(y.tolist())) < 2:
        info["fitted"] = False
        return OnlineScorer.default(), info
    scorer = OnlineScorer().fit(X, y)
    from sklearn.metrics import roc_auc_score

    info["fitted"] = True
    info["train_auc"] = float(roc_auc_score(y, scorer.predict_proba(X)[:, 1]))
    info["weights"] = dict(zip(ONLINE_FEATURES, map(float, scorer.coef_), strict=True))
    save_scorer(store, scorer, json.dumps(info))
    return scorer, info
