"""Numbers, times and records as the live server receives them.

Numbers arrive in any common form and are normalized to E.164 by
:func:`callradar.numbering.normalize_one` (region from the ``default_region``
setting). Timestamps are ISO 8601 (an offset-less time is read in the
``timezone`` setting) or epoch seconds.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from callradar import numbering
from callradar.errors import BadRequestError

_E164_CN = re.compile(r"^\+86[1-9]\d{4,11}$")


def _normalize(raw: str, region: str) -> str:
    text = raw.strip()
    if _E164_CN.match(text):  # the common case on the call path, without a parse
        return text
    return numbering.normalize_one(text, region) or ""


def normalize_number(raw: Any, region: str = "CN", field: str = "number") -> str:
    """E.164 form of ``raw``; :class:`BadRequestError` when it is not a phone number."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        raise BadRequestError(f"{field}: not a phone number: {raw!r}", field=field)
    out = _normalize(raw, region)
    if not out:
        raise BadRequestError(f"{field}: not a phone number: {raw!r}", field=field)
    return out


def try_number(raw: Any, region: str = "CN") -> str:
    """Like :func:`normalize_number` but returns '' for a bad value."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        return ""
    return _normalize(raw, region)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_datetime(raw: Any, tz: str = "Asia/Shanghai", field: str = "time") -> datetime:
    """An aware datetime from ISO 8601 text, epoch seconds or a datetime; now when None."""
    if raw is None or raw == "":
        return datetime.now(UTC)
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=_zone(tz))
    if isinstance(raw, bool):
        raise BadRequestError(f"{field}: not a timestamp: {raw!r}", field=field)
    if isinstance(raw, int | float):
        if not 0 <= raw < 1e11:
            raise BadRequestError(f"{field}: epoch seconds out of range: {raw!r}", field=field)
        return datetime.fromtimestamp(float(raw), UTC)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            try:
                return to_datetime(float(text), tz, field)
            except ValueError:
                raise BadRequestError(f"{field}: not a timestamp: {raw!r}", field=field) from None
        return value if value.tzinfo else value.replace(tzinfo=_zone(tz))
    raise BadRequestError(f"{field}: not a timestamp: {raw!r}", field=field)


def to_epoch(raw: Any, tz: str = "Asia/Shanghai", field: str = "time") -> float:
    if raw is None or raw == "":
        return time.time()
    return to_datetime(raw, tz, field).timestamp()
