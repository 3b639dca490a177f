"""Tables owned by the serve stage.

``serve_links``: campaign memberships the live engine learned while serving
(``Engine.provisional``), persisted so that a restart keeps them and the
refusals that point at them. ``serve_spool``: every file taken from the CDR
spool directory, by content hash, so that each file is taken once.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "serve_0001_live",
        """
        CREATE TABLE serve_links (
            number      VARCHAR PRIMARY KEY,
            campaign_id VARCHAR NOT NULL,
            score       DOUBLE NOT NULL DEFAULT 0,
            linked_at   TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE serve_spool (
            sha256    VARCHAR PRIMARY KEY,
            file      VARCHAR NOT NULL,
            bytes     BIGINT NOT NULL,
            run_id    BIGINT,
            read      BIGINT NOT NULL DEFAULT 0,
            accepted  BIGINT NOT NULL DEFAULT 0,
            taken_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        """,
    ),
]
