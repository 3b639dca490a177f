"""A chunk of generated calls (NumPy columns) and the call mechanics shared by all callers.

Times are int64 milliseconds since the Unix epoch (UTC); numbers are int64
E.164 digits; names are small integer codes into the :class:`Catalog`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from callradar.simulate.world import (
    BUSY,
    CALLEE_HANGUP,
    CALLER_HANGUP,
    FAILED,
    NO_ANSWER,
    REJECTED,
)


@dataclass
class Chunk:
    start_ms: np.ndarray  # int64
    caller: np.ndarray  # int64 E.164 digits
    callee: np.ndarray  # int64
    trunk: np.ndarray  # int16 code
    ring: np.ndarray  # float64 seconds
    answered: np.ndarray  # bool
    talk: np.ndarray  # float64 seconds
    end_reason: np.ndarray  # int8 code
    kind: np.ndarray  # int8 caller kind
    campaign: np.ndarray  # int16 campaign code (0 = none)
    in_registry: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.start_ms)

    def sorted_by_time(self) -> Chunk:
        order = np.argsort(self.start_ms, kind="stable")
        return Chunk(**{k: v[order] for k, v in self.__dict__.items()})


def concat(chunks: list[Chunk]) -> Chunk:
    return Chunk(
        **{k: np.concatenate([getattr(c, k) for c in chunks]) for k in Chunk.__annotations__}
    )


def bounded(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Keep durations within ``[lo, hi]`` by reflecting at the bounds: clipping would
    pile every out-of-range draw onto one exact value, which no switch records."""
    x = np.where(x < lo, 2 * lo - x, x)
    x = np.where(x > hi, 2 * hi - x, x)
    return np.clip(x, lo, hi)


def hour_factor(hour: np.ndarray) -> np.ndarray:
    """Answer-rate factor by local hour: people answer less early, late and at night."""
    f = np.full(24, 1.0)
    f[:7] = 0.4
    f[7:9] = 0.8
    f[12:14] = 0.9
    f[19:22] = 0.85
    f[22:] = 0.6
    return f[hour]


_REASONS = np.array([NO_ANSWER, REJECTED, BUSY, FAILED], dtype=np.int8)
_REASON_CDF = np.array([0.62, 0.92, 0.97])
_RING_LO = np.array([25.0, 1.5, 0.3, 0.0])
_RING_SPAN = np.array([20.0, 10.5, 1.7, 1.0])


def unanswered(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Ring seconds and end reason of calls nobody answered."""
    which = np.searchsorted(_REASON_CDF, rng.random(m))
    ring = _RING_LO[which] + _RING_SPAN[which] * rng.random(m)
    return ring, _REASONS[which]


def conversation(
    rng: np.random.Generator,
    p_answer: np.ndarray | float,
    hour: np.ndarray,
    median: float,
    sigma: float,
    lo: float,
    hi: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ring, answered, talk, end reason of human conversations."""
    m = len(hour)
    answered = rng.random(m) < np.asarray(p_answer) * hour_factor(hour)
    ring, reason = unanswered(rng, m)
    ring = np.where(answered, rng.uniform(2.0, 15.0, m), ring)
    talk = bounded(median * np.exp(sigma * rng.standard_normal(m)), lo, hi)
    talk = np.where(answered, talk, 0.0)
    who = np.where(rng.random(m) < 0.5, CALLER_HANGUP, CALLEE_HANGUP)
    reason = np.where(answered, who, reason).astype(np.int8)
    return ring, answered, talk, reason


def recorded(
    rng: np.random.Generator, p_answer: float, hour: np.ndarray, message: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A recorded message played to the end (caller hangs up) unless the callee hangs up."""
    m = len(hour)
    answered = rng.random(m) < p_answer * hour_factor(hour)
    ring, reason = unanswered(rng, m)
    ring = np.where(answered, rng.uniform(2.0, 12.0, m), ring)
    early = rng.random(m) < 0.2
    talk = np.where(
        early, rng.uniform(1.0, message, m), message + rng.normal(0.0, 0.15, m).clip(-0.4, 0.4)
    )
    talk = np.where(answered, talk, 0.0)
    reason = np.where(answered, np.where(early, CALLEE_HANGUP, CALLER_HANGUP), reason)
    return ring, answered, talk, reason.astype(np.int8)


def chunk(
    start_ms: np.ndarray,
    caller: np.ndarray,
    callee: np.ndarray,
    trunk: np.ndarray,
    outcome: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    kind: int,
    in_registry: np.ndarray | bool = False,
    campaign: np.ndarray | None = None,
) -> Chunk:
    m = len(start_ms)
    ring, answered, talk, reason = outcome
    reg = np.asarray(in_registry, dtype=bool)
    return Chunk(
        start_ms=np.asarray(start_ms, dtype=np.int64),
        caller=np.asarray(caller, dtype=np.int64),
        callee=np.asarray(callee, dtype=np.int64),
        trunk=np.broadcast_to(np.asarray(trunk, dtype=np.int16), (m,)).copy(),
        ring=np.round(ring, 1),
        answered=answered,
        talk=np.round(talk, 1),
        end_reason=reason.astype(np.int8),
        kind=np.full(m, kind, dtype=np.int8),
        campaign=np.zeros(m, dtype=np.int16) if campaign is None else campaign.astype(np.int16),
        in_registry=np.broadcast_to(reg, (m,)).copy(),
    )
