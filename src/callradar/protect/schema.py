"""Tables owned by the protect stage."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = []
