"""callradar: find and stop automated outbound calling campaigns.

The public API is small; each stage's entry point lives in its subpackage:

* :func:`callradar.ingest.ingest_files` - read call records, complaints,
  refusals and the registry into the store (quarantining bad rows);
* :func:`callradar.pipeline.run` - the batch stages (features, fit, score,
  complaints, campaigns, complaint links, online scorer);
* :class:`callradar.protect.Engine` - verdicts at call setup, with
  :class:`callradar.protect.Guard` failing open;
* :func:`callradar.protect.replay.replay` - decide a day of calls under the replay
  protocol;
* :func:`callradar.evaluate.evaluate` - compare decisions with simulator truth;
* :func:`callradar.simulate.simulate` - the attacker's city, as files;
* :func:`callradar.evidence.write_report` - dossiers for regulators;
* :func:`callradar.serve.serve` - HTTP and SIP screening.

:class:`callradar.store.Store` is the embedded DuckDB store and
:class:`callradar.config.Config` reads the one settings table.
"""

from __future__ import annotations

from callradar.config import Config
from callradar.errors import CallradarError
from callradar.store import Store

__version__ = "0.1.0"
__all__ = ["CallradarError", "Config", "Store", "__version__"]
