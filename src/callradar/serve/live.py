"""The live state behind ``callradar serve``: engine thread, deadlines, persistence, spool.

Threads: the asyncio loop (HTTP, SIP, timers) never touches the engine or the
store. Every engine access runs on the :class:`Decider` thread, in arrival
order (the engine's dicts need no lock); every store access runs on the
:class:`~callradar.serve.persist.Writer` thread. A verdict has a deadline
(``protect.deadline_ms``) enforced by a timer in the loop: when the engine has
not answered in time, or raised, the call is allowed (fail open) and counted in
the metrics; a verdict still queued past its deadline is skipped, which sheds
load instead of piling it up.

Durability: refusals, complaints and CDRs are committed to the store before
they are applied and acknowledged. Campaign links the engine makes live
(``Engine.provisional``) are written to ``serve_links`` in group commits as
verdicts name them, and before any refusal that uses one is acknowledged. On
start, :meth:`LiveState.open` loads ``Engine.from_store`` (which re-reads
refusals and complaints) and replays ``serve_links``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from callradar.config import Config
from callradar.errors import BadRequestError, InputFileError, NotFoundError
from callradar.ingest import ingest_arrow, ingest_file
from callradar.privacy import Pseudonymizer
from callradar.protect import ALLOW, CallSetup, Engine, Verdict
from callradar.serve import persist
from callradar.serve.metrics import Metrics
from callradar.serve.records import normalize_number, to_datetime, to_epoch

log = logging.getLogger("callradar.serve")
T = TypeVar("T")


class Pending:
    """One verdict in flight: answered once, by the engine or by the deadline timer."""

    __slots__ = ("call", "cb", "channel", "done", "start", "timer")

    def __init__(self, call: CallSetup, channel: str, cb: Callable[[Verdict], None]) -> None:
        self.call = call
        self.channel = channel
        self.cb = cb
        self.start = time.perf_counter()
        self.timer: asyncio.TimerHandle | None = None
        self.done = False


class Decider:
    """Runs every engine access on one thread; enforces verdict deadlines from the loop."""

    def __init__(
        self,
        engine: Engine,
        loop: asyncio.AbstractEventLoop,
        deadline_ms: float,
        metrics: Metrics,
        on_links: Callable[[list[tuple[str, str, float]]], None],
    ) -> None:
        self.engine = engine
        self.loop = loop
        self.deadline_s = deadline_ms / 1000.0
        self.deadline_ms = deadline_ms
        self.metrics = metrics
        self.on_links = on_links
        self._items: deque[tuple[str, Any]] = deque()
        self._cv = threading.Condition()
        self._stop = False
        self._linked: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="callradar-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5)

    def mark_linked(self, numbers: list[str]) -> None:
        self._linked.update(numbers)

    # -- loop side ----------------------------------------------------------
    def decide(self, call: CallSetup, channel: str, cb: Callable[[Verdict], None]) -> None:
        """Decide ``call``; ``cb(verdict)`` runs in the loop exactly once, by the deadline."""
        p = Pending(call, channel, cb)
        p.timer = self.loop.call_later(self.deadline_s, self._expire, p)
        with self._cv:
            self._items.append(("d", p))
            self._cv.notify()

    async def decide_async(self, call: CallSetup, channel: str) -> Verdict:
        fut: asyncio.Future[Verdict] = self.loop.create_future()
        self.decide(call, channel, fut.set_result)
        return await fut

    def call(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on the engine thread (no deadline: live-state updates, reads)."""
        fut: Future[T] = Future()
        with self._cv:
            self._items.append(("f", (fn, fut)))
            self._cv.notify()
        return fut

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.wrap_future(self.call(fn))

    def _expire(self, p: Pending) -> None:
        reason = f"fail-open: no verdict within {self.deadline_ms:.0f} ms"
        self._finish(p, Verdict(ALLOW, 0.0, "", reason, True), "deadline")

    def _finish(self, p: Pending, v: Verdict, cause: str = "") -> None:
        if p.done:
            return
        p.done = True
        if p.timer is not None:
            p.timer.cancel()
        self.metrics.verdict(p.channel, v.decision, time.perf_counter() - p.start, cause)
        try:
            p.cb(v)
        except Exception:  # a broken responder must not break the loop
            self.metrics.errors.labels(p.channel).inc()
            log.exception("responding to a verdict failed")

    def _deliver(self, out: list[tuple[Pending, Verdict, str]]) -> None:
        for p, v, cause in out:
            self._finish(p, v, cause)

    # -- engine thread ------------------------------------------------------
    def _run(self) -> None:
        engine = self.engine
        while True:
            with self._cv:
                while not self._items and not self._stop:
                    self._cv.wait()
                if not self._items:
                    return
                batch = list(self._items)
                self._items.clear()
            out: list[tuple[Pending, Verdict, str]] = []
            links: list[tuple[str, str, float]] = []
            for kind, obj in batch:
                if kind == "f":
                    fn, fut = obj
                    try:
                        fut.set_result(fn())
                    except BaseException as exc:  # handed to the waiting request
                        fut.set_exception(exc)
                    continue
                p: Pending = obj
                if p.done or time.perf_counter() - p.start > self.deadline_s:
                    continue  # already answered allow by the deadline: shed the work
                try:
                    v = engine.decide(p.call)
                except Exception as exc:
                    # the type only: an exception's text may carry a citizen's number
                    log.error("engine error (%s); allowing (fail open)", type(exc).__name__)
                    log.debug("engine error", exc_info=True)
                    v = Verdict(ALLOW, 0.0, "", f"fail-open: internal error ({type(exc).__name__})")
                    v.failed_open = True
                    out.append((p, v, "error"))
                    continue
                out.append((p, v, ""))
                cid = v.campaign_id
                caller = p.call.caller
                if (
                    cid
                    and caller not in self._linked
                    and engine.provisional.get(caller) == cid
                    and caller not in engine.k.number_campaign
                ):
                    self._linked.add(caller)
                    links.append((caller, cid, v.score))
            if out:
                try:
                    self.loop.call_soon_threadsafe(self._deliver, out)
                except RuntimeError:  # loop closed during shutdown
                    return
            if links:
                self.on_links(links)


