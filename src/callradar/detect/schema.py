"""Tables owned by the detect stage: scores per number with their reasons."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "detect_0001_scores",
        """
        CREATE TABLE number_scores (
            number     VARCHAR NOT NULL,
            day        DATE NOT NULL,
            score      DOUBLE NOT NULL,
            reasons    VARCHAR NOT NULL,
            model      VARCHAR NOT NULL,
            scored_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (number, day)
        );
        CREATE TABLE models (
            name       VARCHAR PRIMARY KEY,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            params     VARCHAR NOT NULL,
            metrics    VARCHAR NOT NULL DEFAULT '{}',
            blob       BLOB NOT NULL
        );
        """,
    ),
    (
        # no primary key: an ART index over every number of a city-day cost more than
        # scoring it; score() keeps (number, day) unique by replacing the whole day
        "detect_0002_scores_no_pk",
        """
        CREATE TABLE number_scores_v2 (
            number     VARCHAR NOT NULL,
            day        DATE NOT NULL,
            score      DOUBLE NOT NULL,
            reasons    VARCHAR NOT NULL,
            model      VARCHAR NOT NULL,
            scored_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        INSERT INTO number_scores_v2 SELECT * FROM number_scores;
        DROP TABLE number_scores;
        ALTER TABLE number_scores_v2 RENAME TO number_scores;
        """,
    ),
]
