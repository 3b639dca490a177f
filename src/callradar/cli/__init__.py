"""The ``callradar`` command: thin wrappers over the library.

Each stage's commands live in ``callradar/cli/<stage>.py`` and register on
:data:`app`. Data goes to stdout, diagnostics to stderr. Errors become one line
here, at the edge.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="callradar",
    help="Find and stop automated outbound calling campaigns.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Importing a command module registers its commands on ``app``.
from callradar.cli import (  # noqa: E402
    audio,
    core,
    detect,
    evaluate,
    evidence,
    ingest,
    protect,
    serve,
    simulate,
)

__all__ = ["app", "main"]
_ = (audio, core, detect, evaluate, evidence, ingest, protect, serve, simulate)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn callradar errors into one-line messages."""
    from callradar.errors import CallradarError

    try:
        app(args=argv, standalone_mode=True)
    except CallradarError as exc:
        print(f"callradar: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("callradar: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
