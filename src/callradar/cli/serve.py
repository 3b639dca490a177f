"""CLI commands of the serve stage."""

from __future__ import annotations

from callradar.cli import app  # noqa: F401