@dataclass
class SpoolResult:
    file: str
    taken: bool
    read: int = 0
    accepted: int = 0
    error: str = ""


class LiveState:
    """The engine, its threads and its store, as the HTTP and SIP front ends use them."""

    def __init__(self, store: Any, engine: Engine, config: Config) -> None:
        self.store = store
        self.engine = engine
        self.config = config
        self.region = str(config.get("default_region"))
        self.tz = str(config.get("timezone"))
        self.metrics = Metrics(self._stats)
        self.writer = persist.Writer(store)
        self.pseudo = Pseudonymizer.for_store(store)
        self.deadline_ms = float(config.get("protect.deadline_ms"))
        self.decider: Decider | None = None
        self._links_loaded: list[tuple[str, str, float]] = []
        self.ready = False

    @classmethod
    def open(
        cls, store: Any, config: Config | None = None, engine: Engine | None = None
    ) -> LiveState:
        """Load the engine from the store (unless given) and replay the live links."""
        cfg = config or store.config
        eng = engine if engine is not None else Engine.from_store(store, cfg)
        live = cls(store, eng, cfg)
        live._links_loaded = persist.load_links(store.cursor())
        replay_links(eng, live._links_loaded)
        return live

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        loop = loop or asyncio.get_running_loop()
        self.decider = Decider(self.engine, loop, self.deadline_ms, self.metrics, self._save_links)
        self.decider.mark_linked([n for n, _, _ in self._links_loaded])
        self.decider.start()
        # the learned state lives as long as the server: full collections would walk its
        # millions of containers every few thousand calls (see protect.replay.learned_state_frozen)
        gc.freeze()
        self.ready = True

    def stop(self) -> None:
        self.ready = False
        if self.decider is not None:
            self.decider.stop()
            gc.unfreeze()
        self.writer.close()

    def _stats(self) -> dict[str, int]:
        try:
            return dict(self.engine.stats())
        except Exception:  # state is being resized on the engine thread
            return {}

    def _save_links(self, links: list[tuple[str, str, float]]) -> None:
        fut = self.writer.submit(lambda cur: persist.store_links(cur, links))
        fut.add_done_callback(self._log_store_error)

    def _log_store_error(self, fut: Future[Any]) -> None:
        if fut.exception() is not None:
            self.metrics.errors.labels("store").inc()
            log.error("store write failed: %s", fut.exception())

    # -- verdicts -------------------------------------------------------------
    def call_setup(
        self, caller: Any, callee: Any, trunk: str = "", when: Any = None, call_id: str = ""
    ) -> CallSetup:
        return CallSetup(
            call_id or uuid.uuid4().hex,
            normalize_number(caller, self.region, "caller"),
            normalize_number(callee, self.region, "callee"),
            trunk or "",
            to_epoch(when, self.tz),
        )

    async def verdict(self, call: CallSetup, channel: str = "http") -> Verdict:
        assert self.decider is not None, "LiveState.start() was not called"
        v = await self.decider.decide_async(call, channel)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "verdict %s %s -> %s: %s",
                self.pseudo(call.caller),
                self.pseudo(call.callee),
                v.decision,
                v.reason,
            )
        return v

    # -- live updates ---------------------------------------------------------
    async def refusal(self, callee: Any, caller: Any, when: Any = None, source: str = "") -> str:
        """Store a refusal, apply it, and return the campaign it refuses ('' if none)."""
        assert self.decider is not None
        row: dict[str, Any] = {
            "time": to_datetime(when, self.tz),
            "callee": normalize_number(callee, self.region, "callee"),
            "caller": normalize_number(caller, self.region, "caller"),
            "source": source or "",
        }
        await self._store("refusals", [row], "api:/v1/refusals")
        self.metrics.records.labels("refusal", "stored").inc()
        eng = self.engine
        ts = row["time"].timestamp()
        cid = await self.decider.run(lambda: eng.add_refusal(row["callee"], row["caller"], ts))
        await self._persist_provisional([row["caller"]])
        log.info(
            "refusal stored: %s refused %s (campaign %s)",
            self.pseudo(row["callee"]),
            self.pseudo(row["caller"]),
            cid or "-",
        )
        return cid

    async def _store(self, kind: str, rows: list[dict[str, Any]], source: str) -> Any:
        """Store records through ``callradar.ingest`` on the writer thread (committed when
        this returns); a record ingest quarantines is a :class:`BadRequestError`."""
        table = await asyncio.to_thread(_string_table, rows)
        res, _, bad = await asyncio.wrap_future(
            self.writer.submit(
                lambda _cur: self._ingest(lambda: ingest_arrow(self.store, table, kind, source))
            )
        )
        if bad:
            reasons = sorted({r for _, r in bad})
            raise BadRequestError(
                f"{kind}: record rejected ({', '.join(reasons)})",
                reasons=reasons,
                run_id=res.run_id,
            )
        return res

    async def _persist_provisional(self, numbers: list[str]) -> None:
        """Make sure live links the acknowledged records rely on are stored."""
        assert self.decider is not None
        eng = self.engine
        links = await self.decider.run(
            lambda: [
                (n, eng.provisional[n], eng.k.number_score.get(n, 0.0))
                for n in numbers
                if n in eng.provisional and n not in eng.k.number_campaign
            ]
        )
        if links:
            await asyncio.wrap_future(
                self.writer.submit(lambda cur: persist.store_links(cur, links))
            )
            self.decider.mark_linked([n for n, _, _ in links])

    async def complaint(
        self,
        complainant: Any,
        text: str,
        reported_numbers: list[str] | None = None,
        received_time: Any = None,
        channel: str = "",
        complaint_id: str = "",
    ) -> dict[str, Any]:
        assert self.decider is not None
        who = normalize_number(complainant, self.region, "complainant")
        reported = [
            normalize_number(n, self.region, "reported_numbers") for n in reported_numbers or []
        ]
        facts = await asyncio.to_thread(_extract, text)
        found = [n for n in facts.get("numbers", []) if n not in reported and n != who]
        row = {
            "complaint_id": complaint_id or "api-" + uuid.uuid4().hex,
            "received_time": to_datetime(received_time, self.tz, "received_time"),
            "complainant": who,
            "reported_numbers": reported,
            "text": text,
            "channel": channel or "",
        }
        # numbers found only in the text are refusals of the complainant (source complaint):
        # stored first, so that a stored complaint always has them
        when = row["received_time"]
        extra = [{"time": when, "callee": who, "caller": n, "source": "complaint"} for n in found]
        if extra:
            await self._store("refusals", extra, "api:/v1/complaints")
        await self._store("complaints", [row], "api:/v1/complaints")
        self.metrics.records.labels("complaint", "stored").inc()
        numbers = reported + found
        refused = bool(facts.get("refused_before", False))
        eng = self.engine
        cids = await self.decider.run(lambda: eng.add_complaint(who, numbers, refused))
        await self._persist_provisional(numbers)
        log.info("complaint %s stored from %s", row["complaint_id"], self.pseudo(who))
        return {
            "complaint_id": row["complaint_id"],
            "numbers": numbers,
            "campaign_ids": sorted(set(cids)),
            "facts": facts,
        }

    async def cdrs(
        self, rows: list[dict[str, Any]], source: str = "api:/v1/cdrs"
    ) -> dict[str, Any]:
        """Ingest finished call records (``callradar.ingest``: validated, quarantined,
        deduplicated, committed), then let the engine learn from the new ones."""
        if not rows:
            return {"run_id": 0, "read": 0, "accepted": 0, "duplicates": 0, "quarantined": []}
        table = await asyncio.to_thread(_string_table, rows)
        if not table.num_columns:
            raise InputFileError(f"{source}: the records have no fields", file=source)
        result = await asyncio.wrap_future(
            self.writer.submit(
                lambda _cur: self._ingest(lambda: ingest_arrow(self.store, table, "cdr", source))
            )
        )
        return await self._learn(result)

    def _ingest(
        self, run: Callable[[], Any]
    ) -> tuple[Any, list[tuple[Any, ...]], list[tuple[int, str]]]:
        """On the writer thread: ingest, then read back the run's new calls and quarantine."""
        # ingest registers Arrow tables on the store's connection, which DuckDB refuses while
        # an earlier query's result there is unfinished (e.g. a fetchone): finish it first
        self.store.sql("SELECT 1").fetchall()
        res = run()
        new = self.store.sql(
            "SELECT caller, callee, answered, talk_seconds, epoch(end_time) FROM calls "
            "WHERE run_id = ?",
            [res.run_id],
        ).fetchall()
        bad = self.store.sql(
            "SELECT row_number, reason FROM quarantine WHERE run_id = ? ORDER BY row_number",
            [res.run_id],
        ).fetchall()
        return res, new, bad

    async def _learn(
        self, result: tuple[Any, list[tuple[Any, ...]], list[tuple[int, str]]]
    ) -> dict[str, Any]:
        assert self.decider is not None
        res, new, bad = result
        self.metrics.records.labels("cdr", "stored").inc(res.accepted)
        self.metrics.records.labels("cdr", "quarantined").inc(res.quarantined)
        eng = self.engine

        def apply() -> None:
            for caller, callee, answered, talk, end in new:
                eng.call_ended(caller, callee, bool(answered), float(talk), float(end))

        await self.decider.run(apply)
        return {
            "run_id": res.run_id,
            "read": res.read,
            "accepted": res.accepted,
            "duplicates": res.duplicates,
            "quarantined": [{"index": int(i) - 1, "reason": r} for i, r in bad],
        }

    # -- reads ----------------------------------------------------------------
    async def number(self, raw: str) -> dict[str, Any]:
        assert self.decider is not None
        num = normalize_number(raw, self.region, "number")
        eng = self.engine

        def read() -> dict[str, Any]:
            k = eng.k
            cid = k.number_campaign.get(num) or eng.provisional.get(num, "")
            cid = eng.aliases.resolve(cid) if cid else ""  # joined with another today
            act = eng.activity.get(num)
            return {
                "number": num,
                "score": round(float(k.number_score.get(num, 0.0)), 4),
                "campaign_id": cid,
                "campaign_link": "batch" if num in k.number_campaign else ("live" if cid else ""),
                "reason": k.number_reason.get(num, ""),
                "registered_organization": k.registry.get(num, ""),
                "calls_seen_live": act.n_invites if act else 0,
            }

        info = await self.decider.run(read)
        if (
            not (info["score"] or info["campaign_id"] or info["registered_organization"])
            and not (info["calls_seen_live"])
        ):
            raise NotFoundError(f"number {raw!r} is not known", number=num)
        return info

    async def campaigns(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        def read(cur: Any) -> list[dict[str, Any]]:
            rows = cur.execute(
                "SELECT campaign_id, first_seen, last_seen, numbers, calls, score, prompt_seconds "
                "FROM campaigns ORDER BY score DESC, calls DESC, campaign_id LIMIT ? OFFSET ?",
                [limit, offset],
            ).fetchall()
            return [_campaign_row(r) for r in rows]

        found = await asyncio.wrap_future(self.writer.submit(read))
        return found

    async def campaign(self, campaign_id: str, reveal: bool) -> dict[str, Any]:
        def read(cur: Any) -> dict[str, Any] | None:
            row = cur.execute(
                "SELECT campaign_id, first_seen, last_seen, numbers, calls, score, prompt_seconds "
                "FROM campaigns WHERE campaign_id = ?",
                [campaign_id],
            ).fetchone()
            batch = [
                r[0]
                for r in cur.execute(
                    "SELECT number FROM campaign_numbers WHERE campaign_id = ? ORDER BY number",
                    [campaign_id],
                ).fetchall()
            ]
            live = [
                r[0]
                for r in cur.execute(
                    "SELECT number FROM serve_links WHERE campaign_id = ? ORDER BY number",
                    [campaign_id],
                ).fetchall()
            ]
            trunks = [
                r[0]
                for r in cur.execute(
                    "SELECT trunk FROM campaign_trunks WHERE campaign_id = ? ORDER BY calls DESC",
                    [campaign_id],
                ).fetchall()
            ]
            if row is None and not live:
                return None
            out = _campaign_row(row) if row else {"campaign_id": campaign_id, "score": 0.0}
            out["numbers_list"] = batch
            out["live_numbers"] = live
            out["trunks"] = trunks
            return out

        found = await asyncio.wrap_future(self.writer.submit(read))
        if found is None:
            raise NotFoundError(f"campaign {campaign_id!r} is not known", campaign_id=campaign_id)
        if not reveal:
            found["numbers_list"] = [self.pseudo(n) for n in found["numbers_list"]]
            found["live_numbers"] = [self.pseudo(n) for n in found["live_numbers"]]
        return found

    # -- spool ----------------------------------------------------------------
    async def take_file(self, path: Path) -> SpoolResult:
        """Ingest one spool file (any format ``callradar ingest`` reads) unless its content
        was taken before."""
        data = await asyncio.to_thread(path.read_bytes)
        digest = hashlib.sha256(data).hexdigest()
        taken = await asyncio.wrap_future(
            self.writer.submit(lambda cur: persist.spool_taken(cur, digest))
        )
        if taken:
            return SpoolResult(str(path), False)
        try:
            result = await asyncio.wrap_future(
                self.writer.submit(
                    lambda _cur: self._ingest(lambda: ingest_file(self.store, path, kind="cdr"))
                )
            )
        except InputFileError as exc:
            self.metrics.errors.labels("spool").inc()
            log.error("spool file %s: %s", path.name, exc.message)
            await asyncio.wrap_future(
                self.writer.submit(
                    lambda cur: persist.mark_spool(cur, digest, str(path), len(data))
                )
            )
            return SpoolResult(str(path), True, error=exc.message)
        res = result[0]
        await asyncio.wrap_future(
            self.writer.submit(
                lambda cur: persist.mark_spool(
                    cur, digest, str(path), len(data), res.run_id, res.read, res.accepted
                )
            )
        )
        await self._learn(result)
        log.info("spool file %s: %s", path.name, res.summary())
        return SpoolResult(str(path), True, res.read, res.accepted)


SPOOL_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".parquet")


