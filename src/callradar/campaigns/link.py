"""Link rotating numbers into campaigns, with ids that stay stable from day to day.

Input: the detect stage's ``number_scores`` (suspects are numbers whose best
score reaches ``campaigns.min_score``), the call records, the numbering table,
and, where present, prompt fingerprints from honeypot audio (``recordings``)
and businesses named in complaints (``complaint_facts``).

Signals, each an edge between two suspect numbers:

* ``callees``: both dialled the same citizens (at least
  ``campaigns.callee_min_shared`` of them and ``campaigns.callee_min_overlap``
  of the smaller callee set): a vendor gives each client its own slice of its
  target list and re-dials it from new numbers, so a shared slice is one
  campaign. Vendors sweeping in numeric order also meet the same citizens, so
  the two numbers must also share a range (a reseller trunk is shared by
  vendors), and their prompts, where both are clear, must agree (the range
  tolerance below);
* ``range+prompt``: both come from one 1000-number range (lines are resold in
  consecutive ranges; for mobiles, the allocation block) and their answered
  calls end at the same recorded-prompt length (``campaigns.range_prompt_tolerance_s``).
  A vendor runs several clients' campaigns from one range, so the range alone is not
  enough;
* ``handover``: one number starts dialling within ``campaigns.handover_seconds``
  of another's last call, with the same prompt, from the same range or main
  trunk: a campaign's numbers cut its day into consecutive slices
  (synchronized start and stop);
* ``range+talk``: a number with too few answered calls for a clear prompt of its
  own joins the one prompt group of its range that its answered calls end at;
* ``prompt_id``: honeypot recordings heard the same recorded prompt (acoustic
  fingerprint, :mod:`callradar.audio`) from both.

A shared trunk is not an edge: a reseller's trunk carries several vendors and
honest businesses, and prompt lengths collide across vendors. A number whose
prompt is not yet clear stays on its own until re-dials or its prompt link it.
The online engine still uses trunks and blocks as evidence for single calls.

Businesses named in complaints are not an edge: one clinic buys leads from
several vendors, and a campaign is one vendor working for one client. They are
evidence in the dossiers (``complaint_links``), not a reason to merge.

Connected components of this graph are campaigns. A component inherits the id
of the earlier campaign that most of its already-linked numbers belonged to
(the largest component wins a contested id); otherwise it gets a new id
``C`` + 6 digits. Memberships are never forgotten: a retired number stays in
its campaign as evidence.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from callradar.config import Config


@dataclass
class LinkResult:
    campaigns: int
    numbers: int
    new_campaigns: int
    kept_ids: int


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _table_exists(store: Any, name: str) -> bool:
    return name in store.tables()


# A campaign's recorded prompt: answered calls the dialer hung up when the
# prompt ended cluster within a few tenths of a second of its length. The
# estimate is the median talk time within 0.3 s of the densest 0.2-s bin, and
# its share is how many answered calls sit there.
_PROMPT_SQL = """
    talk AS (
        SELECT {key}, arg_max(bin, n) AS mode_bin FROM (
            SELECT {key}, round(talk_seconds * 5) / 5 AS bin, count(*) AS n
            FROM {src} WHERE answered AND talk_seconds >= 3 GROUP BY ALL
        ) GROUP BY {key}
    ), answered_n AS (
        SELECT {key}, count(*) AS n FROM {src} WHERE answered GROUP BY {key}
    ), prompt AS (
        SELECT s.{key}, median(s.talk_seconds) AS prompt_seconds,
               count(*) / any_value(a.n) AS share, count(*) AS at_prompt
        FROM {src} s JOIN talk t USING ({key}) JOIN answered_n a USING ({key})
        WHERE s.answered AND abs(s.talk_seconds - t.mode_bin) <= 0.3
        GROUP BY s.{key}
    )"""


def _suspects(store: Any, min_score: float, min_calls: int) -> list[tuple[Any, ...]]:
    """Per suspect: score, main trunk, block, range, prompt, its share, calls, activity span."""
    return store.sql(
        f"""
        WITH s AS (
            SELECT number, max(score) AS score FROM number_scores GROUP BY number
            HAVING max(score) >= ?
        ), c AS (
            SELECT c.caller AS number, c.trunk, c.answered, c.talk_seconds, c.start_time
            FROM calls c SEMI JOIN s ON s.number = c.caller
        ), trunk AS (
            SELECT number, arg_max(trunk, n) AS trunk FROM (
                SELECT number, trunk, count(*) AS n FROM c GROUP BY ALL
            ) GROUP BY number
        ), {_PROMPT_SQL.format(key="number", src="c")}, span AS (
            SELECT number, count(*) AS calls, min(start_time) AS first_seen,
                   max(start_time) AS last_seen
            FROM c GROUP BY number
        )
        SELECT s.number, s.score, coalesce(trunk.trunk, ''), coalesce(n.block, ''),
               CASE WHEN n.kind = 'fixed_line' THEN left(s.number, length(s.number) - 3)
                    ELSE coalesce(n.block, '') END,
               CASE WHEN prompt.at_prompt >= ? THEN prompt.prompt_seconds END,
               coalesce(prompt.share, 0), coalesce(span.calls, 0),
               span.first_seen, span.last_seen
        FROM s
        LEFT JOIN trunk USING (number)
        LEFT JOIN prompt USING (number)
        LEFT JOIN span USING (number)
        LEFT JOIN numbers n USING (number)
        ORDER BY s.number
        """,
        [min_score, min_calls],
    ).fetchall()


def _callee_pairs(
    store: Any, min_score: float, min_shared: int, min_overlap: float
) -> list[tuple[str, str, int, float]]:
    """Pairs of suspects that dialled the same citizens (redials of one target slice)."""
    return store.sql(
        """
        WITH s AS (
            SELECT number FROM number_scores GROUP BY number HAVING max(score) >= ?
        ), sc AS (
            SELECT DISTINCT c.caller, c.callee FROM calls c SEMI JOIN s ON s.number = c.caller
        ), deg AS (
            SELECT caller, count(*) AS d FROM sc GROUP BY caller
        ), pairs AS (
            SELECT a.caller AS x, b.caller AS y, count(*) AS shared
            FROM sc a JOIN sc b ON a.callee = b.callee AND a.caller < b.caller
            GROUP BY ALL
        )
        SELECT x, y, shared, shared / least(dx.d, dy.d) AS overlap
        FROM pairs JOIN deg dx ON dx.caller = x JOIN deg dy ON dy.caller = y
        WHERE shared >= ? AND shared / least(dx.d, dy.d) >= ?
        """,
        [min_score, min_shared, min_overlap],
    ).fetchall()


def _attach_sparse(
    store: Any,
    rows: list[tuple[Any, ...]],
    by_range: dict[str, list[tuple[float, str]]],
    prompt_of: dict[str, float],
    min_score: float,
    tol: float,
    uf: _UnionFind,
    linked_by: dict[str, set[str]],
) -> None:
    """A number with too few answered calls for a prompt of its own joins the one prompt
    group of its range that most of its answered calls end at (``range+talk``)."""
    sparse = {r[0]: r[4] for r in rows if r[0] not in prompt_of and r[4] in by_range}
    if not sparse:
        return
    talks = store.sql(
        """
        WITH s AS (
            SELECT number FROM number_scores GROUP BY number HAVING max(score) >= ?
        )
        SELECT c.caller, list(c.talk_seconds) FROM calls c SEMI JOIN s ON s.number = c.caller
        WHERE c.answered AND c.talk_seconds >= 3 GROUP BY c.caller
        """,
        [min_score],
    ).fetchall()
    for number, values in talks:
        rng = sparse.get(number)
        if rng is None:
            continue
        hits: Counter[str] = Counter()
        for t in values:
            near = {uf.find(m) for p, m in by_range[rng] if abs(p - t) <= tol}
            if len(near) == 1:
                hits[near.pop()] += 1
        if hits:
            (root, n), *rest = hits.most_common()
            if n >= 2 and (not rest or n > 2 * rest[0][1]):
                uf.union(root, number)
                linked_by[number].add("range+talk")


def _chain(members: list[tuple[float, str]], tol: float, uf: _UnionFind) -> int:
    """Group numbers whose prompt lengths agree within ``tol``; returns unions made.

    Agglomerative on the sorted prompts: the two neighbouring groups whose mean prompts
    are closest merge first, while that distance is within ``tol``. Comparing group
    means (not neighbours) keeps a chain of noisy estimates from bridging two
    campaigns whose prompts differ by a few tenths of a second.
    """
    members.sort()
    # (sum of prompts, count, numbers) per group
    groups: list[tuple[float, int, list[str]]] = [(p, 1, [n]) for p, n in members]
    while len(groups) > 1:
        means = [total / count for total, count, _ in groups]
        gaps = [b - a for a, b in itertools.pairwise(means)]
        i = min(range(len(gaps)), key=gaps.__getitem__)
        if gaps[i] > tol:
            break
        (ta, ca, na), (tb, cb, nb) = groups[i], groups.pop(i + 1)
        groups[i] = (ta + tb, ca + cb, na + nb)
    made = 0
    for _, _, numbers in groups:
        for other in numbers[1:]:
            uf.union(numbers[0], other)
            made += 1
    return made


def link_campaigns(store: Any, config: Config | None = None) -> LinkResult:
    """Rebuild campaign memberships from the current suspects, keeping ids stable."""
    cfg = config or store.config
    min_score = float(cfg.get("campaigns.min_score"))
    min_prompt_share = float(cfg.get("campaigns.min_prompt_share"))
    rows = _suspects(store, min_score, int(cfg.get("campaigns.min_prompt_calls")))
    info = {r[0]: r for r in rows}
    uf = _UnionFind()
    linked_by: dict[str, set[str]] = defaultdict(set)
    # numbers with a clear recorded prompt, grouped by range
    by_range: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for number, _score, _trunk, _block, rng, prompt, share, _calls, _f, _l in rows:
        uf.find(number)
        if rng and prompt is not None and share >= min_prompt_share and prompt >= 3:
            by_range[rng].append((float(prompt), number))
    # numbers that re-dialled the same citizens: one campaign's target slice (each client
    # of a vendor gets its own slice), unless their prompts clearly differ
    prompt_of = {r[0]: r[5] for r in rows if r[5] is not None and r[6] >= min_prompt_share}
    range_tol = float(cfg.get("campaigns.range_prompt_tolerance_s"))
    for x, y, _shared, _overlap in _callee_pairs(
        store,
        min_score,
        int(cfg.get("campaigns.callee_min_shared")),
        float(cfg.get("campaigns.callee_min_overlap")),
    ):
        px, py = prompt_of.get(x), prompt_of.get(y)
        if px is not None and py is not None and abs(px - py) > range_tol:
            continue
        if info[x][4] != info[y][4]:
            continue  # two ranges: likely two vendors (reseller trunks are shared too)
        uf.union(x, y)
        linked_by[x].add("callees")
        linked_by[y].add("callees")
    # hand-overs: a campaign's numbers cut its day into consecutive slices, so one
    # number starts dialling as the last one retires, with the same prompt
    gap = float(cfg.get("campaigns.handover_seconds"))
    timed = sorted(
        (r[8].timestamp(), r[9].timestamp(), prompt_of[r[0]], r[0])
        for r in rows
        if r[0] in prompt_of and r[8] is not None and r[9] is not None
    )
    ends = sorted((last, p, n) for _first, last, p, n in timed)
    for first, _last, p, number in timed:
        lo = bisect.bisect_left(ends, (first - gap, -1.0, ""))
        hi = bisect.bisect_right(ends, (first + 60.0, 1e9, ""))
        for _last, q, other in ends[lo:hi]:
            same_line = info[other][4] == info[number][4] or info[other][2] == info[number][2]
            if other != number and abs(p - q) <= range_tol and same_line:
                uf.union(number, other)
                linked_by[number].add("handover")
                linked_by[other].add("handover")
    for ranged in by_range.values():
        if _chain(ranged, range_tol, uf):
            for _, m in ranged:
                linked_by[m].add("range+prompt")
    _attach_sparse(store, rows, by_range, prompt_of, min_score, range_tol, uf, linked_by)
    # numbers heard playing the same recorded prompt (honeypot audio)
    groups: dict[tuple[str, Any], list[str]] = defaultdict(list)
    if _table_exists(store, "recordings"):
        for number, prompt_id in store.sql(
            "SELECT DISTINCT caller, prompt_id FROM recordings "
            "WHERE prompt_id IS NOT NULL AND prompt_id <> '' AND caller IS NOT NULL"
        ).fetchall():
            if number in info:
                groups[("prompt_id", prompt_id)].append(number)
    for (signal, _key), members in groups.items():
        for other in members[1:]:
            uf.union(members[0], other)
        if len(members) > 1:
            for m in members:
                linked_by[m].add(signal)

    components: dict[str, list[str]] = defaultdict(list)
    for number in info:
        components[uf.find(number)].append(number)

    previous = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    next_id = 1 + max(
        (int(cid[1:]) for cid in set(previous.values()) if cid[1:].isdigit()), default=0
    )
    # contested ids go to the component holding most of the old campaign's numbers
    claims: list[tuple[int, str, str]] = []
    for root, members in components.items():
        votes = Counter(previous[m] for m in members if m in previous)
        for cid, n in votes.items():
            claims.append((n, cid, root))
    assigned: dict[str, str] = {}
    taken: set[str] = set()
    for _n, cid, root in sorted(claims, key=lambda c: (-c[0], c[1], c[2])):
        if root in assigned or cid in taken:
            continue
        assigned[root] = cid
        taken.add(cid)
    new = 0
    for root in sorted(components, key=lambda r: (-len(components[r]), r)):
        if root not in assigned:
            assigned[root] = f"C{next_id:06d}"
            next_id += 1
            new += 1

    membership = []
    for root, members in components.items():
        cid = assigned[root]
        for m in members:
            r = info[m]
            membership.append((cid, m, r[8], r[9], int(r[7]), ",".join(sorted(linked_by[m]))))
    # numbers linked before but no longer suspects keep their old campaign
    for number, cid in previous.items():
        if number not in info:
            membership.append((cid, number, None, None, 0, "earlier"))

    with store.transaction() as con:
        con.execute("DELETE FROM campaign_numbers")
        if membership:
            con.executemany(
                "INSERT INTO campaign_numbers (campaign_id, number, first_seen, last_seen, calls,"
                " linked_by) VALUES (?, ?, ?, ?, ?, ?)",
                membership,
            )
        _summarize(con)
    return LinkResult(
        campaigns=len(set(assigned.values())),
        numbers=len(membership),
        new_campaigns=new,
        kept_ids=len(assigned) - new,
    )


def _summarize(con: Any) -> None:
    """Recompute ``campaigns`` and ``campaign_trunks`` from memberships and calls."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _cc AS
        SELECT cn.campaign_id, c.caller, c.callee, c.trunk, c.start_time, c.answered,
               c.talk_seconds
        FROM calls c JOIN campaign_numbers cn ON cn.number = c.caller
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _cs AS
        WITH base AS (
            SELECT campaign_id, count(*) AS calls, min(start_time) AS first_seen,
                   max(start_time) AS last_seen
            FROM _cc GROUP BY campaign_id
        ), {_PROMPT_SQL.format(key="campaign_id", src="_cc")}, nums AS (
            SELECT campaign_id, count(*) AS numbers, avg(s.score) AS score
            FROM campaign_numbers cn
            LEFT JOIN (SELECT number, max(score) AS score FROM number_scores GROUP BY number) s
              USING (number)
            GROUP BY campaign_id
        )
        SELECT nums.campaign_id, base.first_seen, base.last_seen, nums.numbers,
               coalesce(base.calls, 0) AS calls, coalesce(nums.score, 0) AS score,
               prompt.prompt_seconds
        FROM nums LEFT JOIN base USING (campaign_id) LEFT JOIN prompt USING (campaign_id)
        """
    )
    con.execute(
        """
        INSERT INTO campaigns (campaign_id, first_seen, last_seen, numbers, calls, score,
                               prompt_seconds)
        SELECT * FROM _cs
        ON CONFLICT (campaign_id) DO UPDATE SET
            first_seen = excluded.first_seen, last_seen = excluded.last_seen,
            numbers = excluded.numbers, calls = excluded.calls, score = excluded.score,
            prompt_seconds = excluded.prompt_seconds, updated_at = now()
        """
    )
    con.execute("DELETE FROM campaigns WHERE campaign_id NOT IN (SELECT campaign_id FROM _cs)")
    con.execute("DELETE FROM campaign_trunks")
    con.execute(
        """
        INSERT INTO campaign_trunks
        SELECT campaign_id, trunk, count(*) AS calls,
               count(*) / sum(count(*)) OVER (PARTITION BY campaign_id) AS share
        FROM _cc WHERE trunk <> '' GROUP BY campaign_id, trunk
        """
    )
