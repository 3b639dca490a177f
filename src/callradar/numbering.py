"""Numbering plan: normalize numbers to E.164 and classify them (China first).

libphonenumber (the ``phonenumbers`` package) is the authority. Two paths give
the same answers:

* the *reference path*, :func:`normalize_one` / :func:`classify_one`, calls
  ``phonenumbers`` for one number (cached per distinct number);
* the *vectorized path* runs inside DuckDB: :func:`normalize_sql` is a regular
  expression fast path for the common Chinese forms (``+862152345678``,
  ``021-5234-5678``, ``02152345678``, ``13812345678``, ``8613812345678``,
  ``+86 138 1234 5678``, ``0086 ...``); anything else is sent, once per distinct
  string, to :func:`normalize_one`. :func:`classify_sql` evaluates
  phonenumbers' own CN metadata (the national-number patterns and possible
  lengths of each number type, the short-number patterns) and its carrier and
  geocoding prefix tables in SQL, so millions of distinct numbers are
  classified without a Python call each. ``tests/test_numbering.py`` checks
  that both paths agree on thousands of numbers of every range.

Kinds (column ``kind``):

``mobile``       phonenumbers MOBILE, outside the virtual-operator ranges;
``virtual``      MOBILE in a virtual-operator (MVNO) range 162, 165, 167, 170, 171;
``fixed_line``   FIXED_LINE (``area`` is the geocoded city, ``area_code`` e.g. ``21``);
``service``      valid CN short numbers (95xxx, 96xxx, 10xxx, 12xxx, emergency
                 110/119/120), 950xxxxxxx enterprise numbers, area code + 96xxx,
                 and premium-rate numbers;
``shared_cost``  400 numbers; ``toll_free``: 800 numbers;
``foreign``      any country code other than +86 (``area`` = ISO region, e.g. ``US``);
``invalid``      parseable but not a valid number of the plan (e.g. 140xxxxxxxx),
                 typical of spoofed caller ids: kept, not rejected.

A string that does not parse at all (or has fewer than 3 / more than 15 digits)
normalizes to null: a *bad number* for ingest.

Carrier (``carrier``) is phonenumbers' carrier prefix table (English names),
which names the *original* network of mobile ranges only (number portability
since 2019 is not visible); empty for 162/165 and all non-mobile kinds.

Number-block key (``block``), the allocation block a number belongs to:

* fixed line: the E.164 number without its last two digits (a 100-number
  block: ``+862152345678`` -> ``+8621523456``), the unit in which exchanges
  hand out DID ranges to business trunks;
* mobile and virtual: without the last four digits (the 7-digit H0H1H2H3
  segment allocated per operator and city: ``+8613812345678`` -> ``+861381234``);
* service short numbers: the number itself;
* everything else (400, 800, foreign, invalid): without the last two digits
  (numbers of 6 digits or fewer are their own block).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
import pyarrow as pa
from phonenumbers import PhoneMetadata, PhoneNumberType, shortnumberinfo

KINDS: tuple[str, ...] = (
    "mobile",
    "virtual",
    "fixed_line",
    "service",
    "shared_cost",
    "toll_free",
    "foreign",
    "invalid",
)
VIRTUAL_PREFIXES: tuple[str, ...] = ("162", "165", "167", "170", "171")
CN = 86
LANG = "en"

# ---------------------------------------------------------------------------
# reference path (phonenumbers, one number at a time, cached)
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1 << 20)
def normalize_one(raw: str | None, region: str = "CN") -> str | None:
    """E.164 form of ``raw`` (read in ``region`` when it has no country code), or None."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    nsn = phonenumbers.national_significant_number(num)
    if len(nsn) < 3 or len(str(num.country_code)) + len(nsn) > 15:
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class NumberInfo:
    number: str
    kind: str
    carrier: str
    area: str
    area_code: str
    block: str


def _longest_prefix(table: dict[str, dict[str, str]], digits: str, longest: int) -> str:
    for n in range(min(longest, len(digits)), 0, -1):
        entry = table.get(digits[:n])
        if entry is not None and LANG in entry:
            return entry[LANG]
    return ""


@lru_cache(maxsize=1)
def _geo() -> dict[str, dict[str, str]]:
    """phonenumbers' geocoding prefix table (a large module: imported on first use)."""
    from phonenumbers.geodata import GEOCODE_DATA

    return GEOCODE_DATA


