"""The simulation loop: build the city once, then generate and write day after day."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rich.progress import TaskID

from callradar.errors import BadRequestError
from callradar.simulate import numbers as nb
from callradar.simulate.complaints_text import (
    CHANNELS,
    complaint_text,
    reported_form,
)
from callradar.simulate.honeypot import Honeypots, honeypot_dirs
from callradar.simulate.legit import Legit
from callradar.simulate.scenario import Scenario, load_scenario
from callradar.simulate.vendors import REFUSAL_SOURCES, DayEvents, make_vendors
from callradar.simulate.world import Catalog, City
from callradar.simulate.writer import (
    COMPLAINTS_SCHEMA,
    REFUSALS_SCHEMA,
    REGISTRY_SCHEMA,
    Output,
    ts_array,
)

FORMATS = ("parquet", "csv")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Manifest:
    scenario: str
    seed: int
    days: int
    subscribers: int
    format: str
    start_date: str
    files: dict[str, int]
    calls: int
    seconds: float
    knobs: dict[str, Any]
    # Evaluation-only facts (like truth): never for learning or scoring.
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    vendors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _day_ms(date: dt.date) -> int:
    midnight = dt.datetime(date.year, date.month, date.day, tzinfo=SHANGHAI)
    return int(midnight.timestamp() * 1000)


_OUTPUT_NAME = re.compile(
    r"^((cdr|truth|complaints|refusals)-\d{4}-\d\d-\d\d|registry)\.(parquet|csv)$"
)


def _clear_previous_run(out: Path) -> None:
    """Remove the files of an earlier simulate run in ``out`` (only if it left a manifest)."""
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return
    for p in out.iterdir():
        if p.is_file() and _OUTPUT_NAME.match(p.name):
            p.unlink()
    for folder in honeypot_dirs(out).values():
        shutil.rmtree(folder)
    manifest.unlink()


def _registry_table(legit: Legit) -> pa.Table:
    nums: list[np.ndarray] = []
    orgs: list[str] = []
    cats: list[str] = []
    for o in legit.orgs():
        reg = o.numbers[o.registered]
        nums.append(reg)
        orgs += [o.name] * len(reg)
        cats += [o.category] * len(reg)
    # Registered organizations that place no calls in the simulation.
    extra = legit.registry_only
    nums.append(extra[0])
    orgs += extra[1]
    cats += extra[2]
    allnums = np.concatenate(nums)
    return pa.Table.from_arrays(
        [nb.e164_array(allnums), pa.array(orgs, pa.string()), pa.array(cats, pa.string())],
        schema=REGISTRY_SCHEMA,
    )


def _events_tables(
    events: list[DayEvents],
    city: City,
    catalog: Catalog,
    sc: Scenario,
    rng: np.random.Generator,
    tag: str,
) -> tuple[pa.Table, pa.Table]:
    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(e, name) for e in events]) if events else np.empty(0)

    r_ms = cat("refusal_ms").astype(np.int64)
    order = np.argsort(r_ms, kind="stable")
    refusals = pa.Table.from_arrays(
        [
            ts_array(r_ms[order]),
            nb.e164_array(city.numbers[cat("refusal_callee").astype(np.int64)[order]]),
            nb.e164_array(cat("refusal_caller").astype(np.int64)[order]),
            pa.array(np.asarray(REFUSAL_SOURCES)[cat("refusal_source").astype(np.int64)[order]]),
        ],
        schema=REFUSALS_SCHEMA,
    )
    c_ms = cat("complaint_ms").astype(np.int64)
    order = np.argsort(c_ms, kind="stable")
    callee = cat("complaint_callee").astype(np.int64)[order]
    caller = cat("complaint_caller").astype(np.int64)[order]
    camp = cat("complaint_campaign").astype(np.int64)[order]
    before = cat("complaint_refused").astype(bool)[order]
    texts: list[str] = []
    reported: list[str] = []
    channels: list[str] = []
    for i in range(len(order)):
        c = int(camp[i])
        texts.append(
            complaint_text(
                rng,
                catalog.campaign_client[c],
                catalog.campaign_category[c],
                int(caller[i]),
                bool(before[i]),
                float(sc["citizens.name_business"]),
                float(sc["citizens.mention_number"]),
            )
        )
        reported.append(
            reported_form(int(caller[i]), rng)
            if rng.random() < sc["citizens.report_number"]
            else ""
        )
        channels.append(CHANNELS[int(rng.choice(3, p=[0.6, 0.3, 0.1]))])
    ids = nb.fixed_id_array(tag, np.arange(len(order)), width=6)
    complaints = pa.Table.from_arrays(
        [
            ids,
            ts_array(c_ms[order]),
            nb.e164_array(city.numbers[callee]),
            pa.array(reported, pa.string()),
            pa.array(texts, pa.string()),
            pa.array(channels, pa.string()),
        ],
        schema=COMPLAINTS_SCHEMA,
    )
    return refusals, complaints


def simulate(
    scenario: str | Path = "demo",
    out: Path = Path("sim"),
    days: int | None = None,
    seed: int = 42,
    subscribers: int | None = None,
    fmt: str = "parquet",
    progress: bool = False,
) -> Manifest:
    """Simulate the city and write cdr/truth/complaints/refusals per day, registry, manifest."""
    if fmt not in FORMATS:
        from callradar.errors import did_you_mean

        raise did_you_mean(fmt, FORMATS, "output format")
    if seed < 0:
        raise BadRequestError("seed must be a non-negative integer")
    sc = load_scenario(scenario, days=days, subscribers=subscribers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous_run(out)
    t0 = time.perf_counter()
    catalog = Catalog()
    city = City(sc, seed, catalog)
    allocators = {k: nb.UnitAllocator(k, seed) for k in ("landline", "virtual")}
    reseller_trunks = [
        [catalog.trunk(f"RS{r + 1}-T{t + 1:02d}") for t in range(int(sc["resellers.trunks"]))]
        for r in range(int(sc["resellers.count"]))
    ]
    vendors = make_vendors(sc, seed, city, catalog, allocators, reseller_trunks)
    legit = Legit(sc, seed, city, catalog, allocators, reseller_trunks)
    honeypots = Honeypots(sc, seed, city, catalog, out)
    refused_any = np.zeros(city.n, dtype=bool)
    writer = Output(out, fmt, str(sc["output.compression"]), seed, catalog)
    writer.write_registry(_registry_table(legit))
    n_days = int(sc["city.days"])
    chunk_rows = int(sc["output.chunk_rows"])
    expected = city.n * float(sc["city.calls_per_day"]) * 1.06 + sum(v.volume for v in vendors)
    bar = _Progress(progress)
    try:
        for d in range(n_days):
            date = sc.start_date + dt.timedelta(days=d)
            day_ms = _day_ms(date)
            rng = np.random.default_rng([seed, 1000, d])
            writer.open_day(d, date)
            task = bar.add(f"day {date.isoformat()}", expected)
            events: list[DayEvents] = []
            for v in vendors:
                chunk, ev = v.day(d, day_ms, rng, city, refused_any)
                writer.write_calls(chunk)
                honeypots.take(chunk)
                events.append(ev)
                bar.advance(task, len(chunk))
            for chunk in legit.day(day_ms, rng, chunk_rows):
                writer.write_calls(chunk)
                bar.advance(task, len(chunk))
            refusals, complaints = _events_tables(
                events, city, catalog, sc, rng, f"S{seed}-C{d + 1:03d}-"
            )
            writer.close_day(refusals, complaints)
            if honeypots.enabled:
                recorded = honeypots.write_day(date, f"S{seed}-D{d + 1:03d}-")
                writer.rows[f"honeypot-{date.isoformat()}"] = recorded
            bar.done(task)
    finally:
        writer.close()
        bar.stop()
    manifest = Manifest(
        scenario=sc.name,
        seed=seed,
        days=n_days,
        subscribers=city.n,
        format=fmt,
        start_date=sc.start_date.isoformat(),
        files=dict(writer.rows),
        calls=writer.calls,
        seconds=round(time.perf_counter() - t0, 3),
        knobs=sc.knobs,
        campaigns=[
            {
                "campaign": catalog.campaign_ids[i],
                "vendor": catalog.campaign_vendor[i],
                "client": catalog.campaign_client[i],
                "category": catalog.campaign_category[i],
                "prompt_seconds": catalog.campaign_prompt[i],
            }
            for i in range(1, len(catalog.campaign_ids))
        ],
        vendors=[
            {
                "vendor": v.name,
                "code": v.code,
                "daily_volume": v.volume,
                "target_list": len(v.targets),
                "numeric_sweep": v.numeric,
                "ignores_refusals": v.ignore_prob,
            }
            for v in vendors
        ],
    )
    stable = {k: v for k, v in manifest.to_json().items() if k != "seconds"}
    (out / "manifest.json").write_text(
        json.dumps(stable, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8"
    )
    return manifest


class _Progress:
    """Rich progress bars on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.p = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.p = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self.p.start()

    def add(self, name: str, total: float) -> int:
        return self.p.add_task(name, total=int(total)) if self.p else 0

    def advance(self, task: int, n: int) -> None:
        if self.p:
            self.p.advance(TaskID(task), n)

    def done(self, task: int) -> None:
        if self.p:
            t = self.p.tasks[task]
            self.p.update(TaskID(task), total=t.completed)

    def stop(self) -> None:
        if self.p:
            self.p.stop()
