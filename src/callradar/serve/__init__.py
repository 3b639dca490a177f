"""The serve stage."""

from __future__ import annotations
