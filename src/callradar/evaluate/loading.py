"""Read truth, decisions and refusals files into a DuckDB connection, with checks.

Every reader goes through DuckDB: Parquet natively, CSV as all-text (so call
ids like ``000123`` keep their zeros) and JSON Lines with inferred types; each
file's columns are then cast to one fixed shape per kind, so files of different
formats can be combined. A file that cannot be read, or lacks a required
column, fails with one :class:`~callradar.errors.InputFileError` naming the file.
Nothing here reads the files more than once up front: the combined inputs are
views, and the metrics scan them in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from callradar.errors import InputFileError

#: Extensions understood, longest first (so ``.csv.gz`` wins over ``.gz``).
FORMATS: tuple[tuple[str, str], ...] = (
    (".parquet", "parquet"),
    (".csv.gz", "csv"),
    (".csv", "csv"),
    (".jsonl.gz", "jsonl"),
    (".jsonl", "jsonl"),
)

PathLike = str | Path


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # target DuckDB type: VARCHAR, BOOLEAN, DOUBLE, TIMESTAMPTZ
    required: bool = False  # the column must exist
    nonempty: bool = False  # ... and hold a value in every row


TRUTH_COLUMNS: tuple[Column, ...] = (
    Column("call_id", "VARCHAR", required=True, nonempty=True),
    Column("is_robocall", "BOOLEAN", required=True, nonempty=True),
    Column("campaign", "VARCHAR", required=True),
    Column("vendor", "VARCHAR"),
    Column("client", "VARCHAR"),
    Column("caller", "VARCHAR"),
    Column("callee", "VARCHAR"),
    Column("start_time", "TIMESTAMPTZ"),
    Column("caller_kind", "VARCHAR"),
    Column("in_registry", "BOOLEAN"),
)

DECISION_COLUMNS: tuple[Column, ...] = (
    Column("call_id", "VARCHAR", required=True, nonempty=True),
    Column("decision", "VARCHAR", required=True, nonempty=True),
    Column("score", "DOUBLE"),
    Column("campaign_id", "VARCHAR"),
    Column("reason", "VARCHAR"),
)

REFUSAL_COLUMNS: tuple[Column, ...] = (
    Column("time", "TIMESTAMPTZ", required=True, nonempty=True),
    Column("callee", "VARCHAR", required=True, nonempty=True),
    Column("caller", "VARCHAR", required=True, nonempty=True),
    Column("source", "VARCHAR"),
)

DECISION_VALUES = ("allow", "label", "block")

# Numbers normalized to E.164 (+86...) the cheap, vectorized way; the
# simulator already writes E.164, so this only guards against hand-made files
# that write 021-5234-5678, 02152345678, 13812345678 or 8613812345678.
NUMBER_MACROS = r"""
CREATE OR REPLACE TEMP MACRO _ev_strip(x) AS regexp_replace(trim(x), '[\s\-().]', '', 'g');
CREATE OR REPLACE TEMP MACRO _ev_e164(s) AS CASE
    WHEN s IS NULL OR s = '' THEN ''
    WHEN starts_with(s, '+') THEN s
    WHEN starts_with(s, '00') THEN '+' || s[3:]
    WHEN starts_with(s, '86') AND length(s) >= 12 THEN '+' || s
    WHEN starts_with(s, '0') THEN '+86' || s[2:]
    ELSE '+86' || s END;
CREATE OR REPLACE TEMP MACRO norm_num(x) AS _ev_e164(_ev_strip(CAST(x AS VARCHAR)));
"""


def format_of(path: Path) -> str:
    name = path.name.lower()
    for ext, fmt in FORMATS:
        if name.endswith(ext):
            return fmt
    known = ", ".join(ext for ext, _ in FORMATS)
    raise InputFileError(f"{path}: unknown file format (expected one of {known})", file=str(path))


def expand(paths: Iterable[PathLike], prefix: str, what: str) -> list[Path]:
    """Files named, with each directory replaced by its ``<prefix>-*`` files (sorted)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f
                for f in p.iterdir()
                if f.is_file()
                and f.name.startswith(prefix + "-")
                and any(f.name.lower().endswith(ext) for ext, _ in FORMATS)
            )
            if not found and what:
                raise InputFileError(
                    f"{p}: no {prefix}-*.parquet|csv|jsonl files in this directory", file=str(p)
                )
            out.extend(found)
        elif p.is_file():
            format_of(p)
            out.append(p)
        else:
            raise InputFileError(f"{p}: no such {what or 'file'}", file=str(p))
    unique: list[Path] = []
    seen: set[Path] = set()
    for f in out:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _reader(path: Path) -> str:
    fmt = format_of(path)
    if fmt == "parquet":
        return f"read_parquet({_quote(path)})"
    if fmt == "csv":
        return f"read_csv({_quote(path)}, header = true, all_varchar = true)"
    return f"read_json({_quote(path)}, format = 'newline_delimited')"


