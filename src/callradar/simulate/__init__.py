"""The simulate stage."""

from __future__ import annotations
