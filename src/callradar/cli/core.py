"""CLI commands about the store and settings: ``status``, ``settings``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from callradar.cli import app
from callradar.config import SETTINGS, Config

DbOption = typer.Option(None, "--db", help="DuckDB store (default: callradar.duckdb).")


def open_store(db: Path | None, read_only: bool = False):  # type: ignore[no-untyped-def]
    """Open the store named by ``--db`` (or the ``db`` setting)."""
    from callradar.store import Store

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
