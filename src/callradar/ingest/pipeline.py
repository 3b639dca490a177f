"""Ingest one input (file or Arrow table) into the store: validate, quarantine, dedupe.

One input = one transaction. The rows are read once by DuckDB into a staging
table (typed values, a quarantine reason, raw text only for rows that may need
it); numbers are normalized by the SQL fast path, and only the distinct strings
it cannot decide go through phonenumbers. Then, still in SQL: quarantined rows
go to ``quarantine``, valid rows not already stored go to the kind's table,
and the numbers first seen go to ``numbers`` with their classification.

Counting: ``read`` = records parsed + malformed CSV lines; every one of them is
``accepted``, ``quarantined`` or a ``duplicate`` (see :mod:`callradar.ingest.kinds`),
and the three are counted independently and checked to add up.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import itertools
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from callradar import numbering
from callradar.errors import CallradarError, InputFileError
from callradar.ingest import formats as F
from callradar.ingest.kinds import KINDS, KindSpec, guess_kind, kind_spec, lst, q, r, stage_sql, v
from callradar.store import Store

_counter = itertools.count(1)

#: seconds spent in each step of the last ingest (for benchmarks: where the time goes)
LAST_TIMINGS: dict[str, float] = {}


@contextmanager
def _step(name: str) -> Iterator[None]:
    t = time.perf_counter()
    try:
        yield
    finally:
        LAST_TIMINGS[name] = LAST_TIMINGS.get(name, 0.0) + time.perf_counter() - t


@dataclass(frozen=True)
class IngestResult:
    file: str
    kind: str
    format: str
    read: int
    accepted: int
    quarantined: int
    duplicates: int
    run_id: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.file}: read {self.read}, accepted {self.accepted}, "
            f"quarantined {self.quarantined}, duplicates {self.duplicates}"
        )


@dataclass
class _Source:
    """A DuckDB relation over one input, described."""

    label: str
    fmt: str
    sql: str
    columns: dict[str, str]
    raw_columns: list[str]
    rejects: str | None = None
    sha256: str = ""
    #: lines before the first record (1 for CSV with a header)
    header_lines: int = 0


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def ingest_files(
    store: Store,
    paths: Iterable[str | Path],
    kind: str | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    progress: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest each file in its own transaction; stop at the first file that cannot be read.

    ``progress`` is called with each file's result as soon as it is committed,
    so a caller can report the files done before a failing one.
    """
    if kind is not None:
        kind_spec(kind)
    if fmt is not None:
        F.FORMATS.get(fmt)
    results = []
    for path in paths:
        res = ingest_file(store, Path(path), kind=kind, fmt=fmt, encoding=encoding)
        results.append(res)
        if progress is not None:
            progress(res)
    return results


def ingest_file(
    store: Store,
    path: str | Path,
    kind: str | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
) -> IngestResult:
    """Ingest one file (see :func:`ingest_files`)."""
    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise InputFileError(f"{label}: no such file", file=label)
    enc = (encoding or str(store.config.get("ingest.encoding"))).strip()
    LAST_TIMINGS.clear()
    with tempfile.TemporaryDirectory(prefix="callradar-ingest-") as tmp:
        src = _open_file(store, path, fmt, enc, Path(tmp))
        spec = _resolve_kind(src, kind)
        return _ingest(store, src, spec)


def ingest_arrow(store: Store, table: pa.Table, kind: str | None, source: str) -> IngestResult:
    """Ingest an in-memory Arrow table (HTTP uploads, spool directories, replay).

    Same validation, quarantine and dedupe as files; ``source`` names the input
    in ``ingest_runs`` and ``quarantine``.
    """
    name = f"_ingest_arrow_{next(_counter)}"
    with store._lock:
        store.con.register(name, table)
    try:
        src = _Source(
            label=source,
            fmt="arrow",
            sql=f"SELECT * FROM {name}",
            columns={},
            raw_columns=list(table.column_names),
        )
        src.columns = _describe(store, src)
        spec = _resolve_kind(src, kind)
        return _ingest(store, src, spec)
    finally:
        with store._lock:
            store.con.unregister(name)


