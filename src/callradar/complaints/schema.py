"""Tables owned by the complaints stage.

``complaint_facts`` holds what :func:`callradar.complaints.extract` read from each
stored complaint's text (one row per complaint; numbers in E.164; ``business_keys``
parallel to ``businesses``). ``complaint_links`` links complaints to campaigns;
``via`` is ``number`` (a number the complaint names or reports is a campaign
number), ``calls`` (the complainant was called from a campaign number shortly
before complaining) or ``business`` (the business it names is named by other
complaints linked to the campaign); ``weight`` in 0..1 is the strength of that
link. The view ``complaint_campaign`` gives each linked complaint its strongest
campaign (weights of its links summed, capped at 1; ``via`` lists the kinds).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "complaints_0001_facts_links",
        """
        CREATE TABLE complaint_facts (
            complaint_id   VARCHAR PRIMARY KEY,
            numbers        VARCHAR[] NOT NULL,
            businesses     VARCHAR[] NOT NULL,
            business_keys  VARCHAR[] NOT NULL,
            category       VARCHAR NOT NULL,
            refused_before BOOLEAN NOT NULL,
            ai_voice       BOOLEAN NOT NULL,
            analysed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE complaint_links (
            complaint_id VARCHAR NOT NULL,
            campaign_id  VARCHAR NOT NULL,
            via          VARCHAR NOT NULL,
            weight       DOUBLE NOT NULL,
            detail       VARCHAR NOT NULL DEFAULT '',
            PRIMARY KEY (complaint_id, campaign_id, via)
        );
        CREATE VIEW complaint_campaign AS
        SELECT complaint_id, campaign_id, weight, via
        FROM (
            SELECT complaint_id, campaign_id, least(1.0, sum(weight)) AS weight,
                   string_agg(via, ',' ORDER BY via) AS via,
                   row_number() OVER (
                       PARTITION BY complaint_id ORDER BY sum(weight) DESC, campaign_id
                   ) AS rk
            FROM complaint_links
            GROUP BY complaint_id, campaign_id
        )
        WHERE rk = 1;
        """,
    ),
]
