"""Benchmark: learn + score one simulated city-day on DuckDB, and features on Spark beside it.

Goal (issue 4): learn + score a city-day of 50 million calls on DuckDB within
5 minutes on the 2-core machine, peak memory under 8 GB; the same pipeline on
Spark local mode on 10 million calls, timed side by side with DuckDB.

The city-day is generated with DuckDB SQL (:mod:`callradar.features.synth`:
ordinary subscribers, legitimate high-volume callers, 8 vendors with rotating
numbers, complaints and refusals) in a child process, as ``callradar ingest``
fills a store before ``callradar learn`` runs; it is not timed. Timed:

* ``learn``: day-window features (caller, trunk, block) + weak labels + fit;
* ``score``: every number of the day scored, reasons, ``number_scores`` and
  ``scores.csv`` written.

Peak memory is the timed process's maximum resident set (DuckDB runs in-process);
the Spark JVM is a separate process bounded by ``features.spark_driver_memory``.

    uv run python bench/bench_detect.py                       # 50M DuckDB, 10M Spark
    uv run python bench/bench_detect.py --rows 5000000 --spark-rows 1000000
    uv run python bench/bench_detect.py --rows 2000000 --no-spark
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from callradar.config import Config
from callradar.detect.pipeline import learn, score
from callradar.features import build_features
from callradar.features.synth import generate_city
from callradar.store import Store


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(label: str, fn: Any, out: dict[str, Any]) -> Any:
    load0 = os.getloadavg()[0]
    c0, t0 = _cpu(), time.perf_counter()
    res = fn()
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    out[label] = {
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "load_before": round(load0, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "peak_rss_gb": round(_rss_gb(), 2),
    }
    print(f"  {label}: {json.dumps(out[label])}", file=sys.stderr, flush=True)
    return res


class StepClock:
    """A ``progress`` callback that records wall and CPU seconds of each feature step."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}
        self._last: tuple[str, float, float] | None = None

    def __call__(self, msg: str) -> None:
        now, cpu = time.perf_counter(), _cpu()
        if self._last is not None:
            name, t0, c0 = self._last
            self.steps[name] = [round(now - t0, 2), round(cpu - c0, 2)]
        self._last = (msg, now, cpu)


def _score_phases(steps: dict[str, list[float]]) -> dict[str, list[float]]:
    phases: dict[str, list[float]] = {}
    names = list(steps)
    for i, (name, (wall, cpu)) in enumerate(steps.items()):
        if name.startswith("scored") and i == len(names) - 1:
            phase = "write outputs"
        elif name.startswith("compile"):
            phase = "compile"
        elif name.startswith("scored") or name.startswith("score the"):
            phase = "batches"
        else:
            phase = "before"
        acc = phases.setdefault(phase, [0.0, 0.0])
        acc[0], acc[1] = round(acc[0] + wall, 2), round(acc[1] + cpu, 2)
    return phases


def _generate(path: Path, rows: int, seed: int, memory_limit: str) -> float:
    """Generate the city-day into the store at ``path``; returns the seconds it took."""
    t0 = time.perf_counter()
    with Store(path, Config({"memory_limit": memory_limit}, environ={})) as store:
        generate_city(store, rows, days=1, seed=seed)
    return time.perf_counter() - t0


def generate(path: Path, rows: int, seed: int, memory_limit: str) -> float:
    """:func:`_generate` in a child process, as the calls of a real store were ingested
    by an earlier ``callradar ingest``: the timed ``learn`` and ``score`` then start
    from a store opened afresh (not from the generator's memory), and the peak memory
    measured is theirs (``docs/benchmarks.md`` has what generating in the timed
    process cost)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        seconds = pool.submit(_generate, path, rows, seed, memory_limit).result()
    print(f"  generated {rows:,} calls in {seconds:.1f} s", file=sys.stderr)
    return round(seconds, 1)


def run_duckdb(rows: int, work: Path, memory_limit: str) -> dict[str, Any]:
    out: dict[str, Any] = {"engine": "duckdb", "rows": rows}
    cfg = Config({"memory_limit": memory_limit}, environ={})
    path = work / f"duck-{rows}.duckdb"
    out["generate_seconds"] = generate(path, rows, 2026, memory_limit)
    with Store(path, cfg) as store:
        clock = StepClock()
        m = _timed("learn", lambda: learn(store, progress=clock), out)
        out["learn_detail"] = {
            k: m[k] for k in ("rows", "positive_rows", "seconds_features", "seconds_fit")
        }
        # [wall s, CPU s] from the start of each step to the start of the next
        out["learn_steps"] = clock.steps
        sclock = StepClock()
        s = _timed("score", lambda: score(store, work / "scores", progress=sclock), out)
        sclock("done")
        out["score_detail"] = s
        # [wall s, CPU s]: up to the model compile, the compile, the batches (read, predict,
        # decide, reasons), and from the last batch on (number_scores, scores.csv)
        out["score_steps"] = _score_phases(sclock.steps)
        out["caller_rows"] = store.sql(
            "SELECT count(*) FROM caller_features WHERE win = 'day'"
        ).fetchall()[0][0]
    out["learn_plus_score_seconds"] = round(out["learn"]["seconds"] + out["score"]["seconds"], 1)
    out["peak_rss_gb"] = round(_rss_gb(), 2)
    return out


def run_side_by_side(rows: int, work: Path, memory_limit: str, driver: str) -> dict[str, Any]:
    """Same store, same rows: day features on DuckDB and on Spark, then learn + score."""
    out: dict[str, Any] = {"rows": rows, "spark_driver_memory": driver}
    cfg = Config({"memory_limit": memory_limit, "features.spark_driver_memory": driver}, environ={})
    path = work / f"side-{rows}.duckdb"
    out["generate_seconds"] = generate(path, rows, 7, memory_limit)
    with Store(path, cfg) as store:
        _timed("features_duckdb", lambda: build_features(store, ("day",), engine="duckdb"), out)
        _timed("features_spark", lambda: build_features(store, ("day",), engine="spark"), out)
        _timed("learn_on_spark_features", lambda: learn(store), out)
        _timed("score", lambda: score(store, work / "scores-side"), out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000_000, help="calls in the DuckDB city-day")
    ap.add_argument("--spark-rows", type=int, default=10_000_000, help="calls for Spark vs DuckDB")
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--memory-limit", default="6GB", help="DuckDB memory limit")
    ap.add_argument("--spark-driver-memory", default="6g", help="Spark driver (local mode) memory")
    ap.add_argument("--work", type=Path, default=None, help="scratch directory (default: temp)")
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-detect-", dir=args.work) as tmp:
        work = Path(tmp)
        result: dict[str, Any] = {"cores": os.cpu_count(), "load_start": os.getloadavg()}
        if not args.no_duckdb:
            result["duckdb"] = run_duckdb(args.rows, work, args.memory_limit)
        if not args.no_spark:
            result["side_by_side"] = run_side_by_side(
                args.spark_rows, work, args.memory_limit, args.spark_driver_memory
            )
        result["load_end"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
