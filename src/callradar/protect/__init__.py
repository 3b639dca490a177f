"""The protect stage: verdicts at call setup (allow, label, block), failing open.

Public API: :class:`Engine` (live state and verdicts), :class:`Guard`
(fail-open wrapper with a deadline), :class:`CallSetup`, :class:`Verdict`,
:class:`Policy` and :func:`decide` (scores to decisions).
"""

from __future__ import annotations

from typing import Any

from callradar.config import Config
from callradar.protect.engine import CallSetup, Engine, Guard, Knowledge, Verdict
from callradar.protect.online import ONLINE_FEATURES, OnlineScorer
from callradar.protect.policy import ALLOW, BLOCK, DECISIONS, LABEL, Policy, decide

__all__ = [
    "ALLOW",
    "BLOCK",
    "DECISIONS",
    "LABEL",
    "ONLINE_FEATURES",
    "CallSetup",
    "Engine",
    "Guard",
    "Knowledge",
    "OnlineScorer",
    "Policy",
    "Verdict",
    "decide",
    "online_stage",
]


def online_stage(store: Any, config: Config) -> dict[str, Any]:
    """Pipeline stage: fit the call-setup scorer on local history (distilled, no truth)."""
    from callradar.protect.train import fit_online

    _, info = fit_online(store, config)
    return info
