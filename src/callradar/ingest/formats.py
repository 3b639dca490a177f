"""Input formats: how a file becomes a DuckDB relation with the contract's columns.

Generic formats (``csv``, ``parquet``, ``jsonl``) carry the contract's own
column names. Two switch formats are mapped onto the CDR contract; they are
registered classes that differ by constants (column names, the column each
contract field comes from, the disposition/hangup-cause table).

Asterisk ``cdr_csv`` (``Master.csv``, default column order, no header)::

    accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
    lastdata, start, answer, end, duration, billsec, disposition, amaflags
    [, uniqueid [, userfield [, peeraccount, linkedid, sequence]]]

    call_id      uniqueid when logged (loguniqueid=yes), else
                 "ast-" + md5(channel|start|src|dst) (stable, so re-ingest dedupes)
    start_time   start (local time in setting ``timezone``; with usegmtime=yes
                 set CALLRADAR_TIMEZONE=UTC)
    caller       src                      callee  dst
    trunk        channel without its "-<hex sequence>" suffix (SIP/gw-pstn1)
    answered     disposition = ANSWERED
    ring_seconds duration - billsec if answered, else duration
    talk_seconds billsec if answered, else 0
    end_reason   ANSWERED -> callee_hangup (cdr_csv does not record which side
                 hung up), NO ANSWER -> no_answer, BUSY -> busy,
                 FAILED / CONGESTION -> failed; anything else is quarantined
                 as bad_enum:end_reason

FreeSWITCH ``mod_cdr_csv``, default template ``example`` (no header)::

    caller_id_name, caller_id_number, destination_number, context,
    start_stamp, answer_stamp, end_stamp, duration, billsec, hangup_cause,
    uuid, bleg_uuid, accountcode, read_codec, write_codec

    call_id      uuid                     start_time  start_stamp (local time)
    caller       caller_id_number         callee      destination_number
    trunk        accountcode, else context
    answered     billsec > 0 or answer_stamp not empty
    ring_seconds duration - billsec       talk_seconds billsec (0 if unanswered)
    end_reason   NORMAL_CLEARING -> callee_hangup if answered, else no_answer;
                 ORIGINATOR_CANCEL -> caller_hangup; USER_BUSY -> busy;
                 NO_ANSWER, NO_USER_RESPONSE -> no_answer; CALL_REJECTED -> rejected;
                 every other cause (UNALLOCATED_NUMBER, NO_ROUTE_DESTINATION,
                 NORMAL_TEMPORARY_FAILURE, RECOVERY_ON_TIMER_EXPIRE, MEDIA_TIMEOUT,
                 LOSE_RACE ...) -> failed

A switch file is recognized by ``--format``, or, for a ``.csv`` without a
header of contract columns, by its first line: 15 fields with a timestamp in
the 5th -> freeswitch; 16 to 21 fields with a timestamp in the 10th -> asterisk.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path
from typing import ClassVar

from callradar.registry import Registry

FORMATS: Registry[type[InputFormat]] = Registry("input format")

_TS_RE = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class InputFormat:
    """A way of reading a file; ``source_sql`` gives a DuckDB relation over it."""

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    #: the kind this format always carries (switch formats), or None
    fixed_kind: ClassVar[str | None] = None
    text: ClassVar[bool] = True


@FORMATS.register("csv")
class CsvFormat(InputFormat):
    name = "csv"
    extensions = (".csv", ".csv.gz")

    @staticmethod
    def read_sql(
        path: str, rejects: str | None, header: bool = True, names: list[str] | None = None
    ) -> str:
        opts = [
            "delim=','",
            "quote='\"'",
            "escape='\"'",
            f"header={'true' if header else 'false'}",
            "all_varchar=true",
            "auto_detect=false" if names else "auto_detect=true",
            "encoding='utf-8'",
            # tolerate mixed \n / \r\n line ends; bad rows still go to the rejects
            "strict_mode=false",
        ]
        if names:
            cols = ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names)
            opts.append(f"columns={{{cols}}}")
        if rejects:
            opts += [
                "store_rejects=true",
                f"rejects_table={_lit(rejects + '_errors')}",
                f"rejects_scan={_lit(rejects + '_scans')}",
            ]
        return f"read_csv({_lit(path)}, {', '.join(opts)})"


@FORMATS.register("parquet")
class ParquetFormat(InputFormat):
    name = "parquet"
    extensions = (".parquet", ".pq")
    text = False


@FORMATS.register("jsonl")
class JsonlFormat(InputFormat):
    name = "jsonl"
    extensions = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json", ".json.gz")


class SwitchFormat(InputFormat):
    """A switch's headerless CDR CSV mapped onto the CDR contract."""

    fixed_kind = "cdr"
    columns: ClassVar[tuple[str, ...]] = ()
    min_columns: ClassVar[int] = 0
    timestamp_index: ClassVar[int] = 0

    @classmethod
    def matches(cls, first_row: list[str]) -> bool:
        n = len(first_row)
        return cls.min_columns <= n <= len(cls.columns) and bool(
            _TS_RE.match(first_row[cls.timestamp_index].strip())
        )

    @classmethod
    def mapping_sql(cls, raw_columns: list[str]) -> dict[str, str]:
        raise NotImplementedError


def _num(col: str) -> str:
    return f"TRY_CAST(NULLIF(trim({_q(col)}), '') AS DOUBLE)"


