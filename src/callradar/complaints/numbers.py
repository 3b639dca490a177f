"""Phone numbers mentioned in free text, in any written form, normalized to E.164.

Rules (documented again in docs/quality.md):

1. The text is NFKC-normalized, so full-width digits and signs (``１３８``, ``＋``,
   ``－``, ``（``) become ASCII; dash-like characters (``—``, ``–``, ``~``) become ``-``.
2. Chinese digit words (``零〇一二三四五六七八九``, and ``幺`` for 1) in a run of at least
   seven become digits, so ``幺三八幺二三四五六七八`` is read as ``13812345678``.
   ``两`` is left alone: it counts things and is not used when reading numbers out.
3. Dates (``2024-07-23``, ``2024年7月23日``) and clock times (``10:15``) are blanked
   first, so they never read as numbers.
4. A *run* is digits joined by at most three separators from `` -.()/`` (and an optional
   leading ``+``). The run is split into its digit groups, and groups are joined
   greedily left to right: the longest join that parses as a valid number wins, so
   ``13812345678 021 5234 5678`` yields two numbers.
5. A join parses when: it has a ``+`` or starts with ``0086`` / ``86`` (12-13 digits)
   and is valid internationally; or it is exactly eight digits starting 2-9 (a local
   number: the ``complaints.default_area_code`` area, 021 Shanghai, is prepended);
   or it is valid for the default region (``CN``). Validity is libphonenumber's
   ``is_valid_number``; bare short codes (95588, 12345) are not numbers here.
6. When no join of a run is valid, a join that is a *possible* number of full length
   (10 or 11 national digits) is taken: spoofed caller ids such as ``021-8006-6337``
   are invalid in the plan but are exactly what citizens copy into complaints.

Validity (deciding which digit groups form a number) is libphonenumber's; the E.164
text is :func:`callradar.numbering.normalize_one`'s, so numbers found in complaints
compare equal to the numbers ingest stores.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

_DASHES = str.maketrans({"—": "-", "–": "-", "―": "-", "~": "-", "‐": "-", "‑": "-"})
_CN_DIGITS = "零〇一二三四五六七八九幺"
_CN_MAP = str.maketrans(
    {"零": "0", "〇": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5"}
    | {"六": "6", "七": "7", "八": "8", "九": "9", "幺": "1"}
)
_CN_RUN = re.compile(rf"[{_CN_DIGITS}](?:[{_CN_DIGITS}\s\-]*[{_CN_DIGITS}])?")
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号]"
    r"|\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?"
)
_RUN = re.compile(r"\+?\d+(?:[ \-.()/]{1,3}\d+)*")
_GROUP = re.compile(r"\d+")
_MAX_GROUPS_PER_NUMBER = 6


def normalize_text(text: str) -> str:
    """NFKC, unified dashes, Chinese digit runs read as digits, dates and times blanked."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = _CN_RUN.sub(_cn_run_to_digits, text)
    return _DATE.sub(lambda m: "|" * len(m.group(0)), text)


def _cn_run_to_digits(m: re.Match[str]) -> str:
    run = m.group(0)
    digits = sum(1 for ch in run if ch in _CN_DIGITS)
    return run.translate(_CN_MAP) if digits >= 7 else run


@lru_cache(maxsize=65536)
def to_e164(
    digits: str,
    plus: bool = False,
    area_code: str = "21",
    region: str = "CN",
    strict: bool = True,
) -> str:
    """E.164 for one candidate digit string, or ``""`` when it is not a number.

    ``strict`` asks for a valid number; otherwise a *possible* number of a full
    length (10 or 11 national digits, e.g. a spoofed ``021-8006-6337``) is accepted.
    """
    if not digits or len(digits) < 7 or len(digits) > 15:
        return ""
    if plus:
        candidate = "+" + digits
    elif digits.startswith("0086"):
        candidate = "+" + digits[2:]
    elif digits.startswith("86") and len(digits) in (12, 13):
        candidate = "+" + digits
    elif len(digits) == 8 and digits[0] in "23456789" and area_code:
        candidate = "0" + area_code + digits
    else:
        candidate = digits
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return ""
    if strict and not phonenumbers.is_valid_number(parsed):
        return ""
    if not strict and not (
        phonenumbers.is_possible_number(parsed)
        and len(phonenumbers.national_significant_number(parsed)) in (10, 11)
    ):
        return ""
    return _normalize_one(candidate, region) or phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.E164
    )


def _normalize_one(candidate: str, region: str) -> str:
    """The project's E.164 normalization (:func:`callradar.numbering.normalize_one`)."""
    try:
        from callradar.numbering import normalize_one
    except ImportError:  # pragma: no cover - numbering is part of the package
        return ""
    return normalize_one(candidate, region) or ""


def find_numbers(text: str, area_code: str = "21", region: str = "CN") -> list[str]:
    """Every phone number written in ``text``, as E.164, unique, in order of appearance."""
    found: list[str] = []
    seen: set[str] = set()
    for run in _RUN.finditer(normalize_text(text)):
        raw = run.group(0)
        plus = raw.startswith("+")
        groups = _GROUP.findall(raw)
        i = 0
        while i < len(groups):
            hit = ""
            last = min(len(groups), i + _MAX_GROUPS_PER_NUMBER) - 1
            for strict in (True, False):
                for j in range(last, i - 1, -1):
                    joined = "".join(groups[i : j + 1])
                    hit = to_e164(joined, plus and i == 0, area_code, region, strict)
                    if hit:
                        break
                if hit:
                    break
            if hit:
                if hit not in seen:
                    seen.add(hit)
                    found.append(hit)
                i = j + 1
            else:
                i += 1
    return found
