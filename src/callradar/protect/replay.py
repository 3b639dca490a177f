"""Replay: decide every call of an input file as if live, under the replay protocol.

For a call starting at ``t`` the engine may use only what was learned
beforehand, the setup fields of calls that started before it, the full records
of calls that ended at or before ``t``, and refusals and complaints made at or
before ``t`` (data-contracts.md, "The replay protocol").

Events are merged in time order; at equal times, call ends, refusals and
complaints come before call starts (they are known "at or before t"). The
engine never sees a call's ``answered``, ``talk_seconds``, ``ring_seconds`` or
``end_reason`` before its end event.

The output is the decisions contract (section 5): one row per input row, in
input order. An input row that ingest quarantined is not decided; it is
allowed (fail open) with the quarantine reason.
"""

from __future__ import annotations

import gc
import heapq
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from callradar.config import Config
from callradar.protect.engine import CallSetup, Engine, Guard, Verdict

log = logging.getLogger("callradar.replay")


@dataclass
class ReplayResult:
    calls: int
    decisions: dict[str, int]
    undecided: int
    refusals: int
    complaints: int
    failed_open: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def _scratch_store(config: Config) -> Any:
    """An in-memory store: inputs go through ingest (normalization, validation,
    quarantine) without touching the learned store."""
    from callradar.store import Store

    return Store(":memory:", config)


@contextmanager
def learned_state_frozen() -> Iterator[None]:
    """Keep the garbage collector off the learned state while calls are decided.

    The state holds millions of long-lived containers, and every full collection walks
    them all; a loop that allocates a few objects per call triggers one every few
    thousand calls (a third of the replay time, measured). ``gc.freeze`` moves what
    exists now to the permanent generation, ``gc.unfreeze`` gives it back on exit."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def call_columns(calls: pa.Table) -> tuple[list[Any], ...]:
    """Python lists of the columns the event loop reads (a loop over lists is fastest):
    caller, callee, trunk, start and end (epoch seconds), answered, talk seconds."""
    return (
        calls.column("caller").to_pylist(),
        calls.column("callee").to_pylist(),
        calls.column("trunk").to_pylist(),
        epoch_seconds(calls.column("start_time")).tolist(),
        epoch_seconds(calls.column("end_time")).tolist(),
        calls.column("answered").to_pylist(),
        calls.column("talk_seconds").to_pylist(),
    )


def epoch_seconds(col: Any) -> np.ndarray:
    """Epoch seconds (float) from an Arrow timestamp column."""
    arr = pc.cast(col, pa.timestamp("us", tz="UTC"))
    return np.asarray(arr.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.float64) / 1e6


def replay(
    engine: Engine,
    input_path: Path,
    out_path: Path,
    refusals: Path | None = None,
    complaints: Path | None = None,
    config: Config | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Decide every call of ``input_path``; write the decisions CSV to ``out_path``."""
    import time as _time

    from callradar.ingest import ingest_files

    cfg = config or engine.config
    scratch = _scratch_store(cfg)
    try:
        ingest_files(scratch, [input_path], kind="cdr")
        calls = scratch.arrow(
            "SELECT call_id, caller, callee, trunk, start_time, end_time, answered, talk_seconds "
            "FROM calls ORDER BY start_time, call_id"
        )
        quarantined = dict(
            scratch.sql("SELECT row_number, reason FROM quarantine WHERE kind = 'cdr'").fetchall()
        )
        ref_rows: list[tuple[float, str, str]] = []
        if refusals is not None:
            ingest_files(scratch, [refusals], kind="refusals")
            r = scratch.arrow("SELECT time, callee, caller FROM refusals ORDER BY time")
            ref_rows = list(
                zip(
                    epoch_seconds(r.column("time")).tolist(),
                    r.column("callee").to_pylist(),
                    r.column("caller").to_pylist(),
                    strict=True,
                )
            )
        comp_rows: list[tuple[float, str, list[str], bool]] = []
        if complaints is not None:
            ingest_files(scratch, [complaints], kind="complaints")
            comp_rows = _complaint_events(scratch)
    finally:
        scratch.close()

    n = calls.num_rows
    call_ids = calls.column("call_id").to_pylist()
    callers, callees, trunks, starts, ends, answered, talk = call_columns(calls)
    engine.classify(list(set(callers)))

    # Replay is about what was known, not how long it took: the deadline is the live
    # server's (a slow verdict there is allowed through); errors still fail open here.
    guard = Guard(engine, deadline_ms=float("inf"))
    verdicts: dict[str, Verdict] = {}
    pending: list[tuple[float, int]] = []  # (end_time, index) of calls in progress
    inf = float("inf")
    ri = ci = 0
    nxt_ref = ref_rows[0][0] if ref_rows else inf
    nxt_comp = comp_rows[0][0] if comp_rows else inf
    with learned_state_frozen():
        t0 = _time.perf_counter()
        for i in range(n):
            t = starts[i]
            # everything known at or before t, in time order (at equal times: call ends,
            # then refusals, then complaints)
            while True:
                nxt_end = pending[0][0] if pending else inf
                if nxt_end <= t and nxt_end <= nxt_ref and nxt_end <= nxt_comp:
                    j = heapq.heappop(pending)[1]
                    engine.call_ended(callers[j], callees[j], answered[j], talk[j], ends[j])
                elif nxt_ref <= t and nxt_ref <= nxt_comp:
                    _, callee, caller = ref_rows[ri]
                    engine.add_refusal(callee, caller, nxt_ref)
                    ri += 1
                    nxt_ref = ref_rows[ri][0] if ri < len(ref_rows) else inf
                elif nxt_comp <= t:
                    _, complainant, numbers, refused_before = comp_rows[ci]
                    engine.add_complaint(complainant, numbers, refused_before)
                    ci += 1
                    nxt_comp = comp_rows[ci][0] if ci < len(comp_rows) else inf
                else:
                    break
            verdicts[call_ids[i]] = guard.decide(
                CallSetup(call_ids[i], callers[i], callees[i], trunks[i], t)
            )
            heapq.heappush(pending, (ends[i], i))
            if progress is not None and i % 10_000 == 0:
                progress(i, n)
    seconds = _time.perf_counter() - t0
    if progress is not None:
        progress(n, n)

    order = _input_order(input_path) or list(call_ids)
    counts = _write(out_path, order, verdicts, quarantined)
    return ReplayResult(
        calls=n,
        decisions=counts,
        undecided=sum(1 for c in order if c not in verdicts),
        refusals=len(ref_rows),
        complaints=len(comp_rows),
        failed_open=dict(guard.failed_open),
        seconds=seconds,
    )


