"""Prompt fingerprints survive the telephone line and tell prompts apart."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from callradar.audio.fingerprint import FRAME_SECONDS, PromptIndex, landmarks, peaks
from callradar.audio.io import load_recording
from callradar.audio.synth import RATE, SynthCall, Voice, make_prompts, render

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def voice() -> Voice:
    return Voice()


def _clean(voice: Voice, p) -> np.ndarray:  # type: ignore[no-untyped-def]
    return voice.say(p.text, p.voice, p.pitch, p.speed)


def _line(y: np.ndarray, tmp_path, name: str, *, clip: float, gain: float, noise: float):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(len(name))
    call = SynthCall(name, "prompt_hangup", 0, False, np.r_[np.zeros(RATE // 2), y], None)
    call.clip, call.gain_db, call.noise_db = clip, gain, noise
    return load_recording(render(call, tmp_path, rng)).remote


def test_landmarks_are_level_invariant(voice: Voice) -> None:
    p = make_prompts(1, seed=3)[0]
    x = resample_poly(_clean(voice, p), 1, 2).astype(np.float32)
    h1, t1 = landmarks(x)
    h2, t2 = landmarks(0.1 * x)
    assert len(h1) > 100
    assert np.array_equal(h1, h2) and np.array_equal(t1, t2)
    t, _f = peaks(x)
    assert np.all(np.diff(t) >= 0) and len(t) / (len(x) / 8000) > 10


def test_match_across_line_coding_clipping_and_noise(voice: Voice, tmp_path) -> None:  # type: ignore[no-untyped-def]
    prompts = make_prompts(4, seed=5)
    index = PromptIndex()
    for p in prompts:
        h, t = landmarks(resample_poly(_clean(voice, p), 1, 2).astype(np.float32))
        index.add(f"P{p.index}", h, t)
    for p in prompts:
        x = _line(_clean(voice, p), tmp_path, f"q{p.index}", clip=1.3, gain=-9.0, noise=-38.0)
        h, t = landmarks(x)
        m = index.match(h, t)
        assert m is not None and m.prompt_id == f"P{p.index}"
        # The query starts 1.3 s into the timeline (0.5 s of lead-in): the offset says so.
        assert abs(m.offset * FRAME_SECONDS - 0.8) < 0.1
        scores = index.scores(h, t)
        assert scores[0].score > 5 * (scores[1].score if len(scores) > 1 else 1)


def test_unrelated_speech_does_not_match(voice: Voice) -> None:
    prompts = make_prompts(3, seed=9)
    index = PromptIndex()
    for p in prompts[:2]:
        h, t = landmarks(resample_poly(_clean(voice, p), 1, 2).astype(np.float32))
        index.add(f"P{p.index}", h, t)
    other = resample_poly(_clean(voice, prompts[2]), 1, 2).astype(np.float32)
    assert index.match(*landmarks(other)) is None
    assert index.match(*landmarks(np.zeros(8000, np.float32))) is None
    assert PromptIndex().match(*landmarks(other)) is None
