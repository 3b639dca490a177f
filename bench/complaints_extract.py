"""Throughput of complaint analysis: extract() per text and analyse_complaints() on a store.

Usage (from the repository root)::

    uv run python bench/complaints_extract.py [--n 5000]

Texts are the hand-written golden complaints (tests/golden/complaints/extract.jsonl)
with their numbers varied, so no two texts are identical (the number cache cannot help).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from callradar.complaints import analyse_complaints, extract
from callradar.config import Config
from callradar.store import Store

GOLDEN = (
    Path(__file__).resolve().parent.parent / "tests" / "golden" / "complaints" / "extract.jsonl"
)


def texts(n: int, seed: int = 7) -> list[str]:
    base = [json.loads(line)["text"] for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(seed)
    return [base[i % len(base)].replace("5678", f"{rng.randrange(10_000):04d}") for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    data = texts(args.n)
    extract("预热 warm-up 021-5234-5678")  # load jieba once
    t0 = time.perf_counter()
    for t in data:
        extract(t)
    per_text = (time.perf_counter() - t0) / len(data)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "b.duckdb", Config()) as store:
        store.sql(
            "INSERT INTO complaints (complaint_id, received_time, complainant, reported_numbers, "
            "text) SELECT 'k' || i, now(), '+8613900000000', [], t "
            "FROM (SELECT unnest(?) AS t, unnest(range(?)) AS i)",
            [data, len(data)],
        )
        t1 = time.perf_counter()
        added = analyse_complaints(store)
        store_secs = time.perf_counter() - t1
    print(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "machine": f"{platform.machine()} {os.cpu_count()} cores (shared)",
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "texts": len(data),
                "extract_ms_per_text": round(per_text * 1000, 3),
                "analyse_complaints_seconds": round(store_secs, 2),
                "analyse_complaints_per_second": round(added / store_secs, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
