"""Benchmark of ``callradar serve``: HTTP verdict latency and SIP screening rate beside Kamailio.

What it does (all on loopback, every loop bounded in count and time):

1. builds a store: the demo state plus a campaign of ``--blocked`` numbers (2,000 by
   default); Kamailio gets the same numbers as its static block list;
2. starts the real ``callradar serve --http --sip`` (a subprocess) and waits for it;
3. HTTP: an open-loop generator sends ``POST /v1/verdict`` at ``--http-rate`` requests/s
   for ``--seconds`` over keep-alive connections; latency is measured from each request's
   *scheduled* time (no coordinated omission); p50/p99 and errors are reported;
4. SIP: SIPp (``bench/sipp/uac_screen.xml``: 302 or 608 expected, then ACK) at rising
   rates, half the calls from blocked numbers, against callradar and then against
   Kamailio (``bench/kamailio-static.cfg``, two workers, stateless ``sl_send_reply`` 608
   from an htable), each step ``--seconds`` long; response time p50/p99 from SIPp's
   ``-trace_rtt``; a step passes with no failed call, p99 < 20 ms and (callradar) at most
   0.1% of its verdicts failed open, i.e. real verdicts (the ladder goes on
   until more than 1% of a step's calls fail). The highest passing rate of each is its
   sustained rate.

Run:  uv run python bench/bench_serve.py            (about 3-6 minutes)
      uv run python bench/bench_serve.py --quick    (a smoke run, under a minute)
The machine may be shared: the load average before and after is printed with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from callradar.config import Config
from callradar.serve.demo import seed_demo
from callradar.serve.server import free_port
from callradar.store import Store

BENCH = Path(__file__).resolve().parent
SCENARIO = BENCH / "sipp" / "uac_screen.xml"
KAMAILIO_TEMPLATE = BENCH / "kamailio-static.cfg"


def build_store(path: Path, blocked: list[str]) -> None:
    with Store(path, Config(environ={})) as store:
        seed_demo(store)
        with store.transaction() as con:
            con.execute(
                "INSERT INTO campaigns (campaign_id, numbers, calls, score) "
                "VALUES ('C000900', ?, 100000, 0.97)",
                [len(blocked)],
            )
            con.executemany(
                "INSERT INTO campaign_numbers (campaign_id, number, linked_by) "
                "VALUES ('C000900', ?, 'bench')",
                [(n,) for n in blocked],
            )


def start_callradar(db: Path, http_port: int, sip_port: int, token: str, log: Path) -> Any:
    exe = Path(sys.executable).with_name("callradar")
    env = {**os.environ, "CALLRADAR_SERVE_TOKENS": f"{token}:carrier"}
    cmd = [str(exe), "serve", "--db", str(db), "--http", f"127.0.0.1:{http_port}"]
    cmd += ["--sip", f"127.0.0.1:{sip_port}"]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("callradar serve exited: " + log.read_text(errors="replace"))
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError("callradar serve did not start in 180 s")


def start_kamailio(work: Path, port: int, blocked: list[str]) -> Any:
    lines = "\n".join(f"\t$sht(blk=>{n}) = 1;" for n in blocked)
    cfg = work / "kamailio.cfg"
    cfg.write_text(KAMAILIO_TEMPLATE.read_text().replace("@BLOCKLIST@", lines), encoding="utf-8")
    cmd = ["kamailio", "-f", str(cfg), "-DD", "-E", "-Y", str(work)]
    cmd += ["-A", f"LISTEN=udp:127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=(work / "kam.log").open("wb"))
    time.sleep(1.5)
    if proc.poll() is not None:
        raise RuntimeError("kamailio exited: " + (work / "kam.log").read_text(errors="replace"))
    return proc


def stop(proc: Any) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


# -- SIP ---------------------------------------------------------------------------------
def sipp_step(port: int, rate: int, seconds: float, inf: Path, work: Path) -> dict[str, Any]:
    calls = int(rate * seconds)
    step = work / f"sipp-{port}-{rate}"
    step.mkdir()
    cmd = ["sipp", f"127.0.0.1:{port}", "-sf", str(SCENARIO), "-inf", str(inf)]
    cmd += ["-r", str(rate), "-m", str(calls), "-l", str(max(2 * rate, 1000))]
    cmd += ["-i", "127.0.0.1", "-p", str(free_port()), "-nostdin"]
    cmd += ["-timeout", f"{int(seconds + 60)}s", "-recv_timeout", "2000"]
    cmd += ["-buff_size", str(4 << 20)]  # SIPp's own socket must not drop answers either
    cmd += ["-trace_rtt", "-rtt_freq", "100", "-trace_stat", "-stf", "stat.csv", "-fd", "1"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=step, capture_output=True, text=True, timeout=seconds + 120)
    wall = time.monotonic() - t0
    rtts: list[float] = []
    for f in step.glob("*_rtt.csv"):
        with f.open() as fh:
            next(fh, None)
            rtts += [float(line.split(";")[1]) for line in fh if line.count(";") >= 2]
    ok = failed = 0
    elapsed = wall
    stat = step / "stat.csv"
    if stat.exists():
        rows = list(csv.reader(stat.open(), delimiter=";"))
        if len(rows) >= 2:
            head, last = rows[0], rows[-1]
            ok = int(last[head.index("SuccessfulCall(C)")])
            failed = int(last[head.index("FailedCall(C)")])
            h, m, s = last[head.index("ElapsedTime(C)")].split(":")[:3]
            elapsed = max(int(h) * 3600 + int(m) * 60 + float(s), 1e-3)
    shutil.rmtree(step, ignore_errors=True)
    p99 = pct(rtts, 0.99)
    return {
        "offered_per_s": rate,
        "calls": calls,
        "ok": ok,
        "failed": failed,
        "achieved_per_s": round(ok / elapsed, 1),
        "p50_ms": pct(rtts, 0.5),
        "p99_ms": p99,
        "rtt_samples": len(rtts),
        "sipp_exit": r.returncode,
        "passed": failed == 0 and ok == calls and p99 < 20,
    }


def sip_counters(metrics_url: str) -> dict[str, float]:
    """callradar's SIP verdict and fail-open counters (to tell real verdicts from fail-opens)."""
    text = httpx.get(metrics_url, timeout=30).text
    out: dict[str, float] = {}
    for m in re.finditer(
        r'callradar_(verdicts_total\{channel="sip",decision="\w+"\}'
        r'|fail_open_total\{cause="\w+"\}) (\S+)',
        text,
    ):
        out[m.group(1)] = float(m.group(2))
    return out


