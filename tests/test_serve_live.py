"""Live state: persistence and replay, the CDR spool, and a real kill -9 of ``callradar serve``."""

from __future__ import annotations

import gzip
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from callradar.config import Config
from callradar.serve import LiveState, Tokens
from callradar.serve.demo import C1, C1_NUMBERS, C2, C2_NUMBERS, C2_UNLINKED, seed_demo
from callradar.serve.server import BackgroundServer, free_port
from callradar.store import Store

TOKEN = secrets.token_hex(8)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_config(**extra: Any) -> Config:
    return Config(
        {"serve.tokens": f"{TOKEN}:admin", "protect.deadline_ms": 5000, **extra}, environ={}
    )


def wait_for(pred: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def decide(c: httpx.Client, caller: str, callee: str, trunk: str = "") -> dict[str, Any]:
    r = c.post(
        "/v1/verdict", json={"caller": caller, "callee": callee, "trunk": trunk}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    return r.json()


def learn_live(c: httpx.Client) -> None:
    """Teach a server things only the live state knows (the same for both restart tests)."""
    # a number of C2's block calls: linked to C2 live; then a citizen refuses that number
    assert decide(c, C2_UNLINKED, "13800000101", "T03")["campaign_id"] == C2
    r = c.post("/v1/refusals", json={"callee": "13800000102", "caller": C2_UNLINKED}, headers=AUTH)
    assert r.json()["campaign_id"] == C2
    # a complaint naming a C2 number in its text only
    text = f"号码{C2_NUMBERS[1][3:]}一直打电话推销，说了不需要还打"
    r = c.post("/v1/complaints", json={"complainant": "13800000103", "text": text}, headers=AUTH)
    assert r.json()["campaign_ids"] == [C2]
    # an ordinary refusal
    c.post("/v1/refusals", json={"callee": "13800000104", "caller": C2_NUMBERS[0]}, headers=AUTH)


def check_restored(c: httpx.Client) -> None:
    """What learn_live taught survives: each citizen who refused C2 gets C2's calls blocked."""
    for citizen in ("13800000102", "13800000103", "13800000104"):
        v = decide(c, C2_NUMBERS[2], citizen)
        assert v["decision"] == "block", (citizen, v)
    assert decide(c, C2_NUMBERS[2], "13800000105")["decision"] == "label"
    info = c.get(f"/v1/numbers/{C2_UNLINKED}", headers=AUTH).json()
    assert (info["campaign_id"], info["campaign_link"]) == (C2, "live")


@contextmanager
def serving(store: Store, cfg: Config) -> Iterator[tuple[LiveState, httpx.Client]]:
    """The live state of ``store`` behind a real server, and a client of it."""
    live = LiveState.open(store, cfg)
    with (
        BackgroundServer(live, Tokens.from_config(cfg)) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as c,
    ):
        yield live, c


def test_restart_restores_what_was_acknowledged(tmp_path: Path) -> None:
    cfg = make_config()
    db = tmp_path / "s.duckdb"
    with Store(db, cfg) as store:
        seed_demo(store)
        with serving(store, cfg) as (_live, c):
            learn_live(c)
    with Store(db, cfg) as store:
        links = store.sql("SELECT number, campaign_id FROM serve_links").fetchall()
        assert (C2_UNLINKED, C2) in links
        with serving(store, cfg) as (_live, c):
            check_restored(c)


def test_number_lookup_reports_the_campaign_a_join_kept(tmp_path: Path) -> None:
    """After the call path joins two campaigns (one dialer re-dialling both slices), a
    number of either is looked up under the id the join kept."""
    cfg = make_config()
    with Store(tmp_path / "s.duckdb", cfg) as store:
        seed_demo(store)
        with serving(store, cfg) as (live, c):
            before = c.get(f"/v1/numbers/{C2_NUMBERS[0]}", headers=AUTH).json()
            assert before["campaign_id"] == C2
            kept = live.engine.aliases.merge(C1, C2, number=C2_NUMBERS[0])
            assert kept in (C1, C2)
            for number in (C1_NUMBERS[0], C2_NUMBERS[0]):
                info = c.get(f"/v1/numbers/{number}", headers=AUTH).json()
                assert info["campaign_id"] == kept, (number, info)


def test_without_link_replay_the_refusal_would_be_lost(tmp_path: Path) -> None:
    """The replay of serve_links is what restores the refusal of a live-linked number."""
    from callradar.protect import CallSetup, Engine

    cfg = make_config()
    with Store(tmp_path / "s.duckdb", cfg) as store:
        seed_demo(store)
        store.sql(
            "INSERT INTO refusals (time, callee, caller) VALUES (now(), '+8613800000102', ?)",
            [C2_UNLINKED],
        )
        store.sql("INSERT INTO serve_links (number, campaign_id) VALUES (?, ?)", [C2_UNLINKED, C2])
        call = CallSetup("x", C2_NUMBERS[2], "+8613800000102", "", time.time())
        assert Engine.from_store(store, cfg).decide(call).decision == "label"
        assert LiveState.open(store, cfg).engine.decide(call).decision == "block"


# -- spool --------------------------------------------------------------------------------
CDR_HEADER = (
    "call_id,start_time,caller,callee,trunk,ring_seconds,answered,talk_seconds,end_reason\n"
)


def cdr_csv(prefix: str, n: int) -> str:
    rows = [
        f"{prefix}-{i},2026-11-29T09:00:{i:02d}+08:00,021-5888-00{i:02d},1380000{i:04d},T5,"
        f"4.5,true,18.0,caller_hangup\n"
        for i in range(n)
    ]
    return CDR_HEADER + "".join(rows)


@pytest.fixture
def spool_server(tmp_path: Path) -> Iterator[tuple[BackgroundServer, Store, Path]]:
    cfg = make_config(**{"serve.spool_poll_s": 0.2})
    spool = tmp_path / "spool"
    spool.mkdir()
    store = Store(tmp_path / "s.duckdb", cfg)
    seed_demo(store)
    live = LiveState.open(store, cfg)
    with BackgroundServer(live, Tokens.from_config(cfg), spool=spool) as srv:
        yield srv, store, spool
    store.close()


def count(store: Store, sql: str) -> int:
    return int(store.cursor().execute(sql).fetchone()[0])  # type: ignore[index]


def test_spool_files_are_each_taken_once(
    spool_server: tuple[BackgroundServer, Store, Path],
) -> None:
    srv, store, spool = spool_server
    (spool / "a.csv").write_text(cdr_csv("a", 5), encoding="utf-8")
    lines = [
        json.dumps(
            {
                "call_id": f"j-{i}",
                "start_time": "2026-11-29T09:10:00+08:00",
                "caller": "+862158880099",
                "callee": f"+86139000{i:05d}",
                "ring_seconds": 2,
                "answered": False,
                "talk_seconds": 0 if i else 3,  # row 0: talk without answer
                "end_reason": "no_answer",
            }
        )
        for i in range(4)
    ]
    with gzip.open(spool / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    (spool / "c.csv.part").write_text(cdr_csv("partial", 3), encoding="utf-8")  # not a spool name
    (spool / "d.parquet").write_bytes(b"PAR1 not really")
    wait_for(lambda: count(store, "SELECT count(*) FROM serve_spool") == 3)
    assert count(store, "SELECT count(*) FROM calls WHERE call_id LIKE 'a-%'") == 5
    assert count(store, "SELECT count(*) FROM calls WHERE call_id LIKE 'j-%'") == 3
    assert count(store, "SELECT count(*) FROM calls WHERE call_id LIKE 'partial-%'") == 0
    q = store.cursor().execute("SELECT reason FROM quarantine WHERE raw LIKE '%j-0%'").fetchall()
    assert q == [("talk_without_answer",)]
    # the same content again under another name, and a scan later: not taken twice
    (spool / "a-copy.csv").write_text(cdr_csv("a", 5), encoding="utf-8")
    time.sleep(2.0)
    assert count(store, "SELECT count(*) FROM serve_spool") == 3
    assert count(store, "SELECT count(*) FROM calls WHERE call_id LIKE 'a-%'") == 5
    assert count(store, "SELECT count(*) FROM ingest_runs WHERE kind = 'cdr'") == 2
    assert httpx.get(srv.url + "/healthz").json()["ready"] is True


# -- a real crash -----------------------------------------------------------------------------
def start_cli(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CALLRADAR_SERVE_TOKENS": f"{TOKEN}:admin",
        "CALLRADAR_PROTECT_DEADLINE_MS": "5000",
    }
    exe = Path(sys.executable).with_name("callradar")
    cmd = [str(exe), "serve", "--db", str(db), "--http", f"127.0.0.1:{port}"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("callradar serve did not start: " + log.read_text(errors="replace"))


@pytest.mark.slow
def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    with Store(db, make_config()) as store:
        seed_demo(store)
    port = free_port()
    proc = start_cli(db, port, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            learn_live(c)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        proc = start_cli(db, port, tmp_path / "serve.log")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            check_restored(c)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
