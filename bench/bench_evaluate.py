"""Benchmark: the evaluation harness on a large synthetic truth (history days + a decided day).

Generates ``--days`` days of truth (``--calls-per-day`` calls each, about 6 %
from rotating campaign numbers) as Parquet, refusals, and a decisions CSV for
the last day, all with DuckDB SQL; then runs ``evaluate`` in a fresh process and
reports wall time, throughput over the decided calls and that process's peak
memory (RSS). The data is shaped only to exercise every query, not to be
realistic.

    uv run python bench/bench_evaluate.py --calls-per-day 5000000 --days 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(out: Path, calls_per_day: int, days: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute("SET memory_limit = '2GB'")
    n = calls_per_day
    for d in range(days):
        date = f"2024-07-{d + 1:02d}"
        con.execute(
            f"""
            COPY (
              WITH r AS (SELECT i, hash(i * 7919 + {d}) AS h FROM range({n}) t(i))
              SELECT 'D{d}-' || i AS call_id,
                     h % 100 < 6 AS is_robocall,
                     CASE WHEN h % 100 < 6 THEN 'C' || (h // 100 % 40) ELSE '' END AS campaign,
                     CASE WHEN h % 100 < 6 THEN 'V' || (h // 100 % 8) ELSE '' END AS vendor,
                     CASE WHEN h % 100 < 6 THEN 'clinic' ELSE '' END AS client,
                     CASE WHEN h % 100 < 6
                          THEN '+8621' || lpad(CAST(h // 100 % 40 * 1000 + {d} * 150
                                                     + h // 4000 % 300 AS VARCHAR), 8, '0')
                          ELSE '+86138' || lpad(CAST(h // 7 % 2000000 AS VARCHAR), 8, '0')
                     END AS caller,
                     '+86131' || lpad(CAST(h // 13 % 3000000 AS VARCHAR), 8, '0') AS callee,
                     TIMESTAMPTZ '{date} 00:00:00+08' + to_microseconds(
                         CAST(i * 86400000000 // {n} AS BIGINT)) AS start_time,
                     CASE WHEN h % 100 < 6 THEN 'campaign'
                          ELSE ['ordinary', 'courier', 'bank', 'hospital'][
                                   CAST(1 + h // 3 % 4 AS BIGINT)] END
                       AS caller_kind,
                     h % 100 >= 6 AND h // 3 % 4 = 1 AND h // 11 % 2 = 0 AS in_registry
              FROM r
            ) TO '{out}/truth-{date}.parquet' (FORMAT parquet)
            """
        )
        con.execute(
            f"""
            COPY (
              SELECT start_time + INTERVAL 20 SECOND AS time, callee, caller, 'agent' AS source
              FROM '{out}/truth-{date}.parquet'
              WHERE is_robocall AND hash(call_id) % 50 = 0
            ) TO '{out}/refusals-{date}.parquet' (FORMAT parquet)
            """
        )
    con.execute(
        f"""
        COPY (
          SELECT call_id,
                 CASE WHEN is_robocall AND hash(call_id) % 100 < 92 THEN 'block'
                      WHEN is_robocall AND hash(call_id) % 100 < 98 THEN 'label'
                      WHEN hash(call_id) % 200000 = 0 THEN 'block'
                      ELSE 'allow' END AS decision,
                 CASE WHEN is_robocall THEN 0.9 ELSE 0.1 END AS score,
                 CASE WHEN is_robocall AND hash(call_id) % 10 > 0 THEN 'K' || campaign
                      ELSE '' END AS campaign_id,
                 'bench' AS reason
          FROM '{out}/truth-2024-07-{days:02d}.parquet'
        ) TO '{out}/decisions.csv' (HEADER)
        """
    )
    con.close()


def run_eval(out: Path) -> None:
    from callradar.evaluate import evaluate

    t0 = time.perf_counter()
    report = evaluate(out, out / "decisions.csv")
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak_mb),
                "evaluated_calls": report.coverage.evaluated_calls,
                "truth_calls": report.coverage.truth_calls,
                "blocked_share": report.blocking.blocked_share,
                "refusal_violations": report.refusals.violations,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--calls-per-day", type=int, default=2_000_000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--eval-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.eval_only is not None:
        run_eval(args.eval_only)
        return
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        generate(out, args.calls_per_day, args.days)
        gen_s = time.perf_counter() - t0
        res = subprocess.run(
            [sys.executable, __file__, "--eval-only", str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(res.stdout.strip().splitlines()[-1])
    result.update(
        calls_per_day=args.calls_per_day,
        days=args.days,
        generate_seconds=round(gen_s, 1),
        decided_calls_per_second=round(result["evaluated_calls"] / result["seconds"]),
        load_average=[round(x, 2) for x in os.getloadavg()],
        cpus=os.cpu_count(),
        python=platform.python_version(),
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