@lru_cache(maxsize=1)
def _carrier() -> dict[str, dict[str, str]]:
    from phonenumbers.carrierdata import CARRIER_DATA

    return CARRIER_DATA


@lru_cache(maxsize=1)
def _geo_cn_lengths() -> list[int]:
    """Lengths of the CN geocoding prefixes, longest first."""
    return sorted({len(k) for k in _geo() if k.startswith("86")}, reverse=True)


def _longest(table: dict[str, dict[str, str]]) -> int:
    return max(len(k) for k in table)


def _block(kind: str, e164: str) -> str:
    if kind in ("mobile", "virtual"):
        return e164[:-4]
    if kind == "service" or len(e164) <= 7:
        return e164
    return e164[:-2]


@lru_cache(maxsize=1 << 20)
def classify_one(e164: str) -> NumberInfo:
    """Classify one E.164 number with phonenumbers (the reference for :func:`classify_sql`)."""
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return NumberInfo(e164, "invalid", "", "", "", e164)
    nsn = phonenumbers.national_significant_number(num)
    if num.country_code != CN:
        region = phonenumbers.region_code_for_number(num) or ""
        carrier = _longest_prefix(_carrier(), e164[1:], _longest(_carrier()))
        return NumberInfo(e164, "foreign", carrier, region, "", _block("foreign", e164))
    t = phonenumbers.number_type(num)
    if t in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        kind = "virtual" if nsn[:3] in VIRTUAL_PREFIXES else "mobile"
    elif t == PhoneNumberType.FIXED_LINE:
        kind = "fixed_line"
    elif t == PhoneNumberType.SHARED_COST:
        kind = "shared_cost" if nsn.startswith("400") else "service"
    elif t == PhoneNumberType.TOLL_FREE:
        kind = "toll_free"
    elif t == PhoneNumberType.PREMIUM_RATE or shortnumberinfo.is_valid_short_number(num):
        kind = "service"
    else:
        kind = "invalid"
    carrier = ""
    if kind in ("mobile", "virtual"):
        carrier = _longest_prefix(_carrier(), e164[1:], _longest(_carrier()))
    area = area_code = ""
    if kind in ("mobile", "virtual", "fixed_line"):
        area = _longest_prefix(_geo(), e164[1:], _geo_cn_lengths()[0])
    if kind == "fixed_line":
        area_code = nsn[: phonenumbers.length_of_geographical_area_code(num)]
    return NumberInfo(e164, kind, carrier, area, area_code, _block(kind, e164))


def block_key(e164: str) -> str:
    """The allocation block of an E.164 number (see the module docstring)."""
    return classify_one(e164).block


# ---------------------------------------------------------------------------
# vectorized path (DuckDB SQL)
# ---------------------------------------------------------------------------

# Forms that need no phonenumbers call; each produces '+86' || national number.
# The checks in tests/test_numbering.py prove these agree with normalize_one.
_STRIP_RE = r"[\s\-().]"
_MOBILE = r"1(?:[3-6]\d|7[0-8]|[89]\d)\d{8}"
_FIXED2 = r"(?:10|2\d)[2-9]\d{7}"
_FIXED3 = r"[3-9]\d\d[2-9]\d{6,7}"


def normalize_sql(col: str, region: str = "CN") -> str:
    """DuckDB expression: E.164 of ``col`` for the common CN forms, else NULL.

    NULL means "not decided here" (send the distinct string to
    :func:`normalize_one`), never "bad". Only region CN has a fast path.
    """
    if region != "CN":
        return "CAST(NULL AS VARCHAR)"
    s = f"regexp_replace(CAST({col} AS VARCHAR), '{_STRIP_RE}', '', 'g')"
    return (
        f"(CASE WHEN regexp_full_match({s}, '(?:\\+86|0086|86)?{_MOBILE}') "
        f"THEN '+86' || right({s}, 11) "
        f"WHEN regexp_full_match({s}, '(?:(?:\\+86|0086)|0)(?:{_FIXED2}|{_FIXED3})') "
        f"THEN '+86' || regexp_replace({s}, '^(?:\\+86|0086|0)', '') END)"
    )


def _desc_sql(nsn: str, desc: Any) -> str:
    """SQL boolean: does ``nsn`` match a phonenumbers PhoneNumberDesc (lengths + pattern)."""
    if desc is None or not desc.national_number_pattern:
        return "false"
    pattern = desc.national_number_pattern.replace("'", "''")
    lengths = ", ".join(str(n) for n in desc.possible_length if n > 0)
    length_check = f"length({nsn}) IN ({lengths}) AND " if lengths else ""
    return f"({length_check}regexp_full_match({nsn}, '{pattern}'))"


