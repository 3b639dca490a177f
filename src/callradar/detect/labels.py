"""Weak labels for the scorer, from what a carrier really has.

Sources (never the simulator's ground truth):

* ``complaint``: a number named in a complaint (``reported_numbers``);
* ``complaint_recent``: a number that called the complainant shortly before
  the complaint (``detect.complaint_lookback_minutes``), when the complaint
  names no number: weaker, since the citizen may have had other calls;
* ``refusal``: a number that citizens told "don't call me again";
* ``registry``: a number registered by an organization (negative);
* ``analyst``: an optional file ``number,label`` (1/0, or words such as
  ``campaign``/``legit``), trusted over everything else.

Label noise is explicit: every piece of positive evidence carries a weight
``w`` (its probability of being right); evidence for one number combines as
``1 - prod(1 - w_i)`` (several citizens complaining about one number make it
a surer positive). Registry negatives override weak positives (an
organization's calls draw complaints too); analyst labels override all.
Numbers with no label at all are weak negatives in training (see
:mod:`callradar.detect.pipeline`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from callradar.errors import BadRequestError, InputFileError
from callradar.numbering import normalize_one

if TYPE_CHECKING:
    from callradar.store import Store

POSITIVE_WORDS = {"1", "true", "yes", "campaign", "robocall", "spam", "positive", "bad"}
NEGATIVE_WORDS = {"0", "false", "no", "legit", "legitimate", "ham", "negative", "good"}

SCHEMA = pa.schema(
    [
        ("number", pa.string()),
        ("label", pa.int8()),
        ("weight", pa.float64()),
        ("source", pa.string()),
    ]
)


def read_label_file(path: str | Path, region: str = "CN") -> list[tuple[str, int]]:
    """Read an analyst label file (CSV with header ``number,label``)."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"label file {p} does not exist", file=str(p))
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = set(reader.fieldnames or [])
            if not {"number", "label"} <= cols:
                raise InputFileError(
                    f"label file {p}: needs columns number,label (found {', '.join(sorted(cols))})",
                    file=str(p),
                )
            out: list[tuple[str, int]] = []
            for i, row in enumerate(reader, start=2):
                number = normalize_one(row.get("number") or "", region)
                word = (row.get("label") or "").strip().lower()
                if number is None:
                    raise BadRequestError(
                        f"label file {p}, line {i}: cannot read number {row.get('number')!r}"
                    )
                if word in POSITIVE_WORDS:
                    out.append((number, 1))
                elif word in NEGATIVE_WORDS:
                    out.append((number, 0))
                else:
                    raise BadRequestError(
                        f"label file {p}, line {i}: label {row.get('label')!r} is neither "
                        "1/campaign nor 0/legit"
                    )
    except UnicodeDecodeError as exc:
        raise InputFileError(f"label file {p} is not UTF-8 text", file=str(p)) from exc
    return out


def weak_labels(store: Store, label_file: str | Path | None = None) -> pa.Table:
    """One row per labeled number: ``number, label (0/1), weight (0..1], source``.

    ``source`` lists the evidence (``complaint:2;refusal:5``).
    """
    cfg = store.config
    w_complaint = float(cfg.get("detect.weight_complaint"))
    w_recent = float(cfg.get("detect.weight_complaint_recent"))
    w_refusal = float(cfg.get("detect.weight_refusal"))
    w_registry = float(cfg.get("detect.weight_registry"))
    lookback = int(cfg.get("detect.complaint_lookback_minutes"))
    evidence = f"""
        SELECT number, 'complaint' AS src, count(DISTINCT complainant) AS n, {w_complaint} AS w
        FROM (SELECT unnest(reported_numbers) AS number, complainant FROM complaints)
        WHERE number <> ''
        GROUP BY number
        UNION ALL
        SELECT c.caller, 'complaint_recent', count(DISTINCT k.complaint_id), {w_recent}
        FROM complaints k
        JOIN calls c ON c.callee = k.complainant
                    AND c.end_time <= k.received_time
                    AND c.end_time >= k.received_time - to_minutes({lookback})
        WHERE len(k.reported_numbers) = 0
        GROUP BY c.caller
        UNION ALL
        SELECT caller, 'refusal', count(DISTINCT callee), {w_refusal}
        FROM refusals GROUP BY caller
    """
    query = f"""
        WITH ev AS ({evidence}),
        pos AS (
            SELECT number,
                   1 - exp(sum(n * ln(greatest(1 - w, 1e-9)))) AS weight,
                   string_agg(src || ':' || n, ';' ORDER BY src) AS source
            FROM ev GROUP BY number
        ),
        reg AS (SELECT DISTINCT number FROM registry)
        SELECT coalesce(r.number, p.number) AS number,
               CAST(CASE WHEN r.number IS NOT NULL THEN 0 ELSE 1 END AS TINYINT) AS label,
               CASE WHEN r.number IS NOT NULL THEN {w_registry} ELSE p.weight END AS weight,
               CASE WHEN r.number IS NOT NULL
                    THEN 'registry' || coalesce(';' || p.source, '') ELSE p.source END AS source
        FROM pos p FULL OUTER JOIN reg r ON r.number = p.number
    """
    table = store.con.sql(query).to_arrow_table().cast(SCHEMA)
    if label_file is not None:
        analyst = read_label_file(label_file, str(cfg.get("default_region")))
        w_analyst = float(cfg.get("detect.weight_analyst"))
        keep = {n for n, _ in analyst}
        mask = pa.array([n not in keep for n in table.column("number").to_pylist()])
        table = table.filter(mask)
        extra = pa.table(
            {
                "number": [n for n, _ in analyst],
                "label": pa.array([lab for _, lab in analyst], pa.int8()),
                "weight": [w_analyst] * len(analyst),
                "source": ["analyst"] * len(analyst),
            },
            schema=SCHEMA,
        )
        table = pa.concat_tables([table, extra])
    return table
