"""Engines that run the feature steps of :mod:`callradar.features.sql`.

* ``duckdb``: the steps run as they are in the store, each materialized as a
  temporary table (or view), outputs appended to the store's feature tables.
* ``spark``: ``calls`` and ``numbers`` are exported to Parquet, the same steps
  are transpiled by SQLGlot from DuckDB's dialect to Spark SQL and run by a
  Spark session (master from ``features.spark_master``); the outputs come back
  through Parquet into the same store tables.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callradar.errors import CallradarError, NotReadyError
from callradar.features.sql import OUTPUTS, VIEWS, Step
from callradar.registry import Registry

if TYPE_CHECKING:
    from callradar.store import Store

#: One window's work: (window name, steps, delete predicate params).
Job = tuple[str, list[Step], str | None]
Runner = Callable[["Store", list[Job], Callable[[str], None]], dict[str, int]]

ENGINES: Registry[Runner] = Registry("feature engine")


def _replace_outputs(
    store: Store, win: str, since: str | None, source: Callable[[str], str]
) -> dict[str, int]:
    """Delete the window's old rows from each output table and insert the new ones."""
    counts: dict[str, int] = {}
    with store.transaction() as con:
        for step, table in OUTPUTS.items():
            if since:
                con.execute(
                    f"DELETE FROM {table} WHERE win = ? AND win_start >= CAST(? AS TIMESTAMPTZ)",
                    [win, since],
                )
            else:
                con.execute(f"DELETE FROM {table} WHERE win = ?", [win])
            sql = f"INSERT INTO {table} BY NAME SELECT * FROM {source(step)}"
            n = con.execute(sql).fetchall()[0][0]
            counts[table] = counts.get(table, 0) + int(n)
    return counts


def last_uses(step_list: list[Step], views: frozenset[str] = VIEWS) -> dict[int, list[str]]:
    """Step index -> intermediate tables no later step reads (free them after it).

    ``views``: steps kept as views (not materialized). A step read only through a
    view lives as long as the view's readers do; what an output view reads lives
    until the outputs are copied into the store (past the last step: not listed).
    Outputs are kept (they are copied into the store at the end).
    """
    names = [s.name for s in step_list]
    last: dict[str, int] = {}
    for i in range(len(step_list) - 1, -1, -1):
        step = step_list[i]
        if step.name in OUTPUTS and step.name in views:
            used_at = len(step_list)
        elif step.name in views:
            used_at = last.get(step.name, i)
        else:
            used_at = i
        for dep in names[:i]:
            if dep not in last and re.search(rf"\b{dep}\b", step.sql):
                last[dep] = used_at
    out: dict[int, list[str]] = {}
    for name, i in last.items():
        if name not in OUTPUTS and name not in views and i < len(step_list):
            out.setdefault(i, []).append(name)
    return out


def reads(step_list: list[Step]) -> dict[str, int]:
    """Step name -> how many times later steps compute from it (through views too)."""
    names = [s.name for s in step_list]
    count: dict[str, int] = {}
    for i in range(len(step_list) - 1, -1, -1):
        step = step_list[i]
        times = max(1, count.get(step.name, 0)) if step.name in VIEWS else 1
        for dep in names[:i]:
            n = len(re.findall(rf"\b{dep}\b", step.sql))
            if n:
                count[dep] = count.get(dep, 0) + n * times
    return count


#: steps the DuckDB engine keeps as views: the outputs too, so each is computed once,
#: straight into its store table (a city-day's caller rows are not materialized twice)
DUCKDB_VIEWS: frozenset[str] = VIEWS | frozenset(OUTPUTS)

#: in-memory database (compressed) holding the DuckDB engine's intermediate tables
SCRATCH = "callradar_feature_scratch"