def sip_ladder(
    name: str,
    port: int,
    rates: list[int],
    seconds: float,
    inf: Path,
    work: Path,
    metrics_url: str = "",
) -> list[dict[str, Any]]:
    out = []
    for rate in rates:
        before = sip_counters(metrics_url) if metrics_url else {}
        res = sipp_step(port, rate, seconds, inf, work)
        res["target"] = name
        if metrics_url:
            after = sip_counters(metrics_url)
            delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            res["verdicts"] = {
                k.split('decision="')[1].rstrip('"}'): v
                for k, v in delta.items()
                if k.startswith("verdicts")
            }
            res["fail_open"] = sum(v for k, v in delta.items() if k.startswith("fail_open"))
            res["passed"] = res["passed"] and res["fail_open"] <= 0.001 * res["calls"]
        out.append(res)
        print(
            f"  {name:9s} {rate:6d}/s offered: {res['achieved_per_s']:8.1f}/s ok, "
            f"{res['failed']} failed, p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms"
            + (
                f", verdicts {res['verdicts']}, fail-open {res['fail_open']:.0f}"
                if metrics_url
                else ""
            ),
            file=sys.stderr,
            flush=True,
        )
        if res["failed"] > 0.01 * res["calls"] or res["ok"] < 0.9 * res["calls"]:
            break  # overloaded: higher rates only lose more calls
        time.sleep(1.0)
    return out


# -- HTTP --------------------------------------------------------------------------------
def _call(rnd: random.Random) -> dict[str, str]:
    caller = (
        f"+8621500000{rnd.randrange(1, 21):02d}"
        if rnd.random() < 0.5
        else f"+86139{rnd.randrange(10**8):08d}"
    )
    return {"caller": caller, "callee": f"+86138{rnd.randrange(10**8):08d}", "trunk": "T1"}


