"""The ONE definition of the behavioural features, as DuckDB SQL.

Every feature is defined here once, as a list of named SQL steps in DuckDB's
dialect. :mod:`callradar.features.engines` runs the steps on DuckDB as they
are, or transpiles them with SQLGlot to Spark SQL; nothing is written twice.

Inputs (tables or views of the running engine):

* ``calls``   - the call records (ingest's ``calls`` table, or a Parquet export of it);
* ``numbers`` - the numbering-plan classification (``number, kind, block``).

Each step is a ``SELECT``; the engine materializes it under the step's name
so later steps can read it. The last three steps are the outputs
``caller_features``, ``trunk_features`` and ``block_features``. Portability
rules followed here: no decimal literals (Spark reads ``1.0`` as DECIMAL), no
``epoch()`` (transpiles to whole seconds), explicit ``GROUP BY`` lists, and
every ordering made total (``ORDER BY start_time, call_id``) so both engines
see the same sequence. Inside the steps a number is an integer (:func:`_id`, the
digits of its E.164 form); ``caller_features`` gives it back as E.164.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOWS: dict[str, str] = {
    # window name -> date_trunc unit (lengths in _LENGTH)
    "hour": "hour",
    "day": "day",
    "week": "week",
}
_LENGTH = {"hour": "INTERVAL 1 HOUR", "day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY"}

#: Kind values of ``numbers.kind`` counted as each number type.
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "kind_landline": ("landline", "fixed_line", "fixed"),
    "kind_virtual": ("virtual", "virtual_mobile", "mvno"),
    "kind_mobile": ("mobile",),
}


@dataclass(frozen=True)
class Step:
    name: str
    sql: str


# Aggregates shared by the caller, trunk and block levels over the calls of ``f_base``
# (the distinct callees are counted apart: ``_agg_steps``).
_COMMON_AGG = """
    count(*) AS attempts,
    sum(CASE WHEN answered THEN 1 ELSE 0 END) AS answered_calls,
    avg(CASE WHEN answered THEN 1 ELSE 0 END) AS answer_rate,
    avg(CASE WHEN answered THEN talk_seconds END) AS talk_mean,
    avg(CASE WHEN answered AND talk_seconds >= {long_talk} THEN 1
             WHEN answered THEN 0 END) AS long_talk_share,
    avg(CASE WHEN answered AND talk_seconds < {short_talk} AND callee_hangup THEN 1
             WHEN answered THEN 0 END) AS short_refusal_share,
    avg(CASE WHEN answered AND caller_hangup THEN 1
             WHEN answered THEN 0 END) AS caller_hangup_share,
    avg(CASE WHEN NOT answered THEN ring_seconds END) AS ring_unanswered_mean,
    stddev_samp(CASE WHEN NOT answered THEN ring_seconds END)
        / nullif(avg(CASE WHEN NOT answered THEN ring_seconds END), 0) AS ring_unanswered_cv,
    ({max_t} - {min_t}) / 3600 AS active_span_hours