def _prefix_case(table: dict[str, dict[str, str]], cc: str, digits: str) -> str:
    """SQL CASE: longest-prefix lookup of ``digits`` in a (small) phonenumbers prefix table."""
    keys = sorted(
        (k for k in table if k.startswith(cc) and LANG in table[k]), key=len, reverse=True
    )
    if not keys:
        return "''"
    arms = " ".join(
        f"WHEN starts_with({digits}, '{k}') THEN '{table[k][LANG].replace(chr(39), chr(39) * 2)}'"
        for k in keys
    )
    return f"(CASE {arms} ELSE '' END)"


def _type_sql(nsn: str) -> str:
    """SQL CASE reproducing phonenumbers' number type + short-number test, mapped to KINDS."""
    md = PhoneMetadata.metadata_for_region("CN")
    sm = PhoneMetadata.short_metadata_for_region("CN")
    assert md is not None and sm is not None, "phonenumbers ships CN metadata"
    fixed = _desc_sql(nsn, md.fixed_line)
    mobile = _desc_sql(nsn, md.mobile)
    mobile_kind = (
        f"CASE WHEN left({nsn}, 3) IN ({', '.join(repr(p) for p in VIRTUAL_PREFIXES)}) "
        "THEN 'virtual' ELSE 'mobile' END"
    )
    short = f"({_desc_sql(nsn, sm.general_desc)} AND {_desc_sql(nsn, sm.short_code)})"
    fixed_kind = "'fixed_line'"
    if md.same_mobile_and_fixed_line_pattern:
        fixed_kind = mobile_kind
    return (
        f"CASE WHEN NOT {_desc_sql(nsn, md.general_desc)} THEN "
        f"(CASE WHEN {short} THEN 'service' ELSE 'invalid' END) "
        f"WHEN {_desc_sql(nsn, md.premium_rate)} THEN 'service' "
        f"WHEN {_desc_sql(nsn, md.toll_free)} THEN 'toll_free' "
        f"WHEN {_desc_sql(nsn, md.shared_cost)} THEN "
        f"(CASE WHEN starts_with({nsn}, '400') THEN 'shared_cost' ELSE 'service' END) "
        f"WHEN {fixed} THEN (CASE WHEN {mobile} THEN {mobile_kind} ELSE {fixed_kind} END) "
        f"WHEN {mobile} THEN {mobile_kind} "
        f"WHEN {short} THEN 'service' ELSE 'invalid' END"
    )


GEO_TABLE = "_numbering_geo"


@lru_cache(maxsize=1)
def _geo_table() -> pa.Table:
    """The CN geocoding prefixes as an Arrow table (prefix, name, plen), built once."""
    geo = _geo()
    keys = [k for k in geo if k.startswith("86") and LANG in geo[k]]
    return pa.table(
        {
            "prefix": pa.array(keys, pa.string()),
            "name": pa.array([geo[k][LANG] for k in keys], pa.string()),
            "plen": pa.array([len(k) for k in keys], pa.int32()),
        }
    )


