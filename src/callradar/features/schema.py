"""Tables owned by the features stage."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = []
