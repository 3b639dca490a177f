"""What the call path has seen of one caller number today, and what it shows.

:class:`NumberActivity` holds one number's INVITEs and finished calls since the
engine started; the functions read evidence from it: the recorded prompt its
answered calls end at (:func:`prompt_of`), whether they show a known prompt
(:func:`plays`), the campaign whose target slice it re-dials (:func:`slice_of`),
how machine-regular its gaps are (:func:`gap_cv`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class NumberActivity:
    """What the engine has seen of one caller number since it started.

    Most numbers in a day are citizens' own, placing a few calls each: their record
    stays small (a list of recent INVITE times and counters). The bounded deques of the
    sequence statistics (``gaps``, ``recent_slices``) are made at the number's first
    call past the fast path (:meth:`sequence`): empty, each takes 760 bytes, and a day
    brings tens of thousands of callers."""

    first_seen: float
    light: bool = False  # clean history: sequence statistics start only at a burst
    recent: list[float] = field(default_factory=list)  # INVITE times within the window
    last_invite: float = -1.0
    gaps: deque[float] | None = None  # the last 16 gaps between INVITEs
    gap_sum: float = 0.0
    gap_sumsq: float = 0.0
    n_invites: int = 0
    callees: set[str] = field(default_factory=set)
    last_callee: int = -1
    ascending: int = 0
    ended: int = 0
    answered: int = 0
    prompt_like: int = 0
    long_talk: int = 0
    talks: list[float] = field(default_factory=list)
    prompt: float | None = None
    prompt_stale: bool = False
    callee_votes: dict[str, int] = field(default_factory=dict)
    # per campaign, the first and last place of its citizens among the number's new callees
    slice_span: dict[str, tuple[int, int]] = field(default_factory=dict)
    # the campaigns that had dialled each of its last new callees: where its sweep is now
    # (a bounded deque, ``protect.recent_slice_callees`` long)
    recent_slices: deque[tuple[str, ...]] | None = None
    candidates: tuple[str, ...] = ()

    def own_prompt(self, tol: float) -> float | None:
        """The recorded-prompt length its answered calls show (:func:`prompt_of`),
        recomputed only when needed after a call ended answered."""
        if self.prompt_stale:
            self.prompt = prompt_of(self.talks, tol)
            self.prompt_stale = False
        return self.prompt

    def sequence(self, slices: int) -> tuple[deque[float], deque[tuple[str, ...]]]:
        """Its gaps and recent slices, made at the first call that needs them (the
        slices ``slices`` long)."""
        if self.gaps is None or self.recent_slices is None:
            self.gaps = deque(maxlen=16)
            self.recent_slices = deque(maxlen=slices)
        return self.gaps, self.recent_slices


def prompt_of(talks: list[float], tol: float, min_calls: int = 3) -> float | None:
    """The recorded-prompt length a number's answered calls cluster at, if at least
    ``min_calls`` of them (and a third) end within ``tol / 2`` of one another."""
    if len(talks) < min_calls:
        return None
    best, best_n = None, 0
    for t in talks:
        n = sum(1 for u in talks if abs(u - t) <= tol / 2)
        if n > best_n:
            best, best_n = t, n
    if best is None or best_n < max(min_calls, len(talks) // 3):
        return None
    near = sorted(u for u in talks if abs(u - best) <= tol / 2)
    return near[len(near) // 2]


def plays(talks: list[float], prompt: float, tol: float, min_calls: int = 3) -> bool:
    """Whether a number's answered calls show it playing ``prompt``: at least
    ``min_calls`` end within ``tol`` of it, and no other prompt-length window of that
    width holds more. Weaker than :func:`prompt_of` (which must find the prompt among
    all lengths), for testing one known prompt: a third of a line's answered calls end
    at its prompt, but one call's spread (about 0.12 s) often leaves too few within
    ``tol / 2`` of one another to name it unprompted."""
    at = sum(1 for t in talks if abs(t - prompt) <= tol)
    if at < min_calls:
        return False
    return all(
        sum(1 for u in talks if abs(u - t) <= tol) <= at
        for t in talks
        if t >= 3 and abs(t - prompt) > tol
    )


def playing(
    dist: dict[str, int], prompts: dict[str, float], prompt: float, tol: float
) -> dict[str, float]:
    """The campaigns of ``dist`` whose prompt is ``prompt``, with weak votes (a best guess
    among campaigns that only share a trunk or a farm)."""
    return {c: m / 1e6 for c, m in dist.items() if abs(prompts.get(c, -99) - prompt) <= tol}


def slice_of(act: NumberActivity) -> str:
    """The campaign whose target slice most of the number's callees are (at least 3 and
    half of its calls), or ""."""
    votes = act.callee_votes
    if not votes:
        return ""
    top = max(votes, key=lambda c: (votes[c], c))
    return top if votes[top] >= max(3, 0.5 * len(act.callees)) else ""


def redial_share(act: NumberActivity) -> float:
    """Share of a number's callees, beyond the first, that one campaign had dialled
    before (0 until two such callees)."""
    best = max(act.callee_votes.values(), default=0)
    return (best - 1) / len(act.callees) if best >= 2 else 0.0


def gap_cv(act: NumberActivity) -> float:
    """Coefficient of variation of the last gaps between INVITEs (0 = machine-regular)."""
    n = len(act.gaps) if act.gaps is not None else 0
    if n < 2:
        return 1.0
    mean = act.gap_sum / n
    if mean <= 0:
        return 0.0
    var = max(act.gap_sumsq / n - mean * mean, 0.0)
    return min(math.sqrt(var) / mean, 5.0)
