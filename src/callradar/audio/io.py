"""Reading honeypot recordings and their sidecar CSV.

A recording is WAV (PCM or G.711 mu-law/A-law) or FLAC at 8 or 16 kHz. Mono
files hold the remote party only; in stereo files the left channel is the
remote party (caller) and the right channel the honeypot's own line. Every
recording is analysed at 8 kHz (the telephone band); 16 kHz input is
decimated with a polyphase filter.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from callradar.errors import InputFileError

RATE = 8000
AUDIO_SUFFIXES = (".wav", ".flac")
SUPPORTED_RATES = (8000, 16000)
META_COLUMNS = ("file", "caller", "callee", "time")


@dataclass
class Recording:
    """One decoded recording at :data:`RATE`: the remote party and, for stereo, the honeypot."""

    file: str
    remote: np.ndarray
    local: np.ndarray | None
    source_rate: int

    @property
    def duration(self) -> float:
        return len(self.remote) / RATE


def audio_files(folder: str | Path) -> list[Path]:
    """The WAV and FLAC recordings of a folder, sorted by name (maybe none)."""
    return sorted(q for q in Path(folder).iterdir() if q.suffix.lower() in AUDIO_SUFFIXES)


def load_recording(path: str | Path) -> Recording:
    """Decode ``path``; raises :class:`InputFileError` with one clear message when it cannot."""
    p = Path(path)
    try:
        x, sr = sf.read(p, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputFileError(f"{p}: cannot read audio ({exc})", file=str(p)) from None
    if sr not in SUPPORTED_RATES:
        raise InputFileError(
            f"{p}: sample rate {sr} Hz is not supported (use 8000 or 16000)", file=str(p)
        )
    if x.shape[1] > 2:
        raise InputFileError(f"{p}: {x.shape[1]} channels (use mono or stereo)", file=str(p))
    if sr != RATE:
        x = resample_poly(x, RATE, sr, axis=0).astype(np.float32)
    remote = np.ascontiguousarray(x[:, 0])
    local = np.ascontiguousarray(x[:, 1]) if x.shape[1] == 2 else None
    return Recording(p.name, remote, local, int(sr))


def read_meta(path: str | Path) -> dict[str, dict[str, str]]:
    """Read the sidecar CSV (``file,caller,callee,time[,transcript]``), keyed by file name."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = reader.fieldnames or []
            missing = [c for c in META_COLUMNS if c not in cols]
            if missing:
                raise InputFileError(
                    f"{p}: missing column {', '.join(missing)} (need file,caller,callee,time)",
                    file=str(p),
                )
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(f"{p}: cannot read sidecar CSV ({exc})", file=str(p)) from None
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        name = Path((row.get("file") or "").strip()).name
        if name:
            out[name] = {k: (v or "").strip() for k, v in row.items() if k}
    return out