@FORMATS.register("asterisk")
class AsteriskFormat(SwitchFormat):
    name = "asterisk"
    columns = (
        "accountcode",
        "src",
        "dst",
        "dcontext",
        "clid",
        "channel",
        "dstchannel",
        "lastapp",
        "lastdata",
        "start",
        "answer",
        "end",
        "duration",
        "billsec",
        "disposition",
        "amaflags",
        "uniqueid",
        "userfield",
        "peeraccount",
        "linkedid",
        "sequence",
    )
    min_columns = 16
    timestamp_index = 9
    DISPOSITIONS: ClassVar[dict[str, str]] = {
        "ANSWERED": "callee_hangup",
        "NO ANSWER": "no_answer",
        "BUSY": "busy",
        "FAILED": "failed",
        "CONGESTION": "failed",
    }

    @classmethod
    def mapping_sql(cls, raw_columns: list[str]) -> dict[str, str]:
        disp = "upper(trim(disposition))"
        answered = f"({disp} = 'ANSWERED')"
        fallback_id = "'ast-' || md5(concat_ws('|', channel, start, src, dst))"
        call_id = (
            f"coalesce(NULLIF(trim(uniqueid), ''), {fallback_id})"
            if "uniqueid" in raw_columns
            else fallback_id
        )
        arms = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in cls.DISPOSITIONS.items())
        return {
            "call_id": call_id,
            "start_time": "start",
            "caller": "src",
            "callee": "dst",
            "trunk": "regexp_replace(coalesce(channel, ''), '-[0-9A-Fa-f]+(;\\d+)?$', '')",
            "answered": f"CASE WHEN disposition IS NULL THEN NULL "
            f"WHEN {answered} THEN 'true' ELSE 'false' END",
            "ring_seconds": f"CAST(CASE WHEN {answered} THEN {_num('duration')} - {_num('billsec')}"
            f" ELSE {_num('duration')} END AS VARCHAR)",
            "talk_seconds": f"CAST(CASE WHEN {answered} THEN {_num('billsec')} ELSE 0 END "
            "AS VARCHAR)",
            "end_reason": f"CASE {disp} {arms} ELSE disposition END",
        }


@FORMATS.register("freeswitch")
class FreeswitchFormat(SwitchFormat):
    name = "freeswitch"
    columns = (
        "caller_id_name",
        "caller_id_number",
        "destination_number",
        "context",
        "start_stamp",
        "answer_stamp",
        "end_stamp",
        "duration",
        "billsec",
        "hangup_cause",
        "uuid",
        "bleg_uuid",
        "accountcode",
        "read_codec",
        "write_codec",
    )
    min_columns = 15
    timestamp_index = 4
    CAUSES: ClassVar[dict[str, str]] = {
        "ORIGINATOR_CANCEL": "caller_hangup",
        "USER_BUSY": "busy",
        "NO_ANSWER": "no_answer",
        "NO_USER_RESPONSE": "no_answer",
        "CALL_REJECTED": "rejected",
    }

    @classmethod
    def mapping_sql(cls, raw_columns: list[str]) -> dict[str, str]:
        answered = f"(coalesce({_num('billsec')}, 0) > 0 OR coalesce(trim(answer_stamp), '') <> '')"
        cause = "upper(trim(hangup_cause))"
        arms = " ".join(f"WHEN {cause} = {_lit(k)} THEN {_lit(v)}" for k, v in cls.CAUSES.items())
        return {
            "call_id": "uuid",
            "start_time": "start_stamp",
            "caller": "caller_id_number",
            "callee": "destination_number",
            "trunk": "coalesce(NULLIF(trim(accountcode), ''), context, '')",
            "answered": f"CASE WHEN {answered} THEN 'true' ELSE 'false' END",
            "ring_seconds": f"CAST({_num('duration')} - coalesce({_num('billsec')}, 0) AS VARCHAR)",
            "talk_seconds": f"CAST(CASE WHEN {answered} THEN {_num('billsec')} ELSE 0 END "
            "AS VARCHAR)",
            "end_reason": f"CASE WHEN hangup_cause IS NULL OR trim(hangup_cause) = '' THEN NULL "
            f"WHEN {cause} = 'NORMAL_CLEARING' THEN "
            f"(CASE WHEN {answered} THEN 'callee_hangup' ELSE 'no_answer' END) "
            f"{arms} ELSE 'failed' END",
        }


def format_for_path(path: Path) -> str | None:
    """The generic format named by the file's extension, or None."""
    name = path.name.lower()
    for fmt_name in ("csv", "parquet", "jsonl"):
        if any(name.endswith(ext) for ext in FORMATS.get(fmt_name).extensions):
            return fmt_name
    return None


def first_csv_row(path: Path, encoding: str = "utf-8") -> list[str]:
    """The first row of a (maybe gzipped) CSV file, for sniffing; [] when unreadable."""
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(65536)
    except (OSError, EOFError):
        return []
    text = head.decode(encoding, errors="replace").removeprefix("\ufeff")
    line = text.splitlines()[0] if text else ""
    try:
        return next(csv.reader(io.StringIO(line)), [])
    except csv.Error:
        return []


def sniff_switch(first_row: list[str]) -> str | None:
    """Name of the switch format a headerless first row looks like, or None."""
    for name in ("freeswitch", "asterisk"):
        fmt = FORMATS.get(name)
        assert issubclass(fmt, SwitchFormat)
        if fmt.matches(first_row):
            return name
    return None
