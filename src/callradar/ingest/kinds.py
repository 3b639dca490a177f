"""The four input kinds of the data contracts and how their rows are validated.

Each kind is a :class:`KindSpec`: its contract fields, the store table, the
natural key that makes a row a duplicate, and the columns that identify the
kind when ``--kind`` is not given. The validation is SQL built from the spec
(:func:`stage_sql`), evaluated by DuckDB over the whole file at once.

Quarantine reasons (first failing check wins, in this order):

``missing_value:<field>``   a required field is absent or blank;
``bad_timestamp``           the kind's timestamp does not parse;
``bad_number:<field>``      a phone number does not parse (see numbering);
``bad_float:<field>``       not a finite number;
``bad_bool:<field>``        not ``true``/``false``/``1``/``0``;
``bad_enum:<field>``        not one of the contract's values;
``negative_duration``       ring_seconds or talk_seconds < 0 (cdr);
``talk_without_answer``     talk_seconds > 0 on an unanswered call (cdr);
``malformed_row``           a CSV line with the wrong number of fields or bad
                            quoting (row_number is then the line number).

Duplicates (counted, not stored): a row whose natural key is already in the
store or earlier in the same input. Keys: cdr ``call_id``; complaints
``complaint_id``; refusals ``(time, callee, caller)``; registry ``number``.
The registry is the one kind that updates: a number registered again with a
different organization or category replaces the stored row (the carrier's
registry changed), and within one input the last row for a number wins;
the same number with the same organization and category is a duplicate.
A quarantined row whose raw text is already quarantined (same kind) is a
duplicate too, so re-ingesting a file adds nothing anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callradar.errors import did_you_mean
from callradar.numbering import normalize_sql

END_REASONS = ("caller_hangup", "callee_hangup", "no_answer", "busy", "rejected", "failed")
REGISTRY_CATEGORIES = (
    "courier",
    "bank",
    "hospital",
    "government",
    "ride_hailing",
    "utility",
    "school",
    "other",
)


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | timestamp | number | numbers | float | bool | enum
    required: bool
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindSpec:
    name: str
    table: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    signature: frozenset[str]
    #: registry only: last row wins and a changed value replaces the stored row
    updates: tuple[str, ...] = field(default=())

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


KINDS: dict[str, KindSpec] = {
    "cdr": KindSpec(
        "cdr",
        "calls",
        (
            Field("call_id", "string", True),
            Field("start_time", "timestamp", True),
            Field("caller", "number", True),
            Field("callee", "number", True),
            Field("trunk", "string", False),
            Field("ring_seconds", "float", True),
            Field("answered", "bool", True),
            Field("talk_seconds", "float", True),
            Field("end_reason", "enum", True, END_REASONS),
        ),
        ("call_id",),
        frozenset({"call_id"}),
    ),
    "complaints": KindSpec(
        "complaints",
        "complaints",
        (
            Field("complaint_id", "string", True),
            Field("received_time", "timestamp", True),
            Field("complainant", "number", True),
            Field("reported_numbers", "numbers", False),
            Field("text", "string", True),
            Field("channel", "string", False),
        ),
        ("complaint_id",),
        frozenset({"complaint_id"}),
    ),
    "refusals": KindSpec(
        "refusals",
        "refusals",
        (
            Field("time", "timestamp", True),
            Field("callee", "number", True),
            Field("caller", "number", True),
            Field("source", "string", False),
        ),
        ("time", "callee", "caller"),
        frozenset({"time", "callee", "caller"}),
    ),
    "registry": KindSpec(
        "registry",
        "registry",
        (
            Field("number", "number", True),
            Field("organization", "string", True),
            Field("category", "enum", False, REGISTRY_CATEGORIES),
        ),
        ("number",),
        frozenset({"number", "organization"}),
        updates=("organization", "category"),
    ),
}


def kind_spec(name: str) -> KindSpec:
    if name not in KINDS:
        raise did_you_mean(name, list(KINDS), "input kind")
    return KINDS[name]


def guess_kind(columns: list[str]) -> str | None:
    """The kind whose identifying columns are all present (most specific first)."""
    cols = set(columns)
    for name in ("cdr", "complaints", "registry", "refusals"):
        if KINDS[name].signature <= cols:
            return name
    return None


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def v(name: str) -> str:
    """Stage column holding the typed value of contract field ``name``."""
    return f"__v_{name}"


def r(name: str) -> str:
    """Stage column holding a number's raw text when the SQL fast path left it undecided."""
    return f"__r_{name}"


def lst(name: str) -> str:
    """Stage column holding the raw elements of a number list."""
    return f"__l_{name}"


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass
class StagePlan:
    """SQL for the one pass over the input, and the names it produces."""

    sql: str
    number_fields: list[str]
    list_fields: list[str]


