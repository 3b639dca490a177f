"""Reading back quarantined rows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from callradar.store import Store

# digit runs long enough to be a subscriber number, with the usual separators
_NUMBER_RE = re.compile(r"\+?\d[\d \-()]{5,}\d")

COLUMNS = ("run_id", "file", "kind", "row_number", "reason", "raw")


def list_quarantine(
    store: Store,
    reason: str | None = None,
    limit: int | None = 100,
    kind: str | None = None,
    reveal: bool = False,
) -> list[dict[str, Any]]:
    """Quarantined rows, newest run first. ``reason`` matches a whole reason
    (``bad_number:caller``) or its family (``bad_number``).

    Phone numbers inside the raw text are pseudonymized unless ``reveal``.
    """
    where: list[str] = []
    params: list[Any] = []
    if reason:
        where.append("(reason = ? OR starts_with(reason, ? || ':'))")
        params += [reason, reason]
    if kind:
        where.append("kind = ?")
        params.append(kind)
    sql = f"SELECT {', '.join(COLUMNS)} FROM quarantine"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY run_id DESC, row_number"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = store.sql(sql, params).fetchall()
    out = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    if not reveal and out:
        mask = pseudonymize_text(store)
        for row in out:
            row["raw"] = mask(row["raw"])
    return out


#: raw-text keys that hold phone numbers (contract fields and switch-format columns)
NUMBER_KEYS = frozenset(
    {
        "caller",
        "callee",
        "complainant",
        "reported_numbers",
        "number",
        "src",
        "dst",
        "clid",
        "caller_id_number",
        "caller_id_name",
        "destination_number",
    }
)
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\d")


def pseudonymize_text(store: Store) -> Callable[[str], str]:
    """A function hiding the phone numbers in a quarantined row's raw text.

    JSON raw text (an object of the input's fields) gets the values of its
    number fields replaced; other text (a malformed CSV line) gets every
    digit run that looks like a phone number replaced.
    """
    from callradar.numbering import normalize_one
    from callradar.privacy import Pseudonymizer

    pseudo = Pseudonymizer.for_store(store)
    region = str(store.config.get("default_region"))

    def number(text: str) -> str:
        return pseudo(normalize_one(text, region) or text)

    def in_text(m: re.Match[str]) -> str:
        text = m.group(0)
        return text if _DATE_RE.match(text) else number(text)

    def mask(raw: str) -> str:
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            return _NUMBER_RE.sub(in_text, raw)
        for key, value in obj.items():
            if key in NUMBER_KEYS and isinstance(value, str) and value:
                obj[key] = ";".join(number(p.strip()) for p in value.split(";"))
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    return mask
