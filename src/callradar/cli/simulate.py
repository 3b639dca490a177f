"""CLI commands of the simulate stage: ``callradar simulate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from callradar.cli import app
from callradar.errors import BadRequestError


@app.command()
def simulate(
    scenario: str = typer.Option(
        "demo", "--scenario", help="Scenario name (demo, shanghai, ...) or a TOML file."
    ),
    out: Path | None = typer.Option(None, "--out", help="Folder to write the files to."),
    days: int | None = typer.Option(None, "--days", help="Simulated days (default: scenario)."),
    seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same data."),
    subscribers: int | None = typer.Option(
        None, "--subscribers", help="City size (default: scenario)."
    ),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    describe_dir: Path | None = typer.Option(
        None, "--describe", help="Print realism figures of a generated folder instead."
    ),
    as_json: bool = typer.Option(False, "--json", help="With --describe: print JSON."),
    list_scenarios: bool = typer.Option(False, "--list", help="List the shipped scenarios."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Simulate a city attacked by outbound AI-prescreening campaigns (writes data only)."""
    from callradar import simulate as sim

    if list_scenarios:
        for name in sim.builtin_names():
            sc = sim.load_scenario(name)
            print(f"{name}\t{sc['description']}")
        return
    if describe_dir is not None:
        figures = sim.describe(describe_dir)
        if as_json:
            print(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
            return
        from rich.console import Console
        from rich.table import Table

        from callradar.simulate.describe import summary_lines

        t = Table(title=f"simulated data in {describe_dir}")
        t.add_column("figure")
        t.add_column("value")
        for label, value in summary_lines(figures):
            t.add_row(label, value)
        Console().print(t)
        return
    if out is None:
        raise BadRequestError("simulate needs --out DIR (or --describe DIR)")
    manifest = sim.simulate(
        scenario,
        out,
        days=days,
        seed=seed,
        subscribers=subscribers,
        fmt=fmt,
        progress=not quiet and sys.stderr.isatty(),
    )
    rate = manifest.calls / manifest.seconds if manifest.seconds else 0.0
    print(
        f"simulate: {manifest.scenario}, {manifest.days} days, {manifest.subscribers:,} "
        f"subscribers: {manifest.calls:,} calls in {manifest.seconds:.1f} s "
        f"({rate:,.0f} calls/s) -> {out}",
        file=sys.stderr,
    )
