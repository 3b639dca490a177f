"""Persistence of what the live server learns, on one writer thread.

DuckDB connections are not thread-safe, so every store access of the server
runs on :class:`Writer`'s single thread with its own cursor; callers get a
``concurrent.futures.Future`` and acknowledge only once it has resolved (the
transaction committed). Refusals, complaints and CDRs go through
:func:`callradar.ingest.ingest_arrow` / ``ingest_file`` (run on this thread, into
``refusals``, ``complaints``, ``calls`` with their ``ingest_runs`` row); live
campaign links go to ``serve_links``, spool files taken to ``serve_spool``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")


class Writer:
    """One thread that owns a store cursor and runs store jobs in order."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callradar-store")
        self._local = threading.local()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self.store.cursor()
            self._local.cur = cur
        return cur

    def submit(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> Future[T]:
        return self._pool.submit(lambda: fn(self._cursor()))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _txn(cur: duckdb.DuckDBPyConnection, body: Callable[[], T]) -> T:
    cur.execute("BEGIN TRANSACTION")
    try:
        out = body()
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")
    return out


def mark_spool(
    cur: duckdb.DuckDBPyConnection,
    digest: str,
    file: str,
    size: int,
    run_id: int | None = None,
    read: int = 0,
    accepted: int = 0,
) -> None:
    """Record a spool file as taken (by content hash)."""
    cur.execute(
        "INSERT INTO serve_spool (sha256, file, bytes, run_id, read, accepted) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [digest, file, size, run_id, read, accepted],
    )


def store_links(cur: duckdb.DuckDBPyConnection, links: list[tuple[str, str, float]]) -> None:
    """Persist live campaign links (number, campaign_id, score); existing ones are kept."""
    if not links:
        return
    _txn(
        cur,
        lambda: cur.executemany(
            "INSERT INTO serve_links (number, campaign_id, score) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            links,
        ),
    )


def load_links(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str, float]]:
    return [
        (str(a), str(b), float(c))
        for a, b, c in cur.execute(
            "SELECT number, campaign_id, score FROM serve_links ORDER BY linked_at"
        ).fetchall()
    ]


def spool_taken(cur: duckdb.DuckDBPyConnection, digest: str) -> bool:
    return (
        cur.execute("SELECT 1 FROM serve_spool WHERE sha256 = ?", [digest]).fetchone() is not None
    )
