"""CLI commands of the campaigns and protect stages: ``link``, ``campaigns``, ``replay``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from callradar.cli import app
from callradar.cli.core import DbOption, open_store

err = Console(stderr=True)


@app.command()
def link(db: Path | None = DbOption) -> None:
    """Link suspect numbers into campaigns (ids stay stable across runs)."""
    from callradar.campaigns import link_campaigns

    with open_store(db) as store:
        r = link_campaigns(store)
    err.print(
        f"campaigns: {r.campaigns} ({r.new_campaigns} new, {r.kept_ids} kept their id), "
        f"{r.numbers} numbers linked"
    )


@app.command()
def campaigns(
    db: Path | None = DbOption,
    limit: int = typer.Option(50, help="Show at most this many campaigns."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per campaign."),
) -> None:
    """List campaigns, largest first."""
    with open_store(db) as store:
        rows = store.sql(
            "SELECT campaign_id, numbers, calls, round(score, 3), prompt_seconds, first_seen, "
            "last_seen FROM campaigns ORDER BY calls DESC LIMIT ?",
            [limit],
        ).fetchall()
    cols = ["campaign_id", "numbers", "calls", "score", "prompt_seconds", "first_seen", "last_seen"]
    if as_json:
        for r in rows:
            print(json.dumps(dict(zip(cols, [*r[:5], str(r[5]), str(r[6])], strict=True))))
        return
    t = Table(title="campaigns")
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    Console().print(t)


@app.command()
def replay(
    input: Path = typer.Argument(..., help="Call records to decide, in start_time order."),
    out: Path = typer.Option(..., "--out", help="Decisions CSV to write."),
    refusals: Path | None = typer.Option(None, "--refusals", help="Refusals made during INPUT."),
    complaints: Path | None = typer.Option(
        None, "--complaints", help="Complaints made during INPUT."
    ),
    db: Path | None = DbOption,
) -> None:
    """Decide every call of INPUT as if live, under the replay protocol."""
    from callradar.protect import Engine
    from callradar.protect.replay import replay as run_replay

    with open_store(db) as store:
        engine = Engine.from_store(store)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task("replaying", total=None)
        result = run_replay(
            engine,
            input,
            out,
            refusals=refusals,
            complaints=complaints,
            progress=lambda i, n: bar.update(task, completed=i, total=n),
        )
    d = result.decisions
    err.print(
        f"{input}: {result.calls:,} calls decided in {result.seconds:.1f} s "
        f"({result.calls_per_second:,.0f} calls/s): block {d['block']:,}, label {d['label']:,}, "
        f"allow {d['allow']:,}; {result.undecided} rows not accepted; "
        f"{result.refusals} refusals, {result.complaints} complaints applied; "
        f"fail-open {sum(result.failed_open.values())} -> {out}"
    )
