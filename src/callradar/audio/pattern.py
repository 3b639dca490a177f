"""Call pattern from the voice-activity timeline, voice statistics and prompt recurrence.

Patterns (one per recording):

- ``silence``: less than ``audio.min_speech_seconds`` of remote speech.
- ``prompt_hangup``: one block of remote speech (the recorded prompt), no
  further remote speech, and the line ends soon after it (within
  ``audio.hangup_tail_seconds``; the dialer hangs up at the prompt's end),
  with the honeypot silent during and after the prompt. A prompt already
  known from other calls (fingerprint match) counts as a prompt even when
  the honeypot spoke or the tail is long.
- ``prompt_handover``: the opening block (prompt) is followed, after a pause
  in which the callee answers, by remote speech in a *different voice*: the
  live agent. The voice change is measured between the opening block and all
  later remote speech (median pitch in semitones, and the distance between
  mean cepstra of voiced frames). A known prompt followed by more remote
  speech is a hand-over even when the voices are alike.
- ``conversation``: remote speech in several blocks, one voice throughout,
  and the opening not a known prompt.

``handover_at`` is the start (seconds) of the first remote block after the
prompt; ``speech_seconds`` the total remote speech.

Blocks are VAD segments joined across pauses shorter than
``audio.block_gap_seconds`` (a synthetic prompt's comma pauses are short; the
callee's reply before an agent takes over leaves a longer pause on the remote
channel). The regularity of synthetic speech (flat pitch, steady rate) is not
used as a deciding cue: in the generated set every voice, agent included, is
synthetic, so it could not be measured honestly; recurrence of the exact
prompt audio across calls is the stronger, vendor-independent cue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import dct

RATE = 8000
WIN = 320  # 40 ms
STEP = 160  # 20 ms
NFFT = 640
LAG_MIN = RATE // 320
LAG_MAX = RATE // 70 - 1
N_BANDS = 24
N_CEPS = 12

_WINDOW = np.hanning(WIN).astype(np.float32)


def _band_matrix() -> np.ndarray:
    freqs = np.fft.rfftfreq(NFFT, 1 / RATE)
    mel = 2595 * np.log10(1 + freqs / 700)
    edges = np.linspace(
        2595 * np.log10(1 + 300 / 700), 2595 * np.log10(1 + 3400 / 700), N_BANDS + 2
    )
    m = np.zeros((len(freqs), N_BANDS), np.float32)
    for b in range(N_BANDS):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        m[:, b] = np.clip(np.minimum((mel - lo) / (mid - lo), (hi - mel) / (hi - mid)), 0, None)
    return m


_BANDS = _band_matrix()


@dataclass
class VoiceFrames:
    """Per 20 ms frame: time (s), F0 in Hz (nan when unvoiced), cepstrum (frames x 12)."""

    time: np.ndarray
    f0: np.ndarray
    ceps: np.ndarray


def voice_frames(x: np.ndarray) -> VoiceFrames:
    """Pitch (normalized autocorrelation) and cepstra of every frame, vectorized."""
    x = np.asarray(x, np.float32)
    if len(x) < WIN:
        z = np.zeros(0)
        return VoiceFrames(z, z, np.zeros((0, N_CEPS)))
    n = 1 + (len(x) - WIN) // STEP
    fr = np.lib.stride_tricks.as_strided(
        x, shape=(n, WIN), strides=(x.strides[0] * STEP, x.strides[0])
    )
    fr = (fr - fr.mean(axis=1, keepdims=True)) * _WINDOW
    spec = np.fft.rfft(fr, NFFT, axis=1)
    power = spec.real**2 + spec.imag**2
    ac = np.fft.irfft(power, NFFT, axis=1)[:, : LAG_MAX + 1]
    energy = ac[:, 0] + 1e-9
    # YIN's cumulative-mean-normalized difference (from the autocorrelation): the first
    # deep dip (below 0.2 and near the deepest) is the period; multiples of the period
    # are never preferred.
    d = 2.0 * (ac[:, :1] - ac)
    d[:, 0] = 0.0
    cmnd = d[:, 1:] * np.arange(1, LAG_MAX + 1) / (np.cumsum(d[:, 1:], axis=1) + 1e-12)
    cm = cmnd[:, LAG_MIN - 1 :]  # lags LAG_MIN .. LAG_MAX
    deep = np.minimum(0.2, cm.min(axis=1, keepdims=True) + 0.08)
    dip = (cm[:, 1:-1] < deep) & (cm[:, 1:-1] <= cm[:, :-2]) & (cm[:, 1:-1] <= cm[:, 2:])
    first = np.argmax(dip, axis=1) + 1
    lag = LAG_MIN + np.where(dip.any(axis=1), first, np.argmin(cm, axis=1))
    strength = 1.0 - cm[np.arange(n), lag - LAG_MIN]
    edb = 10 * np.log10(energy)
    voiced = (strength > 0.5) & (edb > np.percentile(edb, 98) - 30)
    f0 = np.where(voiced, RATE / lag, np.nan)
    logb = np.log(power @ _BANDS + 1e-9)
    ceps = dct(logb, type=2, norm="ortho", axis=1)[:, 1 : N_CEPS + 1]
    t = (np.arange(n) * STEP + WIN / 2) / RATE
    return VoiceFrames(t, f0, ceps)


@dataclass
class VoiceStats:
    f0_median: float
    ceps_mean: np.ndarray
    voiced_frames: int


def voice_stats(vf: VoiceFrames, spans: np.ndarray) -> VoiceStats | None:
    """Statistics of the voiced frames inside ``spans`` ([[start, end], ...] seconds)."""
    inside = np.zeros(len(vf.time), bool)
    for s, e in spans:
        inside |= (vf.time >= s) & (vf.time < e)
    sel = inside & ~np.isnan(vf.f0)
    if sel.sum() < 10:
        return None
    return VoiceStats(float(np.median(vf.f0[sel])), vf.ceps[sel].mean(axis=0), int(sel.sum()))


def voice_distance(a: VoiceStats, b: VoiceStats) -> tuple[float, float]:
    """(pitch difference in semitones, cepstral distance) between two voices."""
    semis = abs(12 * np.log2(a.f0_median / b.f0_median))
    return float(semis), float(np.linalg.norm(a.ceps_mean - b.ceps_mean))


def blocks(seg: np.ndarray, gap: float) -> np.ndarray:
    """Join segments separated by less than ``gap`` seconds into blocks."""
    if len(seg) == 0:
        return np.zeros((0, 2))
    new = np.r_[True, (seg[1:, 0] - seg[:-1, 1]) >= gap]
    group = np.cumsum(new) - 1
    out = np.zeros((group[-1] + 1, 2))
    out[:, 0] = seg[new, 0]
    np.maximum.at(out[:, 1], group, seg[:, 1])
    return out


@dataclass
class PatternResult:
    pattern: str
    prompt_span: tuple[float, float] | None  # where the prompt lies (seconds)
    handover_at: float | None
    speech_seconds: float
    pitch_change: float | None = None  # semitones, opening vs later remote speech
    spectral_change: float | None = None
    cue: str = ""


@dataclass
class PatternRules:
    """Thresholds of the pattern rules (from the ``audio.*`` settings)."""

    min_speech_seconds: float = 0.5
    block_gap_seconds: float = 0.45
    hangup_tail_seconds: float = 4.0
    change_semitones: float = 5.0
    change_cepstral: float = 6.0
    callee_min_speech: float = 0.3


def classify(
    remote_seg: np.ndarray,
    local_seg: np.ndarray | None,
    duration: float,
    vf: VoiceFrames,
    known_prompt: tuple[float, float] | None,
    rules: PatternRules,
) -> PatternResult:
    """Decide the pattern of one call (see the module docstring for the cues).

    ``known_prompt`` is the span of the remote channel that matched a stored
    prompt fingerprint, or None.
    """
    speech = float((remote_seg[:, 1] - remote_seg[:, 0]).sum()) if len(remote_seg) else 0.0
    if speech < rules.min_speech_seconds:
        return PatternResult("silence", None, None, speech, cue="little remote speech")
    blk = blocks(remote_seg, rules.block_gap_seconds)
    # The prompt: the first block, extended over every block the known prompt overlaps.
    n_prompt = 1
    if known_prompt is not None:
        n_prompt = max(1, int(np.sum(blk[:, 0] < known_prompt[1] - 0.3)))
    prompt_blk = blk[:n_prompt].copy()
    later = blk[n_prompt:]
    if known_prompt is not None and prompt_blk[-1, 1] > known_prompt[1] + 1.5:
        # Speech runs on past the known prompt's end without a clear pause (a noisy
        # line bridges the callee's turn): what follows the prompt is later speech.
        k_end = known_prompt[1]
        after = remote_seg[remote_seg[:, 0] >= k_end - 0.2]
        split = float(after[0, 0]) if len(after) else k_end
        later = np.vstack([[[max(split, k_end - 0.2), prompt_blk[-1, 1]]], later])
        prompt_blk[-1, 1] = min(k_end, later[0, 0])
    p_start, p_end = float(prompt_blk[0, 0]), float(prompt_blk[-1, 1])
    callee = 0.0
    if local_seg is not None and len(local_seg):
        after = local_seg[local_seg[:, 1] > p_start + 0.5]
        callee = float((after[:, 1] - np.maximum(after[:, 0], p_start)).sum()) if len(after) else 0
    known = known_prompt is not None
    if len(later) == 0:
        tail = duration - p_end
        if known:
            cue = "known prompt, then hang-up"
        elif callee >= rules.callee_min_speech:
            return PatternResult(
                "conversation", None, None, speech, cue="callee spoke, one remote block"
            )
        elif tail > rules.hangup_tail_seconds:
            return PatternResult("conversation", None, None, speech, cue="long tail after speech")
        else:
            cue = "one remote block, silent callee, hang-up at its end"
        return PatternResult("prompt_hangup", (p_start, p_end), None, speech, cue=cue)
    a = voice_stats(vf, prompt_blk)
    b = voice_stats(vf, later)
    semis = ceps = None
    changed = False
    if a is not None and b is not None:
        semis, ceps = voice_distance(a, b)
        changed = semis >= rules.change_semitones or ceps >= rules.change_cepstral
    if changed or known:
        cue = "voice change after the prompt" if changed else "known prompt, then more speech"
        return PatternResult(
            "prompt_handover", (p_start, p_end), float(later[0, 0]), speech, semis, ceps, cue
        )
    return PatternResult(
        "conversation", None, None, speech, semis, ceps, "one voice, several turns"
    )
