"""Quality per scenario: simulate, learn on history, replay the held-out last day, evaluate.

    uv run python bench/quality.py                       # every scenario, default sizes
    uv run python bench/quality.py --scenarios demo --days 5 --subscribers 20000
    uv run python bench/quality.py --json > runs.jsonl   # then: --from-json runs.jsonl

For each scenario it runs exactly the demo path (``callradar.demo.run_demo``):
the detector learns only from the history days (call records, complaints,
refusals, registry; never the truth), the last day is replayed call by call
under the replay protocol, and ``callradar eval`` compares the decisions with
the simulator's truth. Prints one Markdown table (and ``--json`` lines).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

SCENARIOS = ("demo", "slow_rotation", "wide_spread", "sim_farm", "random_prompt", "legit_robovoice")


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key.endswith("share") or key in ("purity", "completeness"):
        return f"{float(value):.1%}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of the quality goals per scenario, from evaluation reports."""
    goals = rows[0]["goals"] if rows else []
    header = ["scenario", "replayed calls"] + [f"{g['goal']} ({g['target']})" for g in goals]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["_scenario"], f"{r['_replayed_calls']:,}"]
        for g in r["goals"]:
            mark = " **miss**" if g["passed"] is False else ""
            cells.append(_fmt(g["key"], g["value"]) + mark)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--subscribers", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="also print one JSON line per scenario")
    ap.add_argument("--keep", type=Path, default=None, help="keep the outputs under this folder")
    ap.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="only render the table from the JSON lines of an earlier --json run",
    )
    args = ap.parse_args()
    if args.from_json is not None:
        lines = args.from_json.read_text(encoding="utf-8").splitlines()
        print(render_table([json.loads(x) for x in lines if x.startswith("{")]))
        return

    from callradar.demo import run_demo

    rows = []
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        base = args.keep or Path(tempfile.mkdtemp(prefix="callradar-quality-"))
        t0 = time.perf_counter()
        result = run_demo(
            base / name,
            scenario=name,
            days=args.days,
            seed=args.seed,
            subscribers=args.subscribers,
            say=lambda _m: None,
        )
        report = result.evaluation.to_dict()
        report["_scenario"] = name
        report["_seconds"] = round(time.perf_counter() - t0, 1)
        report["_replayed_calls"] = result.replay.calls
        rows.append(report)
        if args.json:
            print(json.dumps(report, default=str))
    print(
        f"\n{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}; days={args.days} (last one replayed), seed={args.seed}"
    )
    print(render_table(rows))


if __name__ == "__main__":
    main()
