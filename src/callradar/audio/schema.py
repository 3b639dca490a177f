"""Tables owned by the audio stage."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = []
