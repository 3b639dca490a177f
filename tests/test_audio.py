"""End to end: synthesized honeypot calls -> patterns, prompt ids, store rows, CLI."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest

from callradar.audio import analyse_files, read_meta, write_recordings_csv
from callradar.audio.io import load_recording
from callradar.audio.synth import SynthCall, make_set
from callradar.cli import main
from callradar.config import Config
from callradar.errors import InputFileError
from callradar.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> list[SynthCall]:
    out = tmp_path_factory.mktemp("honeypot")
    mix = {"prompt_hangup": 0.35, "prompt_handover": 0.35, "conversation": 0.2}
    return make_set(out / "calls", 18, 3, seed=11, mix=mix)


@pytest.fixture(scope="module")
def analysed(calls: list[SynthCall], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:  # type: ignore[type-arg]
    db = tmp_path_factory.mktemp("db") / "a.duckdb"
    with Store(db, Config(environ={})) as store:
        meta = read_meta(calls[0].path.parent / "meta.csv")  # type: ignore[union-attr]
        res = analyse_files([c.path for c in calls], store=store, meta=meta)  # type: ignore[misc]
    return db, res


def test_patterns_match_the_synthesized_truth(calls: list[SynthCall], analysed) -> None:  # type: ignore[no-untyped-def]
    _, res = analysed
    assert {c.pattern for c in calls} >= {"prompt_hangup", "prompt_handover", "conversation"}
    right = sum(c.pattern == r.pattern for c, r in zip(calls, res, strict=True))
    assert right / len(calls) >= 0.85, [
        (c.pattern, r.pattern) for c, r in zip(calls, res, strict=True)
    ]


def test_same_prompt_same_id_and_different_prompts_differ(calls, analysed) -> None:  # type: ignore[no-untyped-def]
    _, res = analysed
    pairs = [(c.prompt, r.prompt_id) for c, r in zip(calls, res, strict=True)]
    tp = fp = fn = 0
    for (a1, b1), (a2, b2) in itertools.combinations(pairs, 2):
        same_t = a1 is not None and a1 == a2
        same_p = bool(b1) and b1 == b2
        tp, fp, fn = (
            tp + (same_t and same_p),
            fp + (same_p and not same_t),
            fn + (same_t and not same_p),
        )
    assert fp == 0
    assert tp / (tp + fn) >= 0.9
    # Calls without a prompt get no prompt id.
    for c, r in zip(calls, res, strict=True):
        if c.pattern in ("silence", "conversation") and r.pattern == c.pattern:
            assert r.prompt_id == ""


def test_handover_time_and_speech_seconds(calls, analysed) -> None:  # type: ignore[no-untyped-def]
    _, res = analysed
    checked = 0
    for c, r in zip(calls, res, strict=True):
        truth_speech = sum(e - s for s, e in c.speech)
        if c.pattern != "silence":
            assert abs(r.speech_seconds - truth_speech) <= 0.25 * truth_speech + 0.5
        if c.pattern == r.pattern == "prompt_handover":
            assert r.handover_at is not None and c.handover_at is not None
            assert abs(r.handover_at - c.handover_at) < 1.0
            checked += 1
        elif r.pattern != "prompt_handover":
            assert r.handover_at is None
    assert checked >= 2


def test_results_are_stored_with_numbers_and_transcripts(calls, analysed) -> None:  # type: ignore[no-untyped-def]
    db, res = analysed
    with Store(db, Config(environ={})) as store:
        rows = store.sql(
            "SELECT file, caller, pattern, prompt_id, transcript, time "
            "FROM recordings ORDER BY file"
        ).fetchall()
        n_prompts = store.sql("SELECT count(*) FROM prompts").fetchone()[0]
        n_fp = store.sql("SELECT count(DISTINCT prompt_id) FROM prompt_fingerprints").fetchone()[0]
    assert len(rows) == len(calls)
    assert all(r[1].startswith("+8621") for r in rows)
    assert all(r[5] is not None for r in rows)
    by_file = {r[0]: r for r in rows}
    for c in calls:
        row = by_file[c.path.name]  # type: ignore[union-attr]
        assert bool(row[4]) == (c.prompt is not None)
    assert n_prompts == n_fp == len({r.prompt_id for r in res if r.prompt_id})


def test_prompt_ids_are_stable_across_runs(calls, analysed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, res = analysed
    copy = tmp_path / "again.duckdb"
    copy.write_bytes(db.read_bytes())
    # A later run over a subset (no sidecar) matches the stored prompts.
    subset = [c for c, r in zip(calls, res, strict=True) if r.prompt_id][:4]
    first = {r.file: r.prompt_id for r in res}
    with Store(copy, Config(environ={})) as store:
        again = analyse_files([c.path for c in subset], store=store)  # type: ignore[misc]
        n_prompts = store.sql("SELECT count(*) FROM prompts").fetchone()[0]
        callers = store.sql("SELECT count(*) FROM recordings WHERE caller <> ''").fetchone()[0]
    assert [r.prompt_id for r in again] == [first[r.file] for r in again]
    assert n_prompts == len({p for p in first.values() if p})
    assert callers == len(calls)  # re-analysis without the sidecar keeps the stored numbers


def test_cli_writes_recordings_csv(calls, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = calls[0].path.parent  # type: ignore[union-attr]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["audio", str(folder), "--meta", str(folder / "meta.csv"), "--db",
              str(tmp_path / "c.duckdb"), "--out", str(out)])  # fmt: skip
    assert exit_.value.code in (0, None)
    with (out / "recordings.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "file", "duration", "pattern", "prompt_id", "speech_seconds", "handover_at"
    ]  # fmt: skip
    assert len(rows) == len(calls)
    assert f"{len(calls)} recordings" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        main(["audio", str(tmp_path / "missing.wav"), "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("callradar: ") and "missing.wav" in err and "Traceback" not in err


def test_write_recordings_csv_empty_fields(tmp_path: Path, analysed) -> None:  # type: ignore[no-untyped-def]
    _, res = analysed
    p = write_recordings_csv(res[:3], tmp_path / "r.csv")
    text = p.read_text().splitlines()
    assert len(text) == 4 and text[0].startswith("file,duration,pattern")


def test_load_recording_formats(tmp_path: Path) -> None:
    import soundfile as sf

    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(tmp_path / "s.flac", np.stack([tone, 0 * tone], axis=1), 16000)
    rec = load_recording(tmp_path / "s.flac")
    assert rec.local is not None and rec.source_rate == 16000
    assert abs(rec.duration - 1.0) < 1e-3 and len(rec.remote) == 8000
    sf.write(tmp_path / "m.wav", tone[::2], 8000, subtype="ULAW")
    rec = load_recording(tmp_path / "m.wav")
    assert rec.local is None and rec.source_rate == 8000
    sf.write(tmp_path / "bad.wav", tone, 11025)
    with pytest.raises(InputFileError, match="11025"):
        load_recording(tmp_path / "bad.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    with pytest.raises(InputFileError, match=r"junk\.wav"):
        load_recording(tmp_path / "junk.wav")


def test_read_meta_requires_columns(tmp_path: Path) -> None:
    p = tmp_path / "meta.csv"
    p.write_text("file,caller\na.wav,+862150000000\n")
    with pytest.raises(InputFileError, match="callee"):
        read_meta(p)
    p.write_text("file,caller,callee,time,transcript\ndir/a.wav,021-5000-0000,13800000000,,喂\n")
    assert read_meta(p)["a.wav"]["transcript"] == "喂"


def test_call_seen_before_its_prompt_gets_a_second_look(tmp_path: Path) -> None:
    import soundfile as sf
    from scipy.signal import resample_poly

    from callradar.audio.synth import AGENT_TEXTS, Voice, make_prompts

    v = Voice()
    p = make_prompts(1, seed=21)[0]
    prompt = v.say(p.text, p.voice, p.pitch, p.speed)
    # The same voice goes on after a pause: alone, this looks like one speaker's conversation.
    more = v.say(AGENT_TEXTS[2], p.voice, p.pitch, p.speed)
    gap = np.zeros(int(16000 * 2.0), np.float32)
    a = np.concatenate([gap[:8000], prompt, gap, more, gap[:8000]])
    b = np.concatenate([gap[:8000], prompt, gap[:8000]])
    rng = np.random.default_rng(0)
    for name, x in (("a.wav", a), ("b.wav", b)):
        y = resample_poly(x, 1, 2)
        y = y + 0.002 * rng.standard_normal(len(y))
        sf.write(tmp_path / name, y.astype(np.float32), 8000, subtype="ULAW")
    alone = analyse_files([tmp_path / "a.wav"])
    assert alone[0].pattern == "conversation" and alone[0].prompt_id == ""
    both = analyse_files([tmp_path / "a.wav", tmp_path / "b.wav"])
    assert both[1].pattern == "prompt_hangup" and both[1].prompt_id
    assert both[0].pattern == "prompt_handover" and both[0].prompt_id == both[1].prompt_id
    assert both[0].handover_at is not None and both[0].handover_at > len(prompt) / 16000
