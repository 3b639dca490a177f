"""The audio stage: honeypot recordings in, patterns and prompt ids out.

Public entry::

    results = analyse_files(paths, store=store, meta=read_meta(csv_path))
    write_recordings_csv(results, out_dir / "recordings.csv")

Per recording: a Silero voice-activity timeline (:mod:`.vad`), landmark
fingerprints of the remote channel matched against the stored prompts
(:mod:`.fingerprint`), and the call pattern (:mod:`.pattern`). A recording
whose opening is a prompt that matches no stored prompt creates a new prompt
id; ids are stored with their fingerprints (``prompts``,
``prompt_fingerprints``) so a prompt heard again, in this run or a later one,
gets the same id. Results go to the ``recordings`` table, where campaign
linking joins caller numbers through ``prompt_id``. Transcripts from the
sidecar are stored as given (``recordings.transcript``); clustering them is
the complaints stage's text machinery, not done here.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from callradar.audio.fingerprint import FRAME_SECONDS, PromptIndex, landmarks
from callradar.audio.io import Recording, load_recording, read_meta
from callradar.audio.pattern import PatternRules, VoiceFrames, classify, voice_frames
from callradar.audio.vad import SileroVad, segments
from callradar.config import Config
from callradar.store import Store

__all__ = [
    "AudioAnalyzer",
    "RecordingResult",
    "analyse_files",
    "clear_match_hits",
    "load_recording",
    "read_meta",
    "write_recordings_csv",
]

# a clear match has this many times the minimum hits (``audio.match_min_hits``): only a
# clear match adds a reference to its prompt, and only a clear one links numbers
STRONG_MATCH = 5
REVISIT_MAX = 20_000  # conversation calls whose landmarks are kept for a second look
CSV_COLUMNS = ("file", "duration", "pattern", "prompt_id", "speech_seconds", "handover_at")


@dataclass
class RecordingResult:
    file: str
    duration: float
    pattern: str
    prompt_id: str
    speech_seconds: float
    handover_at: float | None
    caller: str = ""
    callee: str = ""
    time: datetime | None = None
    transcript: str = ""
    channels: int = 1
    sample_rate: int = 8000
    match_score: int | None = None
    cue: str = ""


def clear_match_hits(config: Config) -> int:
    """Aligned landmark hits of a clear prompt match: a weaker one may be two prompts that
    open with the same greeting (campaign linking trusts a recording's prompt id only
    when the recording founded it or matched it clearly)."""
    return STRONG_MATCH * int(config.get("audio.match_min_hits"))


def _rules(config: Config) -> PatternRules:
    return PatternRules(
        min_speech_seconds=float(config.get("audio.min_speech_seconds")),
        block_gap_seconds=float(config.get("audio.block_gap_seconds")),
        hangup_tail_seconds=float(config.get("audio.hangup_tail_seconds")),
        change_semitones=float(config.get("audio.change_semitones")),
        change_cepstral=float(config.get("audio.change_cepstral")),
    )


@dataclass
class CallFeatures:
    """The per-recording measurements the pattern and prompt decisions use."""

    file: str
    duration: float
    source_rate: int
    remote_seg: np.ndarray
    local_seg: np.ndarray | None
    hashes: np.ndarray
    times: np.ndarray
    voice: VoiceFrames


class AudioAnalyzer:
    """Analyses recordings one by one against a growing prompt index.

    Load the stored prompts with :meth:`from_store`; :meth:`save` writes the
    results and every new prompt back.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.rules = _rules(self.config)
        self.vad = SileroVad()
        self.vad_threshold = float(self.config.get("audio.vad_threshold"))
        self.refs_per_prompt = int(self.config.get("audio.refs_per_prompt"))
        self.clear_hits = clear_match_hits(self.config)
        self.index = PromptIndex(
            min_hits=int(self.config.get("audio.match_min_hits")),
            min_ratio=float(self.config.get("audio.match_min_ratio")),
            min_coverage=float(self.config.get("audio.match_min_coverage")),
        )
        self.prompt_refs: dict[str, int] = {}
        self.prompt_meta: dict[str, tuple[str, float]] = {}  # id -> (first file, duration)
        self._new_refs: list[tuple[str, int, np.ndarray, np.ndarray]] = []

    # -- prompts ------------------------------------------------------------
    @classmethod
    def from_store(cls, store: Store) -> AudioAnalyzer:
        self = cls(store.config)
        fp = store.sql(
            "SELECT prompt_id, ref, hash, t FROM prompt_fingerprints ORDER BY prompt_id, ref"
        ).fetchnumpy()
        meta = store.sql("SELECT prompt_id, first_file, duration, refs FROM prompts").fetchall()
        for pid, first, dur, refs in meta:
            self.prompt_meta[pid] = (first, float(dur))
            self.prompt_refs[pid] = int(refs)
        if len(fp["hash"]):
            pid = np.asarray(fp["prompt_id"], dtype=object)
            ref = np.asarray(fp["ref"])
            h = np.asarray(fp["hash"], np.int64)
            t = np.asarray(fp["t"], np.int32)
            change = np.flatnonzero((pid[1:] != pid[:-1]) | (ref[1:] != ref[:-1])) + 1
            starts = np.r_[0, change]
            ends = np.r_[change, len(h)]
            for s, e in zip(starts, ends, strict=True):
                self.index.add(str(pid[s]), h[s:e], t[s:e])
        return self

    def _new_prompt_id(self) -> str:
        n = len(self.prompt_meta) + 1
        while f"PR{n:04d}" in self.prompt_meta:
            n += 1
        return f"PR{n:04d}"

    # -- analysis -----------------------------------------------------------
    def features(self, rec: Recording) -> CallFeatures:
        """Everything the decision needs (VAD timelines, landmarks, voice frames)."""
        probs = self.vad.probabilities(rec.remote)
        rseg = segments(probs, self.vad.hop_seconds, self.vad_threshold)
        lseg = None
        if rec.local is not None:
            lseg = segments(
                self.vad.probabilities(rec.local), self.vad.hop_seconds, self.vad_threshold
            )
        hashes, times = landmarks(rec.remote)
        return CallFeatures(
            rec.file,
            rec.duration,
            rec.source_rate,
            rseg,
            lseg,
            hashes,
            times,
            voice_frames(rec.remote),
        )

    def analyse(self, rec: Recording | CallFeatures) -> RecordingResult:
        """Pattern and prompt id of one recording; new prompts join the index."""
        f = self.features(rec) if isinstance(rec, Recording) else rec
        rseg, lseg, hashes, times = f.remote_seg, f.local_seg, f.hashes, f.times
        match = self.index.match(hashes, times) if len(rseg) else None
        known = (match.query_start, match.query_end) if match else None
        res = classify(rseg, lseg, f.duration, f.voice, known, self.rules)
        prompt_id = ""
        if res.prompt_span is not None:
            lo, hi = res.prompt_span
            sel = (times * FRAME_SECONDS >= lo - 0.1) & (times * FRAME_SECONDS <= hi + 0.1)
            if match is not None:
                prompt_id = match.prompt_id
                refs = self.prompt_refs.get(prompt_id, 0)
                if (
                    refs < self.refs_per_prompt
                    and match.ratio < 0.5
                    and match.score >= self.clear_hits
                    and sel.sum() >= 20
                ):
                    # a new reference only from a clear match: a weak one (two prompts
                    # sharing an opening) would make the next of its kind match strongly
                    self._add_ref(prompt_id, hashes[sel], times[sel])
            elif sel.sum() >= self.index.min_hits:
                prompt_id = self._new_prompt_id()
                self.prompt_meta[prompt_id] = (f.file, hi - lo)
                self._add_ref(prompt_id, hashes[sel], times[sel])
        return RecordingResult(
            file=f.file,
            duration=round(f.duration, 3),
            pattern=res.pattern,
            prompt_id=prompt_id,
            speech_seconds=round(res.speech_seconds, 3),
            handover_at=None if res.handover_at is None else round(res.handover_at, 3),
            channels=1 if lseg is None else 2,
            sample_rate=f.source_rate,
            match_score=match.score if match else None,
            cue=res.cue,
        )

    def _add_ref(self, prompt_id: str, h: np.ndarray, t: np.ndarray) -> None:
        ref = self.prompt_refs.get(prompt_id, 0)
        self.prompt_refs[prompt_id] = ref + 1
        self.index.add(prompt_id, h, t)
        self._new_refs.append((prompt_id, ref, h, t))

    # -- persistence --------------------------------------------------------
    def save(self, store: Store, results: list[RecordingResult]) -> None:
        """Write results (replacing rows of the same files) and new prompts, all or nothing."""
        import pyarrow as pa

        rows = pa.table(
            {
                "file": [r.file for r in results],
                "caller": [r.caller for r in results],
                "callee": [r.callee for r in results],
                "time": pa.array([r.time for r in results], pa.timestamp("us", tz="UTC")),
                "duration": [r.duration for r in results],
                "pattern": [r.pattern for r in results],
                "prompt_id": [r.prompt_id or None for r in results],
                "speech_seconds": [r.speech_seconds for r in results],
                "handover_at": pa.array([r.handover_at for r in results], pa.float64()),
                "transcript": [r.transcript or None for r in results],
                "channels": pa.array([r.channels for r in results], pa.int32()),
                "sample_rate": pa.array([r.sample_rate for r in results], pa.int32()),
                "match_score": pa.array([r.match_score for r in results], pa.int32()),
                "cue": [r.cue for r in results],
            }
        )
        fps = pa.table(
            {
                "prompt_id": [p for p, _, h, _ in self._new_refs for _ in range(len(h))],
                "ref": pa.array(
                    np.concatenate([np.full(len(h), r) for _, r, h, _ in self._new_refs])
                    if self._new_refs
                    else np.zeros(0, np.int32),
                    pa.int32(),
                ),
                "hash": pa.array(
                    np.concatenate([h for *_, h, _ in self._new_refs])
                    if self._new_refs
                    else np.zeros(0, np.int64),
                    pa.int64(),
                ),
                "t": pa.array(
                    np.concatenate([t for *_, t in self._new_refs])
                    if self._new_refs
                    else np.zeros(0, np.int32),
                    pa.int32(),
                ),
            }
        )
        prompts = [
            (pid, first, dur, self.prompt_refs.get(pid, 0))
            for pid, (first, dur) in self.prompt_meta.items()
        ]
        with store.transaction() as con:
            con.register("_audio_rows", rows)
            # Re-analysing a file without its sidecar keeps the numbers stored before.
            con.execute(
                "CREATE TEMP TABLE _audio_merged AS SELECT n.file, "
                "coalesce(nullif(n.caller, ''), o.caller) AS caller, "
                "coalesce(nullif(n.callee, ''), o.callee) AS callee, "
                "coalesce(n.time, o.time) AS time, n.duration, n.pattern, n.prompt_id, "
                "n.speech_seconds, n.handover_at, "
                "coalesce(n.transcript, o.transcript) AS transcript, "
                "n.channels, n.sample_rate, n.match_score, n.cue "
                "FROM _audio_rows n LEFT JOIN recordings o USING (file)"
            )
            con.execute("DELETE FROM recordings WHERE file IN (SELECT file FROM _audio_rows)")
            con.execute(
                "INSERT INTO recordings (file, caller, callee, time, duration, pattern, prompt_id, "
                "speech_seconds, handover_at, transcript, channels, sample_rate, match_score, cue) "
                "SELECT * FROM _audio_merged"
            )
            con.execute("DROP TABLE _audio_merged")
            con.unregister("_audio_rows")
            con.register("_audio_fps", fps)
            con.execute("INSERT INTO prompt_fingerprints SELECT * FROM _audio_fps")
            con.unregister("_audio_fps")
            for pid, first, dur, refs in prompts:
                con.execute(
                    "INSERT INTO prompts (prompt_id, first_file, duration, refs) VALUES (?,?,?,?) "
                    "ON CONFLICT (prompt_id) DO UPDATE SET refs = excluded.refs",
                    [pid, first, round(dur, 3), refs],
                )
        self._new_refs = []


def _parse_time(text: str, tz: str) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(tz))


def _e164(number: str, region: str) -> str:
    import phonenumbers

    if not number:
        return ""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(number, region), phonenumbers.PhoneNumberFormat.E164
        )
    except phonenumbers.NumberParseException:
        return number


def analyse_files(
    paths: Iterable[str | Path],
    store: Store | None = None,
    meta: dict[str, dict[str, str]] | None = None,
    config: Config | None = None,
    on_file: Callable[[str], None] | None = None,
) -> list[RecordingResult]:
    """Analyse recordings in order; with a ``store``, match stored prompts and save results.

    ``meta`` is the sidecar (see :func:`read_meta`) keyed by file name.
    Raises :class:`~callradar.errors.InputFileError` for an unreadable file
    before anything is stored.
    """
    config = config or (store.config if store is not None else Config())
    analyzer = AudioAnalyzer.from_store(store) if store is not None else AudioAnalyzer(config)
    meta = meta or {}
    tz = str(config.get("timezone"))
    region = str(config.get("default_region"))
    results: list[RecordingResult] = []
    revisit: list[tuple[int, Path, np.ndarray, np.ndarray]] = []
    for p in paths:
        rec = load_recording(p)
        feats = analyzer.features(rec)
        r = analyzer.analyse(feats)
        if r.pattern == "conversation" and len(revisit) < REVISIT_MAX:
            # Hashes fit in 19 bits: keep them as int32 (8 bytes per landmark with the time).
            revisit.append((len(results), Path(p), feats.hashes.astype(np.int32), feats.times))
        m = meta.get(rec.file, {})
        r.caller = _e164(m.get("caller", ""), region)
        r.callee = _e164(m.get("callee", ""), region)
        r.time = _parse_time(m.get("time", ""), tz)
        r.transcript = m.get("transcript", "")
        results.append(r)
        if on_file is not None:
            on_file(rec.file)
    # A call analysed before its prompt was first recognized gets a second look.
    for i, path, h, t in revisit:
        if analyzer.index.match(h.astype(np.int64), t) is None:
            continue
        again = analyzer.analyse(load_recording(path))
        if again.prompt_id:
            old = results[i]
            again.caller, again.callee, again.time = old.caller, old.callee, old.time
            again.transcript = old.transcript
            results[i] = again
    if store is not None:
        analyzer.save(store, results)
    return results


def write_recordings_csv(results: list[RecordingResult], path: str | Path) -> Path:
    """Write ``recordings.csv``: file, duration, pattern, prompt_id, speech_seconds, handover_at."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in results:
            d = asdict(r)
            w.writerow(["" if d[c] is None else d[c] for c in CSV_COLUMNS])
    return p