@ENGINES.register("duckdb")
def run_duckdb(store: Store, jobs: list[Job], progress: Callable[[str], None]) -> dict[str, int]:
    """Run the steps in the store; intermediates are temp tables or, with
    ``features.compress_intermediates``, tables of an attached in-memory database
    declared compressed (DuckDB compresses it only at a checkpoint, which is not run
    here: measured, it did not pay at 50M calls). Each is dropped right after its last
    reader; the outputs are views (:data:`DUCKDB_VIEWS`), computed once into the store
    tables, and what they read is dropped after that copy."""
    compress = bool(store.config.get("features.compress_intermediates"))
    where = "TEMP"
    old_path = ""
    if compress:
        old_path = str(store.sql("SELECT current_setting('search_path')").fetchall()[0][0])
        db = str(store.sql("SELECT current_database()").fetchall()[0][0])
        store.sql(f"ATTACH IF NOT EXISTS ':memory:' AS {SCRATCH} (COMPRESS)")
        store.sql(f"SET search_path = '{SCRATCH}.main,{db}.main'")
        where = ""
    totals: dict[str, int] = {}
    try:
        for win, step_list, since in jobs:
            made: list[tuple[str, str]] = []
            free = last_uses(step_list, DUCKDB_VIEWS)
            try:
                for i, step in enumerate(step_list):
                    progress(f"{win}: {step.name}")
                    kind = "VIEW" if step.name in DUCKDB_VIEWS else "TABLE"
                    store.sql(
                        f"CREATE OR REPLACE {where} {kind} {_home(step.name, compress)} "
                        f"AS {step.sql}"
                    )
                    made.append((kind, step.name))
                    for name in free.get(i, []):  # spent intermediates: free their memory now
                        store.sql(f"DROP TABLE IF EXISTS {_home(name, compress)}")
                for table, n in _replace_outputs(store, win, since, lambda s: s).items():
                    totals[table] = totals.get(table, 0) + n
            finally:
                for kind, name in reversed(made):
                    store.sql(f"DROP {kind} IF EXISTS {_home(name, compress)}")
    finally:
        if compress:
            store.sql(f"SET search_path = '{old_path}'")
            store.sql(f"DETACH DATABASE IF EXISTS {SCRATCH}")
    return totals


def _home(name: str, compress: bool) -> str:
    return f"{SCRATCH}.main.{name}" if compress else f"temp.{name}"


@functools.lru_cache(maxsize=512)
def to_spark(sql: str) -> str:
    """One step's DuckDB SQL as Spark SQL (SQLGlot)."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def spark_session(master: str, timezone: str, driver_memory: str, partitions: int) -> Any:
    """A Spark session for feature work (the caller stops it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a locked dependency
        raise NotReadyError("the spark engine needs pyspark: uv sync --extra spark") from exc
    return (
        SparkSession.builder.master(master)
        .appName("callradar-features")
        .config("spark.sql.session.timeZone", timezone)
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


@ENGINES.register("spark")
def run_spark(store: Store, jobs: list[Job], progress: Callable[[str], None]) -> dict[str, int]:
    cfg = store.config
    work = Path(tempfile.mkdtemp(prefix="callradar-spark-"))
    spark = None
    totals: dict[str, int] = {}
    try:
        progress("export to parquet")
        inputs = {
            "calls": "SELECT call_id, start_time, caller, callee, trunk, ring_seconds, answered, "
            "talk_seconds, end_reason FROM calls",
            "numbers": "SELECT number, kind, block FROM numbers",
        }
        for name, query in inputs.items():
            store.sql(f"COPY ({query}) TO '{work / name}.parquet' (FORMAT parquet)")
        progress("start spark")
        spark = spark_session(
            str(cfg.get("features.spark_master")),
            str(cfg.get("timezone")),
            str(cfg.get("features.spark_driver_memory")),
            int(cfg.get("features.spark_partitions")),
        )
        for name in inputs:
            spark.read.parquet(str(work / f"{name}.parquet")).createOrReplaceTempView(name)
        for win, step_list, since in jobs:
            cached = []
            n_reads = reads(step_list)
            for step in step_list:
                progress(f"{win}: {step.name} (spark)")
                try:
                    df = spark.sql(to_spark(step.sql))
                except Exception as exc:  # Spark's analysis errors are not CallradarErrors
                    raise CallradarError(
                        f"spark could not run feature step {step.name}: {exc}", step=step.name
                    ) from exc
                # persist what is computed from more than once (Spark is lazy: a step read
                # once is computed once anyway, and caching it would only cost memory)
                if step.name not in VIEWS and n_reads.get(step.name, 0) > 1:
                    df = df.persist()
                    cached.append(df)
                df.createOrReplaceTempView(step.name)
            for output in OUTPUTS:
                progress(f"{win}: write {output} (spark)")
                spark.table(output).write.mode("overwrite").parquet(str(work / win / output))
            for df in cached:
                df.unpersist()

            def source(step: str, w: str = win) -> str:
                return f"read_parquet('{work / w / step}/*.parquet')"

            for table, n in _replace_outputs(store, win, since, source).items():
                totals[table] = totals.get(table, 0) + n
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    return totals
