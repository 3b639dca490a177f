"""Tables owned by the complaints stage."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = []
