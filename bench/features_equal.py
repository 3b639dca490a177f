"""Check: the feature SQL of this checkout gives the same tables as another revision's.

A rewrite of :mod:`callradar.features.sql` for speed must not change a value.
This script generates one synthetic city (:mod:`callradar.features.synth`),
computes the features with the code of this checkout and, on a copy of the
same store, with the code of ``--against`` (``git archive`` of its ``src``,
run in a subprocess), and compares ``caller_features``, ``trunk_features``
and ``block_features`` row by row: same keys, numbers equal within
``--tol`` (relative, and absolute below 1), everything else identical.

    uv run python bench/features_equal.py --rows 1000000 --against main
    uv run python bench/features_equal.py --rows 10000000 --windows day --against main

Exit status 0 when the tables match, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import duckdb

from callradar.config import Config
from callradar.features import build_features
from callradar.features.synth import generate_city
from callradar.store import Store

KEYS = {
    "caller_features": ("number", "win", "win_start"),
    "trunk_features": ("trunk", "win", "win_start"),
    "block_features": ("block", "win", "win_start"),
}
NUMERIC = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT")

_CHILD = """
import sys
from callradar.config import Config
from callradar.features import build_features
from callradar.store import Store
with Store(sys.argv[1], Config({"memory_limit": sys.argv[3]}, environ={})) as s:
    build_features(s, tuple(sys.argv[2].split(",")))
"""


def dump(db: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    for table in KEYS:
        con.execute(f"COPY (SELECT * FROM {table}) TO '{out / table}.parquet' (FORMAT parquet)")
    con.close()


def compare(a: Path, b: Path, tol: float) -> list[str]:
    """Differences between the dumps in ``a`` and ``b`` (empty: equal)."""
    con = duckdb.connect()
    problems: list[str] = []
    for table, key in KEYS.items():
        x, y = f"'{a / table}.parquet'", f"'{b / table}.parquet'"
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {x})").fetchall())
        on = " AND ".join(f"x.{k} IS NOT DISTINCT FROM y.{k}" for k in key)
        n_x, n_y, n_both = (
            con.execute(f"SELECT count(*) FROM {x}").fetchall()[0][0],
            con.execute(f"SELECT count(*) FROM {y}").fetchall()[0][0],
            con.execute(f"SELECT count(*) FROM {x} x JOIN {y} y ON {on}").fetchall()[0][0],
        )
        print(f"{table}: {n_x:,} rows here, {n_y:,} there, {n_both:,} matched", file=sys.stderr)
        if not n_x == n_y == n_both:
            problems.append(f"{table}: rows differ")
        for col, typ in types.items():
            if col in key or col == "computed_at":
                continue
            if typ in NUMERIC:
                same = (
                    f"(x.{col} IS NULL AND y.{col} IS NULL) OR abs(x.{col} - y.{col}) "
                    f"<= {tol} * greatest(1, abs(x.{col}))"
                )
            else:
                same = f"x.{col} IS NOT DISTINCT FROM y.{col}"
            n = con.execute(
                f"SELECT count(*) FROM {x} x JOIN {y} y ON {on} WHERE NOT ({same})"
            ).fetchall()[0][0]
            if n:
                problems.append(f"{table}.{col}: {n:,} rows differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--windows", default="hour,day,week")
    ap.add_argument("--against", default="main", help="git revision to compare with")
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument("--memory-limit", default="6GB")
    args = ap.parse_args(argv)
    windows = tuple(args.windows.split(","))
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="features-equal-") as tmp:
        work = Path(tmp)
        here, there = work / "here.duckdb", work / "there.duckdb"
        cfg = Config({"memory_limit": args.memory_limit}, environ={})
        with Store(here, cfg) as store:
            generate_city(store, args.rows, days=args.days, seed=11)
        shutil.copy(here, there)
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", args.against, "src"],
            check=True,
            capture_output=True,
        ).stdout
        (work / "src.tar").write_bytes(archive)
        with tarfile.open(work / "src.tar") as tar:
            tar.extractall(work / "old", filter="data")
        env = dict(os.environ, PYTHONPATH=str(work / "old" / "src"))
        subprocess.run(
            [sys.executable, "-c", _CHILD, str(there), ",".join(windows), args.memory_limit],
            check=True,
            env=env,
        )
        with Store(here, cfg) as store:
            build_features(store, windows)
        dump(here, work / "here")
        dump(there, work / "there")
        problems = compare(work / "here", work / "there", args.tol)
    for p in problems:
        print("DIFFERENT:", p)
    print("equal" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
