"""Prompt fingerprints: spectral-peak landmarks (constellation hashing).

The audio (8 kHz) is cut into 32 ms frames every 16 ms; the log-magnitude
spectrum of the telephone band (300-3400 Hz) is whitened by subtracting each
frequency bin's median over time, which removes the line's coloration, a level
change and stationary noise. Local maxima over a 9 bins x 7 frames
neighbourhood that stand out from the whitened floor are the peaks; each peak
(anchor) is paired with the next few peaks in a target zone ahead of it, and a
pair ``(f1, f2 - f1, t2 - t1)`` packs into a 19-bit hash stored with the
anchor's frame time. Peaks of speech survive mu-law coding, level changes and
line noise; start clipping only shifts times.

Matching looks every query hash up in a sorted index (NumPy ``searchsorted``),
and for each reference counts the hits that agree on one time offset
(reference time - query time, +-1 frame). The best offset's count is the score;
a reference matches when the score reaches ``min_hits``, the hits are at least
``min_ratio`` of the smaller of the two hash sets, and the aligned hits spread
over at least ``min_coverage`` of the reference's duration (10th-90th
percentile of times). Coverage is what tells a shared greeting (a second of
identical audio at the start of two different prompts) from the same prompt
heard through a noisy line, where many landmarks are lost but the survivors
are spread over the whole prompt. Everything is
vectorized; no Python loop over frames or hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter

RATE = 8000
N_FFT = 256
HOP = 128
FRAME_SECONDS = HOP / RATE
F_LO = int(300 * N_FFT / RATE)  # bin 9
F_HI = int(3400 * N_FFT / RATE) + 1  # bin 109 (exclusive)
FANOUT = 5
MAX_DT = 63
MAX_DF = 31
LOOKAHEAD = 24
PEAK_DB = 8.0

_WINDOW = np.hanning(N_FFT).astype(np.float32)


def spectrogram(x: np.ndarray) -> np.ndarray:
    """Log-magnitude (dB) of the telephone band, shape (frames, bins)."""
    x = np.asarray(x, np.float32)
    if len(x) < N_FFT:
        return np.zeros((0, F_HI - F_LO), np.float32)
    n = 1 + (len(x) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n, N_FFT), strides=(x.strides[0] * HOP, x.strides[0])
    )
    spec = np.fft.rfft(frames * _WINDOW, axis=1)[:, F_LO:F_HI]
    return (10.0 * np.log10(spec.real**2 + spec.imag**2 + 1e-10)).astype(np.float32)


def peaks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectral peaks ``(frame, bin)`` sorted by frame; bins count from 300 Hz."""
    s = spectrogram(x)
    if s.shape[0] == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    s = s - np.median(s, axis=0, keepdims=True)
    # A frame that is much quieter than the loudest speech carries no landmarks.
    frame_db = s.max(axis=1)
    loud = frame_db > np.percentile(frame_db, 95) - 30.0
    local_max = maximum_filter(s, size=(7, 9), mode="nearest")
    is_peak = (s == local_max) & (s > PEAK_DB) & loud[:, None]
    t, f = np.nonzero(is_peak)
    return t.astype(np.int32), f.astype(np.int32)