def stage_sql(
    spec: KindSpec, source: str, columns: dict[str, str], raw_columns: list[str], region: str
) -> StagePlan:
    """One SELECT over ``source`` producing typed fields, reasons and raw text.

    ``columns`` maps source column names to DuckDB types; ``raw_columns`` are the
    columns whose values make up a quarantined row's raw text (a JSON object).
    Output columns: each field's typed value (:func:`v`), the raw text of
    numbers the fast path could not decide (:func:`r`), number lists
    (:func:`lst`), ``early_reason``, ``late_reason`` and ``raw`` (only for
    rows that may end in quarantine).
    """
    inner: list[str] = []
    outer: list[str] = []
    early: list[tuple[str, str]] = []
    late: list[tuple[str, str]] = []
    numbers: list[str] = []
    lists: list[str] = []
    for f in spec.fields:
        present = f.name in columns
        col = q(v(f.name))
        src_col = q(f.name)
        typ = columns.get(f.name, "")
        s = f"__s_{f.name}"
        if present:
            inner.append(f"NULLIF(trim(CAST({src_col} AS VARCHAR)), '') AS {q(s)}")
        else:
            inner.append(f"CAST(NULL AS VARCHAR) AS {q(s)}")
        sv = q(s)
        if f.required:
            early.append((f"{sv} IS NULL", f"missing_value:{f.name}"))
        if f.type in ("string", "enum"):
            expr = sv if f.required else f"coalesce({sv}, '')"
            outer.append(f"{expr} AS {col}")
            if f.type == "enum":
                vals = ", ".join(_lit(v) for v in f.values)
                cond = f"{sv} IS NOT NULL AND {sv} NOT IN ({vals})"
                late.append((cond, f"bad_enum:{f.name}"))
        elif f.type == "timestamp":
            if typ == "TIMESTAMP WITH TIME ZONE":
                expr = src_col
            elif typ.startswith("TIMESTAMP"):
                expr = f"CAST({src_col} AS TIMESTAMPTZ)"
            else:
                expr = f"TRY_CAST({sv} AS TIMESTAMPTZ)"
            outer.append(f"{expr} AS {col}")
            early.append((f"{sv} IS NOT NULL AND {col} IS NULL", "bad_timestamp"))
        elif f.type == "float":
            expr = src_col if typ == "DOUBLE" else f"TRY_CAST({sv} AS DOUBLE)"
            if not present:
                expr = "CAST(NULL AS DOUBLE)"
            outer.append(f"{expr} AS {col}")
            late.append(
                (
                    f"{sv} IS NOT NULL AND NOT coalesce(isfinite({col}), false)",
                    f"bad_float:{f.name}",
                )
            )
        elif f.type == "bool":
            if typ == "BOOLEAN":
                expr = src_col
            else:
                expr = (
                    f"CASE lower({sv}) WHEN 'true' THEN true WHEN '1' THEN true "
                    f"WHEN 'false' THEN false WHEN '0' THEN false END"
                )
            outer.append(f"{expr} AS {col}")
            late.append((f"{sv} IS NOT NULL AND {col} IS NULL", f"bad_bool:{f.name}"))
        elif f.type == "number":
            numbers.append(f.name)
            fast = normalize_sql(sv, region)
            outer.append(f"{fast} AS {col}")
            outer.append(f"CASE WHEN {col} IS NULL THEN {sv} END AS {q(r(f.name))}")
        elif f.type == "numbers":
            lists.append(f.name)
            outer.append(
                f"list_filter(list_transform(string_split(coalesce({sv}, ''), ';'), "
                f"lambda x: trim(x)), lambda x: x <> '') AS {q(lst(f.name))}"
            )
        else:  # pragma: no cover - specs are static
            raise ValueError(f.type)
    if spec.name == "cdr":
        ring, talk, answered = q(v("ring_seconds")), q(v("talk_seconds")), q(v("answered"))
        late.append((f"{ring} < 0 OR {talk} < 0", "negative_duration"))
        late.append((f"{talk} > 0 AND NOT {answered}", "talk_without_answer"))

    def reason_sql(checks: list[tuple[str, str]]) -> str:
        if not checks:
            return "CAST(NULL AS VARCHAR)"
        arms = " ".join(f"WHEN {cond} THEN {_lit(why)}" for cond, why in checks)
        return f"CASE {arms} END"

    raw_struct = ", ".join(f"{_lit(c)}: CAST({q(c)} AS VARCHAR)" for c in raw_columns)
    needs_raw = ["early_reason IS NOT NULL", "late_reason IS NOT NULL"]
    needs_raw += [f"{q(r(n))} IS NOT NULL" for n in numbers]
    needs_raw += [f"len({q(lst(n))}) > 0" for n in lists]
    keep = [q(v(f.name)) for f in spec.fields if f.type not in ("numbers",)]
    keep += [q(r(n)) for n in numbers] + [q(lst(n)) for n in lists]
    sql = f"""
    SELECT {", ".join(keep)}, early_reason, late_reason,
        CASE WHEN {" OR ".join(needs_raw)} THEN to_json({{{raw_struct}}})::VARCHAR END AS raw
    FROM (
        SELECT *, {reason_sql(early)} AS early_reason, {reason_sql(late)} AS late_reason
        FROM (
            SELECT i.*, {", ".join(outer)}
            FROM (SELECT *, {", ".join(inner)} FROM ({source}) src) i
        ) o
    ) r
    """
    return StagePlan(sql, numbers, lists)
