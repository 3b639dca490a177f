"""Tables owned by the ingest stage: the four input kinds, quarantine and runs.

Numbers are stored normalized to E.164. ``calls.end_time`` is derived
(start + ring + talk). ``numbers`` holds one row per distinct number seen, with
its numbering-plan classification (see :mod:`callradar.numbering`).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "ingest_0001_core",
        """
        CREATE TABLE calls (
            call_id      VARCHAR NOT NULL,
            start_time   TIMESTAMPTZ NOT NULL,
            end_time     TIMESTAMPTZ NOT NULL,
            caller       VARCHAR NOT NULL,
            callee       VARCHAR NOT NULL,
            trunk        VARCHAR NOT NULL DEFAULT '',
            ring_seconds DOUBLE NOT NULL,
            answered     BOOLEAN NOT NULL,
            talk_seconds DOUBLE NOT NULL,
            end_reason   VARCHAR NOT NULL,
            run_id       BIGINT
        );
        CREATE TABLE complaints (
            complaint_id     VARCHAR NOT NULL,
            received_time    TIMESTAMPTZ NOT NULL,
            complainant      VARCHAR NOT NULL,
            reported_numbers VARCHAR[] NOT NULL,
            text             VARCHAR NOT NULL,
            channel          VARCHAR NOT NULL DEFAULT '',
            run_id           BIGINT
        );
        CREATE TABLE refusals (
            time    TIMESTAMPTZ NOT NULL,
            callee  VARCHAR NOT NULL,
            caller  VARCHAR NOT NULL,
            source  VARCHAR NOT NULL DEFAULT '',
            run_id  BIGINT
        );
        CREATE TABLE registry (
            number       VARCHAR NOT NULL,
            organization VARCHAR NOT NULL,
            category     VARCHAR NOT NULL DEFAULT '',
            run_id       BIGINT
        );
        CREATE TABLE numbers (
            number   VARCHAR PRIMARY KEY,
            kind     VARCHAR NOT NULL,
            carrier  VARCHAR NOT NULL DEFAULT '',
            area     VARCHAR NOT NULL DEFAULT '',
            block    VARCHAR NOT NULL DEFAULT ''
        );
        CREATE SEQUENCE ingest_run_seq START 1;
        CREATE TABLE ingest_runs (
            run_id      BIGINT PRIMARY KEY,
            file        VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            format      VARCHAR NOT NULL,
            sha256      VARCHAR NOT NULL,
            started_at  TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ NOT NULL,
            read        BIGINT NOT NULL,
            accepted    BIGINT NOT NULL,
            quarantined BIGINT NOT NULL,
            duplicates  BIGINT NOT NULL
        );
        CREATE TABLE quarantine (
            run_id     BIGINT NOT NULL,
            file       VARCHAR NOT NULL,
            kind       VARCHAR NOT NULL,
            row_number BIGINT NOT NULL,
            reason     VARCHAR NOT NULL,
            raw        VARCHAR NOT NULL
        );
        """,
    ),
    (
        # numbers gets area_code (fixed lines: "21" for Shanghai) beside the geocoded
        # area name, and loses its PRIMARY KEY: the ART index made inserting millions of
        # new numbers per file the slowest step of ingest. Ingest adds only numbers not
        # yet present (anti-join), so a number still has one row.
        "ingest_0002_numbers_area_code",
        """
        CREATE TABLE numbers_v2 (
            number    VARCHAR NOT NULL,
            kind      VARCHAR NOT NULL,
            carrier   VARCHAR NOT NULL DEFAULT '',
            area      VARCHAR NOT NULL DEFAULT '',
            block     VARCHAR NOT NULL DEFAULT '',
            area_code VARCHAR NOT NULL DEFAULT ''
        );
        INSERT INTO numbers_v2 (number, kind, carrier, area, block)
            SELECT number, kind, carrier, area, block FROM numbers;
        DROP TABLE numbers;
        ALTER TABLE numbers_v2 RENAME TO numbers;
        """,
    ),
]