# ---------------------------------------------------------------------------
# opening a file
# ---------------------------------------------------------------------------


def _fail(label: str, problem: str) -> InputFileError:
    return InputFileError(f"{label}: {problem}", file=label, problem=problem)


def _duck_message(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for prefix in ("Invalid Input Error: ", "IO Error: ", "Binder Error: ", "Conversion Error: "):
        msg = msg.removeprefix(prefix)
    return msg


def _is_utf8(enc: str) -> bool:
    return codecs.lookup(enc).name == "utf-8"


def _transcode(path: Path, enc: str, out: Path, label: str) -> Path:
    """Decode ``path`` (maybe gzipped) from ``enc`` into a UTF-8 file ``out``."""
    try:
        codecs.lookup(enc)
    except LookupError:
        raise _fail(label, f"unknown encoding {enc!r}") from None
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as raw, open(out, "w", encoding="utf-8", newline="") as dst:
            reader = codecs.getreader(enc)(raw, "strict")
            shutil.copyfileobj(reader, dst, 1 << 20)
    except UnicodeDecodeError as exc:
        raise _fail(label, f"undecodable bytes for encoding {enc} ({exc.reason})") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise _fail(label, f"cannot read compressed data ({exc})") from None
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _describe(store: Store, src: _Source) -> dict[str, str]:
    try:
        rows = store.sql(f"DESCRIBE SELECT * FROM ({src.sql}) s").fetchall()
    except duckdb.Error as exc:
        raise _fail(src.label, f"cannot read as {src.fmt}: {_duck_message(exc)}") from None
    return {str(r[0]): str(r[1]) for r in rows}


def _open_file(store: Store, path: Path, fmt: str | None, enc: str, tmp: Path) -> _Source:
    label = str(path)
    if fmt is None:
        fmt = F.format_for_path(path)
        if fmt is None:
            raise _fail(
                label,
                "cannot tell the format from the file name; pass --format "
                f"({', '.join(F.FORMATS.names())})",
            )
    fmt_cls = F.FORMATS.get(fmt)
    read_path = path
    if fmt_cls.text and not _is_utf8(enc):
        suffix = ".jsonl" if fmt == "jsonl" else ".csv"
        read_path = _transcode(path, enc, tmp / f"input{suffix}", label)
    if fmt == "csv":
        first = F.first_csv_row(read_path)
        contract_cols = {f.name for spec in KINDS.values() for f in spec.fields}
        if first and not (set(first) & contract_cols):
            switch = F.sniff_switch(first)
            if switch is not None:
                fmt, fmt_cls = switch, F.FORMATS.get(switch)
    rejects = f"_ingest_rej_{next(_counter)}"
    p = str(read_path)
    if issubclass(fmt_cls, F.SwitchFormat):
        first = F.first_csv_row(read_path)
        n = len(first)
        if not fmt_cls.min_columns <= n <= len(fmt_cls.columns):
            raise _fail(
                label,
                f"not a {fmt} CDR file: first line has {n} fields, expected "
                f"{fmt_cls.min_columns} to {len(fmt_cls.columns)}",
            )
        names = list(fmt_cls.columns[:n])
        mapping = fmt_cls.mapping_sql(names)
        reader = F.CsvFormat.read_sql(p, rejects, header=False, names=names)
        select = ", ".join(f"{expr} AS {q(col)}" for col, expr in mapping.items())
        src = _Source(label, fmt, f"SELECT *, {select} FROM {reader}", {}, names, rejects)
    elif fmt == "csv":
        header = F.first_csv_row(read_path)
        if not header:
            raise _fail(label, "empty file or no header line")
        reader = F.CsvFormat.read_sql(p, rejects, header=True, names=_unique(header))
        src = _Source(label, fmt, f"SELECT * FROM {reader}", {}, [], rejects, header_lines=1)
    elif fmt == "parquet":
        src = _Source(label, fmt, f"SELECT * FROM read_parquet({_lit(p)})", {}, [])
    else:
        probe = _Source(
            label, fmt, f"SELECT * FROM read_json({_lit(p)}, format='newline_delimited')", {}, []
        )
        cols = _describe(store, probe)
        spec_cols = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in cols)
        src = _Source(
            label,
            fmt,
            f"SELECT * FROM read_json({_lit(p)}, format='newline_delimited', "
            f"columns={{{spec_cols}}})",
            {},
            [],
        )
    src.columns = _describe(store, src)
    if not src.raw_columns:
        src.raw_columns = list(src.columns)
    with _step("sha256"):
        src.sha256 = _sha256(path)
    return src


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _unique(names: list[str]) -> list[str]:
    """Header names made unique and non-empty (``column3``, ``name_2``)."""
    out: list[str] = []
    for i, raw in enumerate(names):
        name = raw.strip() or f"column{i + 1}"
        base, n = name, 2
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out


