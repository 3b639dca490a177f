"""Link rotating numbers into campaigns, with ids that stay stable from day to day.

Input: the detect stage's ``number_scores`` (suspects are numbers whose best
score reaches ``campaigns.min_score``), the call records, the numbering table,
and, where present, prompt fingerprints from honeypot audio (``recordings``).

Signals, each an edge between suspect numbers (the ``linked_by`` column names
them):

* ``range+prompt``: a vendor buys its lines in ranges (a 1000-number range of
  fixed lines; for other kinds, the allocation block) and runs all its
  clients' campaigns from them, each with its own recorded prompt. Pooled over
  a range, the answered calls that ended when the prompt did stand out as
  sharp peaks of talk time (:mod:`callradar.campaigns.prompts`); the numbers
  whose own calls land on one peak are one campaign, even a number with a
  single such call. Prompts of one vendor a few tenths of a second apart share
  a peak: there, numbers with enough calls are told apart by their own mean
  (``campaigns.range_prompt_tolerance_s``, by group means), and a sparse number
  joins only the clearly nearest;
* ``callees``: two suspects dialled the same citizens (at least
  ``campaigns.callee_min_shared`` of them and ``campaigns.callee_min_overlap``
  of the smaller callee set): a vendor gives each client its own slice of its
  target list and re-dials it from new numbers, so a shared slice is one
  campaign. Other vendors meet the same citizens too, so the two numbers must
  share a range (mobiles, which have none, must play the same prompt) and
  their prompts, where both are clear, must agree. A re-dial follows the list:
  over one number's run from its first to its last shared citizen, at least
  ``campaigns.callee_min_run_share`` of its citizens are the other's (another
  vendor sweeping the same stretch of the city in numeric order meets half of
  them, between citizens of its own list);
* ``sweep``: on one day, a number sweeping its list in numeric order starts
  just past where another of its range stopped (mobiles: any two), with the
  same prompt: the next slice of one sweep;
* ``callees+prompt``: groups from different ranges (a vendor's landline range
  and its virtual block) that play the same prompt, share a large part of
  their callees (``campaigns.cross_range_*``) and hold a re-dial pair (above)
  between them; a number still on its own joins
  the group whose citizens it re-dialled when it plays that group's prompt, or
  (``range+callees``) when it has no prompt yet but the group holds a number of
  its range (``campaigns.attach_min_shared``);
* ``run``: a number still on its own whose nearest linked numbers below and above
  it in its range (at most ``campaigns.run_max_gap`` away) are of one group joins
  it: a dialer takes a client's lines from its range in a run, in order, so the
  line just above a group's top one that started after all of them is the next
  it took;
* ``handover``: one number starts dialling within ``campaigns.handover_seconds``
  of another's last call, with the same prompt, from the same range (SIM-farm
  mobiles, which have none, never hand over: a shared trunk or block is chance);
* ``prompt_id``: honeypot recordings heard the same recorded prompt (acoustic
  fingerprint, :mod:`callradar.audio`) from both. Applied first, and it also keeps
  apart: no later signal joins numbers heard playing different recordings, and a
  ``range+prompt`` group whose numbers were heard playing two recordings (two
  clients' prompts of about one length) is split between them, each number not
  heard going with the heard number next to it in the range (then the nearest
  prompt length).

A shared trunk is not an edge: a reseller's trunk carries several vendors and
honest businesses, and prompt lengths collide across vendors. The online
engine still uses trunks and blocks as evidence for single calls. Businesses
named in complaints are not an edge either: one clinic buys leads from several
vendors, and a campaign is one vendor working for one client; they are
evidence in the dossiers (``complaint_links``).

Connected components of this graph are campaigns. A component inherits the id
of the earlier campaign that most of its already-linked numbers belonged to
(the largest component wins a contested id); otherwise it gets a new id
``C`` + 6 digits. Memberships are never forgotten: a retired number stays in
its campaign as evidence.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from callradar.campaigns import prompts
from callradar.campaigns.groups import (
    Linking,
    Suspect,
    attach_by_callees,
    attach_by_neighbourhood,
    attach_by_run,
    cross_range,
)
from callradar.campaigns.slices import Slices
from callradar.campaigns.unionfind import UnionFind
from callradar.config import Config


@dataclass
class LinkResult:
    campaigns: int
    numbers: int
    new_campaigns: int
    kept_ids: int


def _table_exists(store: Any, name: str) -> bool:
    return name in store.tables()


# A campaign's recorded prompt: answered calls the dialer hung up when the
# prompt ended cluster within a few tenths of a second of its length. The
# estimate is the median talk time within 0.3 s of the densest 0.2-s bin, and
# its share is how many answered calls sit there.
_PROMPT_SQL = """
    talk AS (
        SELECT {key}, arg_max(bin, (n, -bin)) AS mode_bin FROM (
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


def _suspects(store: Any, min_score: float, min_calls: int) -> list[Suspect]:
    """Every suspect, with what linking needs of it."""
    rows = store.sql(
        f"""
        WITH s AS (
            SELECT number, max(score) AS score FROM number_scores GROUP BY number
            HAVING max(score) >= ?
        ), c AS (
            SELECT caller AS number, trunk, answered, talk_seconds, start_time FROM _link_calls
        ), trunk AS (
            SELECT number, arg_max(trunk, (n, trunk)) AS trunk FROM (
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
               span.first_seen, span.last_seen, coalesce(n.kind, '')
        FROM s
        LEFT JOIN trunk USING (number)
        LEFT JOIN prompt USING (number)
        LEFT JOIN span USING (number)
        LEFT JOIN numbers n USING (number)
        ORDER BY s.number
        """,
        [min_score, min_calls],
    ).fetchall()
    return [Suspect(*row) for row in rows]


def _redial_pairs(
    store: Any, min_shared: int, min_run_share: float
) -> list[tuple[str, str, int, float]]:
    """Pairs of suspects that dialled the same citizens (re-dials of one target slice),
    with how many they share and what share of the smaller callee set that is.

    A dialer re-dials a slice in list order, so the later number's calls between its
    first and last shared citizen all go to the earlier number's citizens; a number of
    another vendor sweeping the same stretch of the city (numeric order) crosses it and
    interleaves citizens of its own list. At least ``min_run_share`` of one side's
    distinct callees over the run from its first to its last shared citizen (in calling
    order) must be shared."""
    return store.sql(
        """
        WITH sc AS (
            SELECT caller, callee,
                   row_number() OVER (PARTITION BY caller ORDER BY min(start_time), callee) AS r
            FROM _link_calls GROUP BY caller, callee
        ), deg AS (
            SELECT caller, count(*) AS d FROM sc GROUP BY caller
        ), pairs AS (
            SELECT a.caller AS x, b.caller AS y, count(*) AS shared,
                   max(a.r) - min(a.r) + 1 AS run_x, max(b.r) - min(b.r) + 1 AS run_y
            FROM sc a JOIN sc b ON a.callee = b.callee AND a.caller < b.caller
            GROUP BY ALL
        )
        SELECT x, y, shared, shared / least(dx.d, dy.d) AS overlap
        FROM pairs JOIN deg dx ON dx.caller = x JOIN deg dy ON dy.caller = y
        WHERE shared >= ? AND shared / least(run_x, run_y) >= ?
        ORDER BY x, y
        """,
        [min_shared, min_run_share],
    ).fetchall()


def _range_prompts(
    store: Any,
    rows: list[Suspect],
    cfg: Config,
    uf: UnionFind,
    linked_by: dict[str, set[str]],
    slices: Slices,
) -> dict[str, float]:
    """Per range, the recorded prompts its suspects play (peaks of their pooled talk
    times) and the numbers playing each: those numbers are one campaign
    (``range+prompt``). Returns each assigned number's prompt length."""
    half = float(cfg.get("campaigns.peak_half_width_s"))
    min_calls = int(cfg.get("campaigns.peak_min_calls"))
    min_z = float(cfg.get("campaigns.peak_min_z"))
    tol = float(cfg.get("campaigns.range_prompt_tolerance_s"))
    single_near = int(cfg.get("campaigns.peak_single_call_near"))
    split_z = float(cfg.get("campaigns.run_split_z"))
    talks = dict(
        store.sql(
            """
            SELECT caller, list(talk_seconds ORDER BY talk_seconds) FROM _link_calls
            WHERE answered AND talk_seconds BETWEEN ? AND ? GROUP BY caller
            """,
            [prompts.LOW, prompts.HIGH],
        ).fetchall()
    )
    by_range: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.range and r.number in talks:
            by_range[r.range].append(r.number)
    prompt_of: dict[str, float] = {}
    for members in by_range.values():
        lists = [talks[m] for m in members]
        centres = prompts.find_peaks(
            np.concatenate([np.asarray(x, dtype=float) for x in lists]),
            half_width=half,
            min_calls=min_calls,
            min_z=min_z,
        )
        at_peak: dict[int, list[tuple[str, float, int]]] = defaultdict(list)
        # per peak, the squared deviations of calls from their number's mean, and their
        # degrees of freedom: one call's spread about its prompt (see _call_spread)
        squares: dict[int, float] = defaultdict(float)
        freedom: dict[int, int] = defaultdict(int)
        for number, talk, k in zip(
            members, lists, prompts.assign(lists, centres, half), strict=True
        ):
            if k is not None:
                t = np.asarray(talk, dtype=float)
                near = t[np.abs(t - centres[k]) <= half + 1e-9]
                at_peak[k].append((number, float(near.mean()), len(near)))
                squares[k] += float(np.sum((near - near.mean()) ** 2))
                freedom[k] += len(near) - 1
        for k, peak in at_peak.items():
            found = _beside_the_run(peak, single_near)
            parts = _split(found, _call_spread(squares[k], freedom[k], half), split_z, tol)
            groups: dict[tuple[int, int], list[tuple[str, float]]] = defaultdict(list)
            for (number, estimate, _n), part in zip(found, parts, strict=True):
                if part is not None:
                    groups[part].append((number, estimate))
            for whole in groups.values():
                estimates = dict(whole)
                for sliced in slices.split([n for n, _ in whole]):
                    for group in _by_recording(sliced, estimates, uf):
                        prompt = float(np.mean([estimates[n] for n in group]))
                        for number in group:
                            prompt_of[number] = prompt
                            uf.union(group[0], number)
                            if number in slices.label:
                                uf.tag(number, slices.label[number])
                        if len(group) > 1:
                            for number in group:
                                linked_by[number].add("range+prompt")
    return prompt_of


def _call_spread(squares: float, freedom: int, half_width: float) -> float:
    """One call's spread about its number's mean at a peak (pooled over the peak's
    numbers), not below 0.05 s; with fewer than five degrees of freedom, a fifth of the
    peak's full width."""
    if freedom < 5:
        return half_width / 2.5
    return max(0.05, math.sqrt(squares / freedom))


def _split(
    found: list[tuple[str, float, int]], sigma: float, min_z: float, tol: float
) -> list[tuple[int, int] | None]:
    """The part of a peak each of its numbers ``(number, estimate, calls)``, in number
    order, plays: first the runs of lines whose prompts step apart
    (:func:`prompts.split_runs`: two clients a few tenths of a second apart, each dialling
    from its own run of the range), then, within a run, the numbers' prompts
    (:func:`prompts.split_peak`, where groups closer than ``min_z`` standard errors
    stay one: a line whose few calls sit apart is no client of its own). Runs are not
    joined here, even at one prompt: the other signals (callees, sweeps, hand-overs,
    neighbours) join a client's runs."""
    estimates = [e for _, e, _ in found]
    weights = [n for _, _, n in found]
    runs = prompts.split_runs(estimates, weights, sigma, min_z)
    by_run: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(runs):
        by_run[r].append(i)
    parts: list[tuple[int, int] | None] = [None] * len(found)
    for r, idx in by_run.items():
        sub = prompts.split_peak(
            [estimates[i] for i in idx], [weights[i] for i in idx], tol, sigma=sigma, min_z=min_z
        )
        for i, part in zip(idx, sub, strict=True):
            if part is not None:
                parts[i] = (r, part)
    return parts


def _beside_the_run(found: list[tuple[str, float, int]], near: int) -> list[tuple[str, float, int]]:
    """The numbers ``(number, estimate, calls at the peak)`` of one prompt peak of a
    range that count as playing it: all but a number with a single call there and no
    other number of the peak within ``near`` numbers of it. A single call at the peak
    may be another prompt cut short (a callee hanging up part-way through a recording
    lands anywhere), but a dialer takes a client's lines from its range in a run, so a
    line beside other lines playing the prompt is most likely one of them. Returned in
    number order (a dialer takes a client's lines from the range in a run)."""
    ordered = sorted((int(f[0][1:]), f) for f in found)
    at = [v for v, _ in ordered]

    def beside(v: int) -> bool:  # itself and another within ``near``
        return bisect.bisect_right(at, v + near) - bisect.bisect_left(at, v - near) >= 2

    return [f for v, f in ordered if f[2] >= 2 or beside(v)]


def _by_recording(group: list[str], estimates: dict[str, float], uf: UnionFind) -> list[list[str]]:
    """Split a group of one range and one prompt length that honeypots heard playing two
    or more different recordings (two clients whose prompts last about as long): each
    set of numbers heard playing one recording is a part. A number not heard joins the
    part holding the heard number next to it in the range (a dialer takes a client's
    lines from the range in a run), and on a tie the part whose prompt length is
    nearest its own estimate."""
    heard: dict[str, list[str]] = defaultdict(list)
    for number in group:
        if uf.prompts.get(uf.find(number)):
            heard[uf.find(number)].append(number)
    if len(heard) < 2:
        return [group]
    centre = {root: float(np.mean([estimates[n] for n in ms])) for root, ms in heard.items()}
    digits = {root: [int(n[1:]) for n in ms] for root, ms in heard.items()}
    parts: dict[str, list[str]] = defaultdict(list)
    for number in group:
        root = uf.find(number)
        if root not in heard:
            me = int(number[1:])
            root = min(
                heard,
                key=lambda r: (
                    min(abs(me - d) for d in digits[r]),
                    abs(centre[r] - estimates[number]),
                    r,
                ),
            )
        parts[root].append(number)
    return list(parts.values())


def _sweep_pairs(store: Any, min_ascending: float, max_gap: float) -> list[tuple[str, str]]:
    """Consecutive slices of one numeric sweep: on one day, number ``y`` starts dialling
    the target list just past where number ``x`` stopped (its lowest callee lies within
    ``max_gap`` of ``x``'s own typical callee spacing above ``x``'s highest), both dial
    in ascending order, and ``y`` is the only such number. A vendor hands each client's
    slice from one number to the next; other campaigns' numbers overlap a number's
    span instead of continuing it."""
    rows = store.sql(
        """
        WITH x AS (
            SELECT caller, start_time::DATE AS day, start_time,
                   TRY_CAST(right(callee, 11) AS BIGINT) AS v
            FROM _link_calls
        ), y AS (
            SELECT caller, day, v, lag(v) OVER (PARTITION BY caller, day ORDER BY start_time) AS pv
            FROM x WHERE v IS NOT NULL
        )
        SELECT day, caller, min(v), max(v), median(abs(v - pv))
        FROM y GROUP BY ALL
        HAVING count(*) >= 5
           AND avg(CASE WHEN v > pv THEN 1.0 WHEN pv IS NOT NULL THEN 0.0 END) >= ?
        ORDER BY day, min(v), caller
        """,
        [min_ascending],
    ).fetchall()
    by_day: dict[Any, list[tuple[str, int, int, float]]] = defaultdict(list)
    for day, caller, lo, hi, spacing in rows:
        by_day[day].append((caller, int(lo), int(hi), float(spacing or 1.0)))
    pairs = []
    for spans in by_day.values():
        lows = [lo for _, lo, _, _ in spans]
        for caller, _lo, hi, spacing in spans:
            i = bisect.bisect_right(lows, hi)
            limit = hi + max_gap * max(spacing, 1.0)
            nxt = [s for s in spans[i : i + 50] if s[1] <= limit]
            if len(nxt) == 1:
                pairs.append((caller, nxt[0][0]))
    return pairs


def _heard_prompts(
    store: Any,
    info: dict[str, Suspect],
    cfg: Config,
    uf: UnionFind,
    linked_by: dict[str, set[str]],
) -> None:
    """Numbers heard playing the same recorded prompt (honeypot audio, the audio stage's
    acoustic fingerprints) are one campaign (``prompt_id``), first of all; and every
    later signal keeps numbers heard playing different prompts apart. A recording
    counts when it founded its prompt or matched it clearly
    (:func:`callradar.audio.clear_match_hits`): a weak match can be two prompts that
    open with the same greeting, and one false link joins two campaigns."""
    if not _table_exists(store, "recordings"):
        return
    from callradar.audio import clear_match_hits

    heard: dict[str, list[str]] = defaultdict(list)
    for number, prompt_id in store.sql(
        "SELECT DISTINCT caller, prompt_id FROM recordings "
        "WHERE prompt_id IS NOT NULL AND prompt_id <> '' AND caller IS NOT NULL "
        "AND (match_score IS NULL OR match_score >= ?) ORDER BY prompt_id, caller",
        [clear_match_hits(cfg)],
    ).fetchall():
        if number in info:
            heard[prompt_id].append(number)
            uf.hear(number, prompt_id)
    for members in heard.values():
        for other in members[1:]:
            uf.union(members[0], other)
        if len(members) > 1:
            for m in members:
                linked_by[m].add("prompt_id")


def link_campaigns(store: Any, config: Config | None = None) -> LinkResult:
    """Rebuild campaign memberships from the current suspects, keeping ids stable."""
    cfg = config or store.config
    # the suspects' calls, read once: every signal below looks only at them
    store.sql(
        """
        CREATE OR REPLACE TEMP TABLE _link_calls AS
        SELECT c.caller, c.callee, c.trunk, c.answered, c.talk_seconds, c.start_time
        FROM calls c SEMI JOIN (
            SELECT number FROM number_scores GROUP BY number HAVING max(score) >= ?
        ) s ON s.number = c.caller
        """,
        [float(cfg.get("campaigns.min_score"))],
    )
    try:
        return _link(store, cfg)
    finally:
        store.sql("DROP TABLE IF EXISTS _link_calls")


def _link(store: Any, cfg: Config) -> LinkResult:
    min_score = float(cfg.get("campaigns.min_score"))
    min_prompt_share = float(cfg.get("campaigns.min_prompt_share"))
    rows = _suspects(store, min_score, int(cfg.get("campaigns.min_prompt_calls")))
    info = {r.number: r for r in rows}
    uf = UnionFind()
    linked_by: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        uf.find(r.number)
    _heard_prompts(store, info, cfg, uf, linked_by)
    # pairs of numbers that re-dialled the same citizens, and the days each was active:
    # what tells one vendor's clients apart when their prompts collide
    min_shared = int(cfg.get("campaigns.callee_min_shared"))
    min_overlap = float(cfg.get("campaigns.callee_min_overlap"))
    redials = _redial_pairs(
        store,
        min(min_shared, int(cfg.get("campaigns.attach_min_shared"))),
        float(cfg.get("campaigns.callee_min_run_share")),
    )
    callee_pairs = [p for p in redials if p[2] >= min_shared and p[3] >= min_overlap]
    days = {
        r.number: {
            (r.first_seen + timedelta(days=d)).date()
            for d in range((r.last_seen.date() - r.first_seen.date()).days + 1)
        }
        for r in rows
        if r.first_seen is not None and r.last_seen is not None
    }
    slices = Slices(store, [(x, y) for x, y, _, _ in callee_pairs], days)
    # the prompt each number plays: the peak of its range's pooled talk times that its
    # own answered calls land on (one vendor runs its clients' campaigns from one range)
    prompt_of = _range_prompts(store, rows, cfg, uf, linked_by, slices)
    # a number outside any range keeps its own estimate, where it has a clear one
    for r in rows:
        if (
            r.number not in prompt_of
            and r.prompt is not None
            and r.share >= min_prompt_share
            and r.prompt >= 3
        ):
            prompt_of[r.number] = float(r.prompt)
    # numbers that re-dialled the same citizens: one campaign's target slice (each client
    # of a vendor gets its own slice), unless their prompts clearly differ
    range_tol = float(cfg.get("campaigns.range_prompt_tolerance_s"))

    def mobile(*numbers: str) -> bool:
        return all(info[n].kind == "mobile" for n in numbers)

    def pair(x: str, y: str, signal: str) -> None:
        """Join two numbers (unless they were heard playing different prompts)."""
        if uf.join(x, y):
            linked_by[x].add(signal)
            linked_by[y].add(signal)

    for x, y, _shared, _overlap in callee_pairs:
        px, py = prompt_of.get(x), prompt_of.get(y)
        if px is not None and py is not None and abs(px - py) > range_tol:
            continue
        if info[x].range != info[y].range and not (
            px is not None and py is not None and mobile(x, y)
        ):
            # two ranges: likely two vendors (reseller trunks are shared too); mobiles
            # have no ranges (SIM farms), so there the agreeing prompts must do
            continue
        pair(x, y, "callees")
    # consecutive slices of one numeric sweep, playing the same prompt from one range;
    # mobiles have no range (a SIM farm's lines are scattered over the city's blocks), so
    # two of them need only the agreeing prompts: another vendor's sweep would have to
    # pass by exactly there, playing a prompt of the same length
    for x, y in _sweep_pairs(
        store,
        float(cfg.get("campaigns.sweep_min_ascending")),
        float(cfg.get("campaigns.sweep_max_gap")),
    ):
        px, py = prompt_of.get(x), prompt_of.get(y)
        if px is None or py is None or abs(px - py) > range_tol:
            continue  # a vendor's clients' slices also meet where one piece ends
        if info[x].range != info[y].range and not mobile(x, y):
            continue  # and other vendors' sweeps pass by
        pair(x, y, "sweep")
    # hand-overs: a campaign's numbers cut its day into consecutive slices, so one
    # number starts dialling as the last one retires, with the same prompt, from the same
    # range. Not across ranges on one trunk (landlines of two ranges on one trunk are, as
    # often as not, two vendors on a reseller's trunk), and not between SIM-farm mobiles,
    # which have no range: their block holds any vendor's farm lines, their trunks carry
    # dozens of farms' campaigns, and two of those playing prompts of one length hand
    # over by chance (measured on sim_farm: such a join put two vendors in one campaign)
    gap = float(cfg.get("campaigns.handover_seconds"))
    timed = sorted(
        (r.first_seen.timestamp(), r.last_seen.timestamp(), prompt_of[r.number], r.number)
        for r in rows
        if r.number in prompt_of and r.first_seen is not None and r.last_seen is not None
    )
    ends = sorted((last, p, n) for _first, last, p, n in timed)
    for first, _last, p, number in timed:
        lo = bisect.bisect_left(ends, (first - gap, -1.0, ""))
        hi = bisect.bisect_right(ends, (first + 60.0, 1e9, ""))
        for _last, q, other in ends[lo:hi]:
            same_range = info[other].range == info[number].range and not mobile(other, number)
            if other != number and abs(p - q) <= range_tol and same_range:
                pair(number, other, "handover")
    # groups join through callees only where two of their numbers show a re-dial
    lk = Linking(store, info, prompt_of, cfg, uf, linked_by)
    cross_range(lk, [(x, y) for x, y, n, _ in redials if n >= min_shared])
    attach_by_callees(lk, [(x, y) for x, y, _, _ in redials])
    attach_by_run(lk)
    attach_by_neighbourhood(lk)
    components = uf.groups(info)

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
            membership.append(
                (cid, m, r.first_seen, r.last_seen, int(r.calls), ",".join(sorted(linked_by[m])))
            )
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
        _summarize(con, min_prompt_share, int(cfg.get("campaigns.min_prompt_calls")))
    return LinkResult(
        campaigns=len(set(assigned.values())),
        numbers=len(membership),
        new_campaigns=new,
        kept_ids=len(assigned) - new,
    )


def _summarize(con: Any, min_prompt_share: float, min_prompt_calls: int) -> None:
    """Recompute ``campaigns`` and ``campaign_trunks`` from memberships and calls. A
    campaign's prompt is recorded only when at least ``min_prompt_share`` of its answered
    calls, and at least ``min_prompt_calls`` of them, end there (a dialer that varies its
    prompt has none, and neither has a lone line whose one call at some length is share
    enough among its few answered calls)."""
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
               CASE WHEN prompt.share >= {float(min_prompt_share)}
                     AND prompt.at_prompt >= {int(min_prompt_calls)}
                    THEN prompt.prompt_seconds END
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
