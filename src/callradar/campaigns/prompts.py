"""Recorded-prompt lengths from pooled talk times, and which numbers play which.

A dialer hangs up on a silent listener when its recorded prompt ends, so the
answered calls of one campaign pile up at one talk time (the prompt's length,
give or take the network's ~0.1 s jitter); calls hung up during the prompt,
refusals and live-agent conversations spread thinly over other lengths.

One number with a handful of answered calls rarely shows that pile on its own,
but a vendor buys its lines in ranges and runs all its clients' campaigns from
them: pooled over a range, every campaign's prompt stands out as a sharp peak.
:func:`find_peaks` finds those peaks; :func:`assign` then gives each number
the peak its own answered calls land on, so a number with a single
prompt-length call still joins its campaign.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BIN = 0.1  # seconds; talk times are recorded to 0.1 s
LOW, HIGH = 3.0, 60.0  # talk times that can be a recorded prompt


def _window_sum(counts: np.ndarray, half: int) -> np.ndarray:
    """Sum of ``counts`` over ``[i - half, i + half]`` for every bin ``i``."""
    c = np.concatenate([[0], np.cumsum(counts)])
    n = len(counts)
    idx = np.arange(n)
    lo = np.clip(idx - half, 0, n)
    hi = np.clip(idx + half + 1, 0, n)
    return c[hi] - c[lo]


def find_peaks(
    talks: np.ndarray,
    half_width: float = 0.3,
    min_calls: int = 3,
    min_z: float = 4.0,
    background_s: float = 2.0,
    pile_ratio: float = 3.0,
    min_ratio: float = 1.75,
) -> np.ndarray:
    """Centres (seconds, ascending) of the talk-time peaks in ``talks``.

    A peak is a bin whose count within ``half_width`` is the largest within
    ``half_width`` either side, holds at least ``min_calls`` calls, ``min_ratio``
    times the count an equally wide window typically holds in the surrounding
    ``background_s`` seconds (the thin spread of hang-ups and conversations;
    neighbouring peaks left out), and ``min_z`` standard deviations above it
    (a Poisson count). When talk times are recorded to a tenth of a second, a
    bin holding over ``pile_ratio`` times its neighbours is a pile at one exact
    value (a time-out), not a prompt, and is left out first. Peaks are taken
    strongest first, each placed at the densest bins of its window and its calls
    set aside before the next is sought (a weaker prompt a few tenths of a second
    beside a strong one is then judged on its own calls). Its centre is the mean
    of the talks within ``half_width`` of the peak bin; then the centres settle where
    their calls are (:func:`_settle`). Two prompts closer than ``half_width`` show as
    one peak.
    """
    t = np.asarray(talks, dtype=float)
    t = t[(t >= LOW) & (t <= HIGH)]
    if len(t) < min_calls:
        return np.empty(0)
    bins = np.rint((t - LOW) / BIN).astype(np.int64)
    counts = np.bincount(bins, minlength=round((HIGH - LOW) / BIN) + 1).astype(float)
    if np.mean(np.abs(t - np.rint(t)) > 1e-6) > 0.5:
        # recorded to a tenth of a second, a prompt played to listeners ends over the
        # network's jitter (its neighbouring bins hold about half its top bin); a pile at
        # one exact value is a time-out or clipping artefact, left out
        left = np.concatenate([[0.0], counts[:-1]])
        right = np.concatenate([counts[1:], [0.0]])
        pile = (counts >= 5) & (counts > pile_ratio * np.maximum(left, right) + 2)
        if pile.any():
            t, bins = t[~pile[bins]], bins[~pile[bins]]
            counts[pile] = 0.0
    half = max(1, round(half_width / BIN))
    wide_half = max(half + 1, round(background_s / BIN))
    floor = 0.5 * counts.mean()  # an empty stretch is no evidence
    peeled = np.zeros(len(counts), dtype=bool)
    centres = []
    # strongest peak first; its calls are then taken out, so a weaker prompt a few tenths
    # of a second beside it is judged on its own calls, against a background that holds
    # neither peak
    while True:
        rest = np.where(peeled, 0.0, counts)
        near = _window_sum(rest, half)
        background = _background(np.where(peeled, np.nan, counts), wide_half, floor)
        background *= 2 * half + 1
        ranked = near - np.arange(len(near)) * 1e-9  # ties go to the first bin
        ok = (
            (ranked >= _window_max(ranked, half))
            & (near >= min_calls)
            & (near >= min_ratio * background)
            & (near >= background + min_z * np.sqrt(background))
        )
        if not ok.any():
            break
        b = int(np.flatnonzero(ok)[np.argmax(near[ok])])
        # a window straddling two prompts a few tenths apart can hold the most calls:
        # the peak sits at the densest few bins inside it
        lo = max(0, b - half)
        b = lo + int(np.argmax(_window_sum(rest, 1)[lo : b + half + 1]))
        sel = (np.abs(bins - b) <= half) & ~peeled[bins]
        centres.append(float(t[sel].mean()))
        # (one bin more each side: the jitter's tail must not pass for a prompt beside it)
        peeled[max(0, b - half - 1) : b + half + 2] = True
    return _settle(t, np.asarray(sorted(centres)), half_width)


def _settle(t: np.ndarray, centres: np.ndarray, half_width: float, rounds: int = 20) -> np.ndarray:
    """Move each centre to the mean of the talks nearer to it than to any other centre
    and within ``half_width`` of it, until they stay put (Lloyd's k-means rounds on the
    calls near a peak). Two prompts a few tenths apart peeled one after the other leave
    the first centre pulled towards the second and the second pushed away (the first
    took the calls between them); settling puts both back where their calls are."""
    c = centres
    for _ in range(rounds if len(c) > 1 else 0):
        nearest = _nearest(t, c)
        hit = np.abs(t - c[nearest]) <= half_width + 1e-9
        sums = np.bincount(nearest[hit], weights=t[hit], minlength=len(c))
        counts = np.bincount(nearest[hit], minlength=len(c))
        moved = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.allclose(moved, c, atol=1e-6):
            break
        c = np.sort(moved)
    return c


def _nearest(t: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest of ``centres`` (ascending, at least one) for every talk."""
    if len(centres) == 1:
        return np.zeros(len(t), dtype=np.int64)
    pos = np.clip(np.searchsorted(centres, t), 1, len(centres) - 1)
    left, right = centres[pos - 1], centres[pos]
    return np.where(np.abs(t - left) <= np.abs(t - right), pos - 1, pos)


