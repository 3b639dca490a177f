"""The evaluation report: figures, the quality goals they are held to, and a rich rendering.

Every figure is defined precisely in ``docs/quality.md`` (to be
merged into ``docs/quality.md``). A figure that cannot be computed from the
inputs given (a column or file missing) is ``None`` and a note says why; a goal
on such a figure is neither passed nor failed but ``n/a``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.table import Table


@dataclass
class Coverage:
    """What was evaluated: files, rows, the window of the decided calls."""

    truth_files: list[str]
    decisions_file: str
    refusals_files: list[str]
    truth_calls: int
    decisions: int
    evaluated_calls: int
    unknown_call_ids: int
    missing_decisions: int | None
    window_start: str | None
    window_end: str | None
    days: int | None
    campaign_calls: int
    legit_calls: int
    #: decided calls per true class and decision: {"campaign": {"allow": n, ...}, "legit": ...}
    decision_counts: dict[str, dict[str, int]]


@dataclass
class Blocking:
    blocked_share: float | None
    caught_share: float | None
    legit_blocked_per_100k: float | None
    legit_labeled_per_100k: float | None
    legit_blocked: int
    legit_labeled: int
    #: per caller_kind of legitimate calls: {"kind", "calls", "blocked", "labeled"}
    legit_by_kind: list[dict[str, Any]] | None
    registry_calls: int | None
    registry_blocked: int | None
    registry_labeled: int | None
    registry_numbers_blocked: int | None
    score_auc: float | None


@dataclass
class Refusals:
    refusals: int | None
    mapped_to_campaign: int | None
    violations: int | None
    citizens_affected: int | None
    campaigns_involved: int | None


@dataclass
class Ringing:
    per_citizen_day_reached: float | None
    per_citizen_day_all: float | None
    max_per_citizen_day: int | None
    undefended_per_citizen_day_all: float | None


@dataclass
class BeforeBlock:
    """Calls a campaign number made before its first blocked call (group of numbers)."""

    numbers: int
    median: float | None
    p90: float | None
    max: int | None
    never_blocked: int
    never_blocked_calls: int


@dataclass
class Linking:
    linked_calls: int
    linked_share: float | None
    purity: float | None
    completeness: float | None
    predicted_campaigns: int
    true_campaigns: int
    legit_with_campaign_share: float | None


@dataclass(frozen=True)
class Goal:
    key: str
    label: str
    op: str  # ">=", "<=", "=="
    target: float
    get: Callable[[EvalReport], float | int | None]

    def check(self, report: EvalReport) -> bool | None:
        value = self.get(report)
        if value is None:
            return None
        ops = {">=": operator.ge, "<=": operator.le, "==": operator.eq}
        return bool(ops[self.op](value, self.target))

    @property
    def target_text(self) -> str:
        t = self.target
        shown = f"{t:.0%}" if 0 < t < 1 and self.key.endswith("share") else f"{t:g}"
        return f"{self.op} {shown}"


def _before_block_goal_value(r: EvalReport) -> float | None:
    group = r.goal_before_block_group()
    return None if group is None else r.before_block[group].median


#: The quality goals of issues 4 and 5.
GOALS: tuple[Goal, ...] = (
    Goal("blocked_share", "campaign calls blocked", ">=", 0.90, lambda r: r.blocking.blocked_share),
    Goal("caught_share", "campaign calls caught", ">=", 0.97, lambda r: r.blocking.caught_share),
    Goal(
        "legit_blocked_per_100k",
        "legitimate calls blocked per 100k",
        "<=",
        1.0,
        lambda r: r.blocking.legit_blocked_per_100k,
    ),
    Goal("refusal_violations", "refusal violations", "==", 0, lambda r: r.refusals.violations),
    Goal(
        "median_calls_before_block",
        "median calls before a new number is blocked",
        "<=",
        2.0,
        _before_block_goal_value,
    ),
    Goal("purity", "campaign purity", ">=", 0.95, lambda r: r.linking.purity),
    Goal("completeness", "campaign completeness", ">=", 0.90, lambda r: r.linking.completeness),
    Goal(
        "registry_blocked",
        "registry-number calls blocked",
        "==",
        0,
        lambda r: r.blocking.registry_blocked,
    ),
)


@dataclass
class EvalReport:
    coverage: Coverage
    blocking: Blocking
    refusals: Refusals
    ringing: Ringing
    #: groups "all", "new", "new_of_known_campaign", "new_of_new_campaign" (when computable)
    before_block: dict[str, BeforeBlock]
    linking: Linking
    notes: list[str] = field(default_factory=list)

    def goal_before_block_group(self) -> str | None:
        """The group the "median calls before block" goal is judged on.

        New numbers of campaigns already active before the window (issue 5's
        wording); when no campaign has history, all new numbers.
        """
        for group in ("new_of_known_campaign", "new"):
            stats = self.before_block.get(group)
            if stats is not None and stats.numbers > 0:
                return group
        return None

    def goals(self) -> list[dict[str, Any]]:
        """Each goal with its target, the measured value and ``passed`` (None: not measurable)."""
        out = []
        for g in GOALS:
            item: dict[str, Any] = {
                "key": g.key,
                "goal": g.label,
                "target": g.target_text,
                "value": g.get(self),
                "passed": g.check(self),
            }
            if g.key == "median_calls_before_block":
                item["group"] = self.goal_before_block_group()
            out.append(item)
        return out

    @property
    def all_goals_met(self) -> bool:
        """True when every goal passed (a goal that could not be measured is not met)."""
        return all(g["passed"] is True for g in self.goals())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["goals"] = self.goals()
        d["all_goals_met"] = self.all_goals_met
        return d


# -- rendering ----------------------------------------------------------------


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{value:.2%}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.1f}"
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


_GROUP_LABELS = {
    "all": "all campaign numbers",
    "new": "new numbers",
    "new_of_known_campaign": "new numbers of known campaigns",
    "new_of_new_campaign": "new numbers of new campaigns",
}


def _verdict(passed: bool | None) -> str:
    return {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "[yellow]n/a[/]"}[passed]


def render(report: EvalReport, notes: bool = True) -> Group:
    """The report as rich tables (summary with goals, legit breakdown, calls before block).

    ``notes=False`` leaves the notes out (the CLI sends them to stderr).
    """
    by_key = {g["key"]: g for g in report.goals()}
    cov, blk, ref, rng, lnk = (
        report.coverage,
        report.blocking,
        report.refusals,
        report.ringing,
        report.linking,
    )

    def goal_cells(key: str) -> tuple[str, str]:
        g = by_key.get(key)
        return ("", "") if g is None else (g["target"], _verdict(g["passed"]))

    window = f"{cov.window_start or '?'} .. {cov.window_end or '?'}"
    t = Table(
        title="callradar evaluation",
        caption=f"decided calls from {window}",
        title_justify="left",
        caption_justify="left",
    )
    t.add_column("metric", ratio=1)
    t.add_column("value", justify="right", no_wrap=True)
    t.add_column("goal", justify="right", no_wrap=True)
    t.add_column("", justify="center", no_wrap=True)
    t.add_row("calls evaluated", f"{cov.evaluated_calls:,}", "", "")
    t.add_row("  campaign / legitimate", f"{cov.campaign_calls:,} / {cov.legit_calls:,}", "", "")
    rows: list[tuple[str, str, str]] = [
        ("campaign calls blocked", _fmt(blk.blocked_share, "pct"), "blocked_share"),
        (
            "campaign calls caught (blocked or labeled)",
            _fmt(blk.caught_share, "pct"),
            "caught_share",
        ),
        (
            "legitimate calls blocked per 100k",
            f"{_fmt(blk.legit_blocked_per_100k)} ({blk.legit_blocked:,})",
            "legit_blocked_per_100k",
        ),
        (
            "legitimate calls labeled per 100k",
            f"{_fmt(blk.legit_labeled_per_100k)} ({blk.legit_labeled:,})",
            "",
        ),
        ("registry-number calls blocked", _fmt(blk.registry_blocked), "registry_blocked"),
        ("refusal violations", _fmt(ref.violations), "refusal_violations"),
        ("  citizens affected", _fmt(ref.citizens_affected), ""),
        ("campaign calls ringing / citizen-day (reached)", _fmt(rng.per_citizen_day_reached), ""),
        ("campaign calls ringing / citizen-day (all)", _fmt(rng.per_citizen_day_all), ""),
        ("  same without defence (all)", _fmt(rng.undefended_per_citizen_day_all), ""),
    ]
    group = report.goal_before_block_group()
    if group is not None:
        rows.append(
            (
                f"median calls before block ({_GROUP_LABELS.get(group, group)})",
                _fmt(report.before_block[group].median),
                "median_calls_before_block",
            )
        )
    rows += [
        ("campaign purity", _fmt(lnk.purity), "purity"),
        ("campaign completeness", _fmt(lnk.completeness), "completeness"),
        ("campaign calls given a campaign_id", _fmt(lnk.linked_share, "pct"), ""),
        ("legitimate calls given a campaign_id", _fmt(lnk.legit_with_campaign_share, "pct"), ""),
        ("score AUC (campaign vs legitimate)", _fmt(blk.score_auc), ""),
    ]
    for label, value, key in rows:
        t.add_row(label, value, *goal_cells(key))
    parts: list[Any] = [t]

    if report.before_block:
        b = Table(
            title="calls a campaign number makes before its first block", title_justify="left"
        )
        for col in ("numbers", "count", "median", "p90", "max", "never blocked", "their calls"):
            b.add_column(col, justify="right" if col != "numbers" else "left")
        for name, s in report.before_block.items():
            b.add_row(
                _GROUP_LABELS.get(name, name),
                _fmt(s.numbers),
                _fmt(s.median),
                _fmt(s.p90),
                _fmt(s.max),
                _fmt(s.never_blocked),
                _fmt(s.never_blocked_calls),
            )
        parts.append(b)

    if blk.legit_by_kind:
        k = Table(title="legitimate calls by kind of caller", title_justify="left")
        for col in ("caller kind", "calls", "blocked", "labeled"):
            k.add_column(col, justify="right" if col != "caller kind" else "left")
        for row in blk.legit_by_kind:
            k.add_row(row["kind"], _fmt(row["calls"]), _fmt(row["blocked"]), _fmt(row["labeled"]))
        parts.append(k)

    results = [g["passed"] for g in by_key.values()]
    verdict = "all goals met" if report.all_goals_met else "goals NOT all met"
    parts.append(
        f"[bold]{verdict}[/]: {results.count(True)} pass, {results.count(False)} fail, "
        f"{results.count(None)} n/a"
    )
    if notes:
        parts.extend(f"[yellow]note:[/] {note}" for note in report.notes)
    return Group(*parts)


def print_report(report: EvalReport, console: Console | None = None, notes: bool = True) -> None:
    (console or Console()).print(render(report, notes=notes))