def ensure_geo_table(con: Any) -> None:
    """Create the temp table of phonenumbers' CN geocoding prefixes (once per connection)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [GEO_TABLE]
    ).fetchall()[0][0]
    if exists:
        return
    tbl = _geo_table()
    con.register("_numbering_geo_src", tbl)
    try:
        con.execute(f"CREATE TEMP TABLE {GEO_TABLE} AS SELECT * FROM _numbering_geo_src")
    finally:
        con.unregister("_numbering_geo_src")


def classify_sql(source: str) -> str:
    """SQL query classifying the +86 numbers of ``source`` (a query with one column ``number``).

    Returns rows ``(number, kind, carrier, area, area_code, block)``; numbers
    of other country codes are left out (classify those with :func:`classify_one`).
    Needs :func:`ensure_geo_table` on the connection first.

    The kind needs each number's own pattern match; carrier and area depend
    only on the first 9 digits (the longest CN prefix in phonenumbers' tables),
    so they are looked up once per distinct prefix and joined back.
    """
    nsn = "substr(number, 4)"
    carrier = _prefix_case(_carrier(), "86", "p.p9")
    lens = _geo_cn_lengths()
    width = max(lens[0], max(len(k) for k in _carrier() if k.startswith("86")))
    joins = " ".join(
        f"LEFT JOIN (SELECT prefix, name FROM {GEO_TABLE} WHERE plen = {n}) g{n} "
        f"ON g{n}.prefix = left(p.p9, {n})"
        for n in lens
    )
    area = "coalesce(" + ", ".join(f"g{n}.name" for n in lens) + ", '')"
    return f"""
    WITH k AS MATERIALIZED (
        SELECT number, {_type_sql(nsn)} AS kind
        FROM ({source}) src WHERE starts_with(number, '+86')
    ), t AS MATERIALIZED (
        SELECT number, kind,
            CASE WHEN kind IN ('mobile', 'virtual') THEN 'm'
                 WHEN kind = 'fixed_line' THEN 'f' ELSE '' END AS cls,
            left(substr(number, 2), {width}) AS p9
        FROM k
    ), pa AS (
        SELECT p.cls, p.p9,
            CASE WHEN p.cls = 'm' THEN {carrier} ELSE '' END AS carrier,
            {area} AS area
        FROM (SELECT DISTINCT cls, p9 FROM t WHERE cls <> '') p {joins}
    )
    SELECT t.number, t.kind, coalesce(pa.carrier, '') AS carrier, coalesce(pa.area, '') AS area,
        CASE WHEN t.kind = 'fixed_line' THEN
            left(substr(t.number, 4),
                 CASE WHEN regexp_matches(substr(t.number, 4), '^(?:10|2\\d)') THEN 2 ELSE 3 END)
            ELSE '' END AS area_code,
        CASE WHEN t.kind IN ('mobile', 'virtual') THEN left(t.number, length(t.number) - 4)
             WHEN t.kind = 'service' OR length(t.number) <= 7 THEN t.number
             ELSE left(t.number, length(t.number) - 2) END AS block
    FROM t LEFT JOIN pa ON pa.cls = t.cls AND pa.p9 = t.p9
    """


# ---------------------------------------------------------------------------
# public vectorized API over Arrow / sequences
# ---------------------------------------------------------------------------


def _as_array(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.string())
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return values


def normalize(
    values: pa.Array | pa.ChunkedArray | Sequence[str | None], region: str = "CN"
) -> pa.Array:
    """E.164 for each value (null where unparseable). Each distinct value is parsed once."""
    import duckdb

    arr = _as_array(values)
    con = duckdb.connect()
    try:
        con.register("_v", pa.table({"v": arr}))
        uniq = con.sql(
            f"SELECT v, {normalize_sql('v', region)} AS e FROM (SELECT DISTINCT v FROM _v) "
            "WHERE v IS NOT NULL"
        ).to_arrow_table()
        raws = uniq.column("v").to_pylist()
        fast = uniq.column("e").to_pylist()
        mapping = {
            r: (f if f is not None else normalize_one(r, region))
            for r, f in zip(raws, fast, strict=True)
        }
    finally:
        con.close()
    return pa.array([None if v is None else mapping[v] for v in arr.to_pylist()], pa.string())


def classify(numbers: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Table:
    """Table (number, kind, carrier, area, area_code, block), one row per distinct E.164 number."""
    import duckdb

    arr = _as_array(numbers)
    con = duckdb.connect()
    try:
        con.register("_n", pa.table({"number": arr}))
        con.execute(
            "CREATE TEMP TABLE _u AS SELECT DISTINCT number FROM _n WHERE number IS NOT NULL"
        )
        ensure_geo_table(con)
        cn = con.sql(classify_sql("SELECT number FROM _u")).to_arrow_table()
        other = [
            r[0]
            for r in con.execute(
                "SELECT number FROM _u WHERE NOT starts_with(number, '+86') ORDER BY number"
            ).fetchall()
        ]
    finally:
        con.close()
    rows = [classify_one(n) for n in other]
    foreign = pa.table(
        {
            "number": pa.array([r.number for r in rows], pa.string()),
            "kind": pa.array([r.kind for r in rows], pa.string()),
            "carrier": pa.array([r.carrier for r in rows], pa.string()),
            "area": pa.array([r.area for r in rows], pa.string()),
            "area_code": pa.array([r.area_code for r in rows], pa.string()),
            "block": pa.array([r.block for r in rows], pa.string()),
        }
    )
    out = pa.concat_tables([cn.cast(foreign.schema), foreign])
    return out.sort_by("number")


E164_RE = re.compile(r"\+[1-9]\d{2,14}")
