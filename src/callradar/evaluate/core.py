"""Compute the evaluation figures from truth, decisions and refusals, in DuckDB SQL.

The decided calls are joined to their truth once (table ``ev``, one row per
decided call); every figure is then one SQL aggregate over ``ev``, with the
whole truth (all days, a view over the files) scanned only for history: when a
number or a campaign was first seen, and which campaign a refused number was
calling for. Definitions: ``docs/quality.md``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from callradar.config import Config
from callradar.errors import BadRequestError, InputFileError
from callradar.evaluate.loading import (
    DECISION_COLUMNS,
    DECISION_VALUES,
    NUMBER_MACROS,
    REFUSAL_COLUMNS,
    TRUTH_COLUMNS,
    PathLike,
    check_casts,
    create_view,
    expand,
    format_of,
)
from callradar.evaluate.report import (
    BeforeBlock,
    Blocking,
    Coverage,
    EvalReport,
    Linking,
    Refusals,
    Ringing,
)

Progress = Callable[[str], None]

#: Groups of campaign numbers for "calls before first block", with their SQL filter.
BEFORE_BLOCK_GROUPS: tuple[tuple[str, str], ...] = (
    ("all", "TRUE"),
    ("new", "is_new"),
    ("new_of_known_campaign", "is_new AND known_campaign"),
    ("new_of_new_campaign", "is_new AND NOT known_campaign"),
)


def _as_list(paths: PathLike | Iterable[PathLike] | None) -> list[PathLike]:
    if paths is None:
        return []
    if isinstance(paths, str | Path):
        return [paths]
    return list(paths)


@contextmanager
def _connect(config: Config) -> Iterator[duckdb.DuckDBPyConnection]:
    with tempfile.TemporaryDirectory(prefix="callradar-eval-") as tmp:
        con = duckdb.connect(":memory:")
        try:
            threads = int(config.get("threads"))
            if threads > 0:
                con.execute(f"SET threads = {threads}")
            con.execute(f"SET memory_limit = '{config.get('memory_limit')}'")
            con.execute(f"SET TimeZone = '{config.get('timezone')}'")
            con.execute(f"SET temp_directory = '{tmp}'")
            con.execute("SET preserve_insertion_order = false")
            con.execute(NUMBER_MACROS)
            yield con
        finally:
            con.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None
    return tuple(row)


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return None if not den else scale * float(num) / float(den)


def evaluate(
    truth_paths: PathLike | Iterable[PathLike],
    decisions_path: PathLike,
    refusals_paths: PathLike | Iterable[PathLike] | None = None,
    *,
    config: Config | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> EvalReport:
    """Evaluate replay decisions against the simulator's ground truth.

    ``truth_paths``: truth files and/or simulator output directories (every
    ``truth-*`` file in them). ``refusals_paths``: refusal files or directories;
    ``None`` takes the ``refusals-*`` files of the truth directories, ``[]``
    means none. Only calls present in the decisions are evaluated; the rest of
    the truth is history. With ``strict``, decisions naming unknown calls, or
    truth calls inside the decided window without a decision, are errors
    instead of reported counts.
    """
    cfg = config or Config()
    say = progress or (lambda _msg: None)
    truth_list = _as_list(truth_paths)
    if not truth_list:
        raise BadRequestError("no truth file given")
    truth_files = expand(truth_list, "truth", "truth file")
    decisions_file = Path(decisions_path)
    if not decisions_file.is_file():
        raise InputFileError(f"{decisions_file}: no such decisions file", file=str(decisions_file))
    format_of(decisions_file)
    if refusals_paths is None:
        dirs: list[PathLike] = [p for p in truth_list if Path(p).is_dir()]
        refusal_files = expand(dirs, "refusals", "")
    else:
        refusal_files = expand(_as_list(refusals_paths), "refusals", "refusals file")

    try:
        return _evaluate(truth_files, decisions_file, refusal_files, cfg, strict, say)
    except duckdb.Error as exc:  # a file that passed the checks but fails in a query
        first = str(exc).splitlines()[0]
        raise InputFileError(f"cannot evaluate these inputs: {first}") from None


def _evaluate(
    truth_files: list[Path],
    decisions_file: Path,
    refusal_files: list[Path],
    cfg: Config,
    strict: bool,
    say: Progress,
) -> EvalReport:
    notes: list[str] = []
    with _connect(cfg) as con:
        say(f"reading {len(truth_files)} truth file(s)")
        tcols = create_view(con, "truth", truth_files, TRUTH_COLUMNS, "truth")
        check_casts(con, "truth", TRUTH_COLUMNS, "truth")
        say("reading decisions")
        dcols = create_view(con, "decisions_in", [decisions_file], DECISION_COLUMNS, "decisions")
        # Parsed once: every later step reads the table, not the file.
        con.execute("CREATE TEMP TABLE decisions AS SELECT * FROM decisions_in")
        check_casts(con, "decisions", DECISION_COLUMNS, "decisions")
        n_decisions = _check_decisions(con, decisions_file)

        say("joining decisions to truth")
        coverage, avail = _coverage(con, tcols, n_decisions, strict, notes)
        coverage.truth_files = [str(f) for f in truth_files]
        coverage.decisions_file = str(decisions_file)
        coverage.refusals_files = [str(f) for f in refusal_files]

        say("blocking figures")
        blocking = _blocking(con, tcols, dcols, notes)
        say("refusals")
        refusals = _refusals(con, refusal_files, avail, notes)
        ringing = _ringing(con, avail, notes)
        say("calls before first block")
        before = _before_block(con, avail, coverage.window_start is not None, notes)
        linking = _linking(con, dcols, notes)
    return EvalReport(coverage, blocking, refusals, ringing, before, linking, notes)


def _check_decisions(con: duckdb.DuckDBPyConnection, file: Path) -> int:
    allowed = ", ".join(f"'{v}'" for v in DECISION_VALUES)
    n, bad, bad_example, dupes, dupe_example = _one(
        con,
        f"""
        WITH d AS (SELECT call_id, lower(trim(decision)) AS decision FROM decisions),
        k AS (SELECT call_id FROM d GROUP BY call_id HAVING count(*) > 1)
        SELECT (SELECT count(*) FROM d),
               (SELECT count(*) FROM d WHERE decision NOT IN ({allowed})),
               (SELECT min(decision) FROM d WHERE decision NOT IN ({allowed})),
               (SELECT count(*) FROM k), (SELECT min(call_id) FROM k)
        """,
    )
    if not n:
        raise InputFileError(f"{file}: the decisions file has no rows", file=str(file))
    if bad:
        raise InputFileError(
            f"{file}: {bad:,} row(s) with a decision other than allow|label|block "
            f"(e.g. {bad_example!r})",
            file=str(file),
            rows=bad,
        )
    if dupes:
        raise InputFileError(
            f"{file}: {dupes:,} call_id(s) decided more than once (e.g. {dupe_example!r})",
            file=str(file),
            rows=dupes,
        )
    return int(n)


def _coverage(
    con: duckdb.DuckDBPyConnection,
    tcols: set[str],
    n_decisions: int,
    strict: bool,
    notes: list[str],
) -> tuple[Coverage, dict[str, bool]]:
    con.execute(
        """
        CREATE TEMP TABLE ev AS
        SELECT d.call_id,
               lower(trim(d.decision)) AS decision,
               d.score,
               coalesce(trim(d.campaign_id), '') AS pred,
               t.is_robocall AS robo,
               coalesce(trim(t.campaign), '') AS campaign,
               norm_num(t.caller) AS caller,
               norm_num(t.callee) AS callee,
               t.start_time,
               coalesce(nullif(trim(t.caller_kind), ''), 'unknown') AS kind,
               coalesce(t.in_registry, false) AS in_registry
        FROM decisions d JOIN truth t ON d.call_id = t.call_id
        """
    )
    rows, distinct, robo, no_caller, no_callee, no_start, wmin, wmax, days = _one(
        con,
        """
        SELECT count(*), count(DISTINCT call_id), count(*) FILTER (WHERE robo),
               count(*) FILTER (WHERE caller = ''), count(*) FILTER (WHERE callee = ''),
               count(*) FILTER (WHERE start_time IS NULL),
               min(start_time), max(start_time), count(DISTINCT CAST(start_time AS DATE))
        FROM ev
        """,
    )
    if rows != distinct:
        example = _one(
            con, "SELECT min(call_id) FROM (SELECT call_id FROM ev GROUP BY 1 HAVING count(*) > 1)"
        )[0]
        raise BadRequestError(
            f"{rows - distinct:,} decided call(s) appear more than once in the truth "
            f"(e.g. call_id {example!r}); was the same day given twice?"
        )
    if distinct == 0:
        raise BadRequestError(
            f"none of the {n_decisions:,} decided call_ids is in the truth: "
            "are these the truth files of the replayed calls?"
        )
    unknown = n_decisions - int(distinct)
    if unknown:
        msg = f"{unknown:,} decided call_id(s) are not in the truth and were left out"
        if strict:
            raise BadRequestError(msg)
        notes.append(msg)

    avail = {
        "caller": "caller" in tcols and no_caller == 0,
        "callee": "callee" in tcols and no_callee == 0,
        "start_time": "start_time" in tcols and no_start == 0,
    }
    for col, missing in (("caller", no_caller), ("callee", no_callee), ("start_time", no_start)):
        if col not in tcols:
            notes.append(f"truth has no {col!r} column: figures that need it are n/a")
        elif missing:
            notes.append(
                f"{missing:,} decided call(s) have no {col} in the truth: figures "
                "that need it are n/a"
            )

    missing_decisions: int | None = None
    if avail["start_time"]:
        # Every evaluated call lies in the window and matched exactly one truth row, so the
        # undecided ones are the rest of the window (bounds as parameters: Parquet row
        # groups outside the window are skipped).
        row = con.execute(
            "SELECT count(*) FROM truth WHERE start_time BETWEEN ? AND ?", [wmin, wmax]
        ).fetchone()
        assert row is not None
        missing_decisions = int(row[0]) - int(distinct)
        if missing_decisions:
            msg = (
                f"{missing_decisions:,} truth call(s) inside the decided window have no "
                "decision (replay must decide every input call)"
            )
            if strict:
                raise BadRequestError(msg)
            notes.append(msg)

    counts = {
        ("campaign" if r else "legit"): {v: 0 for v in DECISION_VALUES} for r in (True, False)
    }
    for r, decision, n in con.execute(
        "SELECT robo, decision, count(*) FROM ev GROUP BY ALL"
    ).fetchall():
        counts["campaign" if r else "legit"][decision] = int(n)
    truth_calls = int(_one(con, "SELECT count(*) FROM truth")[0])
    has_window = avail["start_time"]
    return (
        Coverage(
            truth_files=[],
            decisions_file="",
            refusals_files=[],
            truth_calls=truth_calls,
            decisions=n_decisions,
            evaluated_calls=int(distinct),
            unknown_call_ids=unknown,
            missing_decisions=missing_decisions,
            window_start=wmin.isoformat(timespec="seconds") if has_window else None,
            window_end=wmax.isoformat(timespec="seconds") if has_window else None,
            days=int(days) if has_window else None,
            campaign_calls=int(robo),
            legit_calls=int(distinct) - int(robo),
            decision_counts=counts,
        ),
        avail,
    )


def _blocking(
    con: duckdb.DuckDBPyConnection, tcols: set[str], dcols: set[str], notes: list[str]
) -> Blocking:
    robo, blocked, caught, legit, legit_blocked, legit_labeled, reg, reg_b, reg_l, reg_nb = _one(
        con,
        """
        SELECT count(*) FILTER (WHERE robo),
               count(*) FILTER (WHERE robo AND decision = 'block'),
               count(*) FILTER (WHERE robo AND decision IN ('block', 'label')),
               count(*) FILTER (WHERE NOT robo),
               count(*) FILTER (WHERE NOT robo AND decision = 'block'),
               count(*) FILTER (WHERE NOT robo AND decision = 'label'),
               count(*) FILTER (WHERE in_registry),
               count(*) FILTER (WHERE in_registry AND decision = 'block'),
               count(*) FILTER (WHERE in_registry AND decision = 'label'),
               count(DISTINCT caller) FILTER (WHERE in_registry AND decision = 'block')
        FROM ev
        """,
    )
    by_kind: list[dict[str, Any]] | None = None
    if "caller_kind" in tcols:
        by_kind = [
            {"kind": k, "calls": int(n), "blocked": int(b), "labeled": int(lab)}
            for k, n, b, lab in con.execute(
                """
                SELECT kind, count(*), count(*) FILTER (WHERE decision = 'block'),
                       count(*) FILTER (WHERE decision = 'label')
                FROM ev WHERE NOT robo GROUP BY kind
                ORDER BY 3 DESC, 4 DESC, 2 DESC, 1
                """
            ).fetchall()
        ]
    else:
        notes.append("truth has no 'caller_kind' column: no breakdown of legitimate calls")
    has_registry = "in_registry" in tcols
    if not has_registry:
        notes.append("truth has no 'in_registry' column: registry figures are n/a")
    return Blocking(
        blocked_share=_ratio(blocked, robo),
        caught_share=_ratio(caught, robo),
        legit_blocked_per_100k=_ratio(legit_blocked, legit, 100_000),
        legit_labeled_per_100k=_ratio(legit_labeled, legit, 100_000),
        legit_blocked=int(legit_blocked),
        legit_labeled=int(legit_labeled),
        legit_by_kind=by_kind,
        registry_calls=int(reg) if has_registry else None,
        registry_blocked=int(reg_b) if has_registry else None,
        registry_labeled=int(reg_l) if has_registry else None,
        registry_numbers_blocked=int(reg_nb) if has_registry else None,
        score_auc=_score_auc(con, dcols, notes),
    )


def _score_auc(con: duckdb.DuckDBPyConnection, dcols: set[str], notes: list[str]) -> float | None:
    """Area under the ROC curve of ``score`` (ties count one half): Mann-Whitney U / (P * N)."""
    if "score" not in dcols:
        return None
    auc, missing = _one(
        con,
        """
        WITH s AS (
            SELECT robo,
                   rank() OVER (ORDER BY score)
                     + (count(*) OVER (PARTITION BY score) - 1) / 2.0 AS r
            FROM ev WHERE score IS NOT NULL),
        a AS (SELECT sum(r) FILTER (WHERE robo) AS rp,
                     count(*) FILTER (WHERE robo)::DOUBLE AS p,
                     count(*) FILTER (WHERE NOT robo)::DOUBLE AS n FROM s)
        SELECT CASE WHEN p > 0 AND n > 0 THEN (rp - p * (p + 1) / 2) / (p * n) END,
               (SELECT count(*) FROM ev WHERE score IS NULL)
        FROM a
        """,
    )
    if missing:
        notes.append(f"{missing:,} decision(s) have no score: the AUC leaves them out")
    return None if auc is None else float(auc)


def _refusals(
    con: duckdb.DuckDBPyConnection, files: list[Path], avail: dict[str, bool], notes: list[str]
) -> Refusals:
    none = Refusals(None, None, None, None, None)
    if not files:
        notes.append("no refusals given: refusal violations are n/a")
        return none
    if not (avail["caller"] and avail["callee"] and avail["start_time"]):
        notes.append("refusal violations need caller, callee and start_time in the truth: n/a")
        return none
    create_view(con, "refusals_in", files, REFUSAL_COLUMNS, "refusals")
    check_casts(con, "refusals_in", REFUSAL_COLUMNS, "refusals")
    con.execute(
        """
        CREATE TEMP TABLE ref AS
        SELECT row_number() OVER () AS rid, time, norm_num(callee) AS callee,
               norm_num(caller) AS caller
        FROM refusals_in;
        CREATE TEMP TABLE tc AS
        SELECT norm_num(caller) AS caller, norm_num(callee) AS callee, start_time,
               trim(campaign) AS campaign
        FROM truth
        WHERE is_robocall AND coalesce(trim(campaign), '') <> ''
          AND norm_num(caller) IN (SELECT caller FROM ref);
        -- The refused number's campaign: that of its latest call to this citizen started
        -- at or before the refusal; failing that, every campaign the number called for.
        CREATE TEMP TABLE refc AS
        WITH a AS (
            SELECT r.rid, r.time, r.callee, r.caller, tc.campaign
            FROM ref r ASOF LEFT JOIN tc
              ON r.caller = tc.caller AND r.callee = tc.callee AND r.time >= tc.start_time)
        SELECT rid, time, callee, campaign FROM a WHERE campaign IS NOT NULL
        UNION ALL
        SELECT a.rid, a.time, a.callee, x.campaign
        FROM a JOIN (SELECT DISTINCT caller, campaign FROM tc) x ON a.caller = x.caller
        WHERE a.campaign IS NULL;
        """
    )
    n, mapped = _one(
        con, "SELECT (SELECT count(*) FROM ref), (SELECT count(DISTINCT rid) FROM refc)"
    )
    violations, citizens, campaigns = _one(
        con,
        """
        WITH f AS (SELECT callee, campaign, min(time) AS t0 FROM refc GROUP BY ALL)
        SELECT count(*), count(DISTINCT e.callee), count(DISTINCT e.campaign)
        FROM ev e JOIN f ON e.callee = f.callee AND e.campaign = f.campaign
        WHERE e.robo AND e.decision <> 'block' AND e.start_time >= f.t0
        """,
    )
    return Refusals(int(n), int(mapped), int(violations), int(citizens), int(campaigns))


def _ringing(con: duckdb.DuckDBPyConnection, avail: dict[str, bool], notes: list[str]) -> Ringing:
    if not (avail["callee"] and avail["start_time"]):
        notes.append("campaign calls per citizen-day need callee and start_time: n/a")
        return Ringing(None, None, None, None)
    ringing, reached, peak, campaign, callees, days = _one(
        con,
        """
        WITH x AS (
            SELECT callee, CAST(start_time AS DATE) AS day,
                   count(*) FILTER (WHERE robo AND decision <> 'block') AS ringing,
                   count(*) FILTER (WHERE robo) AS campaign
            FROM ev GROUP BY ALL)
        SELECT coalesce(sum(ringing), 0), count(*) FILTER (WHERE ringing > 0),
               coalesce(max(ringing), 0), coalesce(sum(campaign), 0),
               count(DISTINCT callee), count(DISTINCT day)
        FROM x
        """,
    )
    citizen_days = int(callees) * int(days)
    return Ringing(
        per_citizen_day_reached=_ratio(ringing, reached) if reached else 0.0,
        per_citizen_day_all=_ratio(ringing, citizen_days),
        max_per_citizen_day=int(peak),
        undefended_per_citizen_day_all=_ratio(campaign, citizen_days),
    )


def _before_block(
    con: duckdb.DuckDBPyConnection, avail: dict[str, bool], has_window: bool, notes: list[str]
) -> dict[str, BeforeBlock]:
    if not (avail["caller"] and avail["start_time"] and has_window):
        notes.append("calls before first block need caller and start_time: n/a")
        return {}
    con.execute(
        """
        CREATE TEMP TABLE nb AS
        WITH c AS (
            SELECT caller, campaign, decision,
                   row_number() OVER (PARTITION BY caller ORDER BY start_time, call_id) AS k
            FROM ev WHERE robo),
        n AS (
            SELECT caller, count(*) AS calls,
                   min(k) FILTER (WHERE decision = 'block') AS kb,
                   arg_min(campaign, k) AS campaign
            FROM c GROUP BY caller),
        first_number AS (
            SELECT norm_num(caller) AS caller, min(f) AS first_seen
            FROM (SELECT caller, min(start_time) AS f FROM truth
                  WHERE is_robocall AND caller IS NOT NULL GROUP BY caller)
            GROUP BY 1),
        first_campaign AS (
            SELECT trim(campaign) AS campaign, min(start_time) AS first_seen
            FROM truth WHERE is_robocall AND coalesce(trim(campaign), '') <> '' GROUP BY 1),
        w AS (SELECT min(start_time) AS w0 FROM ev)
        SELECT n.caller, n.calls, coalesce(n.kb - 1, n.calls) AS before, n.kb IS NULL AS never,
               coalesce(fn.first_seen >= w.w0, true) AS is_new,
               coalesce(fc.first_seen < w.w0, false) AS known_campaign
        FROM n CROSS JOIN w
        LEFT JOIN first_number fn ON fn.caller = n.caller
        LEFT JOIN first_campaign fc ON fc.campaign = n.campaign
        """
    )
    out: dict[str, BeforeBlock] = {}
    for name, cond in BEFORE_BLOCK_GROUPS:
        numbers, med, p90, peak, never, never_calls = _one(
            con,
            f"""
            SELECT count(*), median(before), quantile_cont(before, 0.9), max(before),
                   count(*) FILTER (WHERE never), coalesce(sum(calls) FILTER (WHERE never), 0)
            FROM nb WHERE {cond}
            """,
        )
        out[name] = BeforeBlock(
            numbers=int(numbers),
            median=None if med is None else float(med),
            p90=None if p90 is None else float(p90),
            max=None if peak is None else int(peak),
            never_blocked=int(never),
            never_blocked_calls=int(never_calls),
        )
    return out


def _linking(con: duckdb.DuckDBPyConnection, dcols: set[str], notes: list[str]) -> Linking:
    if "campaign_id" not in dcols:
        notes.append("decisions have no 'campaign_id' column: purity and completeness are n/a")
    linked, pure, complete, predicted, true, robo, legit, legit_linked = _one(
        con,
        """
        WITH l AS (SELECT pred, campaign, count(*) AS n FROM ev
                   WHERE robo AND pred <> '' GROUP BY ALL)
        SELECT (SELECT coalesce(sum(n), 0) FROM l),
               (SELECT sum(m) FROM (SELECT max(n) AS m FROM l GROUP BY pred)),
               (SELECT sum(m) FROM (SELECT max(n) AS m FROM l GROUP BY campaign)),
               (SELECT count(DISTINCT pred) FROM l),
               (SELECT count(DISTINCT campaign) FROM l),
               (SELECT count(*) FILTER (WHERE robo) FROM ev),
               (SELECT count(*) FILTER (WHERE NOT robo) FROM ev),
               (SELECT count(*) FILTER (WHERE NOT robo AND pred <> '') FROM ev)
        """,
    )
    return Linking(
        linked_calls=int(linked),
        linked_share=_ratio(linked, robo),
        purity=_ratio(pure or 0, linked),
        completeness=_ratio(complete or 0, linked),
        predicted_campaigns=int(predicted),
        true_campaigns=int(true),
        legit_with_campaign_share=_ratio(legit_linked, legit),
    )
