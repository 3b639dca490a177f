"""Tables owned by the evidence stage."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = []
