"""Quality of the audio stage on a generated honeypot set (docs/quality.md, audio).

Generates N calls over K prompts with espeak-ng + sox (telephone band, G.711
mu-law, level changes, start clipping, line noise; mono and stereo; 8 kHz WAV
and 16 kHz FLAC), runs ``analyse_files`` on a fresh in-memory store, and prints:

- pattern accuracy and the confusion matrix;
- prompt matching precision/recall: per call pair, "same prompt_id" against
  "same true prompt" (pairwise, over every call given a prompt id or having a
  prompt), and per call (prompt calls whose id is the majority id of their
  true prompt);
- hand-over time error;
- VAD frame agreement (10 ms frames) of Silero and webrtcvad against the
  speech segments known from synthesis (remote channel).

Run: uv run python bench/eval_audio.py --calls 520 --prompts 20 --seed 7 [--json]
     (harder line: add --noise -32 -22)
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from callradar.audio import analyse_files, load_recording
from callradar.audio.synth import PATTERNS, make_set
from callradar.audio.vad import SileroVad, segments, segments_to_mask, webrtc_flags
from callradar.config import Config
from callradar.store import Store


def vad_agreement(calls: list) -> dict[str, dict[str, float]]:  # type: ignore[type-arg]
    """Frame-level agreement (10 ms grid) of each VAD with the synthesized speech segments."""
    silero = SileroVad()
    tot: dict[str, Counter[str]] = {"silero": Counter(), "webrtc": Counter()}
    for c in calls:
        rec = load_recording(c.path)
        n = int(rec.duration * 100)
        truth = segments_to_mask(c.speech, 0.01, n)
        pred = {
            "silero": segments_to_mask(
                segments(silero.probabilities(rec.remote), silero.hop_seconds), 0.01, n
            ),
            "webrtc": np.repeat(webrtc_flags(rec.remote, mode=2, frame_ms=10), 1)[:n],
        }
        for name, p in pred.items():
            p = np.r_[p, np.zeros(n - len(p), bool)]
            tot[name]["tp"] += int((p & truth).sum())
            tot[name]["fp"] += int((p & ~truth).sum())
            tot[name]["fn"] += int((~p & truth).sum())
            tot[name]["tn"] += int((~p & ~truth).sum())
    out = {}
    for name, c in tot.items():
        prec = c["tp"] / max(c["tp"] + c["fp"], 1)
        rec_ = c["tp"] / max(c["tp"] + c["fn"], 1)
        out[name] = {
            "agreement": (c["tp"] + c["tn"]) / max(sum(c.values()), 1),
            "precision": prec,
            "recall": rec_,
            "f1": 2 * prec * rec_ / max(prec + rec_, 1e-9),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=520)
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None, help="keep the generated set here")
    ap.add_argument(
        "--noise", type=float, nargs=2, default=(-50.0, -35.0), help="line noise range, dBFS"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        work = args.dir or Path(td)
        t0 = time.perf_counter()
        calls = make_set(
            work / "calls", args.calls, args.prompts, seed=args.seed, noise_db=tuple(args.noise)
        )
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        c0 = time.process_time()
        with Store(":memory:", Config(environ={})) as store:
            res = analyse_files([c.path for c in calls], store=store)
        t_an, cpu_an = time.perf_counter() - t0, time.process_time() - c0
        audio_s = sum(r.duration for r in res)
        conf = Counter((c.pattern, r.pattern) for c, r in zip(calls, res, strict=True))
        acc = sum(v for (a, b), v in conf.items() if a == b) / len(calls)
        # Pairwise prompt matching.
        items = [(c.prompt, r.prompt_id) for c, r in zip(calls, res, strict=True)]
        tp = fp = fn = 0
        for (a1, b1), (a2, b2) in itertools.combinations(items, 2):
            same_t = a1 is not None and a1 == a2
            same_p = bool(b1) and b1 == b2
            tp += same_t and same_p
            fp += same_p and not same_t
            fn += same_t and not same_p
        # Per call: majority id of each true prompt.
        by_prompt: dict[int, Counter[str]] = {}
        for a, b in items:
            if a is not None:
                by_prompt.setdefault(a, Counter())[b] += 1
        major = {a: cnt.most_common(1)[0][0] for a, cnt in by_prompt.items()}
        prompt_calls = [(a, b) for a, b in items if a is not None]
        got = [bool(b) and b == major[a] for a, b in prompt_calls]
        per_call_recall = sum(got) / len(prompt_calls)
        id_calls = [(a, b) for a, b in items if b]
        per_call_prec = sum(a is not None and b == major[a] for a, b in id_calls) / max(
            len(id_calls), 1
        )
        herr = [
            abs(r.handover_at - c.handover_at)
            for c, r in zip(calls, res, strict=True)
            if c.pattern == "prompt_handover" and r.handover_at is not None and c.handover_at
        ]
        vad = vad_agreement(calls)
        report = {
            "calls": len(calls),
            "prompts": args.prompts,
            "seed": args.seed,
            "noise_dbfs": list(args.noise),
            "audio_seconds": round(audio_s, 1),
            "generate_seconds": round(t_gen, 1),
            "analyse_wall_seconds": round(t_an, 1),
            "analyse_cpu_seconds": round(cpu_an, 1),
            "pattern_accuracy": round(acc, 4),
            "confusion": {f"{a}->{b}": v for (a, b), v in sorted(conf.items())},
            "pair_precision": round(tp / max(tp + fp, 1), 4),
            "pair_recall": round(tp / max(tp + fn, 1), 4),
            "call_precision": round(per_call_prec, 4),
            "call_recall": round(per_call_recall, 4),
            "prompt_ids": len({b for _, b in items if b}),
            "handover_abs_error_median": round(float(np.median(herr)), 3) if herr else None,
            "handover_abs_error_p95": round(float(np.percentile(herr, 95)), 3) if herr else None,
            "vad": {k: {m: round(v, 4) for m, v in d.items()} for k, d in vad.items()},
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for k, v in report.items():
        print(f"{k}: {v}")
    print("patterns:", ", ".join(PATTERNS))


if __name__ == "__main__":
    main()
