"""The complaints stage."""

from __future__ import annotations