def _resolve_kind(src: _Source, kind: str | None) -> KindSpec:
    fmt_cls = F.FORMATS.get(src.fmt) if src.fmt in F.FORMATS else None
    fixed = fmt_cls.fixed_kind if fmt_cls is not None else None
    if kind is None:
        kind = fixed or guess_kind(list(src.columns))
        if kind is None:
            raise _fail(
                src.label,
                f"cannot guess the kind from the columns ({', '.join(src.columns) or 'none'}); "
                "pass --kind (cdr, complaints, refusals, registry)",
            )
    elif fixed is not None and kind != fixed:
        raise _fail(src.label, f"format {src.fmt} carries {fixed} records, not {kind}")
    spec = kind_spec(kind)
    missing = [c for c in spec.required if c not in src.columns]
    if missing:
        raise _fail(
            src.label,
            f"missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for kind {kind} (columns found: {', '.join(src.columns)})",
        )
    return spec


# ---------------------------------------------------------------------------
# the transaction
# ---------------------------------------------------------------------------


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows else 0


def _ingest(store: Store, src: _Source, spec: KindSpec) -> IngestResult:
    started = datetime.now(UTC)
    region = str(store.config.get("default_region"))
    plan = stage_sql(spec, src.sql, src.columns, src.raw_columns, region)
    tag = next(_counter)
    stage, nmap, final = f"_ingest_stage_{tag}", f"_ingest_nmap_{tag}", f"_ingest_final_{tag}"
    temps = [stage, nmap, final] + [f"_ingest_list_{tag}_{n}" for n in plan.list_fields]
    try:
        # record positions (row_number) need the reader's order in the stage
        store.sql("SET preserve_insertion_order = true")
        with store.transaction() as con:
            run_id = _count(con, "SELECT nextval('ingest_run_seq')")
            with _step("stage"):
                con.execute(f"CREATE TEMP TABLE {stage} AS {plan.sql}")
            malformed = _rejects(con, src)
            with _step("slow_numbers"):
                _number_map(con, stage, nmap, plan.number_fields, plan.list_fields, region)
                _final_view(con, spec, plan, stage, nmap, final, tag)
            res = _store_rows(con, spec, src, final, malformed, run_id, started)
    except CallradarError:
        raise
    except duckdb.Error as exc:
        raise _fail(src.label, _duck_message(exc)) from None
    finally:
        store.sql("SET preserve_insertion_order = false")
        drops = [f"DROP VIEW IF EXISTS {final}"]
        drops += [f"DROP TABLE IF EXISTS {t}" for t in temps if t != final]
        if src.rejects:
            drops += [f"DROP TABLE IF EXISTS {src.rejects}{x}" for x in ("_errors", "_scans")]
        for sql in drops:
            with suppress(duckdb.Error):
                store.sql(sql)
    return res


def _rejects(con: duckdb.DuckDBPyConnection, src: _Source) -> list[tuple[int, str]]:
    """Malformed CSV lines as (line, text); undecodable bytes fail the whole file."""
    if not src.rejects:
        return []
    exists = _count(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
        [src.rejects + "_errors"],
    )
    if not exists:
        return []
    rows = con.execute(
        f"SELECT line, any_value(csv_line), bool_or(error_type = 'INVALID ENCODING') "
        f"FROM {src.rejects}_errors GROUP BY line ORDER BY line"
    ).fetchall()
    bad_enc = [int(r[0]) for r in rows if r[2]]
    if bad_enc:
        raise _fail(
            src.label,
            f"undecodable bytes on line {bad_enc[0]} (not UTF-8; pass --encoding, e.g. gbk)",
        )
    return [(int(r[0]) - src.header_lines, str(r[1] or "").strip("\r\n")) for r in rows]


