"""Tables owned by the features stage: behavioural features per window.

One row per (caller number | trunk | number block, window kind, window start).
``win`` is ``hour``, ``day`` or ``week``; ``win_start`` is the window's start
in the configured time zone. Column meanings: :data:`callradar.features.FEATURES`.
"""

from __future__ import annotations

_COMMON = """
            attempts              BIGINT NOT NULL,
            distinct_callees      BIGINT NOT NULL,
            distinct_callee_ratio DOUBLE,
            answered_calls        BIGINT NOT NULL,
            answer_rate           DOUBLE,
            talk_mean             DOUBLE,
            long_talk_share       DOUBLE,
            short_refusal_share   DOUBLE,
            caller_hangup_share   DOUBLE,
            ring_unanswered_mean  DOUBLE,
            ring_unanswered_cv    DOUBLE,
            ascending_share       DOUBLE,
            gap_mean              DOUBLE,
            gap_cv                DOUBLE,
            active_span_hours     DOUBLE,
            modal_talk_seconds    DOUBLE,
            modal_talk_share      DOUBLE,
            modal_ring_seconds    DOUBLE,
            modal_ring_share      DOUBLE"""

_GROUP = """,
            distinct_callers      BIGINT NOT NULL,
            calls_per_caller      DOUBLE,
            new_caller_share      DOUBLE,
            virtual_caller_share  DOUBLE,
            computed_at           TIMESTAMPTZ NOT NULL DEFAULT now()"""

MIGRATIONS: list[tuple[str, str]] = [
    (
        "features_0001_tables",
        f"""
        CREATE TABLE caller_features (
            number    VARCHAR NOT NULL,
            win       VARCHAR NOT NULL,
            win_start TIMESTAMPTZ NOT NULL,{_COMMON},
            callback_share        DOUBLE,
            prior_contact_share   DOUBLE,
            callee_overlap_share  DOUBLE,
            age_days              DOUBLE,
            active_days           BIGINT,
            kind                  VARCHAR NOT NULL DEFAULT '',
            kind_landline         INTEGER,
            kind_virtual          INTEGER,
            kind_mobile           INTEGER,
            computed_at           TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE trunk_features (
            trunk     VARCHAR NOT NULL,
            win       VARCHAR NOT NULL,
            win_start TIMESTAMPTZ NOT NULL,{_COMMON}{_GROUP}
        );
        CREATE TABLE block_features (
            block     VARCHAR NOT NULL,
            win       VARCHAR NOT NULL,
            win_start TIMESTAMPTZ NOT NULL,{_COMMON}{_GROUP}
        );
        """,
    ),
]
