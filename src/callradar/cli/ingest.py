"""CLI commands of the ingest stage: ``ingest`` and ``quarantine``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from callradar.cli import app
from callradar.cli.core import DbOption, open_store


@app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="Input files (CSV, Parquet, JSON Lines, .gz)."),
    db: Path | None = DbOption,
    kind: str | None = typer.Option(
        None, "--kind", help="cdr, complaints, refusals or registry (default: from the columns)."
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="csv, parquet, jsonl, asterisk or freeswitch (default: from the file name).",
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Text encoding of CSV / JSON Lines input, e.g. gbk."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file."),
) -> None:
    """Ingest input files; print one summary line per file."""
    from callradar.ingest import IngestResult, ingest_files

    err = Console(stderr=True)

    def report(res: IngestResult) -> None:
        if as_json:
            print(json.dumps(res.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(res.summary(), flush=True)

    with open_store(db) as store:
        for path in files:
            with err.status(f"ingesting {path} ...", spinner="dots"):
                results = ingest_files(store, [path], kind=kind, fmt=fmt, encoding=encoding)
            for res in results:
                report(res)


@app.command()
def quarantine(
    db: Path | None = DbOption,
    reason: str | None = typer.Option(
        None, "--reason", help="A reason (bad_number:caller) or family (bad_number)."
    ),
    kind: str | None = typer.Option(None, "--kind", help="Only rows of this input kind."),
    limit: int = typer.Option(100, "--limit", help="At most this many rows (0: all)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per row."),
    reveal: bool = typer.Option(
        False, "--reveal", help="Show phone numbers in the raw text (default: pseudonymized)."
    ),
) -> None:
    """List quarantined input rows with their reason and raw text."""
    from callradar.ingest import list_quarantine

    with open_store(db) as store:
        rows = list_quarantine(store, reason=reason, limit=limit or None, kind=kind, reveal=reveal)
    out = sys.stdout
    for row in rows:
        if as_json:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            out.write(
                f"{row['file']}:{row['row_number']}\t{row['kind']}\t{row['reason']}\t{row['raw']}\n"
            )