def _number_map(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    nmap: str,
    number_fields: list[str],
    list_fields: list[str],
    region: str,
) -> None:
    """Temp table (nraw, e164) for every distinct string the fast path left undecided."""
    parts = [
        f"SELECT {q(r(n))} AS x FROM {stage} WHERE {q(r(n))} IS NOT NULL" for n in number_fields
    ]
    parts += [f"SELECT unnest({q(lst(n))}) AS x FROM {stage}" for n in list_fields]
    raws: list[str] = []
    fast: list[str | None] = []
    if parts:
        rows = con.execute(
            f"SELECT x, {numbering.normalize_sql('x', region)} FROM "
            f"(SELECT DISTINCT x FROM ({' UNION ALL '.join(parts)}) u WHERE x IS NOT NULL) d"
        ).fetchall()
        raws = [str(x[0]) for x in rows]
        fast = [x[1] for x in rows]
    e164 = [
        f if f is not None else numbering.normalize_one(x, region)
        for x, f in zip(raws, fast, strict=True)
    ]
    tbl = pa.table({"nraw": pa.array(raws, pa.string()), "e164": pa.array(e164, pa.string())})
    name = f"{nmap}_src"
    con.register(name, tbl)
    try:
        con.execute(f"CREATE TEMP TABLE {nmap} AS SELECT * FROM {name}")
    finally:
        con.unregister(name)


def _final_view(
    con: duckdb.DuckDBPyConnection,
    spec: KindSpec,
    plan: Any,
    stage: str,
    nmap: str,
    final: str,
    tag: int,
) -> None:
    """A temp view over the stage: final numbers, final reason, record number.

    ``row_number`` is the 1-based position among the records DuckDB parsed
    (rows inside a transaction get transaction-local rowids, hence the base).
    """
    base = _count(con, f"SELECT coalesce(min(rowid), 0) FROM {stage}")
    has_slow = _count(con, f"SELECT count(*) FROM {nmap}") > 0
    cols: list[str] = []
    joins: list[str] = []
    bad_numbers: list[str] = []
    for f in spec.fields:
        if f.type == "number":
            if has_slow:
                alias = f"m_{f.name}"
                joins.append(f"LEFT JOIN {nmap} {alias} ON {alias}.nraw = s.{q(r(f.name))}")
                cols.append(f"coalesce(s.{q(v(f.name))}, {alias}.e164) AS {q(f.name)}")
                bad_numbers.append(
                    f"WHEN s.{q(r(f.name))} IS NOT NULL AND {alias}.e164 IS NULL "
                    f"THEN 'bad_number:{f.name}'"
                )
            else:
                cols.append(f"s.{q(v(f.name))} AS {q(f.name)}")
        elif f.type == "numbers":
            lt = f"_ingest_list_{tag}_{f.name}"
            con.execute(
                f"CREATE TEMP TABLE {lt} AS SELECT rid, list(m.e164 ORDER BY i) AS nums, "
                f"bool_or(m.e164 IS NULL) AS bad FROM ("
                f"SELECT s.rowid AS rid, unnest(s.{q(lst(f.name))}) AS x, "
                f"generate_subscripts(s.{q(lst(f.name))}, 1) AS i FROM {stage} s) u "
                f"LEFT JOIN {nmap} m ON m.nraw = u.x GROUP BY rid"
            )
            alias = f"l_{f.name}"
            joins.append(f"LEFT JOIN {lt} {alias} ON {alias}.rid = s.rowid")
            cols.append(f"coalesce({alias}.nums, []::VARCHAR[]) AS {q(f.name)}")
            bad_numbers.append(f"WHEN coalesce({alias}.bad, false) THEN 'bad_number:{f.name}'")
        else:
            cols.append(f"s.{q(v(f.name))} AS {q(f.name)}")
    number_reason = f"CASE {' '.join(bad_numbers)} END" if bad_numbers else "NULL"
    con.execute(
        f"CREATE TEMP VIEW {final} AS SELECT {', '.join(cols)}, "
        f"coalesce(s.early_reason, {number_reason}, s.late_reason) AS reason, s.raw, "
        f"s.rowid - {base} + 1 AS row_number FROM {stage} s {' '.join(joins)}"
    )


