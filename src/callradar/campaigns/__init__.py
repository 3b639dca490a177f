"""The campaigns stage."""

from __future__ import annotations
