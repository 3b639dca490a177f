"""The detect stage."""

from __future__ import annotations