def _target_select(spec: KindSpec) -> tuple[list[str], list[str]]:
    """(target columns, expressions over the final view) of the kind's table."""
    names = [f.name for f in spec.fields]
    exprs = [q(n) for n in names]
    if spec.name == "cdr":
        names.append("end_time")
        exprs.append(
            "start_time + "
            "to_microseconds(CAST(round((ring_seconds + talk_seconds) * 1e6) AS BIGINT))"
        )
    return names, exprs


def _store_rows(
    con: duckdb.DuckDBPyConnection,
    spec: KindSpec,
    src: _Source,
    final: str,
    malformed: list[tuple[int, str]],
    run_id: int,
    started: datetime,
) -> IngestResult:
    t0 = time.perf_counter()
    counts = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE reason IS NULL), "
        f"count(*) FILTER (WHERE reason IS NOT NULL) FROM {final}"
    ).fetchall()[0]
    parsed, valid, invalid = (int(x) for x in counts)
    read = parsed + len(malformed)

    # -- quarantine: bad rows whose raw text is not quarantined yet ------------
    # Malformed lines were skipped by the reader: a parsed record's position in
    # the file is its parsed index plus the malformed records before it.
    bad_sql = f"SELECT row_number, reason, raw FROM {final} WHERE reason IS NOT NULL"
    if malformed:
        positions = sorted(m[0] for m in malformed)
        mal = pa.table(
            {
                "row_number": pa.array([m[0] for m in malformed], pa.int64()),
                "reason": pa.array(["malformed_row"] * len(malformed), pa.string()),
                "raw": pa.array([m[1] for m in malformed], pa.string()),
                "adj": pa.array(
                    sorted(p - j for j, p in enumerate(positions)) + [None] * 0, pa.int64()
                ),
            }
        )
        con.register(f"{final}_mal", mal)
        bad_sql = (
            f"SELECT row_number + (SELECT count(*) FROM {final}_mal m WHERE m.adj <= f.row_number)"
            f" AS row_number, reason, raw FROM {final} f WHERE reason IS NOT NULL "
            f"UNION ALL SELECT row_number, reason, raw FROM {final}_mal"
        )
    LAST_TIMINGS["count"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    quarantined = _count(
        con,
        f"INSERT INTO quarantine (run_id, file, kind, row_number, reason, raw) "
        f"SELECT ?, ?, ?, row_number, reason, raw FROM ({bad_sql}) b "
        f"WHERE NOT EXISTS (SELECT 1 FROM quarantine x WHERE x.kind = ? AND x.raw = b.raw) "
        f"QUALIFY row_number() OVER (PARTITION BY raw ORDER BY row_number) = 1",
        [run_id, src.label, spec.name, spec.name],
    )
    if malformed:
        con.unregister(f"{final}_mal")

    LAST_TIMINGS["quarantine"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # -- accepted rows ---------------------------------------------------------
    names, exprs = _target_select(spec)
    key_match = " AND ".join(f"t.{q(k)} = f.{q(k)}" for k in spec.key)
    order = "DESC" if spec.updates else "ASC"
    if spec.updates:
        same = " AND ".join(f"t.{q(c)} = f.{q(c)}" for c in spec.updates)
        key_match = f"{key_match} AND {same}"
    partition = ", ".join(q(k) for k in spec.key)
    # The window that keeps one row per key is costly on millions of rows: run it
    # only when the input repeats a key (a cheap hash aggregate over the key).
    t_rep = time.perf_counter()
    repeats = _count(
        con,
        f"SELECT count(*) FROM (SELECT 1 FROM {final} WHERE reason IS NULL "
        f"GROUP BY {partition} HAVING count(*) > 1) d",
    )
    LAST_TIMINGS["insert_accepted.repeats"] = time.perf_counter() - t_rep
    qualify = (
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY row_number {order}) = 1"
        if repeats
        else ""
    )
    candidates = (
        f"SELECT {', '.join(f'{e} AS {q(n)}' for n, e in zip(names, exprs, strict=True))} "
        f"FROM {final} f WHERE reason IS NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {spec.table} t WHERE {key_match}) {qualify}"
    )
    if spec.updates:
        new = f"{final}_new"
        con.execute(f"CREATE TEMP TABLE {new} AS {candidates}")
        con.execute(
            f"DELETE FROM {spec.table} WHERE {q(spec.key[0])} IN "
            f"(SELECT {q(spec.key[0])} FROM {new})"
        )
        accepted = _count(
            con,
            f"INSERT INTO {spec.table} ({', '.join(q(n) for n in names)}, run_id) "
            f"SELECT *, ? FROM {new}",
            [run_id],
        )
        con.execute(f"DROP TABLE {new}")
    else:
        accepted = _count(
            con,
            f"INSERT INTO {spec.table} ({', '.join(q(n) for n in names)}, run_id) "
            f"SELECT *, ? FROM ({candidates}) c",
            [run_id],
        )
    duplicates = (valid - accepted) + (invalid + len(malformed) - quarantined)
    if accepted + quarantined + duplicates != read or parsed != valid + invalid:
        raise CallradarError(
            f"{src.label}: internal count mismatch (read {read}, accepted {accepted}, "
            f"quarantined {quarantined}, duplicates {duplicates})"
        )

    LAST_TIMINGS["insert_accepted"] = time.perf_counter() - t0
    # -- numbers first seen -----------------------------------------------------
    with _step("numbers"):
        _record_numbers(con, spec, run_id)

    finished = datetime.now(UTC)
    fmt = src.fmt
    con.execute(
        "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            src.label,
            spec.name,
            fmt,
            src.sha256,
            started,
            finished,
            read,
            accepted,
            quarantined,
            duplicates,
        ],
    )
    return IngestResult(src.label, spec.name, fmt, read, accepted, quarantined, duplicates, run_id)