async def http_load(
    port: int, token: str, rate: int, seconds: float, conns: int, batch: int = 0
) -> dict[str, Any]:
    """Open-loop load: ``rate`` requests/s of one verdict (or of ``batch`` verdicts each)."""
    loop = asyncio.get_running_loop()
    n = int(rate * seconds)
    rnd = random.Random(7)
    if batch:
        path = b"/v1/verdicts"
        bodies = [
            json.dumps({"calls": [_call(rnd) for _ in range(batch)]}).encode()
            for _ in range(min(n, 500))
        ]
    else:
        path = b"/v1/verdict"
        bodies = [json.dumps(_call(rnd)).encode() for _ in range(min(n, 5000))]
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    lat: list[float] = []
    status: dict[int, int] = {}
    clen = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (item := await queue.get()) is not None:
                sched, body = item
                writer.write(
                    b"POST "
                    + path
                    + b" HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer "
                    + token.encode()
                    + b"\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                m = clen.search(head)
                await reader.readexactly(int(m.group(1)) if m else 0)
                code = int(head[9:12])
                status[code] = status.get(code, 0) + 1
                lat.append(loop.time() - sched)
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(conns)]
    start = loop.time() + 0.3
    for i in range(n):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0.001:
            await asyncio.sleep(delay)
        queue.put_nowait((due, bodies[i % len(bodies)]))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=seconds + 120)
    took = loop.time() - start
    ms = [x * 1000 for x in lat]
    return {
        "offered_per_s": rate,
        "requests": n,
        "completed_per_s": round(len(lat) / took, 1),
        "status": status,
        "p50_ms": round(pct(ms, 0.5), 2),
        "p99_ms": round(pct(ms, 0.99), 2),
        "max_ms": round(max(ms), 2) if ms else None,
        "connections": conns,
        "verdicts_per_request": batch or 1,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each load step")
    ap.add_argument("--http-rate", type=int, default=2000)
    ap.add_argument("--rates", default="500,1000,2000,3000,4000,6000,8000")
    ap.add_argument("--blocked", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rates = 2.0, "500,1000"
    rates = [int(x) for x in args.rates.split(",")]
    load0 = os.getloadavg()
    rnd = random.Random(1)
    blocked = sorted({f"+8621{rnd.randrange(10**8):08d}" for _ in range(args.blocked)})
    results: dict[str, Any] = {"load_avg_before": load0, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        inf = work / "callers.csv"
        with inf.open("w") as f:
            f.write("SEQUENTIAL\n")
            for i in range(20_000):
                caller = (
                    blocked[i % len(blocked)] if i % 2 == 0 else f"+86139{rnd.randrange(10**8):08d}"
                )
                f.write(f"{caller};+86138{rnd.randrange(10**8):08d};\n")
        db = work / "bench.duckdb"
        build_store(db, blocked)
        token = secrets.token_hex(12)
        http_port, sip_port, kam_port = free_port(), free_port(), free_port()
        t0 = time.monotonic()
        proc = start_callradar(db, http_port, sip_port, token, work / "serve.log")
        results["callradar_startup_s"] = round(time.monotonic() - t0, 1)
        try:
            print("HTTP:", file=sys.stderr)
            results["http"] = asyncio.run(
                http_load(http_port, token, args.http_rate, args.seconds, 64)
            )
            print(f"  single: {results['http']}", file=sys.stderr)
            time.sleep(2.0)
            results["http_batch"] = asyncio.run(
                http_load(http_port, token, args.http_rate // 50, args.seconds, 8, batch=50)
            )
            print(f"  batch of 50: {results['http_batch']}", file=sys.stderr)
            print("SIP:", file=sys.stderr)
            results["sip_callradar"] = sip_ladder(
                "callradar",
                sip_port,
                rates,
                args.seconds,
                inf,
                work,
                f"http://127.0.0.1:{http_port}/metrics",
            )
            metrics = httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=30).text
            results["callradar_fail_open"] = {
                m.group(1): float(m.group(2))
                for m in re.finditer(r'callradar_fail_open_total\{cause="(\w+)"\} (\S+)', metrics)
            }
        finally:
            stop(proc)
        if shutil.which("kamailio"):
            kam = start_kamailio(work, kam_port, blocked)
            try:
                results["sip_kamailio"] = sip_ladder(
                    "kamailio", kam_port, rates, args.seconds, inf, work
                )
            finally:
                stop(kam)
    results["load_avg_after"] = os.getloadavg()
    for name in ("sip_callradar", "sip_kamailio"):
        passed = [r["achieved_per_s"] for r in results.get(name, []) if r["passed"]]
        results[name + "_sustained_per_s"] = max(passed) if passed else 0.0
    out = json.dumps(results, indent=2, default=str)
    print(out)
    if args.json:
        args.json.write_text(out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
