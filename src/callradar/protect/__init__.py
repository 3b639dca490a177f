"""The protect stage."""

from __future__ import annotations