def _string_table(rows: list[dict[str, Any]]) -> Any:
    """An all-text Arrow table of JSON records (as a CSV would give), for ingest."""
    import json

    import pyarrow as pa

    def cell(v: Any) -> str | None:
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, list | tuple) and all(isinstance(x, str) for x in v):
            return ";".join(v)  # the contract's list form (reported_numbers)
        return json.dumps(v, ensure_ascii=False)

    cols = sorted({str(k) for r in rows for k in r})
    return pa.table({c: pa.array([cell(r.get(c)) for r in rows], pa.string()) for c in cols})


async def watch_spool(live: LiveState, spool: Path, poll_s: float, stop: asyncio.Event) -> None:
    """Take every new file of ``spool`` (complete: not modified for a poll period) once."""
    while not stop.is_set():
        try:
            now = time.time()
            names = sorted(
                (p for p in spool.iterdir() if p.is_file() and _spool_name(p.name)),
                key=lambda p: (p.stat().st_mtime, p.name),
            )
            for p in names:
                if now - p.stat().st_mtime < min(poll_s, 1.0):
                    continue  # may still be being written
                await live.take_file(p)
        except Exception:
            live.metrics.errors.labels("spool").inc()
            log.exception("spool scan failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_s)


def _spool_name(name: str) -> bool:
    low = name.lower()
    return not low.startswith(".") and low.endswith(SPOOL_SUFFIXES)


def replay_links(engine: Engine, links: list[tuple[str, str, float]]) -> None:
    """Restore live campaign links and the refusals that point at them."""
    k = engine.k
    for number, cid, _score in links:
        if number not in k.number_campaign:
            engine.provisional.setdefault(number, cid)
    for callee, callers in k.refused_numbers.items():
        for caller in callers:
            cid = k.number_campaign.get(caller) or engine.provisional.get(caller, "")
            if cid:
                k.refused.setdefault(callee, set()).add(cid)


def _extract(text: str) -> dict[str, Any]:
    try:
        from callradar.complaints.extract import extract
    except ImportError:  # complaints stage not installed
        return {"numbers": [], "refused_before": False}
    return extract(text).to_dict()


def _campaign_row(r: Any) -> dict[str, Any]:
    return {
        "campaign_id": r[0],
        "first_seen": r[1].isoformat() if r[1] is not None else None,
        "last_seen": r[2].isoformat() if r[2] is not None else None,
        "numbers": int(r[3]),
        "calls": int(r[4]),
        "score": round(float(r[5]), 4),
        "prompt_seconds": None if r[6] is None else float(r[6]),
    }


__all__ = ["Decider", "LiveState", "SpoolResult", "replay_links", "watch_spool"]
