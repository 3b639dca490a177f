"""The evidence stage."""

from __future__ import annotations
