"""CLI commands of the serve stage: ``callradar serve``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from callradar.cli import app
from callradar.cli.core import DbOption, open_store
from callradar.config import Config
from callradar.serve.server import loop_factory


@app.command()
def serve(
    db: Path | None = DbOption,
    http: str | None = typer.Option(
        None, "--http", help="HOST:PORT of the HTTP API (default: setting serve.http)."
    ),
    sip: str | None = typer.Option(
        None, "--sip", help="HOST:PORT of the SIP screener, UDP and TCP (default: serve.sip; off)."
    ),
    cdr_spool: Path | None = typer.Option(
        None, "--cdr-spool", help="Directory to watch for CDR files (each file taken once)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log each verdict (pseudonymized)."
    ),
) -> None:
    """Serve verdicts over HTTP and SIP, keeping the live state current and persisted."""
    from callradar.serve.server import serve as run

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    cfg = Config()
    with open_store(db) as store, asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(
            run(
                store,
                store.config,
                http or str(cfg.get("serve.http")),
                sip if sip is not None else str(cfg.get("serve.sip")),
                cdr_spool,
            )
        )
