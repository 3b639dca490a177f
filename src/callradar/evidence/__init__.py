"""The evidence stage: campaign dossiers for regulators, and the dashboard.

Entry points:

* :func:`write_report` - ``campaigns.json`` (data-contracts.md section 7), an HTML
  index and, per campaign, an HTML dossier with inline SVG charts and CSV extracts;
* :func:`summaries` / :func:`detail` - the same data as dicts (:mod:`.dossier`);
* :mod:`callradar.evidence.web` - the dashboard (``/ui/``) as a FastAPI router.

Citizens' numbers, and campaign numbers, are pseudonymized unless the role is
``regulator``.
"""

from __future__ import annotations

from callradar.evidence.dossier import AUTHORITIES, View, detail, summaries, who_called
from callradar.evidence.report import write_report

__all__ = ["AUTHORITIES", "View", "detail", "summaries", "who_called", "write_report"]
