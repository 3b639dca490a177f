"""Telling one vendor's clients apart by the slices of its target list they dial.

Also the helper that runs SQL over groups of numbers registered as a table
(:func:`query_groups`), which the linking's group-level signals use.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# callees of each group of numbers registered as ``_link_groups`` (see query_groups)
GROUP_CALLEES = """gc AS (
                SELECT DISTINCT k.grp, c.callee
                FROM _link_calls c JOIN _link_groups k ON k.number = c.caller
            )"""


def query_groups(
    store: Any,
    sql: str,
    groups: dict[Any, list[str]],
    params: list[Any] | None = None,
    loose: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    """Run ``sql`` with the table ``_link_groups(number, grp)`` registered (and, given
    ``loose``, ``_link_loose(number)``)."""
    import pyarrow as pa

    names = ["_link_groups"]
    store.con.register(
        "_link_groups",
        pa.table(
            {
                "number": [m for ms in groups.values() for m in ms],
                "grp": [g for g, ms in groups.items() for _ in ms],
            }
        ),
    )
    if loose is not None:
        store.con.register("_link_loose", pa.table({"number": loose}))
        names.append("_link_loose")
    try:
        return list(store.sql(sql, params or []).fetchall())
    finally:
        for name in names:
            store.con.unregister(name)


MIN_SLICE_NUMBERS = 3  # numbers each client's part must hold before a group is split
MAX_SLICE_OVERLAP = 0.01  # share of the smaller part's callees the parts may share


class Slices:
    """Which numbers re-dialled the same citizens (one client's slice of a vendor's list),
    to tell apart the clients of one vendor whose prompts are too close to separate.

    Within one prompt group, the callee edges (``campaigns.callee_*``) form components;
    components active on disjoint days are one client not yet joined by re-dials; two
    or more parts left with at least ``MIN_SLICE_NUMBERS`` numbers each, which between
    them dialled (next to) no common citizen, are two clients (a client's numbers
    re-dial its own slice, never another's). The remaining numbers join the largest
    part. Groups split this way are kept apart
    by the later, weaker signals (sweeps, hand-overs, cross-range joins)."""

    def __init__(self, store: Any, pairs: list[tuple[str, str]], days: dict[str, set[Any]]) -> None:
        self.store = store
        self.adj: dict[str, set[str]] = defaultdict(set)
        for x, y in pairs:
            self.adj[x].add(y)
            self.adj[y].add(x)
        self.days = days
        self.label: dict[str, int] = {}
        self._next = 0

    def split(self, group: list[str]) -> list[list[str]]:
        members = set(group)
        seen: set[str] = set()
        comps: list[list[str]] = []
        for start in group:
            if start in seen:
                continue
            comp, todo = [], [start]
            seen.add(start)
            while todo:
                n = todo.pop()
                comp.append(n)
                for m in self.adj.get(n, ()):
                    if m in members and m not in seen:
                        seen.add(m)
                        todo.append(m)
            comps.append(comp)
        big = sorted((c for c in comps if len(c) > 1), key=len, reverse=True)
        # components active on disjoint days are one client not yet joined by re-dials
        parts: list[tuple[list[str], set[Any]]] = []
        for comp in big:
            active = set().union(*(self.days.get(n, set()) for n in comp))
            for part, part_days in parts:
                if not active & part_days:
                    part.extend(comp)
                    part_days |= active
                    break
            else:
                parts.append((list(comp), active))
        parts = [(p, d) for p, d in parts if len(p) >= MIN_SLICE_NUMBERS]
        if len(parts) < 2 or not self._disjoint([p for p, _ in parts]):
            return [group]
        kept = {n for p, _ in parts for n in p}
        rest = [n for n in group if n not in kept]
        parts[0][0].extend(rest)
        out = [part for part, _ in parts]
        for part in out:
            for n in part:
                self.label[n] = self._next
            self._next += 1
        return out

    def _disjoint(self, parts: list[list[str]]) -> bool:
        """Whether the parts dialled (next to) no common citizen: two clients' slices
        are disjoint, while one client's numbers not yet joined by re-dials still meet
        a few of the same citizens."""
        shared, smallest = query_groups(
            self.store,
            f"""
            WITH {GROUP_CALLEES}
            SELECT (SELECT count(*) FROM gc a JOIN gc b ON a.callee = b.callee AND a.grp < b.grp),
                   (SELECT min(n) FROM (SELECT count(*) AS n FROM gc GROUP BY grp))
            """,
            dict(enumerate(parts)),
        )[0]
        return int(shared) <= MAX_SLICE_OVERLAP * int(smallest or 0)
