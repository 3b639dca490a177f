"""CLI commands of the audio stage: ``audio``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from callradar.cli import app
from callradar.cli.core import DbOption, open_store


def expand_audio_paths(items: list[Path]) -> list[Path]:
    """Files as given; folders expand to their WAV/FLAC files (sorted)."""
    from callradar.audio.io import audio_files
    from callradar.errors import InputFileError

    out: list[Path] = []
    for p in items:
        if p.is_dir():
            out.extend(audio_files(p))
        elif p.is_file():
            out.append(p)
        else:
            raise InputFileError(f"{p}: no such file or folder", file=str(p))
    if not out:
        raise InputFileError("no WAV or FLAC recordings found in the given paths")
    return out


@app.command()
def audio(
    files: list[Path] = typer.Argument(..., help="Recordings (WAV/FLAC, 8 or 16 kHz) or folders."),
    meta: Path | None = typer.Option(
        None, "--meta", help="Sidecar CSV: file,caller,callee,time[,transcript]."
    ),
    db: Path | None = DbOption,
    out: Path = typer.Option(..., "--out", help="Output folder for recordings.csv."),
) -> None:
    """Analyse honeypot recordings: pattern, prompt id, speech and hand-over time per file."""
    from callradar.audio import analyse_files, read_meta, write_recordings_csv

    paths = expand_audio_paths(files)
    sidecar = read_meta(meta) if meta is not None else None
    err = Console(stderr=True)
    with (
        open_store(db) as store,
        Progress(
            TextColumn("audio"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("audio", total=len(paths))
        results = analyse_files(
            paths, store=store, meta=sidecar, on_file=lambda _f: bar.advance(task)
        )
    csv_path = write_recordings_csv(results, out / "recordings.csv")
    counts = Counter(r.pattern for r in results)
    prompts = len({r.prompt_id for r in results if r.prompt_id})
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"{csv_path}: {len(results)} recordings ({summary}); {prompts} prompts")
