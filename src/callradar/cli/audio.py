"""CLI commands of the audio stage."""

from __future__ import annotations

from callradar.cli import app  # noqa: F401
