"""Voice-activity timeline: segment logic and the Silero model on synthesized speech."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from callradar.audio.synth import RATE, Voice
from callradar.audio.vad import (
    SileroVad,
    mask_to_segments,
    segments,
    segments_to_mask,
    webrtc_flags,
)


def test_mask_to_segments_fills_gaps_and_drops_blips() -> None:
    mask = np.zeros(100, bool)
    mask[10:30] = True
    mask[32:50] = True  # gap of 2 frames (0.02 s) is filled
    mask[70:71] = True  # 0.01 s blip is dropped
    seg = mask_to_segments(mask, 0.01, min_speech=0.05, fill_gap=0.05)
    assert np.allclose(seg, [[0.10, 0.50]])
    assert segments_to_mask(seg, 0.01, 100).sum() == 40


def test_segments_hysteresis() -> None:
    p = np.array([0.1, 0.6, 0.4, 0.4, 0.2, 0.1, 0.9, 0.9, 0.1])
    seg = segments(p, 1.0, threshold=0.5, min_speech=0.5, fill_gap=0.5)
    # 0.4 stays on after 0.6 (above 0.35), 0.2 turns it off.
    assert np.allclose(seg, [[1.0, 4.0], [6.0, 8.0]])
    assert segments(np.zeros(0), 0.032).shape == (0, 2)


@pytest.fixture(scope="module")
def speech_8k() -> tuple[np.ndarray, tuple[float, float]]:
    y = Voice().say("您好，这里是上海美齿口腔医院，本月种植牙限时优惠", "cmn+f2", 60, 170)
    x = np.zeros(int(RATE * 1.5) + len(y) + RATE, np.float32)
    x[int(RATE * 1.5) : int(RATE * 1.5) + len(y)] = y
    x8 = resample_poly(x, 1, 2).astype(np.float32)
    rng = np.random.default_rng(0)
    x8 += 0.003 * rng.standard_normal(len(x8)).astype(np.float32)
    return x8, (1.5, 1.5 + len(y) / RATE)


def test_silero_finds_the_speech(speech_8k) -> None:  # type: ignore[no-untyped-def]
    x, (start, end) = speech_8k
    vad = SileroVad()
    probs = vad.probabilities(x)
    assert len(probs) == len(x) // vad.window
    seg = segments(probs, vad.hop_seconds)
    assert len(seg) >= 1
    assert abs(seg[0, 0] - start) < 0.3 and abs(seg[-1, 1] - end) < 0.5
    # Silence before and after is not speech.
    assert probs[: int(1.0 / vad.hop_seconds)].max() < 0.5
    # Reset between recordings: the same input gives the same output.
    assert np.allclose(vad.probabilities(x), probs)


def test_webrtc_flags_shape(speech_8k) -> None:  # type: ignore[no-untyped-def]
    x, (start, end) = speech_8k
    flags = webrtc_flags(x, mode=2, frame_ms=30)
    assert len(flags) == len(x) // 240
    mid = int((start + end) / 2 / 0.03)
    assert flags[mid - 20 : mid + 20].mean() > 0.5