_NUMBER_SOURCES: dict[str, list[str]] = {
    "cdr": ["caller FROM calls", "callee FROM calls"],
    "complaints": ["complainant FROM complaints", "unnest(reported_numbers) FROM complaints"],
    "refusals": ["callee FROM refusals", "caller FROM refusals"],
    "registry": ["number FROM registry"],
}


def _record_numbers(con: duckdb.DuckDBPyConnection, spec: KindSpec, run_id: int) -> None:
    """Classify and add to ``numbers`` every number of this run not seen before."""
    union = " UNION ALL ".join(
        f"SELECT {part} WHERE run_id = {int(run_id)}".replace(" FROM", " AS n FROM", 1)
        for part in _NUMBER_SOURCES[spec.name]
    )
    new = f"_ingest_newnums_{next(_counter)}"
    with _step("numbers.distinct"):
        con.execute(
            f"CREATE TEMP TABLE {new} AS SELECT DISTINCT n AS number FROM ({union}) u "
            f"WHERE n IS NOT NULL AND NOT EXISTS (SELECT 1 FROM numbers x WHERE x.number = u.n)"
        )
    try:
        with _step("numbers.geo_table"):
            numbering.ensure_geo_table(con)
        with _step("numbers.classify_insert"):
            con.execute(
                "INSERT INTO numbers (number, kind, carrier, area, area_code, block) "
                f"SELECT number, kind, carrier, area, area_code, block FROM "
                f"({numbering.classify_sql(f'SELECT number FROM {new}')}) c"
            )
        others = [
            str(x[0])
            for x in con.execute(
                f"SELECT number FROM {new} WHERE NOT starts_with(number, '+86')"
            ).fetchall()
        ]
        if others:
            infos = [numbering.classify_one(n) for n in others]
            tbl = pa.Table.from_pylist([vars(i) for i in infos])
            con.register(f"{new}_f", tbl)
            con.execute(
                "INSERT INTO numbers (number, kind, carrier, area, area_code, block) "
                f"SELECT number, kind, carrier, area, area_code, block FROM {new}_f"
            )
            con.unregister(f"{new}_f")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {new}")