def _cast(name: str, target: str) -> str:
    """Text to ``target``, trimmed; a value that does not parse becomes NULL (checked later)."""
    return f'TRY_CAST(trim("{name}") AS {target})'


def _file_select(
    con: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[Column], kind: str
) -> tuple[str, set[str]]:
    reader = _reader(path)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0]
        raise InputFileError(f"{path}: cannot read {kind} file: {msg}", file=str(path)) from None
    present = {str(r[0]) for r in described}
    types = {str(r[0]): str(r[1]) for r in described}
    missing = [c.name for c in columns if c.required and c.name not in present]
    if missing:
        need = ", ".join(c.name for c in columns if c.required)
        raise InputFileError(
            f"{path}: missing required column {missing[0]!r} ({kind} needs {need})",
            file=str(path),
            missing=missing,
        )
    parts = []
    for c in columns:
        if c.name not in present:
            parts.append(f'CAST(NULL AS {c.type}) AS "{c.name}"')
        elif c.type == "VARCHAR" or types[c.name] != "VARCHAR":
            # Already typed (Parquet, JSON): a plain cast; a naive TIMESTAMP is read in the
            # session time zone, i.e. the configured one.
            parts.append(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"')
        else:
            parts.append(f'{_cast(c.name, c.type)} AS "{c.name}"')
            if c.type != "VARCHAR":
                parts.append(f'CAST("{c.name}" AS VARCHAR) AS "_raw_{c.name}"')
    return f"SELECT {', '.join(parts)}, {_quote(path)} AS _file FROM {reader}", present


def create_view(
    con: duckdb.DuckDBPyConnection,
    view: str,
    files: Sequence[Path],
    columns: Sequence[Column],
    kind: str,
) -> set[str]:
    """Create ``view`` over ``files`` with ``columns`` cast; return the columns any file had.

    Raw text of typed columns is kept as ``_raw_<name>`` so :func:`check_casts`
    can report values that did not parse.
    """
    selects: list[str] = []
    present_any: set[str] = set()
    for f in files:
        sql, present = _file_select(con, f, columns, kind)
        selects.append(sql)
        present_any |= present
    if not selects:
        cols = ", ".join(f'CAST(NULL AS {c.type}) AS "{c.name}"' for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {cols}, '' AS _file LIMIT 0")
        return present_any
    body = " UNION ALL BY NAME ".join(f"({s})" for s in selects)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {body}")
    return present_any


def check_casts(
    con: duckdb.DuckDBPyConnection, view: str, columns: Sequence[Column], kind: str
) -> None:
    """Fail on the first column holding a value that does not parse, or an empty key value."""
    names = set(_view_columns(con, view))
    checks: list[tuple[str, str, str]] = []  # (column, SQL condition, message)
    for c in columns:
        raw = f"_raw_{c.name}"
        if raw in names:
            cond = f'"{raw}" IS NOT NULL AND trim("{raw}") <> \'\' AND "{c.name}" IS NULL'
            checks.append((c.name, cond, f"cannot parse column {c.name!r} as {c.type.lower()}"))
        if c.nonempty:
            cond = f'"{c.name}" IS NULL OR trim(CAST("{c.name}" AS VARCHAR)) = \'\''
            checks.append((c.name, cond, f"empty value in required column {c.name!r}"))
    if not checks:
        return
    aggs = ", ".join(
        f"count(*) FILTER (WHERE {cond}), min(_file) FILTER (WHERE {cond})" for _, cond, _ in checks
    )
    row = con.execute(f"SELECT {aggs} FROM {view}").fetchone()
    assert row is not None
    for i, (name, _, message) in enumerate(checks):
        n, file = row[2 * i], row[2 * i + 1]
        if n:
            raise InputFileError(
                f"{file}: {message} in {n:,} {kind} row(s)", file=str(file), column=name, rows=n
            )


def _view_columns(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    return [str(r[0]) for r in con.execute(f"DESCRIBE {view}").fetchall()]
