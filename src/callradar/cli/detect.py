"""CLI commands of the features and detect stages: ``features``, ``learn``, ``score``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from callradar.cli import app
from callradar.cli.core import DbOption, open_store

EngineOption = typer.Option(
    None, "--engine", help="duckdb or spark (default: the features.engine setting)."
)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr whose text follows the library's progress messages."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as prog:
        task = prog.add_task(label, total=None)
        yield lambda msg: prog.update(task, description=f"{label}: {msg}")


@app.command()
def features(
    db: Path | None = DbOption,
    engine: str | None = EngineOption,
    window: list[str] | None = typer.Option(
        None, "--window", help="hour, day or week; repeatable (default: features.windows)."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Recompute only windows from this time on (ISO timestamp)."
    ),
) -> None:
    """Compute behavioural features per caller, trunk and number block."""
    from callradar.features import build_features

    with open_store(db) as store, _progress("features") as say:
        counts = build_features(
            store, windows=window or None, engine=engine, since=since, progress=say
        )
    print(json.dumps(counts))


@app.command()
def learn(
    db: Path | None = DbOption,
    labels: Path | None = typer.Option(
        None, "--labels", help="Analyst label file (CSV: number,label) trusted over weak labels."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Store the model under this name (default: detect.model_name)."
    ),
    engine: str | None = EngineOption,
) -> None:
    """Fit the scorer on the store's features and weak labels (complaints, refusals, registry)."""
    from callradar.detect.pipeline import learn as run_learn

    with open_store(db) as store, _progress("learn") as say:
        metrics = run_learn(store, labels, name=name, engine=engine, progress=say)
    print(json.dumps(metrics, ensure_ascii=False))


@app.command()
def score(
    out: Path = typer.Option(..., "--out", help="Directory for scores.csv."),
    db: Path | None = DbOption,
    model: str | None = typer.Option(
        None, "--model", help="Model name in the store, or 'default' for the shipped model."
    ),
    day: str | None = typer.Option(None, "--day", help="Day to score (default: the latest)."),
    reveal: bool = typer.Option(
        False, "--reveal", help="Do not pseudonymize allowed numbers (mostly citizens) in the CSV."
    ),
    engine: str | None = EngineOption,
) -> None:
    """Score every number of a day: number_scores table and OUT/scores.csv with decisions."""
    from callradar.detect.pipeline import score as run_score

    with open_store(db) as store, _progress("score") as say:
        summary = run_score(
            store, out, model_name=model, day=day, reveal=reveal, engine=engine, progress=say
        )
    print(json.dumps(summary))
