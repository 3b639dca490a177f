"""The whole path in one call: simulate, ingest history, learn, replay, evaluate, report.

``callradar demo --out DIR`` is what a newcomer runs first. It uses only the
public entry points of each stage, in the order a carrier would: the simulator
writes files, ingest reads them, the audio stage analyses the history's
honeypot recordings (prompt fingerprints), the pipeline learns from history, replay
decides the held-out last day call by call under the replay protocol, and the
evaluation compares the decisions with the simulator's ground truth (read by
the evaluation only).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callradar.config import Config


@dataclass
class DemoResult:
    out: Path
    db: Path
    decisions: Path
    history_days: list[str]
    replay_day: str
    replay: Any
    evaluation: Any
    report_dir: Path
    timings: dict[str, float] = field(default_factory=dict)


def _day_files(sim: Path, kind: str) -> dict[str, Path]:
    out = {}
    for p in sorted(sim.glob(f"{kind}-*.*")):
        day = p.name[len(kind) + 1 :].split(".")[0]
        out[day] = p
    return out


def _analyse_honeypots(store: Any, folders: list[Path]) -> int:
    """The audio stage over the honeypot folders (recordings plus ``meta.csv``), in order."""
    from callradar.audio import analyse_files, read_meta
    from callradar.audio.io import audio_files

    n = 0
    for folder in folders:
        paths = audio_files(folder)
        if paths:
            analyse_files(paths, store=store, meta=read_meta(folder / "meta.csv"))
            n += len(paths)
    return n


def run_demo(
    out: Path,
    scenario: str = "demo",
    days: int = 7,
    seed: int = 7,
    subscribers: int | None = None,
    config: Config | None = None,
    say: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the demo end to end into ``out`` (a fresh store ``out/callradar.duckdb``)."""
    import time

    from callradar import pipeline
    from callradar.evaluate import evaluate
    from callradar.ingest import ingest_files
    from callradar.protect import Engine
    from callradar.protect.replay import replay
    from callradar.simulate import simulate
    from callradar.simulate.honeypot import honeypot_dirs
    from callradar.store import Store

    cfg = config or Config()
    log = say or (lambda msg: print(msg, file=sys.stderr))
    out.mkdir(parents=True, exist_ok=True)
    sim = out / "sim"
    timings: dict[str, float] = {}

    t = time.perf_counter()
    log(f"simulating {days} days of the {scenario!r} city (seed {seed}) into {sim}")
    simulate(scenario, sim, days=days, seed=seed, subscribers=subscribers, fmt="parquet")
    timings["simulate"] = time.perf_counter() - t

    cdr = _day_files(sim, "cdr")
    all_days = sorted(cdr)
    if len(all_days) < 2:
        from callradar.errors import BadRequestError

        raise BadRequestError("the demo needs at least 2 simulated days (history + replay)")
    history, last = all_days[:-1], all_days[-1]
    complaints = _day_files(sim, "complaints")
    refusals = _day_files(sim, "refusals")

    db = out / "callradar.duckdb"
    for leftover in (db, db.with_suffix(".duckdb.wal")):
        leftover.unlink(missing_ok=True)
    t = time.perf_counter()
    with Store(db, cfg) as store:
        files = [sim / "registry.parquet"]
        files += [cdr[d] for d in history]
        files += [complaints[d] for d in history if d in complaints]
        files += [refusals[d] for d in history if d in refusals]
        log(f"ingesting {len(files)} files of history ({history[0]} .. {history[-1]})")
        ingest_files(store, files)
        timings["ingest"] = time.perf_counter() - t

        honeypots = honeypot_dirs(sim)
        recorded = [honeypots[d] for d in history if d in honeypots]
        if recorded:
            t = time.perf_counter()
            n = _analyse_honeypots(store, recorded)
            log(f"analysed {n} honeypot recordings of history (prompt fingerprints)")
            timings["audio"] = time.perf_counter() - t

        t = time.perf_counter()
        for run in pipeline.run(store, pipeline.LEARN, cfg, on_stage=lambda s: log(f"learn: {s}")):
            timings[f"learn:{run.name}"] = run.seconds
        engine = Engine.from_store(store, cfg)

    decisions = out / "decisions.csv"
    log(f"replaying {last} call by call")
    t = time.perf_counter()
    result = replay(
        engine,
        cdr[last],
        decisions,
        refusals=refusals.get(last),
        complaints=complaints.get(last),
        config=cfg,
    )
    timings["replay"] = time.perf_counter() - t

    evaluation = evaluate(
        sorted(sim.glob("truth-*.*")), decisions, sorted(sim.glob("refusals-*.*"))
    )
    from callradar.evidence import write_report

    report_dir = out / "report"
    with Store(db, cfg) as store:
        write_report(store, report_dir)
    return DemoResult(
        out=out,
        db=db,
        decisions=decisions,
        history_days=history,
        replay_day=last,
        replay=result,
        evaluation=evaluation,
        report_dir=report_dir,
        timings=timings,
    )
