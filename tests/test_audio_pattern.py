"""Pattern rules on hand-made timelines, and the pitch tracker on synthetic voices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from callradar.audio.pattern import PatternRules, VoiceFrames, blocks, classify, voice_frames
from callradar.audio.synth import Voice


def _frames(spans_f0: list[tuple[float, float, float]], dur: float) -> VoiceFrames:
    t = np.arange(0, dur, 0.02)
    f0 = np.full(len(t), np.nan)
    for s, e, hz in spans_f0:
        f0[(t >= s) & (t < e)] = hz
    return VoiceFrames(t, f0, np.zeros((len(t), 12)))


RULES = PatternRules()


def test_blocks_join_short_pauses() -> None:
    seg = np.array([[0.0, 1.0], [1.2, 2.0], [3.0, 4.0]])
    assert np.allclose(blocks(seg, 0.45), [[0.0, 2.0], [3.0, 4.0]])


def test_silence() -> None:
    r = classify(np.array([[1.0, 1.2]]), None, 8.0, _frames([], 8.0), None, RULES)
    assert r.pattern == "silence" and r.handover_at is None


def test_prompt_then_hangup() -> None:
    seg = np.array([[0.5, 4.0], [4.2, 9.0]])
    r = classify(seg, None, 9.6, _frames([(0.5, 9.0, 210)], 9.6), None, RULES)
    assert r.pattern == "prompt_hangup" and r.prompt_span == (0.5, 9.0)
    # The honeypot speaking after the prompt makes an unknown prompt a conversation ...
    r2 = classify(seg, np.array([[9.1, 9.5]]), 9.6, _frames([(0.5, 9.0, 210)], 9.6), None, RULES)
    assert r2.pattern == "conversation"
    # ... unless the prompt is known from other calls.
    r3 = classify(seg, np.array([[9.1, 9.5]]), 9.6, _frames([], 9.6), (0.6, 8.8), RULES)
    assert r3.pattern == "prompt_hangup"


def test_handover_needs_a_new_voice_or_a_known_prompt() -> None:
    seg = np.array([[0.5, 9.0], [11.0, 14.0], [15.0, 18.0]])
    new_voice = _frames([(0.5, 9.0, 210), (11.0, 18.0, 90)], 19.0)
    r = classify(seg, None, 19.0, new_voice, None, RULES)
    assert r.pattern == "prompt_handover" and r.handover_at == 11.0
    assert r.pitch_change is not None and r.pitch_change > 12
    same_voice = _frames([(0.5, 9.0, 210), (11.0, 18.0, 205)], 19.0)
    assert classify(seg, None, 19.0, same_voice, None, RULES).pattern == "conversation"
    known = classify(seg, None, 19.0, same_voice, (0.5, 8.9), RULES)
    assert known.pattern == "prompt_handover" and known.handover_at == 11.0


@pytest.mark.slow
def test_pitch_tracker_separates_voices() -> None:
    v = Voice()
    text = "我们这个活动就到这个月底，名额不多了"
    med = {}
    for name, pitch in (("cmn+f2", 65), ("cmn+m3", 30), ("cmn", 30)):
        x = resample_poly(v.say(text, name, pitch, 170), 1, 2).astype(np.float32)
        f0 = voice_frames(x).f0
        med[name] = float(np.nanmedian(f0))
    assert med["cmn+f2"] > 150 and med["cmn+m3"] < 120 and med["cmn"] < 120


def test_known_prompt_splits_speech_that_runs_on() -> None:
    # On a noisy line the pause before the agent is bridged: one long block.
    seg = np.array([[0.5, 16.0]])
    vf = _frames([(0.5, 9.0, 210), (10.0, 16.0, 90)], 17.0)
    unknown = classify(seg, None, 17.0, vf, None, RULES)
    assert unknown.pattern == "prompt_hangup"
    known = classify(seg, None, 17.0, vf, (0.5, 9.2), RULES)
    assert known.pattern == "prompt_handover"
    assert known.handover_at is not None and 9.0 <= known.handover_at <= 9.3