def landmarks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Landmark hashes and anchor frame times of ``x`` (float audio at 8 kHz)."""
    t, f = peaks(x)
    n = len(t)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    j = np.arange(n)[:, None] + np.arange(1, LOOKAHEAD + 1)[None, :]
    valid = j < n
    j = np.minimum(j, n - 1)
    dt = t[j] - t[:, None]
    df = f[j] - f[:, None]
    ok = valid & (dt >= 1) & (dt <= MAX_DT) & (np.abs(df) <= MAX_DF)
    ok &= np.cumsum(ok, axis=1) <= FANOUT
    ai, k = np.nonzero(ok)
    jj = j[ai, k]
    h = (
        (f[ai].astype(np.int64) << 13)
        | ((f[jj] - f[ai] + MAX_DF + 1).astype(np.int64) << 6)
        | (t[jj] - t[ai]).astype(np.int64)
    )
    return h, t[ai]


@dataclass
class Match:
    """The best reference for a query: its prompt, score and where it lies in the query."""

    prompt_id: str
    score: int
    ratio: float
    offset: int  # reference frame - query frame
    query_start: float  # seconds in the query where the matched reference begins
    query_end: float  # ... and ends
    coverage: float = 0.0  # share of the reference's time span the aligned hits cover


class PromptIndex:
    """An in-memory landmark index of reference prompts (several references per prompt)."""

    def __init__(
        self, min_hits: int = 20, min_ratio: float = 0.02, min_coverage: float = 0.4
    ) -> None:
        self.min_hits = min_hits
        self.min_ratio = min_ratio
        self.min_coverage = min_coverage
        self.ref_span: list[float] = []
        self.ref_extent: list[tuple[int, int]] = []
        self._hash = np.zeros(0, np.int64)
        self._ref = np.zeros(0, np.int32)
        self._time = np.zeros(0, np.int32)
        self.ref_prompt: list[str] = []
        self.ref_size: list[int] = []
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.ref_prompt)

    def add(self, prompt_id: str, hashes: np.ndarray, times: np.ndarray) -> int:
        """Add one reference of ``prompt_id``; returns its reference number."""
        ref = len(self.ref_prompt)
        self.ref_prompt.append(prompt_id)
        self.ref_size.append(len(hashes))
        tt = np.asarray(times, float)
        self.ref_extent.append((int(tt.min()), int(tt.max())) if len(tt) else (0, 0))
        self.ref_span.append(
            float(np.percentile(tt, 90) - np.percentile(tt, 10)) if len(tt) else 0.0
        )
        self._pending.append(
            (np.asarray(hashes, np.int64), np.full(len(hashes), ref, np.int32), times)
        )
        return ref

    def _flush(self) -> None:
        if not self._pending:
            return
        h = np.concatenate([self._hash, *[p[0] for p in self._pending]])
        r = np.concatenate([self._ref, *[p[1] for p in self._pending]])
        t = np.concatenate([self._time, *[np.asarray(p[2], np.int32) for p in self._pending]])
        order = np.argsort(h, kind="stable")
        self._hash, self._ref, self._time = h[order], r[order], t[order]
        self._pending = []

    def scores(self, hashes: np.ndarray, times: np.ndarray) -> list[Match]:
        """Every reference with at least 2 aligned hits, best first (one per prompt)."""
        self._flush()
        if len(hashes) == 0 or len(self._hash) == 0:
            return []
        lo = np.searchsorted(self._hash, hashes, side="left")
        hi = np.searchsorted(self._hash, hashes, side="right")
        cnt = hi - lo
        if cnt.sum() == 0:
            return []
        qi = np.repeat(np.arange(len(hashes)), cnt)
        pos = np.repeat(lo - np.cumsum(np.r_[0, cnt[:-1]]), cnt) + np.arange(cnt.sum())
        ref = self._ref[pos].astype(np.int64)
        off = self._time[pos].astype(np.int64) - np.asarray(times, np.int64)[qi]
        key = ref * 1_000_000 + (off + 500_000)
        uk, uc = np.unique(key, return_counts=True)
        # Tolerate +-1 frame: add the neighbours' counts (same reference only).
        total = uc.copy()
        for d in (-1, 1):
            at = np.searchsorted(uk, uk + d)
            at_c = np.minimum(at, len(uk) - 1)
            hit = uk[at_c] == uk + d
            total += np.where(hit, uc[at_c], 0)
        best: dict[str, Match] = {}
        order = np.argsort(-total, kind="stable")
        for i in order[: 4 * max(len(self.ref_prompt), 1)]:
            if total[i] < 2:
                break
            r = int(uk[i] // 1_000_000)
            pid = self.ref_prompt[r]
            if pid in best:
                continue
            o = int(uk[i] % 1_000_000) - 500_000
            sel = (ref == r) & (np.abs(off - o) <= 1)
            qt = np.asarray(times)[qi[sel]]
            smaller = max(min(len(hashes), self.ref_size[r]), 1)
            hit_span = float(np.percentile(qt, 90) - np.percentile(qt, 10))
            # Where the prompt lies in the query: the reference's extent, shifted by the
            # offset (not the extreme hits, which stray hits on a noisy line can stretch).
            r_lo, r_hi = self.ref_extent[r]
            best[pid] = Match(
                pid,
                int(total[i]),
                float(total[i]) / smaller,
                o,
                max(r_lo - o, 0) * FRAME_SECONDS,
                (r_hi - o + 1) * FRAME_SECONDS + N_FFT / RATE,
                min(hit_span / max(self.ref_span[r], 1.0), 1.0),
            )
        return sorted(best.values(), key=lambda m: -m.score)

    def match(self, hashes: np.ndarray, times: np.ndarray) -> Match | None:
        """The best matching prompt, or None when no reference passes the thresholds."""
        for m in self.scores(hashes, times):
            if (
                m.score >= self.min_hits
                and m.ratio >= self.min_ratio
                and m.coverage >= self.min_coverage
            ):
                return m
            break
        return None

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hash, ref, time) of every landmark, sorted by hash."""
        self._flush()
        return self._hash, self._ref, self._time
