"""CLI commands about the store and settings: ``status``, ``settings``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from callradar.cli import app
from callradar.config import SETTINGS, Config
from callradar.store import Store

DbOption = typer.Option(None, "--db", help="DuckDB store (default: callradar.duckdb).")


def open_store(db: Path | None, read_only: bool = False) -> Store:
    """Open the store named by ``--db`` (or the ``db`` setting)."""

    return Store(db, Config(), read_only=read_only)


@app.command()
def status(db: Path | None = DbOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show row counts per table and the recent ingest runs."""
    with open_store(db) as store:
        counts = store.table_counts()
        runs = store.sql(
            "SELECT run_id, file, kind, read, accepted, quarantined, duplicates, finished_at "
            "FROM ingest_runs ORDER BY run_id DESC LIMIT 10"
        ).fetchall()
        version = store.schema_version()
    if as_json:
        print(
            json.dumps(
                {
                    "db": str(db or Config().get("db")),
                    "schema": version,
                    "tables": counts,
                    "recent_ingests": [
                        dict(
                            zip(
                                [
                                    "run_id",
                                    "file",
                                    "kind",
                                    "read",
                                    "accepted",
                                    "quarantined",
                                    "duplicates",
                                    "finished_at",
                                ],
                                [*r[:7], str(r[7])],
                                strict=True,
                            )
                        )
                        for r in runs
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    out = Console()
    t = Table(title=f"store {db or Config().get('db')} (schema: {version[-1] if version else '-'})")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    out.print(t)
    r = Table(title="recent ingest runs")
    for col in ("run", "file", "kind", "read", "accepted", "quarantined", "duplicates", "finished"):
        r.add_column(col)
    for row in runs:
        r.add_row(*[str(v) for v in row])
    out.print(r)


@app.command()
def settings() -> None:
    """Print every setting: name, current value, environment variable and help."""
    cfg = Config()
    t = Table(title="callradar settings")
    for col in ("name", "value", "env", "help"):
        t.add_column(col)
    for s in SETTINGS:
        t.add_row(s.name, repr(cfg.get(s.name)), s.env_var, s.help)
    Console().print(t)


@app.command()
def run(
    stages: str = typer.Option(
        ",".join(__import__("callradar.pipeline", fromlist=["LEARN"]).LEARN),
        "--stages",
        help="Comma-separated pipeline stages to run (see src/callradar/pipeline.py).",
    ),
    db: Path | None = DbOption,
) -> None:
    """Run any part of the batch pipeline on the store."""
    from callradar import pipeline

    err = Console(stderr=True)
    names = [s.strip() for s in stages.split(",") if s.strip()]
    with open_store(db) as store:
        for r in pipeline.run(store, names, on_stage=lambda s: err.print(f"stage {s} ...")):
            err.print(f"stage {r.name}: {r.seconds:.1f} s; {r.summary}")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for everything it writes."),
    scenario: str = typer.Option("demo", "--scenario", help="Simulator scenario name or file."),
    days: int = typer.Option(7, "--days", help="Simulated days; the last is replayed."),
    seed: int = typer.Option(7, "--seed"),
    subscribers: int | None = typer.Option(None, "--subscribers", help="Override city size."),
) -> None:
    """Simulate a city, ingest its history, learn, replay the last day, evaluate."""
    from callradar.demo import run_demo
    from callradar.evaluate import print_report

    err = Console(stderr=True)
    result = run_demo(
        out,
        scenario=scenario,
        days=days,
        seed=seed,
        subscribers=subscribers,
        say=lambda m: err.print(f"[dim]demo:[/dim] {m}"),
    )
    r = result.replay
    print_report(result.evaluation, Console(), notes=False)
    d = r.decisions
    err.print(
        f"replayed {result.replay_day}: {r.calls:,} calls at {r.calls_per_second:,.0f} calls/s "
        f"(block {d['block']:,}, label {d['label']:,}, allow {d['allow']:,})"
    )
    err.print(f"store: {result.db}   decisions: {result.decisions}")
    err.print(f"dossiers: {result.report_dir / 'index.html'}")
