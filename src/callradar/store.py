"""The embedded store: one DuckDB file, schema versioned by named migrations.

Each stage owns its tables and declares them in ``callradar/<stage>/schema.py``
as ``MIGRATIONS: list[tuple[str, str]]`` (name, SQL). Migrations are applied
once each, in the order of :data:`SCHEMA_MODULES` and then of each list, and
recorded in ``schema_migrations``. Never edit a migration that has shipped: add
a new one after it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from callradar.config import Config
from callradar.errors import StoreError

SCHEMA_MODULES: tuple[str, ...] = (
    "callradar.ingest.schema",
    "callradar.features.schema",
    "callradar.detect.schema",
    "callradar.campaigns.schema",
    "callradar.protect.schema",
    "callradar.serve.schema",
    "callradar.audio.schema",
    "callradar.complaints.schema",
    "callradar.evidence.schema",
)


def all_migrations() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for mod_name in SCHEMA_MODULES:
        mod = importlib.import_module(mod_name)
        out.extend(getattr(mod, "MIGRATIONS", []))
    names = [n for n, _ in out]
    if len(names) != len(set(names)):
        raise StoreError("duplicate migration names: " + ", ".join(sorted(names)))
    return out


class Store:
    """A DuckDB store. Use as a context manager or call :meth:`close`.

    ``Store(":memory:")`` gives a throw-away store (tests, replay scratch).
    """

    def __init__(
        self, path: str | Path | None = None, config: Config | None = None, read_only: bool = False
    ) -> None:
        self.config = config or Config()
        self.path = str(path if path is not None else self.config.get("db"))
        self.read_only = read_only
        self._lock = threading.RLock()
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}", path=self.path) from exc
        threads = int(self.config.get("threads"))
        if threads > 0:
            self.con.execute(f"SET threads = {threads}")
        self.con.execute(f"SET memory_limit = '{self.config.get('memory_limit')}'")
        self.con.execute(f"SET TimeZone = '{self.config.get('timezone')}'")
        self.con.execute("SET preserve_insertion_order = false")
        if not read_only:
            self.migrate()

    # -- schema -------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply every migration not yet applied; return the names applied now."""
        with self._lock:
            self.con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())"
            )
            done = {r[0] for r in self.con.execute("SELECT name FROM schema_migrations").fetchall()}
            applied: list[str] = []
            for name, sql in all_migrations():
                if name in done:
                    continue
                self.con.execute("BEGIN")
                try:
                    self.con.execute(sql)
                    self.con.execute("INSERT INTO schema_migrations(name) VALUES (?)", [name])
                    self.con.execute("COMMIT")
                except duckdb.Error as exc:
                    self.con.execute("ROLLBACK")
                    raise StoreError(f"migration {name} failed: {exc}", migration=name) from exc
                applied.append(name)
            return applied

    def schema_version(self) -> list[str]:
        return [
            r[0]
            for r in self.con.execute(
                "SELECT name FROM schema_migrations ORDER BY applied_at, name"
            ).fetchall()
        ]

    # -- access -------------------------------------------------------------
    def sql(self, query: str, params: list[Any] | dict[str, Any] | None = None) -> Any:
        """Run SQL; returns the DuckDB cursor (``.fetchall()``, ``.arrow()`` ...)."""
        with self._lock:
            if params is None:
                return self.con.execute(query)
            return self.con.execute(query, params)

    def arrow(self, query: str, params: list[Any] | None = None) -> Any:
        """Run a query and return its result as a ``pyarrow.Table`` (no DB-API copy)."""
        with self._lock:
            return self.con.sql(query, params=params).to_arrow_table()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: the block's writes commit together or not at all."""
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            else:
                self.con.execute("COMMIT")

    def tables(self) -> list[str]:
        return [
            r[0]
            for r in self.con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        ]

    def table_counts(self) -> dict[str, int]:
        return {
            t: int(self.con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])  # type: ignore[index]
            for t in self.tables()
        }

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for use from another thread (DuckDB connections are not thread-safe)."""
        return self.con.cursor()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
