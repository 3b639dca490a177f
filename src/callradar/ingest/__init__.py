"""The ingest stage: read the four input kinds into the store, quarantining bad rows.

Entry points: :func:`ingest_files` (files: CSV, Parquet, JSON Lines, plain or
gzipped, and the Asterisk / FreeSWITCH CDR formats) and :func:`ingest_arrow`
(in-memory Arrow tables). See :mod:`callradar.ingest.kinds` for the
quarantine reasons and duplicate keys, :mod:`callradar.ingest.formats` for the
switch-format mappings.
"""

from __future__ import annotations

from callradar.ingest.formats import FORMATS
from callradar.ingest.kinds import KINDS
from callradar.ingest.pipeline import IngestResult, ingest_arrow, ingest_file, ingest_files
from callradar.ingest.quarantine import list_quarantine

__all__ = [
    "FORMATS",
    "KINDS",
    "IngestResult",
    "ingest_arrow",
    "ingest_file",
    "ingest_files",
    "list_quarantine",
]
