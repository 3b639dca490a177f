"""CLI commands of the simulate stage."""

from __future__ import annotations

from callradar.cli import app  # noqa: F401