"""


def steps(
    win: str,
    *,
    since: str | None = None,
    long_talk: float = 60.0,
    short_talk: float = 6.0,
    bin_seconds: float = 2.0,
    min_sequence_calls: int = 5,
) -> list[Step]:
    """The feature steps for one window (``hour``, ``day`` or ``week``).

    ``since`` is an ISO timestamp with offset, already truncated to the window
    start: only windows starting at or after it are computed (the history
    before it still counts for first-seen age, activity and reciprocity).
    """
    unit = WINDOWS[win]
    length = _LENGTH[win]
    where = f"WHERE c.start_time >= TIMESTAMPTZ '{since}'" if since else ""
    fmt = {
        "long_talk": _num(long_talk),
        "short_talk": _num(short_talk),
        "bin": _num(bin_seconds),
    }
    kind_cols = ",\n        ".join(
        f"CASE WHEN n.kind IS NULL THEN NULL WHEN n.kind IN ({_in(vals)}) THEN 1 ELSE 0 END"
        f" AS {col}"
        for col, vals in KIND_GROUPS.items()
    )
    # max(t) - min(t) of the call times t: t is monotone in start_time, so t of the
    # extremes (one conversion per group instead of one per call)
    common = _COMMON_AGG.format(
        **fmt, max_t=_secs("max(start_time)"), min_t=_secs("min(start_time)")
    )

    busy = int(min_sequence_calls)
    day_of = f"date_trunc('{unit}', c.start_time)"
    out = [
        # every call of the windows, narrow (no call id, no block, two hang-up flags), so a
        # city-day fits the memory limit; only the per-call aggregates below read it
        Step(
            "f_base",
            f"""
    SELECT {_id("c.caller")} AS caller, {_id("c.callee")} AS callee, c.trunk, c.answered,
           c.talk_seconds, c.ring_seconds,
           c.end_reason = 'callee_hangup' AS callee_hangup,
           c.end_reason = 'caller_hangup' AS caller_hangup,
           c.start_time, {day_of} AS win_start
    FROM calls c
    {where}
    """,
        ),
        # the numbering plan keyed by the same integers
        Step(
            "f_numbers",
            f"""
    SELECT {_id("number")} AS number, kind, block FROM numbers
    """,
        ),
    ]
    # the aggregates over every call first, so f_base is freed before the sequence,
    # reciprocity and overlap steps; the caller aggregate gives the window counts too
    out += _agg_steps("caller", common)
    out += [
        # "busy" callers: enough calls in the window for sequence, mode, overlap and
        # reciprocity features (NULL for the others)
        Step(
            "f_busy_w",
            f"""
    SELECT a.key AS caller, a.win_start, coalesce(n.block, '') AS block
    FROM f_caller_agg a
    LEFT JOIN f_numbers n ON n.number = a.key
    WHERE a.attempts >= {busy}
    """,
        ),
        Step(
            "f_busy",
            """
    SELECT caller AS number FROM f_busy_w GROUP BY caller
    """,
        ),
        # days with calls and first call of each caller, over all history
        Step("f_days", _days_sql(win, since)),
        Step(
            "f_first",
            """
    SELECT number, min(first_t) AS first_seen FROM f_days GROUP BY number
    """,
        ),
        # each (trunk, block, caller) of the window once: distinct callers of trunks and
        # blocks and their shares of new and of virtual-operator callers, in one pass
        Step(
            "f_callers",
            f"""
    SELECT b.trunk, coalesce(n.block, '') AS block, b.win_start, b.caller,
           CASE WHEN f.first_seen >= b.win_start THEN 1 ELSE 0 END AS is_new,
           CASE WHEN n.kind IN ({_in(KIND_GROUPS["kind_virtual"])}) THEN 1 ELSE 0 END
               AS is_virtual
    FROM (SELECT trunk, win_start, caller FROM f_base GROUP BY trunk, win_start, caller) b
    JOIN f_first f ON f.number = b.caller
    LEFT JOIN f_numbers n ON n.number = b.caller
    """,
        ),
    ]
    for level in ("trunk", "block"):
        out += _agg_steps(level, common)
    out += [
        # the calls of busy callers, in call order (read from calls: the call id breaks
        # ties of start time): the sequence flags, plus what the overlap, reciprocity and
        # mode steps need (the talk/ring-time bin)
        Step(
            "f_seq",
            f"""
    SELECT caller, win_start, trunk, block, callee, answered, bin,
           CASE WHEN prev_callee IS NULL THEN NULL
                WHEN callee > prev_callee THEN 1 ELSE 0 END AS asc_flag,
           t - prev_t AS gap
    FROM (
        SELECT caller, win_start, trunk, block, callee, answered, t, bin,
               lag(callee) OVER (PARTITION BY caller, win_start
                                 ORDER BY start_time, call_id) AS prev_callee,
               lag(t) OVER (PARTITION BY caller, win_start
                            ORDER BY start_time, call_id) AS prev_t
        FROM (
            SELECT w.caller, w.win_start, c.trunk, w.block, {_id("c.callee")} AS callee,
                   c.answered,
                   c.start_time, c.call_id, {_secs("c.start_time")} AS t,
                   CAST(floor(CASE WHEN c.answered THEN c.talk_seconds ELSE c.ring_seconds END
                              / {fmt["bin"]}) AS BIGINT) AS bin
            FROM calls c
            JOIN f_busy_w w ON w.caller = {_id("c.caller")} AND w.win_start = {day_of}
            {where}
        ) h
    ) s
    """,
        ),
        # callee overlap: of a busy caller's (trunk, callee) pairs in the window, the
        # share whose callee was also called by another number on the same trunk
        # (the trunk's calls to that callee outnumber the caller's own)
        Step(
            "f_tcc",
            """
    SELECT caller, trunk, win_start, callee, count(*) AS own
    FROM f_seq GROUP BY caller, trunk, win_start, callee
    """,
        ),
    ]
    # sequence aggregates and modes now: the last readers of f_seq (f_recip reads the
    # busy callers' callees from f_tcc)
    for level in ("caller", "trunk", "block"):
        out += _seq_steps(level, level)
    out += [
        # first call per directed pair touching a busy number, over all history
        Step(
            "f_pairs",
            f"""
    SELECT a, b, min(first_t) AS first_t FROM (
        SELECT k.number AS a, {_id("c.callee")} AS b, c.start_time AS first_t
        FROM calls c JOIN f_busy k ON k.number = {_id("c.caller")}
        UNION ALL
        SELECT {_id("c.caller")} AS a, k.number AS b, c.start_time AS first_t
        FROM calls c JOIN f_busy k ON k.number = {_id("c.callee")}
    ) p GROUP BY a, b
    """,
        ),
        Step(
            "f_caller_callees",
            """
    SELECT caller, win_start, callee FROM f_tcc GROUP BY caller, win_start, callee
    """,
        ),
        Step(
            "f_recip",
            f"""
    SELECT cc.caller, cc.win_start,
           avg(CASE WHEN back.first_t < cc.win_start + {length} THEN 1 ELSE 0 END)
               AS callback_share,
           avg(CASE WHEN fwd.first_t < cc.win_start OR back.first_t < cc.win_start THEN 1
                    ELSE 0 END) AS prior_contact_share
    FROM f_caller_callees cc
    LEFT JOIN f_pairs back ON back.a = cc.callee AND back.b = cc.caller
    LEFT JOIN f_pairs fwd ON fwd.a = cc.caller AND fwd.b = cc.callee
    GROUP BY cc.caller, cc.win_start
    """,
        ),
        Step(
            "f_tc",
            f"""
    SELECT k.trunk, k.win_start, k.callee, count(*) AS total
    FROM (SELECT c.trunk, {day_of} AS win_start, {_id("c.callee")} AS callee
          FROM calls c {where}) b
    JOIN (SELECT trunk, win_start, callee FROM f_tcc GROUP BY trunk, win_start, callee) k
      ON k.trunk = b.trunk AND k.win_start = b.win_start AND k.callee = b.callee
    GROUP BY k.trunk, k.win_start, k.callee
    """,
        ),
        Step(
            "f_overlap",
            """
    SELECT x.caller, x.win_start,
           avg(CASE WHEN tc.total > x.own THEN 1 ELSE 0 END) AS callee_overlap_share
    FROM f_tcc x
    JOIN f_tc tc ON tc.trunk = x.trunk AND tc.win_start = x.win_start AND tc.callee = x.callee
    GROUP BY x.caller, x.win_start
    """,
        ),
        Step(
            "f_active",
            f"""
    SELECT k.key AS caller, k.win_start, count(*) AS active_days
    FROM f_caller_agg k
    JOIN f_days d ON d.number = k.key AND d.d < k.win_start + {length}
    GROUP BY k.key, k.win_start
    """,
        ),
    ]
    out += _output_steps(win, length, kind_cols, fmt["bin"])
    return out


def _days_sql(win: str, since: str | None) -> str:
    """Each caller's days with calls and first call time in each, over all history.

    The window's calls come from ``f_caller_agg`` (day windows: its groups are the
    caller-days, ``first_t`` their first call) or ``f_base``; only calls before
    ``since`` are read from ``calls`` again.
    """
    day = "date_trunc('day', start_time)"
    if win == "day":
        recent = "SELECT key AS number, win_start AS d, first_t FROM f_caller_agg"
    else:
        recent = (
            f"SELECT caller AS number, {day} AS d, min(start_time) AS first_t "
            f"FROM f_base GROUP BY caller, {day}"
        )
    if since is None:
        return f"""
    {recent}
    """
    before = (
        f"SELECT {_id('caller')} AS number, {day} AS d, min(start_time) AS first_t "
        f"FROM calls WHERE start_time < TIMESTAMPTZ '{since}' GROUP BY caller, {day}"
    )
    # an hour window's `since` can fall inside a day: that day has calls on both sides
    return f"""
    SELECT number, d, min(first_t) AS first_t FROM (
        {recent}
        UNION ALL
        {before}
    ) u GROUP BY number, d
    """


def _agg_steps(level: str, common: str) -> list[Step]:
    """Aggregates over every call for one grouping level (and, for trunks and blocks,
    distinct callers and the shares of new and of virtual-operator callers)."""
    if level == "caller":
        src, key, filt = "f_base", "caller", ""
    elif level == "trunk":
        src, key, filt = "f_base", "trunk", "WHERE trunk <> ''"
    else:  # the block of each call's caller, from the numbering plan
        src = (
            "(SELECT n.block, b.callee, b.answered, b.talk_seconds, b.ring_seconds, "
            "b.callee_hangup, b.caller_hangup, b.start_time, b.win_start "
            "FROM f_base b JOIN f_numbers n ON n.number = b.caller)"
        )
        key, filt = "block", "WHERE block <> ''"
    # the caller-days' first call, for f_days
    first = ",\n    min(start_time) AS first_t" if level == "caller" else ""
    # distinct callees in the aggregate for callers and blocks; trunks count theirs in
    # f_trunk_dc (measured at 50M calls: apart, the trunks' cost 24 CPU-s instead of
    # 26, the callers' 95 instead of 86)
    distinct = "\n    count(DISTINCT callee) AS distinct_callees," if level != "trunk" else ""
    out = [
        Step(
            f"f_{level}_agg",
            f"""
    SELECT {key} AS key, win_start,{distinct}{common}{first}
    FROM {src} x {filt}
    GROUP BY {key}, win_start
    """,
        )
    ]
    if level == "trunk":
        # distinct callees: each (trunk, window, callee) once, then counted, instead of a
        # DISTINCT aggregate holding its hash table beside the other aggregates' (few
        # trunks, tens of millions of (trunk, callee) pairs)
        out.append(
            Step(
                f"f_{level}_dc",
                f"""
    SELECT {key} AS key, win_start, count(callee) AS distinct_callees
    FROM (SELECT {key}, win_start, callee FROM f_base {filt}
          GROUP BY {key}, win_start, callee) p
    GROUP BY {key}, win_start
    """,
            )
        )
    if level != "caller":
        # block is a function of the caller, so (trunk, window, caller) is unique in
        # f_callers; a block's callers may use several trunks
        src = (
            "f_callers"
            if level == "trunk"
            else "(SELECT block, win_start, caller, is_new, is_virtual FROM f_callers "
            "GROUP BY block, win_start, caller, is_new, is_virtual)"
        )
        out.append(
            Step(
                f"f_{level}_nc",
                f"""
    SELECT {key} AS key, win_start, count(*) AS distinct_callers,
           avg(is_new) AS new_caller_share, avg(is_virtual) AS virtual_caller_share
    FROM {src} c WHERE {key} <> ''
    GROUP BY {key}, win_start
    """,
            )
        )
    return out


def _seq_steps(level: str, key: str) -> list[Step]:
    """Sequence aggregates and the talk/ring modes of busy callers for one grouping level."""
    filt = "" if level == "caller" else f"WHERE {key} <> ''"
    return [
        Step(
            f"f_{level}_seqagg",
            f"""
    SELECT {key} AS key, win_start,
           avg(asc_flag) AS ascending_share,
           avg(gap) AS gap_mean,
           stddev_samp(gap) / nullif(avg(gap), 0) AS gap_cv
    FROM f_seq {filt}
    GROUP BY {key}, win_start
    """,
        ),
        # modal 2-second bin of talk time (answered) and of ring time (unanswered),
        # over the calls of busy callers
        Step(
            f"f_{level}_mode",
            f"""
    SELECT key, win_start, answered, bin, n, tot FROM (
        SELECT key, win_start, answered, bin, n,
               sum(n) OVER (PARTITION BY key, win_start, answered) AS tot,
               row_number() OVER (PARTITION BY key, win_start, answered
                                  ORDER BY n DESC, bin) AS rk
        FROM (
            SELECT {key} AS key, win_start, answered, bin, count(*) AS n
            FROM f_seq {filt}
            GROUP BY {key}, win_start, answered, bin
        ) g
    ) r WHERE rk = 1
    """,
        ),
    ]


def _mode_cols(bin_s: str) -> str:
    return f"""
           mt.bin * {bin_s} + {bin_s} / 2 AS modal_talk_seconds,
           CAST(mt.n AS DOUBLE) / mt.tot AS modal_talk_share,
           mr.bin * {bin_s} + {bin_s} / 2 AS modal_ring_seconds,
           CAST(mr.n AS DOUBLE) / mr.tot AS modal_ring_share"""


_AGG_COLS = """
           a.attempts, {dc}.distinct_callees,
           CAST({dc}.distinct_callees AS DOUBLE) / a.attempts AS distinct_callee_ratio,
           a.answered_calls, a.answer_rate, a.talk_mean, a.long_talk_share,
           a.short_refusal_share, a.caller_hangup_share, a.ring_unanswered_mean,
           a.ring_unanswered_cv, q.ascending_share, q.gap_mean, q.gap_cv, a.active_span_hours"""


def _output_steps(win: str, length: str, kind_cols: str, bin_s: str) -> list[Step]:
    # the distinct callees (dc) of trunks are a step of their own
    dc_join = """
    JOIN f_{lvl}_dc dc ON dc.key = a.key AND dc.win_start = a.win_start"""
    mode_join = """
    LEFT JOIN f_{lvl}_seqagg q ON q.key = a.key AND q.win_start = a.win_start
    LEFT JOIN f_{lvl}_mode mt ON mt.key = a.key AND mt.win_start = a.win_start AND mt.answered
    LEFT JOIN f_{lvl}_mode mr ON mr.key = a.key AND mr.win_start = a.win_start
                              AND NOT mr.answered"""
    new_callers = """
    LEFT JOIN f_{lvl}_nc nc ON nc.key = a.key AND nc.win_start = a.win_start"""
    # {dc}: where the distinct callees are (``dc`` for trunks, ``a`` for callers and blocks)
    group_cols = f"""{_AGG_COLS},
           nc.distinct_callers,
           CAST(a.attempts AS DOUBLE) / nc.distinct_callers AS calls_per_caller,
           {_mode_cols(bin_s)},
           nc.new_caller_share, nc.virtual_caller_share"""
    steps_out = [
        Step(
            "o_caller_features",
            f"""
    SELECT {_e164("a.key")} AS number, '{win}' AS win, a.win_start, {_AGG_COLS.format(dc="a")},
           {_mode_cols(bin_s)},
           r.callback_share, r.prior_contact_share,
           o.callee_overlap_share,
           (date_diff('millisecond', f.first_seen, a.win_start + {length}) / 1000) / 86400
               AS age_days,
           ac.active_days,
           coalesce(n.kind, '') AS kind,
        {kind_cols}
    FROM f_caller_agg a
    {mode_join.format(lvl="caller")}
    LEFT JOIN f_recip r ON r.caller = a.key AND r.win_start = a.win_start
    LEFT JOIN f_overlap o ON o.caller = a.key AND o.win_start = a.win_start
    LEFT JOIN f_first f ON f.number = a.key
    LEFT JOIN f_active ac ON ac.caller = a.key AND ac.win_start = a.win_start
    LEFT JOIN f_numbers n ON n.number = a.key
    """,
        ),
        Step(
            "o_trunk_features",
            f"""
    SELECT a.key AS trunk, '{win}' AS win, a.win_start, {group_cols.format(dc="dc")}
    FROM f_trunk_agg a
    {dc_join.format(lvl="trunk")}
    {mode_join.format(lvl="trunk")}
    {new_callers.format(lvl="trunk")}
    """,
        ),
        Step(
            "o_block_features",
            f"""
    SELECT a.key AS block, '{win}' AS win, a.win_start, {group_cols.format(dc="a")}
    FROM f_block_agg a
    {mode_join.format(lvl="block")}
    {new_callers.format(lvl="block")}
    """,
        ),
    ]
    return steps_out


#: output step -> store table
OUTPUTS: dict[str, str] = {
    "o_caller_features": "caller_features",
    "o_trunk_features": "trunk_features",
    "o_block_features": "block_features",
}
#: steps used once, kept as views (not materialized)
VIEWS: frozenset[str] = frozenset({"f_caller_callees"})


def _id(number: str) -> str:
    """An E.164 number (``+`` and up to 15 digits) as an integer: the feature steps
    group, join and hash integers, not 13-15 character strings (which DuckDB does not
    store inline)."""
    return f"CAST(substr({number}, 2) AS BIGINT)"


def _e164(key: str) -> str:
    """The E.164 number of an integer from :func:`_id`."""
    return f"'+' || CAST({key} AS VARCHAR)"


def _secs(ts: str) -> str:
    """Seconds since the epoch of timestamp ``ts`` (a double, millisecond resolution)."""
    return f"date_diff('millisecond', TIMESTAMPTZ '1970-01-01 00:00:00+00', {ts}) / 1000"


def _num(x: float) -> str:
    """A numeric literal both dialects read as an integer or a double (never DECIMAL)."""
    if float(x).is_integer():
        return str(int(x))
    return f"CAST('{float(x)!r}' AS DOUBLE)"


def _in(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)
