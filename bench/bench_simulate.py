"""Benchmark of ``callradar simulate``: calls written to Parquet per second, and peak memory.

Runs the ``shanghai`` scenario (25M subscribers, ~97M calls a day) for one day,
or a smaller city with ``--subscribers`` (the work per call is the same; vendor
and ordinary volume scale linearly), into a temporary folder that is removed
afterwards. Prints one JSON object: calls, seconds, calls/s, peak RSS, the
load average before and after (the machine may be shared), and the bytes written.

    uv run python bench/bench_simulate.py --subscribers 2500000
    uv run python bench/bench_simulate.py            # full city, 1 day
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from callradar.simulate import simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="shanghai")
    ap.add_argument("--subscribers", type=int, default=None)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep the output here")
    args = ap.parse_args()
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench_sim_")) if args.out is None else args.out
    try:
        t0 = time.perf_counter()
        m = simulate(
            args.scenario,
            tmp,
            days=args.days,
            seed=args.seed,
            subscribers=args.subscribers,
            progress=False,
        )
        wall = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in tmp.iterdir())
    finally:
        if args.out is None:
            shutil.rmtree(tmp, ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    print(
        json.dumps(
            {
                "scenario": m.scenario,
                "subscribers": m.subscribers,
                "days": m.days,
                "calls": m.calls,
                "seconds": round(wall, 2),
                "calls_per_second": round(m.calls / wall),
                "cpu_seconds": round(cpu, 2),
                "cpu_ns_per_call": round(cpu / m.calls * 1e9),
                "peak_rss_gb": round(peak_kb / 1024**2, 2),
                "bytes_written": size,
                "cpu_count": os.cpu_count(),
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
