"""Writing the simulated data: Parquet (streamed, one writer per file) or CSV.

Column names and types follow data-contracts.md sections 1-4 and 6. Numbers are
written in E.164; Parquet timestamps are tz-aware (Asia/Shanghai), CSV
timestamps are ISO 8601 with ``+08:00``. CDR and truth chunks are encoded on
two background threads (which also turn the NumPy columns into Arrow) while the
next chunk is generated.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from callradar.simulate.calls import Chunk
from callradar.simulate.numbers import e164_array, fixed_id_array
from callradar.simulate.world import CALLER_KINDS, END_REASONS, Catalog

TZ = "Asia/Shanghai"
TS = pa.timestamp("ms", tz=TZ)

CDR_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("start_time", TS),
        ("caller", pa.string()),
        ("callee", pa.string()),
        ("trunk", pa.string()),
        ("ring_seconds", pa.float64()),
        ("answered", pa.bool_()),
        ("talk_seconds", pa.float64()),
        ("end_reason", pa.string()),
    ]
)
TRUTH_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("is_robocall", pa.bool_()),
        ("campaign", pa.string()),
        ("vendor", pa.string()),
        ("client", pa.string()),
        ("caller", pa.string()),
        ("callee", pa.string()),
        ("start_time", TS),
        ("caller_kind", pa.string()),
        ("in_registry", pa.bool_()),
    ]
)
COMPLAINTS_SCHEMA = pa.schema(
    [
        ("complaint_id", pa.string()),
        ("received_time", TS),
        ("complainant", pa.string()),
        ("reported_numbers", pa.string()),
        ("text", pa.string()),
        ("channel", pa.string()),
    ]
)
REFUSALS_SCHEMA = pa.schema(
    [("time", TS), ("callee", pa.string()), ("caller", pa.string()), ("source", pa.string())]
)
REGISTRY_SCHEMA = pa.schema(
    [("number", pa.string()), ("organization", pa.string()), ("category", pa.string())]
)
DICT_COLUMNS = {
    "cdr": ["trunk", "end_reason"],
    "truth": ["campaign", "vendor", "client", "caller_kind"],
}


def ts_array(ms: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(ms, dtype=np.int64)).view(TS)


def _codes(names: list[str] | tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings for integer codes; a constant column (the common case) is built without a take."""
    n = len(codes)
    if n and codes.min() == codes.max():
        value = np.frombuffer(names[int(codes[0])].encode(), dtype=np.uint8)
        length = len(value)
        offsets = np.arange(0, (n + 1) * length, length, dtype=np.int32) if length else None
        if offsets is None:
            return pa.StringArray.from_buffers(
                n, pa.py_buffer(np.zeros(n + 1, dtype=np.int32)), pa.py_buffer(b"")
            )
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(np.tile(value, n))
        )
    return pa.array(list(names), pa.string()).take(pa.array(codes))


