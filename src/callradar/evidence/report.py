"""Write the dossiers: ``campaigns.json``, an HTML index and, per campaign, a page and CSVs."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from jinja2 import Environment, PackageLoader, select_autoescape

from callradar.errors import BadRequestError
from callradar.evidence import dossier, svg
from callradar.privacy import Pseudonymizer

ROLES = ("public", "regulator")

#: per-campaign CSV extracts: file name -> key of the dossier detail
EXTRACTS = {
    "numbers.csv": "numbers",
    "blocks.csv": "blocks",
    "trunks.csv": "trunks",
    "volume_by_day.csv": "volume_by_day",
    "volume_by_hour.csv": "volume_by_hour",
    "refusals_ignored.csv": "refusals_ignored",
    "complaints.csv": "complaints",
    "businesses.csv": "businesses",
}

_env: Environment | None = None


def env() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("callradar.evidence", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _env.globals["authorities"] = dossier.AUTHORITIES
    return _env


def make_view(store: Any, role: str) -> dossier.View:
    if role not in ROLES and role != "admin":
        raise BadRequestError(f"unknown role {role!r} (roles: {', '.join(ROLES)})", role=role)
    return dossier.View(
        store.con, store.config, Pseudonymizer.for_store(store), reveal=role != "public"
    )


def safe_name(campaign_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", campaign_id) or "_"


def charts(d: dict[str, Any]) -> dict[str, str]:
    """The dossier's inline SVG charts: volume by day, by hour, and number rotation."""
    day = d["volume_by_day"]
    hour = d["volume_by_hour"]
    return {
        "by_day": svg.bars(
            [r["day"][5:] for r in day],
            [r["calls"] for r in day],
            "calls per day (dark: answered)",
            [r["answered"] for r in day],
        ),
        "by_hour": svg.bars(
            [f"{r['hour']:02d}" for r in hour],
            [r["calls"] for r in hour],
            "calls by hour of day (dark: answered)",
            [r["answered"] for r in hour],
        ),
        "rotation": svg.spans(
            [(r["number"], r["first_seen"], r["last_seen"]) for r in d["numbers"]],
            "number rotation: each number's active span",
        ),
    }


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    with path.open("w", newline="", encoding="utf-8") as f:
        return write_rows(f, rows)


def write_rows(f: TextIO, rows: Iterable[dict[str, Any]]) -> int:
    """CSV with a header row; list cells joined with ``;``."""
    rows = list(rows)
    cols: list[str] = list(rows[0]) if rows else []
    w = csv.writer(f)
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r[c]) for c in cols])
    return len(rows)


def _cell(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return ";".join(str(x) for x in v)
    return v


def write_report(
    store: Any,
    out_dir: str | Path,
    role: str = "public",
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write every campaign's dossier under ``out_dir``; returns the index page's path.

    ``role``: ``public`` (default) pseudonymizes citizens' and campaigns' numbers;
    ``regulator`` shows them in full.
    """
    view = dossier.prepare(make_view(store, role))
    try:
        return _write(view, Path(out_dir), role, progress)
    finally:
        dossier.release(view)


def _write(
    view: dossier.View, out: Path, role: str, progress: Callable[[int, int], None] | None
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    summaries = dossier.summaries(view)
    (out / "campaigns.json").write_text(
        json.dumps(summaries, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    pages = []
    for i, s in enumerate(summaries):
        cid = s["campaign_id"]
        d = dossier.detail(view, cid, s)
        folder = out / safe_name(cid)
        folder.mkdir(exist_ok=True)
        for name, key in EXTRACTS.items():
            write_csv(folder / name, d[key])
        (folder / "findings.json").write_text(
            json.dumps(d["findings"], ensure_ascii=False, indent=1), encoding="utf-8"
        )
        html = (
            env()
            .get_template("dossier.html")
            .render(
                d=d,
                s=s,
                charts_html="".join(charts(d).values()),
                extracts=list(EXTRACTS),
                role=role,
            )
        )
        (folder / "index.html").write_text(html, encoding="utf-8")
        pages.append(safe_name(cid))
        if progress is not None:
            progress(i + 1, len(summaries))
    index = out / "index.html"
    index.write_text(
        env().get_template("report_index.html").render(campaigns=summaries, pages=pages, role=role),
        encoding="utf-8",
    )
    return index
