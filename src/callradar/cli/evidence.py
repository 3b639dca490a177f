"""CLI commands of the evidence stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from callradar.cli import app
from callradar.cli.core import DbOption, open_store


@app.command()
def complaints(
    db: Path | None = DbOption,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
    limit: int | None = typer.Option(None, "--limit", help="Show at most this many."),
) -> None:
    """Analyse the stored complaints, link them to campaigns, and list them with their facts."""
    from rich.console import Console
    from rich.table import Table

    from callradar.complaints import analyse_complaints, link_complaints, list_complaints
    from callradar.errors import NotReadyError

    err = Console(stderr=True)
    with open_store(db) as store:
        with err.status("analysing complaints"):
            added = analyse_complaints(store)
        err.print(f"analysed {added} new complaint(s)")
        try:
            links = link_complaints(store)
            err.print(f"{links} complaint-campaign link(s)")
        except NotReadyError as exc:
            err.print(f"not linked: {exc.message}")
        rows = list_complaints(store, pseudonymize=True, limit=limit)
    if as_json:
        json.dump(rows, sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return
    t = Table(title=f"complaints ({len(rows)})")
    for col in ("id", "received", "category", "numbers", "businesses", "refused", "ai", "campaign"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["complaint_id"]),
            (r["received_time"] or "")[:16],
            r["category"] or "",
            " ".join(r["numbers"] or []),
            " ".join(r["businesses"] or []),
            "yes" if r["refused_before"] else "",
            "yes" if r["ai_voice"] else "",
            f"{r['campaign_id']} ({r['link_via']} {r['link_weight']:.2f})"
            if r["campaign_id"]
            else "",
        )
    Console().print(t)


@app.command()
def report(
    out: Path = typer.Option(..., "--out", help="Folder for campaigns.json and the dossiers."),
    db: Path | None = DbOption,
    role: str = typer.Option(
        "public",
        "--role",
        help="public: numbers pseudonymized; regulator: numbers in full.",
    ),
) -> None:
    """Write campaigns.json, an HTML index and a dossier (HTML + CSV) per campaign."""
    from rich.console import Console
    from rich.progress import Progress

    from callradar.evidence import write_report

    err = Console(stderr=True)
    with open_store(db) as store, Progress(console=err, transient=True) as bar:
        task = bar.add_task("dossiers", total=None)
        index = write_report(
            store, out, role=role, progress=lambda i, n: bar.update(task, completed=i, total=n)
        )
    err.print(f"dossiers: {index}")
    print(out / "campaigns.json")
