"""Throughput of the audio stage: VAD and fingerprinting in multiples of real time per core.

Generates a small honeypot set (espeak-ng + sox, G.711 at 8 kHz / FLAC at
16 kHz), decodes it once, then times each step over all remote channels.
"x real time per core" is audio seconds / CPU seconds of this process
(``time.process_time``, which counts every thread), so it does not depend on
how busy the shared machine is; wall-clock figures are printed beside it
with the load average.

Run: uv run python bench/bench_audio.py --calls 60 --prompts 10 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from callradar.audio import AudioAnalyzer, load_recording
from callradar.audio.fingerprint import PromptIndex, landmarks
from callradar.audio.pattern import voice_frames
from callradar.audio.synth import make_set
from callradar.audio.vad import SileroVad, webrtc_flags
from callradar.config import Config


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best (cpu, wall) seconds over ``repeat`` runs."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--prompts", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        calls = make_set(Path(td) / "calls", args.calls, args.prompts, seed=args.seed)
        recs = [load_recording(c.path) for c in calls]
        audio = sum(r.duration for r in recs)
        xs = [r.remote for r in recs]
        silero = SileroVad()
        fps = [landmarks(x) for x in xs]
        index = PromptIndex()
        for i, (h, t) in enumerate(fps[: args.prompts * 3]):
            index.add(f"P{i}", h, t)
        analyzer = AudioAnalyzer(Config(environ={}))
        steps: dict[str, Callable[[], object]] = {
            "decode (soundfile, 16k->8k)": lambda: [load_recording(c.path) for c in calls],
            "vad silero": lambda: [silero.probabilities(x) for x in xs],
            "vad webrtcvad (mode 2, 30 ms)": lambda: [webrtc_flags(x) for x in xs],
            "fingerprint (landmarks)": lambda: [landmarks(x) for x in xs],
            f"match (index of {len(index)} refs)": lambda: [index.scores(h, t) for h, t in fps],
            "voice frames (pitch, cepstra)": lambda: [voice_frames(x) for x in xs],
            "whole analysis per call": lambda: [analyzer.analyse(r) for r in recs],
        }
        print(
            f"# {len(calls)} calls, {audio:.0f} s of audio (remote channel), best of {args.repeat}"
        )
        print(f"# load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print(f"{'step':36s} {'x RT/core (cpu)':>16s} {'x RT (wall)':>12s}")
        for name, fn in steps.items():
            cpu, wall = timed(fn, args.repeat)
            print(f"{name:36s} {audio / cpu:16.0f} {audio / wall:12.0f}")
        print(f"# load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
