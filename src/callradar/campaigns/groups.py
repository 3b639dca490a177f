"""Joins of whole groups and of numbers still on their own, after the pair signals of
:mod:`callradar.campaigns.link` (whose docstring describes every signal): groups of two
ranges playing one prompt to citizens one of them re-dialled (``callees+prompt``), a
loner re-dialling a group's citizens (``callees+prompt``, ``range+callees``,
``callees``), and a loner in a group's run of lines (``run``) or among its lines
(``neighbours``)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from callradar.campaigns.slices import GROUP_CALLEES, query_groups
from callradar.campaigns.unionfind import UnionFind
from callradar.config import Config


class Suspect(NamedTuple):
    """A number whose best detect score reaches ``campaigns.min_score``."""

    number: str
    score: float
    trunk: str  # its main ingress trunk
    block: str
    range: str  # 1000-number range for fixed lines, else the block
    prompt: float | None  # its own recorded-prompt estimate, where clear
    share: float  # share of its answered calls at that prompt
    calls: int
    first_seen: Any
    last_seen: Any
    kind: str


@dataclass
class Linking:
    """What the joins read and change: the store, the suspects, their prompt lengths, the
    settings, the sets found so far, and the signals that linked each number."""

    store: Any
    info: dict[str, Suspect]
    prompt_of: dict[str, float]
    cfg: Config
    uf: UnionFind
    linked_by: dict[str, set[str]]

    def describe(
        self, groups: dict[str, list[str]], redials: list[tuple[str, str]]
    ) -> tuple[dict[str, set[str]], dict[str, float], set[frozenset[str]]]:
        """Per group (by root), the ranges its numbers come from and the mean prompt of
        those that play one (a group none of whose numbers does has none); and the pairs
        of groups that hold the two numbers of some re-dial pair."""
        ranges = {c: {self.info[m].range for m in ms} for c, ms in groups.items()}
        prompt = {
            c: float(np.mean(p))
            for c, ms in groups.items()
            if (p := [self.prompt_of[m] for m in ms if m in self.prompt_of])
        }
        redialled = {frozenset((self.uf.find(x), self.uf.find(y))) for x, y in redials}
        return ranges, prompt, redialled


def cross_range(lk: Linking, redials: list[tuple[str, str]]) -> None:
    """Join groups from different ranges that play the same prompt to the same citizens
    (``callees+prompt``): a vendor dials one client's slice from its landline range and
    its virtual block alike, and re-dials it from new numbers days later, so the two
    groups share a large part of their callees; other vendors' groups with a colliding
    prompt meet the same citizens only by chance, or where their sweeps cross one
    stretch of the city, so one number of each group must have re-dialled the other's
    (``redials``, in list order; see ``link._redial_pairs``)."""

    tol = float(lk.cfg.get("campaigns.cross_range_prompt_tolerance_s"))
    min_shared = int(lk.cfg.get("campaigns.cross_range_min_shared"))
    min_overlap = float(lk.cfg.get("campaigns.cross_range_min_overlap"))
    members = lk.uf.groups(lk.prompt_of)
    if len(members) < 2:
        return
    comp_ranges, comp_prompt, redialled = lk.describe(members, redials)
    pairs = query_groups(
        lk.store,
        f"""
        WITH {GROUP_CALLEES}, size AS (
            SELECT grp, count(*) AS n FROM gc GROUP BY grp
        ), shared AS (
            SELECT a.grp AS x, b.grp AS y, count(*) AS shared
            FROM gc a JOIN gc b ON a.callee = b.callee AND a.grp < b.grp GROUP BY ALL
        )
        SELECT x, y, shared, shared / least(sx.n, sy.n)
        FROM shared JOIN size sx ON sx.grp = x JOIN size sy ON sy.grp = y
        WHERE shared >= ? AND shared / least(sx.n, sy.n) >= ?
        ORDER BY shared DESC, x, y
        """,
        members,
        [min_shared, min_overlap],
    )
    for x, y, _shared, _overlap in pairs:
        if abs(comp_prompt[x] - comp_prompt[y]) > tol or comp_ranges[x] & comp_ranges[y]:
            continue  # other prompts, or one range (whose groups were told apart on purpose)
        if frozenset((x, y)) not in redialled:
            continue
        if not lk.uf.join(x, y):
            continue
        for m in members[x] + members[y]:
            lk.linked_by[m].add("callees+prompt")


def attach_by_callees(lk: Linking, redials: list[tuple[str, str]]) -> None:
    """A number still on its own joins the group whose citizens it re-dialled: a vendor
    gives each client its own slice of the target list, so the group that dialled most
    of the same citizens before is its campaign. A number with a prompt of its own
    joins a group playing that prompt, from any range (``callees+prompt``); a number
    that never played its prompt to a listener (a handful of calls) joins a group
    holding a number of its own range, i.e. its vendor (``range+callees``; mobiles,
    which have no ranges, need one more shared citizen, and must not be called by more
    than ``campaigns.attach_mobile_max_called_by`` numbers: a person's phone is called
    back by their contacts, who are also some campaign's callees). The number must
    have re-dialled citizens of one of the group's numbers in their order
    (``redials``)."""

    min_shared = int(lk.cfg.get("campaigns.attach_min_shared"))
    max_called_by = int(lk.cfg.get("campaigns.attach_mobile_max_called_by"))
    tol = float(lk.cfg.get("campaigns.cross_range_prompt_tolerance_s"))
    members = lk.uf.groups(lk.info)
    groups = {c: ms for c, ms in members.items() if len(ms) > 1}
    loose = [ms[0] for ms in members.values() if len(ms) == 1]
    if not groups or not loose:
        return
    group_ranges, group_prompt, redialled = lk.describe(groups, redials)
    hits = query_groups(
        lk.store,
        f"""
        WITH {GROUP_CALLEES}, lc AS (
            SELECT DISTINCT c.caller AS number, c.callee
            FROM _link_calls c JOIN _link_loose l ON l.number = c.caller
        )
        SELECT number, list(grp ORDER BY shared DESC, grp), list(shared ORDER BY shared DESC),
               (SELECT count(DISTINCT b.caller) FROM calls b WHERE b.callee = number)
        FROM (SELECT lc.number, gc.grp, count(*) AS shared FROM lc JOIN gc USING (callee)
              GROUP BY ALL)
        GROUP BY number ORDER BY number
        """,
        groups,
        loose=loose,
    )
    for number, comps, shared, called_by in hits:
        rng = lk.info[number].range
        mobile = lk.info[number].kind == "mobile"
        best, n = comps[0], shared[0]
        second = shared[1] if len(shared) > 1 else 0
        prompt = lk.prompt_of.get(number)
        if prompt is not None:
            theirs = group_prompt.get(best)
            if theirs is None or abs(theirs - prompt) > tol:
                continue
            signal = "callees+prompt"
        elif rng in group_ranges[best] and not mobile:
            signal = "range+callees"
        elif mobile and called_by <= max_called_by:
            signal, n = "callees", n - 1
        else:
            continue
        if n < min_shared or n < 2 * second or frozenset((best, number)) not in redialled:
            continue
        if not lk.uf.join(best, number):
            continue
        lk.linked_by[number].add(signal)


def attach_by_run(lk: Linking) -> None:
    """A number still on its own between two numbers of one group in its range (the
    nearest linked number below it and the nearest above it, each at most
    ``campaigns.run_max_gap`` away) joins that group (``run``): a dialer takes a
    client's lines from the range it bought in a run, in order. A group of at least
    three numbers only; or, from a group of two or more, the line just above the
    group's top one (the nearest linked number below it) that started dialling after
    all the group's lines of the range did, the line its dialer took next, unless a
    group starting above it was already dialling before it (it could be that group's
    first line). A number playing a prompt of its own must play the group's."""
    gap = int(lk.cfg.get("campaigns.run_max_gap"))
    tol = float(lk.cfg.get("campaigns.range_prompt_tolerance_s"))
    members = lk.uf.groups(lk.info)
    size = {root: len(ms) for root, ms in members.items()}

    def started(n: str) -> float:
        first = lk.info[n].first_seen
        return first.timestamp() if first is not None else float("inf")

    joins: list[tuple[str, str]] = []
    for numbers in _range_lines(lk).values():
        linked = [(v, n) for v, n in numbers if size[lk.uf.find(n)] >= 2]
        values = [v for v, _ in linked]
        # per group, when its newest line of this range started, and its lowest line
        newest: dict[str, float] = {}
        lowest: dict[str, str] = {}
        for _v, n in linked:
            g = lk.uf.find(n)
            newest[g] = max(newest.get(g, float("-inf")), started(n))
            lowest.setdefault(g, n)
        for v, number in numbers:
            if size[lk.uf.find(number)] != 1:
                continue
            i = bisect.bisect_left(values, v)
            if i == 0:
                continue
            lo, below = linked[i - 1]
            group = lk.uf.find(below)
            if v - lo > gap:
                continue
            above = lk.uf.find(linked[i][1]) if i < len(values) and values[i] - v <= gap else None
            between = above == group and size[group] >= 3  # two lines of one group
            # the line after a group's newest, which its dialer took next (a group above it,
            # if any, was dialling before it started: it is not that group's first line)
            taken_next = started(number) >= newest[group] and (
                above is None or started(lowest[above]) < started(number)
            )
            if not (between or taken_next):
                continue
            mine, theirs = lk.prompt_of.get(number), lk.prompt_of.get(below)
            if mine is not None and (theirs is None or abs(mine - theirs) > tol):
                continue
            joins.append((below, number))
    for below, number in joins:
        if lk.uf.join(below, number):
            lk.linked_by[number].add("run")


def attach_by_neighbourhood(lk: Linking) -> None:
    """A number still on its own joins the group holding every linked number within
    ``campaigns.neighbourhood`` numbers of it in its range, when some lie below it and
    some above (``neighbours``): a dialer takes a client's lines from its range in a
    run, so a line among one group's lines is that group's, even with too few answered
    calls to show a prompt and too few citizens to show a re-dial. This reaches further
    than :func:`attach_by_run` (whose nearest lines must be adjacent), but not past a
    group's edge: there, the line may be another client's first. A neighbourhood
    holding two groups (where two clients' runs meet) joins nothing. A number playing a
    prompt of its own must play the group's. Decided on the groups as they stand, all
    at once: a number joined here does not make its neighbours' case."""
    span = int(lk.cfg.get("campaigns.neighbourhood"))
    tol = float(lk.cfg.get("campaigns.range_prompt_tolerance_s"))
    if span <= 0:
        return
    members = lk.uf.groups(lk.info)
    group_of = {n: root for root, ms in members.items() for n in ms}
    joins: list[tuple[str, str]] = []
    for numbers in _range_lines(lk).values():
        linked = [(v, n) for v, n in numbers if len(members[group_of[n]]) >= 2]
        values = [v for v, _ in linked]
        for v, number in numbers:
            if len(members[group_of[number]]) != 1:
                continue
            near = linked[
                bisect.bisect_left(values, v - span) : bisect.bisect_right(values, v + span)
            ]
            # among one group's lines, not at their edge (see attach_by_run)
            if len({group_of[n] for _, n in near}) != 1 or not near[0][0] < v < near[-1][0]:
                continue
            mine = lk.prompt_of.get(number)
            theirs = [lk.prompt_of[n] for _, n in near if n in lk.prompt_of]
            if mine is not None and (not theirs or abs(mine - float(np.mean(theirs))) > tol):
                continue
            joins.append((near[0][1], number))
    for neighbour, number in joins:
        if lk.uf.join(neighbour, number):
            lk.linked_by[number].add("neighbours")


def _range_lines(lk: Linking) -> dict[str, list[tuple[int, str]]]:
    """Per range, its suspects' lines as ``(number as an integer, number)`` in number
    order; SIM-farm mobiles have no range."""
    by_range: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for number, r in lk.info.items():
        if r.range and r.kind != "mobile":
            by_range[r.range].append((int(number[1:]), number))
    for numbers in by_range.values():
        numbers.sort()
    return by_range