def _input_order(input_path: Path) -> list[str]:
    """The call_id of every input row, in input order (empty where it has none)."""
    import duckdb

    name = input_path.name.lower()
    path = str(input_path).replace("'", "''")
    if name.endswith(".parquet"):
        source = f"read_parquet('{path}')"
    elif name.endswith((".jsonl", ".jsonl.gz", ".json")):
        source = (
            f"read_json('{path}', format='newline_delimited', columns={{'call_id': 'VARCHAR'}})"
        )
    else:
        source = f"read_csv('{path}', all_varchar=true, header=true)"
    con = duckdb.connect()
    try:
        return [r[0] or "" for r in con.execute(f"SELECT call_id FROM {source}").fetchall()]
    except duckdb.Error:
        return []
    finally:
        con.close()


def _complaint_events(scratch: Any) -> list[tuple[float, str, list[str], bool]]:
    rows = scratch.arrow(
        "SELECT received_time, complainant, reported_numbers, text FROM complaints "
        "ORDER BY received_time"
    )
    times = epoch_seconds(rows.column("received_time")).tolist()
    from callradar.complaints import extract

    out = []
    for t, who, reported, text in zip(
        times,
        rows.column("complainant").to_pylist(),
        rows.column("reported_numbers").to_pylist(),
        rows.column("text").to_pylist(),
        strict=True,
    ):
        numbers = list(reported or [])
        refused_before = False
        facts = extract(text)
        numbers += [n for n in facts.numbers if n not in numbers]
        refused_before = bool(facts.refused_before)
        out.append((t, who, numbers, refused_before))
    return out


def _write(
    out_path: Path,
    order: list[str],
    verdicts: dict[str, Verdict],
    quarantined: dict[int, str],
) -> dict[str, int]:
    found = [verdicts.get(c) if c else None for c in order]
    # an input row ingest did not accept is allowed (fail open), with the reason
    reasons = [
        v.reason
        if v
        else f"not decided: input row {row} was not accepted "
        f"({quarantined.get(row, 'quarantined')}); allowed"
        for row, v in enumerate(found, start=1)
    ]
    table = pa.table(
        {
            "call_id": pa.array(order, pa.string()),
            "decision": pa.array([v.decision if v else "allow" for v in found], pa.string()),
            "score": pa.array([round(v.score, 4) if v else 0.0 for v in found], pa.float64()),
            "campaign_id": pa.array([v.campaign_id if v else "" for v in found], pa.string()),
            "reason": pa.array(reasons, pa.string()),
        }
    )
    counts = {"allow": 0, "label": 0, "block": 0}
    for d in pc.value_counts(table.column("decision")).to_pylist():
        counts[d["values"]] = d["counts"]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, out_path)
    return counts
