"""Benchmark: CDR ingest throughput and peak memory, beside a bare DuckDB typed load.

Generates an N-row CDR file (CSV and Parquet) with realistic number forms and
about 0.1 % bad rows in a temporary directory (deleted afterwards), then, each
in a fresh child process so peak memory (max RSS) is measured per run:

(a) bare: one ``CREATE TABLE AS SELECT`` from the file, typed casts and the
    numbers normalized by the same SQL fast path, nothing validated;
(b) callradar: ``ingest_files`` into a fresh store (validation, quarantine,
    duplicate check, numbering classification into ``numbers``, run record).

    uv run python bench/bench_ingest.py --rows 10000000
    uv run python bench/bench_ingest.py --rows 200000 --no-write   # quick look

Goal (issue 2): callradar >= 500,000 rows/s from CSV and >= 1,000,000 rows/s
from Parquet, peak memory < 2 GB. Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

GEN_SQL = """
COPY (
  SELECT
    'c' || lpad(CAST(i AS VARCHAR), 10, '0') AS call_id,
    strftime(TIMESTAMP '2024-07-23 08:00:00' + to_microseconds(i * 8640),
             '%Y-%m-%dT%H:%M:%S') || '+08:00' AS start_time,
    CASE i % 5
      WHEN 0 THEN '021-' || CAST(5000 + (h1 % 4000) AS VARCHAR) || '-'
                  || lpad(CAST(h1 % 10000 AS VARCHAR), 4, '0')
      WHEN 1 THEN '+8621' || CAST(50000000 + h1 % 40000000 AS VARCHAR)
      WHEN 2 THEN '021' || CAST(50000000 + h1 % 40000000 AS VARCHAR)
      WHEN 3 THEN '165' || lpad(CAST(h1 % 100000000 AS VARCHAR), 8, '0')
      ELSE '+86 138 ' || lpad(CAST(h1 % 10000 AS VARCHAR), 4, '0') || ' '
                       || lpad(CAST((h1 // 7) % 10000 AS VARCHAR), 4, '0')
    END AS caller,
    CASE WHEN i % 3 = 0 THEN '86' ELSE '' END
      || (['138', '139', '136', '150', '186', '133', '177', '199'])[CAST(1 + h2 % 8 AS BIGINT)]
      || lpad(CAST((h2 // 8) % 100000000 AS VARCHAR), 8, '0') AS callee,
    'T' || CAST(h1 % 40 AS VARCHAR) AS trunk,
    CASE WHEN i % 1000 = 7 THEN '-1' ELSE CAST(round((h2 % 300) / 10.0, 1) AS VARCHAR) END
      AS ring_seconds,
    CASE WHEN h2 % 3 = 0 THEN 'true' ELSE 'false' END AS answered,
    CASE WHEN h2 % 3 = 0 THEN CAST(h1 % 120 AS VARCHAR) ELSE '0' END AS talk_seconds,
    CASE WHEN h2 % 3 = 0 THEN 'caller_hangup' WHEN i % 1000 = 9 THEN 'hung' ELSE 'no_answer' END
      AS end_reason
  -- callers from a pool of 500,000 numbers (campaign lines, businesses, people),
  -- callees from 5,000,000 subscribers
  FROM (SELECT i, CAST(hash(i) % 500000 AS BIGINT) * 7919 AS h1,
               CAST(hash(i * 31 + 7) % 5000000 AS BIGINT) * 8 + i % 8 AS h2
        FROM range({start}, {stop}) t(i))
) TO '{path}' ({opts})
"""

BARE = """
import json, os, sys, time, duckdb
from callradar.numbering import normalize_sql
path, db, fmt = sys.argv[1:4]
con = duckdb.connect(db)
con.execute("SET TimeZone = 'Asia/Shanghai'")
con.execute(f"SET memory_limit = '{os.environ.get('CALLRADAR_MEMORY_LIMIT', '4GB')}'")
con.execute("SET preserve_insertion_order = false")
src = (f"read_csv('{path}', header=true, all_varchar=true)" if fmt == "csv"
       else f"read_parquet('{path}')")
t = time.perf_counter()
con.execute(f'''CREATE TABLE calls AS SELECT call_id,
    CAST(start_time AS TIMESTAMPTZ) AS start_time,
    {normalize_sql('caller')} AS caller, {normalize_sql('callee')} AS callee, trunk,
    CAST(ring_seconds AS DOUBLE) AS ring_seconds, CAST(answered AS BOOLEAN) AS answered,
    CAST(talk_seconds AS DOUBLE) AS talk_seconds, end_reason FROM {src}''')
n = con.execute("SELECT count(*) FROM calls").fetchall()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t, "rows": n}))
"""

CALLRADAR = """
import json, sys, time
from callradar.config import Config
from callradar.ingest import ingest_files
from callradar.ingest.pipeline import LAST_TIMINGS
from callradar.store import Store
path, db, fmt, path2 = sys.argv[1:5]
import callradar.numbering as nb
nb._geo()  # import phonenumbers' geocoding table before the clock starts
with Store(db, Config()) as store:
    t = time.perf_counter()
    (res,) = ingest_files(store, [path])
    secs = time.perf_counter() - t
    out = {"seconds": secs, "rows": res.read, "result": res.to_dict(), "steps": dict(LAST_TIMINGS)}
    t = time.perf_counter()
    (res2,) = ingest_files(store, [path2])
    out["day2"] = {"seconds": time.perf_counter() - t, "result": res2.to_dict(),
                   "steps": dict(LAST_TIMINGS)}
print(json.dumps(out))
"""


def run_child(code: str, args: list[str], env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{err}")
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--formats", default="csv,parquet")
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the Markdown section to this file (paste it into docs/benchmarks.md)",
    )
    ap.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB memory limit for both loads (sets CALLRADAR_MEMORY_LIMIT), e.g. 1GB",
    )
    args = ap.parse_args()

    import duckdb

    env = dict(os.environ)
    if args.memory_limit:
        env["CALLRADAR_MEMORY_LIMIT"] = args.memory_limit
    results: dict[str, dict[str, dict[str, object]]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="callradar-bench-ingest-") as tmp:
        tmpd = Path(tmp)
        for fmt in args.formats.split(","):
            path = tmpd / f"cdr.{fmt}"
            path2 = tmpd / f"cdr-day2.{fmt}"
            t = time.perf_counter()
            opts = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet"
            con = duckdb.connect()
            con.execute(f"SET temp_directory = '{tmpd}'")
            con.execute(GEN_SQL.format(start=0, stop=args.rows, path=path, opts=opts))
            # the next day: same number pools, new calls (most numbers already known)
            n2 = 2 * args.rows
            con.execute(GEN_SQL.format(start=args.rows, stop=n2, path=path2, opts=opts))
            con.close()
            size_mb = path.stat().st_size / 1e6
            print(
                f"generated {fmt}: {args.rows:,} rows, {size_mb:,.0f} MB "
                f"in {time.perf_counter() - t:.1f}s",
                file=sys.stderr,
            )
            results[fmt] = {}
            for name, code in (("bare", BARE), ("callradar", CALLRADAR)):
                db = tmpd / f"{name}-{fmt}.duckdb"
                res = run_child(code, [str(path), str(db), fmt, str(path2)], env)
                res["rows_per_s"] = args.rows / float(res["seconds"])  # type: ignore[arg-type]
                res["file_mb"] = size_mb
                results[fmt][name] = res
                print(
                    f"{fmt:8s} {name:10s} {res['rows_per_s']:>12,.0f} rows/s  "
                    f"{float(res['seconds']):7.1f}s  peak {float(res['peak_rss_mb']):,.0f} MB"
                    + (f"  steps {res['steps']}" if "steps" in res else ""),
                    file=sys.stderr,
                )
                if "day2" in res:
                    d2 = res["day2"]
                    print(
                        f"{fmt:8s} day 2      {args.rows / d2['seconds']:>12,.0f} rows/s  "
                        f"{d2['seconds']:7.1f}s  steps {d2['steps']}",
                        file=sys.stderr,
                    )
                for p in tmpd.glob(f"{name}-{fmt}.duckdb*"):
                    p.unlink()
            path.unlink()
            path2.unlink()
    load_after = os.getloadavg()
    report = render(args, results, load_before, load_after)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)


def render(args, results, load_before, load_after) -> str:  # type: ignore[no-untyped-def]
    import duckdb

    goals = {"csv": 500_000, "parquet": 1_000_000}
    lines = [
        "## Ingest benchmark (bench/bench_ingest.py)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}",
        f"- load average (1/5/15 min) before: {' / '.join(f'{x:.1f}' for x in load_before)}, "
        f"after: {' / '.join(f'{x:.1f}' for x in load_after)} "
        "(the machine was shared with other engineers' jobs while measuring)",
        f"- rows: {args.rows:,} CDRs per file, ~0.1 % bad rows, callers from 500k numbers, "
        "callees from 5M; a fresh store (every number is new: the worst case for numbering)",
        f"- DuckDB memory_limit: {args.memory_limit or 'default setting (4GB)'}",
        f"- command: `uv run python bench/bench_ingest.py --rows {args.rows}"
        + (f" --memory-limit {args.memory_limit}`" if args.memory_limit else "`"),
        "",
        "| input | load | rows/s | seconds | peak RSS | goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for fmt, by in results.items():
        for name, res in by.items():
            goal = ""
            if name == "callradar":
                ok = res["rows_per_s"] >= goals.get(fmt, 0) and res["peak_rss_mb"] < 2048
                goal = f">= {goals.get(fmt, 0):,} rows/s, < 2 GB: {'met' if ok else 'NOT met'}"
            lines.append(
                f"| {fmt} ({res['file_mb']:,.0f} MB) | {name} | {res['rows_per_s']:,.0f} | "
                f"{res['seconds']:.1f} | {res['peak_rss_mb']:,.0f} MB | {goal} |"
            )
            if "day2" in res:
                d2 = res["day2"]
                lines.append(
                    f"| {fmt}, next day | callradar, same store (numbers mostly known) | "
                    f"{args.rows / d2['seconds']:,.0f} | {d2['seconds']:.1f} | (same process) | |"
                )
    lines += ["", "Seconds per step of the callradar runs (`LAST_TIMINGS`):", ""]
    for fmt, by in results.items():
        cr = by.get("callradar", {})
        for label, steps in (
            (fmt, cr.get("steps", {})),
            (f"{fmt} next day", cr.get("day2", {}).get("steps", {})),
        ):
            lines.append(f"- {label}: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
