"""The complaints stage: what citizens' complaints say, and which campaigns they concern.

Public entry points:

* :func:`extract` - facts from one complaint text (numbers in E.164, businesses and
  their grouping keys, category, earlier refusal, AI voice);
* :func:`analyse_complaints` - fill ``complaint_facts`` for stored complaints;
* :func:`link_complaints` - fill ``complaint_links`` (after campaigns exist);
* :func:`list_complaints` - stored complaints with facts and strongest campaign;
* :func:`analyse_stage`, :func:`link_stage` - the two pipeline stages
  (``complaints``, ``complaint_links`` in :mod:`callradar.pipeline`);
* :class:`TranscriptClusterer` - near-duplicate script/transcript clustering.
"""

from __future__ import annotations

from callradar.complaints.analyse import (
    analyse_complaints,
    analyse_stage,
    known_from_store,
    link_complaints,
    link_stage,
    list_complaints,
)
from callradar.complaints.extract import (
    CATEGORIES,
    ComplaintFacts,
    business_key,
    extract,
    known_stems,
)
from callradar.complaints.numbers import find_numbers
from callradar.complaints.textcluster import TranscriptClusterer, normalize_transcript

__all__ = [
    "CATEGORIES",
    "ComplaintFacts",
    "TranscriptClusterer",
    "analyse_complaints",
    "analyse_stage",
    "business_key",
    "extract",
    "find_numbers",
    "known_from_store",
    "known_stems",
    "link_complaints",
    "link_stage",
    "list_complaints",
    "normalize_transcript",
]
