"""The simulate stage: a city attacked by outbound "AI pre-screening" campaigns, with truth.

Entry points: :func:`simulate` writes a folder of call records, complaints,
refusals, registry and ground truth; :func:`describe` measures how realistic a
generated folder is.
"""

from __future__ import annotations

from callradar.simulate.describe import describe
from callradar.simulate.engine import Manifest, simulate
from callradar.simulate.scenario import Scenario, builtin_names, load_scenario

__all__ = ["Manifest", "Scenario", "builtin_names", "describe", "load_scenario", "simulate"]
