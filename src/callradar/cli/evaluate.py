"""CLI command of the evaluation harness: ``callradar eval``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from callradar.cli import app


@app.command("eval")
def eval_(
    truth: list[Path] = typer.Option(
        ...,
        "--truth",
        help="Truth file, or simulator output directory (all truth-* files); repeatable.",
    ),
    decisions: Path = typer.Option(..., "--decisions", help="Decisions file written by replay."),
    refusals: list[Path] | None = typer.Option(
        None,
        "--refusals",
        help="Refusals file or directory; repeatable (default: refusals-* in truth directories).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    strict: bool = typer.Option(
        False, "--strict", help="Unknown call_ids or undecided calls are errors, not counts."
    ),
    check: bool = typer.Option(
        False, "--check", help="Exit with status 1 when a quality goal is not met."
    ),
) -> None:
    """Score replay decisions against the simulator's ground truth and the quality goals."""
    from callradar.evaluate import evaluate, print_report

    err = Console(stderr=True)
    with err.status("evaluating ...") as status:
        report = evaluate(
            truth,
            decisions,
            refusals or None,
            strict=strict,
            progress=lambda msg: status.update(f"evaluating: {msg} ..."),
        )
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        print_report(report, Console(), notes=False)
        for note in report.notes:
            print(f"callradar eval: {note}", file=sys.stderr)
    if check and not report.all_goals_met:
        raise typer.Exit(1)
