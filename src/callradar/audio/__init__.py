"""The audio stage."""

from __future__ import annotations