def _background(counts: np.ndarray, wide_half: int, floor: float) -> np.ndarray:
    """Per bin, the typical count of a bin in the surrounding ``wide_half`` bins: the
    mean of the lower four fifths of them (a neighbouring campaign's peak is left out,
    and a sparse stretch is not all zeros), never below ``floor``. NaN bins (peaks
    already found) are left out."""
    padded = np.concatenate([np.full(wide_half, np.nan), counts, np.full(wide_half, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * wide_half + 1)
    ordered = np.sort(windows, axis=1)  # NaN (past the ends, or peeled) sorts last
    valid = np.sum(~np.isnan(windows), axis=1)
    keep = np.maximum(1, (valid * 4) // 5)
    lower = np.where(np.arange(windows.shape[1]) < keep[:, None], np.nan_to_num(ordered), 0.0)
    # (the lower four fifths of Poisson-like counts average about 0.8 of their mean)
    return np.maximum(1.25 * lower.sum(axis=1) / keep, floor)


def _window_max(values: np.ndarray, half: int) -> np.ndarray:
    """Maximum of ``values`` over ``[i - half, i + half]`` for every bin ``i``."""
    n = len(values)
    padded = np.concatenate([np.full(half, -np.inf), values, np.full(half, -np.inf)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return windows.max(axis=1)[:n]


def assign(
    talk_lists: Sequence[Sequence[float]],
    centres: np.ndarray,
    half_width: float = 0.3,
    min_share: float = 0.15,
) -> list[int | None]:
    """Per number, the index of the peak most of its answered calls land on (within
    ``half_width`` of the nearest centre), or None when none does, two tie, or the
    winner holds less than ``min_share`` of its calls (about half the answered calls
    of a campaign number end at its prompt; a few calls of any number land near a
    peak that is not its own)."""
    out: list[int | None] = []
    if len(centres) == 0:
        return [None] * len(talk_lists)
    for talks in talk_lists:
        t = np.asarray(talks, dtype=float)
        if len(t) == 0:
            out.append(None)
            continue
        nearest = _nearest(t, centres)
        hit = np.abs(t - centres[nearest]) <= half_width + 1e-9
        if not hit.any():
            out.append(None)
            continue
        votes = np.bincount(nearest[hit], minlength=len(centres))
        order = np.argsort(votes)[::-1]
        if votes[order[0]] < min_share * len(t) or (
            len(order) > 1 and votes[order[1]] == votes[order[0]]
        ):
            out.append(None)
        else:
            out.append(int(order[0]))
    return out


def split_peak(
    estimates: Sequence[float],
    weights: Sequence[int],
    tol: float,
    min_weight: int = 3,
    sigma: float = 0.0,
    min_z: float = 3.0,
) -> list[int | None]:
    """Tell apart campaigns that share one peak (prompts a few tenths of a second apart).

    ``estimates`` are the numbers' mean talk times at the peak and ``weights`` how many
    calls each mean rests on. Numbers with at least ``min_weight`` calls are grouped
    agglomeratively: the two neighbouring groups whose weighted mean prompts are
    closest merge first, while that distance is within ``tol`` (comparing group means,
    not neighbours, keeps a chain of noisy estimates from bridging two campaigns), or,
    given ``sigma`` (one call's spread), within ``min_z`` standard errors of the two
    means: a line whose few calls happen to sit apart is no campaign of its own.
    A number resting on fewer calls joins the group nearest its estimate when there is
    one group, or when the nearest is within ``tol`` and the next at least twice as far;
    otherwise it stays out (None). Returns a group index per number.
    """
    est = np.asarray(estimates, dtype=float)
    w = np.asarray(weights, dtype=float)
    rich = np.flatnonzero(w >= min_weight)
    order = rich[np.argsort(est[rich], kind="stable")]
    # (weighted sum, weight, member indices) per group, in prompt order
    groups: list[tuple[float, float, list[int]]] = [
        (float(est[i] * w[i]), float(w[i]), [int(i)]) for i in order
    ]
    while len(groups) > 1:
        means = np.asarray([s / n for s, n, _ in groups])
        sizes = np.asarray([n for _, n, _ in groups])
        # how far apart two neighbouring groups may be and still be one prompt
        reach = np.maximum(tol, min_z * _standard_error(sigma, sizes[:-1], sizes[1:]))
        ratio = np.diff(means) / reach
        i = int(np.argmin(ratio))
        if ratio[i] > 1:
            break
        (sa, na, ma), (sb, nb, mb) = groups[i], groups.pop(i + 1)
        groups[i] = (sa + sb, na + nb, ma + mb)
    out: list[int | None] = [None] * len(est)
    for g, (_, _, members) in enumerate(groups):
        for i in members:
            out[i] = g
    means = np.asarray([s / n for s, n, _ in groups])
    for j in np.flatnonzero(w < min_weight).tolist():
        if len(groups) <= 1:
            out[j] = 0  # one group (or only sparse numbers, which then form it)
        else:
            d = np.sort(np.abs(means - est[j]))
            if d[0] <= tol and d[1] >= 2 * d[0]:
                out[j] = int(np.argmin(np.abs(means - est[j])))
    return out


def _standard_error(sigma: float, wa: np.ndarray, wb: np.ndarray) -> np.ndarray:
    """Standard error of the difference of two means resting on ``wa`` and ``wb`` calls,
    each call spread by ``sigma``."""
    return sigma * np.sqrt(1 / wa + 1 / wb)


def split_runs(
    estimates: Sequence[float],
    weights: Sequence[int],
    sigma: float,
    min_z: float = 3.0,
    min_gap: float = 0.1,
    min_weight: int = 3,
) -> list[int]:
    """Cut a peak's numbers, in number order, into runs whose prompts differ.

    A vendor takes a client's lines from its range in a run, so where two clients'
    prompts share a peak (a few tenths of a second apart), the numbers' mean talk times
    step from one prompt to the other between runs. Binary segmentation: the cut
    between two runs is where the two sides' weighted means differ most, in standard
    errors (``sigma`` is one call's spread about its prompt); it is kept when that is
    at least ``min_z``, the means are at least ``min_gap`` apart and each side holds a
    number resting on ``min_weight`` calls (a few sparse numbers are no run of their
    own); then each side is cut again. Returns a run index per number.
    """
    est = np.asarray(estimates, dtype=float)
    w = np.asarray(weights, dtype=float)
    cuts: list[int] = []
    todo = [(0, len(est))]
    while todo:
        a, b = todo.pop()
        wl = np.cumsum(w[a:b])[:-1]  # weight left of a cut after each number but the last
        if len(wl) == 0:
            continue
        wr = w[a:b].sum() - wl
        sl = np.cumsum(w[a:b] * est[a:b])[:-1]
        sr = float(np.dot(w[a:b], est[a:b])) - sl
        rich = np.cumsum(w[a:b] >= min_weight)[:-1]  # numbers resting on enough calls
        ok = (rich >= 1) & (rich[-1] + (w[b - 1] >= min_weight) - rich >= 1)
        if not ok.any():
            continue
        wl, wr = np.maximum(wl, 1e-9), np.maximum(wr, 1e-9)
        gap = np.abs(sl / wl - sr / wr)
        z = np.where(ok & (gap >= min_gap), gap / _standard_error(sigma, wl, wr), 0.0)
        k = int(np.argmax(z))
        if z[k] >= min_z:
            cuts.append(a + k + 1)
            todo += [(a, a + k + 1), (a + k + 1, b)]
    return np.searchsorted(np.sort(cuts), np.arange(len(est)), side="right").tolist()


__all__ = ["assign", "find_peaks", "split_peak", "split_runs"]
