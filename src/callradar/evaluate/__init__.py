"""Evaluation harness: replay decisions scored against the simulator's ground truth.

Entry point: :func:`evaluate` returns an :class:`EvalReport` (figures,
``goals()``, ``to_dict()``); :func:`render` / :func:`print_report` show it as
rich tables. Ground truth is read here and only here: nothing that learns,
scores or decides may import this package.
"""

from __future__ import annotations

from callradar.evaluate.core import evaluate
from callradar.evaluate.report import GOALS, EvalReport, Goal, print_report, render

__all__ = ["GOALS", "EvalReport", "Goal", "evaluate", "print_report", "render"]