def for_csv(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text with the +08:00 offset."""
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_timestamp(col.type):
            text = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
            col = pc.binary_join_element_wise(text, "+08:00", "")
        cols.append(col)
    return pa.table(cols, names=table.column_names)


class _FileOut:
    """One output file (Parquet streamed, or CSV)."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, compression: str, kind: str):
        self.path = path
        self.rows = 0
        self.fmt = fmt
        self._w: Any
        if fmt == "parquet":
            self._w = pq.ParquetWriter(
                path,
                schema,
                compression=None if compression == "none" else compression,
                use_dictionary=DICT_COLUMNS.get(kind, True),
                write_statistics=["start_time", "time", "received_time"],
            )
        else:
            self._w = pacsv.CSVWriter(path, for_csv(schema.empty_table()).schema)

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.fmt == "parquet":
            self._w.write_table(table, row_group_size=max(1, table.num_rows))
        else:
            self._w.write_table(for_csv(table))

    def close(self) -> None:
        self._w.close()


class Output:
    """All outputs of a run; CDR and truth of one day are streamed chunk by chunk."""

    def __init__(self, out: Path, fmt: str, compression: str, seed: int, catalog: Catalog):
        self.out = out
        self.fmt = fmt
        self.compression = compression
        self.seed = seed
        self.catalog = catalog
        self.rows: dict[str, int] = {}
        self.calls = 0
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="simwrite")
        self._pending: list[Future[None]] = []
        self._files: dict[str, _FileOut] = {}
        self._day_tag = ""
        self._counter = 0
        self._date = ""

    def _name(self, stem: str) -> Path:
        return self.out / f"{stem}.{self.fmt}"

    def _open(self, kind: str, stem: str, schema: pa.Schema) -> _FileOut:
        f = _FileOut(self._name(stem), schema, self.fmt, self.compression, kind)
        self._files[kind] = f
        return f

    def open_day(self, day_index: int, date: dt.date) -> None:
        iso = date.isoformat()
        self._day_tag = f"S{self.seed}-D{day_index + 1:03d}-"
        self._counter = 0
        self._date = iso
        self._open("cdr", f"cdr-{iso}", CDR_SCHEMA)
        self._open("truth", f"truth-{iso}", TRUTH_SCHEMA)

    def _wait(self) -> None:
        for f in self._pending:
            f.result()
        self._pending = []

    def write_calls(self, ch: Chunk) -> None:
        """Queue a chunk: Arrow conversion and encoding run on the two writer threads.

        The CDR job and the truth job each build half of the shared columns and
        hand them to the other through a future, so both threads carry similar work.
        """
        m = len(ch)
        if m == 0:
            return
        self._wait()
        first = self._counter
        self._counter += m
        self.calls += m
        part_a: Future[tuple[pa.Array, ...]] = Future()
        part_b: Future[tuple[pa.Array, ...]] = Future()
        self._pending = [
            self._pool.submit(self._cdr_job, ch, first, part_a, part_b),
            self._pool.submit(self._truth_job, ch, part_a, part_b),
        ]

    @staticmethod
    def _publish(fut: Future[tuple[pa.Array, ...]], build: Any) -> tuple[pa.Array, ...]:
        try:
            cols = build()
        except BaseException as exc:
            fut.set_exception(exc)
            raise
        fut.set_result(cols)
        return cols

    def _cdr_job(
        self,
        ch: Chunk,
        first: int,
        part_a: Future[tuple[pa.Array, ...]],
        part_b: Future[tuple[pa.Array, ...]],
    ) -> None:
        call_id, caller = self._publish(
            part_a,
            lambda: (
                fixed_id_array(self._day_tag, np.arange(first, first + len(ch))),
                e164_array(ch.caller),
            ),
        )
        trunk = _codes(self.catalog.trunks, ch.trunk)
        callee, start, end_reason = part_b.result()
        cdr = pa.Table.from_arrays(
            [
                call_id,
                start,
                caller,
                callee,
                trunk,
                pa.array(ch.ring),
                pa.array(ch.answered),
                pa.array(ch.talk),
                end_reason,
            ],
            schema=CDR_SCHEMA,
        )
        self._files["cdr"].write(cdr)

    def _truth_job(
        self,
        ch: Chunk,
        part_a: Future[tuple[pa.Array, ...]],
        part_b: Future[tuple[pa.Array, ...]],
    ) -> None:
        callee, start, _ = self._publish(
            part_b,
            lambda: (
                e164_array(ch.callee),
                ts_array(ch.start_ms),
                _codes(END_REASONS, ch.end_reason),
            ),
        )
        cat = self.catalog
        vendor = _codes(cat.campaign_vendor, ch.campaign)
        client = _codes(cat.campaign_client, ch.campaign)
        campaign = _codes(cat.campaign_ids, ch.campaign)
        kind = _codes(CALLER_KINDS, ch.kind)
        call_id, caller = part_a.result()
        truth = pa.Table.from_arrays(
            [
                call_id,
                pa.array(ch.campaign > 0),
                campaign,
                vendor,
                client,
                caller,
                callee,
                start,
                kind,
                pa.array(ch.in_registry),
            ],
            schema=TRUTH_SCHEMA,
        )
        self._files["truth"].write(truth)

    def _small(self, kind: str, stem: str, schema: pa.Schema, table: pa.Table) -> None:
        f = _FileOut(self._name(stem), schema, self.fmt, self.compression, kind)
        f.write(table)
        f.close()
        self.rows[f.path.name] = table.num_rows

    def close_day(self, refusals: pa.Table, complaints: pa.Table) -> None:
        self._wait()
        for kind in ("cdr", "truth"):
            f = self._files.pop(kind)
            f.close()
            self.rows[f.path.name] = f.rows
        self._small("complaints", f"complaints-{self._date}", COMPLAINTS_SCHEMA, complaints)
        self._small("refusals", f"refusals-{self._date}", REFUSALS_SCHEMA, refusals)

    def write_registry(self, table: pa.Table) -> None:
        self._small("registry", "registry", REGISTRY_SCHEMA, table)

    def close(self) -> None:
        self._wait()
        for f in self._files.values():
            f.close()
        self._files = {}
        self._pool.shutdown()
