"""Benchmark: replay throughput (calls/s, one process) and in-process verdict latency.

Builds a learned store from a simulated city (history days), then replays the
last day call by call and times it; then times ``Guard.decide`` per call on the
same engine state to get the latency distribution.

    uv run python bench/bench_replay.py --days 4 --subscribers 30000

Goal (issue 5): at least 50,000 calls/s in one process and p99 verdict latency
under 1 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="demo")
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--subscribers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from callradar.config import Config
    from callradar.demo import _day_files, run_demo
    from callradar.protect import CallSetup, Engine, Guard
    from callradar.protect.replay import learned_state_frozen
    from callradar.store import Store

    cfg = Config()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        # the demo path: simulate, ingest history, learn, replay the last day
        demo = run_demo(
            out,
            scenario=args.scenario,
            days=args.days,
            seed=args.seed,
            subscribers=args.subscribers,
            say=lambda _m: None,
        )
        result = demo.replay
        wall = demo.timings["replay"]
        cdr = _day_files(out / "sim", "cdr")
        last = demo.replay_day

        # latency: decide each call of the replayed day again, timing each verdict
        with Store(demo.db, cfg, read_only=True) as store:
            engine2 = Engine.from_store(store, cfg)
        import pyarrow.parquet as pq

        tbl = pq.read_table(
            cdr[last], columns=["call_id", "caller", "callee", "trunk", "start_time"]
        )
        starts = tbl.column("start_time").cast("int64").to_numpy() / 1e6
        order = np.argsort(starts, kind="stable")
        ids = tbl.column("call_id").to_pylist()
        callers = tbl.column("caller").to_pylist()
        callees = tbl.column("callee").to_pylist()
        trunks = tbl.column("trunk").to_pylist()
        engine2.classify(list(set(callers)))
        guard = Guard(engine2)
        lat = np.empty(len(order))
        clock = time.perf_counter_ns
        # as in the live server, which freezes its learned state once loaded
        with learned_state_frozen():
            for k, i in enumerate(order):
                call = CallSetup(ids[i], callers[i], callees[i], trunks[i] or "", float(starts[i]))
                a = clock()
                guard.decide(call)
                lat[k] = (clock() - a) / 1e6

    figures = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_avg_1m": os.getloadavg()[0],
        "replayed_calls": result.calls,
        "replay_loop_calls_per_s": round(result.calls_per_second),
        "replay_wall_s_incl_io": round(wall, 2),
        "replay_calls_per_s_incl_io": round(result.calls / wall),
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 4),
        "latency_ms_p99": round(float(np.percentile(lat, 99)), 4),
        "latency_ms_max": round(float(lat.max()), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()
