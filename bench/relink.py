"""Relink and replay a kept quality run: what a change to linking or the call path does.

    uv run python bench/quality.py --days 4 --seed 21 --keep runs21     # once
    uv run python bench/relink.py runs21/sim_farm runs21/wide_spread    # after each change

For each folder ``bench/quality.py --keep`` left (a store learned on the history days
and the simulated days under ``sim/``), a copy of the store gets its campaigns linked
again from scratch with the current code (``--stages``: any pipeline stages, in
order), then the last day is replayed call by call and evaluated, as in
``bench/quality.py``. Learning is not repeated, so a change to linking or to the call
path is measured in about half a minute per scenario instead of seven. The truth is
read only by the evaluation.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from callradar import pipeline
from callradar.config import Config
from callradar.evaluate import evaluate
from callradar.protect.engine import Engine
from callradar.protect.replay import replay
from callradar.store import Store

GOALS = ("blocked_share", "caught_share", "legit_blocked_per_100k", "refusal_violations",
         "purity", "completeness", "median_calls_before_block")  # fmt: skip


def relink(run: Path, stages: list[str], work: Path) -> dict[str, float]:
    """Relink a copy of ``run``'s store (``stages``), replay its last day, evaluate."""
    sim = run / "sim"
    last = sorted(p.name[4:14] for p in sim.glob("cdr-*.parquet"))[-1]
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "callradar.duckdb", work / "callradar.duckdb")
    cfg = Config()
    with Store(work / "callradar.duckdb", cfg) as store:
        if "campaigns" in stages:  # from scratch: no ids inherited from the kept run
            store.sql("DELETE FROM campaign_numbers")
            store.sql("DELETE FROM campaigns")
        for _ in pipeline.run(store, stages, cfg):
            pass
        engine = Engine.from_store(store, cfg)

    def day(kind: str) -> Path:
        return sim / f"{kind}-{last}.parquet"

    decisions = work / "decisions.csv"
    replay(engine, day("cdr"), decisions, refusals=day("refusals"),
           complaints=day("complaints"), config=cfg)  # fmt: skip
    report = evaluate(sorted(sim.glob("truth-*.*")), decisions, sorted(sim.glob("refusals-*.*")))
    values = {g["key"]: g["value"] for g in report.to_dict()["goals"]}
    return {k: values[k] for k in GOALS if k in values}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="scenario folders of a kept quality run")
    ap.add_argument("--stages", default="campaigns", help="stages to rerun, comma-separated")
    ap.add_argument("--json", action="store_true", help="one JSON line per run instead")
    args = ap.parse_args()
    stages = [s for s in args.stages.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="callradar-relink-") as tmp:
        for run in args.runs:
            goals = relink(run, stages, Path(tmp) / run.name)
            if args.json:
                print(json.dumps({"run": str(run), **goals}))
                continue
            line = " / ".join(f"{goals[k]:.3f}" if k in goals else "n/a" for k in GOALS)
            print(f"{run}: {line}  ({' / '.join(GOALS)})")


if __name__ == "__main__":
    main()
