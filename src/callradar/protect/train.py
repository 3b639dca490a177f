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
from typing import Any

import numpy as np

from callradar.config import Config
from callradar.protect.engine import CallSetup, Engine, range_key
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
    scores = k.number_score
    campaign_of = k.number_campaign
    # numbers the campaigns stage put into a campaign of several numbers that scores past
    # the block threshold: the batch stages' verdict on quiet numbers the day-level score
    # alone leaves in between
    size: dict[str, int] = {}
    for cid in campaign_of.values():
        size[cid] = size.get(cid, 0) + 1
    confirmed = {
        n
        for n, cid in campaign_of.items()
        if size[cid] > 1 and k.campaign_score.get(cid, 0.0) >= block_t
    }
    # a landline or virtual range crowded with campaign numbers is a vendor's: its quiet
    # numbers are no evidence of honest traffic (their own day scored low because they
    # made few calls, not because they look like a person), so they are not negatives
    min_members = int(config.get("protect.train_vendor_range_numbers"))
    min_share = float(config.get("protect.train_vendor_range_share"))
    vendor_ranges = {
        rng
        for rng, dist in k.range_campaigns.items()
        if (m := sum(dist.values())) >= min_members and m >= min_share * k.range_seen.get(rng, 0)
    }
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
        s = scores.get(caller)
        if s is not None and s < block_t and caller in confirmed:
            s = block_t  # linked into a confirmed campaign: campaign traffic, however quiet
        if s is None or (0.1 < s < block_t):
            continue
        if s < block_t and k.kind_of.get(caller) != "mobile":
            rng = range_key(caller, k.kind_of.get(caller, ""), k.block_of.get(caller, ""))
            if rng in vendor_ranges:
                continue
        x = engine.features(call, act)
        if caller in campaign_of:  # leave the number itself out of its block's evidence
            block = k.block_of.get(caller, "")
            rng = range_key(caller, k.kind_of.get(caller, ""), block)
            for idx, seen in ((bi, k.block_seen.get(block, 0)), (ri, k.range_seen.get(rng, 0))):
                if x[idx] > 0:
                    x[idx] = max(0.0, (x[idx] * seen - 1) / (seen - 1)) if seen > 1 else 0.0
        X.append(x)
        y.append(1 if s >= block_t else 0)
    return np.asarray(X, dtype=float), np.asarray(y, dtype=int)


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
