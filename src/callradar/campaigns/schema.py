"""Tables owned by the campaigns stage.

``campaigns`` has one row per campaign with a stable id (``C`` + 6 digits,
kept from day to day); ``campaign_numbers`` maps every caller number linked to
a campaign, with the signals that linked it.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "campaigns_0001_core",
        """
        CREATE TABLE campaigns (
            campaign_id VARCHAR PRIMARY KEY,
            first_seen  TIMESTAMPTZ,
            last_seen   TIMESTAMPTZ,
            numbers     BIGINT NOT NULL DEFAULT 0,
            calls       BIGINT NOT NULL DEFAULT 0,
            score       DOUBLE NOT NULL DEFAULT 0,
            prompt_seconds DOUBLE,
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE campaign_numbers (
            campaign_id VARCHAR NOT NULL,
            number      VARCHAR NOT NULL,
            first_seen  TIMESTAMPTZ,
            last_seen   TIMESTAMPTZ,
            calls       BIGINT NOT NULL DEFAULT 0,
            linked_by   VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (campaign_id, number)
        );
        CREATE TABLE campaign_trunks (
            campaign_id VARCHAR NOT NULL,
            trunk       VARCHAR NOT NULL,
            calls       BIGINT NOT NULL DEFAULT 0,
            share       DOUBLE NOT NULL DEFAULT 0,
            PRIMARY KEY (campaign_id, trunk)
        );
        """,
    ),
]
