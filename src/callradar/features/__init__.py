"""The features stage."""

from __future__ import annotations
