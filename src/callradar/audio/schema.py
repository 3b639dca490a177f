"""Tables owned by the audio stage.

- ``recordings``: one row per analysed honeypot recording (keyed by file name);
  ``caller`` is the E.164 calling number from the sidecar, so campaign linking
  joins numbers through a shared ``prompt_id``. ``transcript`` is kept as given
  for the text machinery of the complaints stage.
- ``prompts``: one row per distinct recorded prompt; ids (``PR0001`` ...) are
  stable: a prompt heard again matches a stored fingerprint and keeps its id.
- ``prompt_fingerprints``: the landmark hashes of each stored reference of a
  prompt (``ref`` numbers the references; ``t`` is the anchor frame, 16 ms).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "audio_001_recordings",
        """
        CREATE TABLE recordings (
            file VARCHAR PRIMARY KEY,
            caller VARCHAR,
            callee VARCHAR,
            time TIMESTAMPTZ,
            duration DOUBLE NOT NULL,
            pattern VARCHAR NOT NULL,
            prompt_id VARCHAR,
            speech_seconds DOUBLE NOT NULL,
            handover_at DOUBLE,
            transcript VARCHAR,
            channels INTEGER NOT NULL,
            sample_rate INTEGER NOT NULL,
            match_score INTEGER,
            cue VARCHAR,
            analysed_at TIMESTAMPTZ DEFAULT now()
        );
        CREATE TABLE prompts (
            prompt_id VARCHAR PRIMARY KEY,
            first_file VARCHAR NOT NULL,
            duration DOUBLE NOT NULL,
            refs INTEGER NOT NULL,
            created_at TIMESTAMPTZ DEFAULT now()
        );
        CREATE TABLE prompt_fingerprints (
            prompt_id VARCHAR NOT NULL,
            ref INTEGER NOT NULL,
            hash BIGINT NOT NULL,
            t INTEGER NOT NULL
        );
        """,
    ),
]
