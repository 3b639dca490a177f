"""``python -m callradar`` runs the command-line interface."""

from __future__ import annotations

from callradar.cli import main

main()
