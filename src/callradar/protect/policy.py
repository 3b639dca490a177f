"""The decision policy: the one place where scores become allow, label or block.

Detect reports (a score in 0..1 with reasons); protect decides. The policy is
deliberately small and conservative:

* a number in the registry of known organizations is never blocked (at most
  labeled, and only when its own score is past the block threshold);
* a call whose campaign the callee has refused is blocked whenever the call is
  linked to that campaign and scores at least ``protect.refused_threshold``
  (a refusal of one number is a refusal of the whole campaign, and a citizen
  who said no is owed a lower bar than a stranger);
* otherwise: ``score >= protect.block_threshold`` blocks, ``score >=
  protect.label_threshold`` labels, anything lower is allowed. A score from the
  call-setup scorer (a number no campaign holds yet) blocks from
  ``protect.online_block_threshold``: the two scorers are different models and
  each threshold is set for its own score (the day-level one must also clear
  known numbers' whole history, the call-setup one sees only fresh numbers).

Failure mode: **open**. Any error or a verdict later than ``protect.deadline_ms``
is answered ``allow`` by :class:`callradar.protect.engine.Guard`, so a broken
or overloaded callradar never cuts a city's calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from callradar.config import Config
from callradar.errors import ConfigError

ALLOW = "allow"
LABEL = "label"
BLOCK = "block"
DECISIONS = (ALLOW, LABEL, BLOCK)


@dataclass(frozen=True, slots=True)
class Policy:
    block_threshold: float = 0.9
    label_threshold: float = 0.5
    refused_threshold: float = 0.5
    online_block_threshold: float = 0.9

    @classmethod
    def from_config(cls, config: Config | None = None) -> Policy:
        cfg = config or Config()
        block = float(cfg.get("protect.block_threshold"))
        label = float(cfg.get("protect.label_threshold"))
        refused = float(cfg.get("protect.refused_threshold"))
        online = float(cfg.get("protect.online_block_threshold"))
        if not (0.0 <= label <= block <= 1.0 and label <= online <= 1.0):
            raise ConfigError(
                f"protect thresholds must satisfy 0 <= label ({label}) <= block ({block}) <= 1 "
                f"and label <= online_block ({online}) <= 1"
            )
        if not 0.0 <= refused <= label:
            raise ConfigError(
                f"protect.refused_threshold ({refused}) must be in 0..label ({label})"
            )
        return cls(
            block_threshold=block,
            label_threshold=label,
            refused_threshold=refused,
            online_block_threshold=online,
        )

    def decide(
        self,
        score: float,
        *,
        in_registry: bool = False,
        refused: bool = False,
        online: bool = False,
    ) -> str:
        """Turn a score into a decision. ``refused``: the callee refused this call's campaign;
        ``online``: the score is the call-setup scorer's (the number has no campaign yet)."""
        if in_registry:
            return LABEL if score >= self.block_threshold else ALLOW
        block = self.online_block_threshold if online else self.block_threshold
        if score >= block or (refused and score >= self.refused_threshold):
            return BLOCK
        if score >= self.label_threshold:
            return LABEL
        return ALLOW

    def decide_many(self, scores: np.ndarray, in_registry: np.ndarray) -> np.ndarray:
        """:meth:`decide` for arrays of day-level scores (not refused, not online), vectorized:
        per row the index of its decision in :data:`DECISIONS` (``int8``)."""
        s = np.asarray(scores, dtype=np.float64)
        reg = np.asarray(in_registry, dtype=bool)
        past_block = s >= self.block_threshold
        out = np.full(s.shape, DECISIONS.index(ALLOW), dtype=np.int8)
        out[~reg & (s >= self.label_threshold)] = DECISIONS.index(LABEL)
        out[~reg & past_block] = DECISIONS.index(BLOCK)
        out[reg & past_block] = DECISIONS.index(LABEL)
        return out


def decide(score: float, in_registry: bool = False, config: Config | None = None) -> str:
    """Decision for one score under the configured policy (for batch outputs such as ``score``)."""
    return Policy.from_config(config).decide(score, in_registry=in_registry)
