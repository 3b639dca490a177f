"""The one settings table and the config object that reads it.

Every tunable of callradar is a row in :data:`SETTINGS` (name, default, help).
A value comes from, in order of precedence: an explicit override passed to
:class:`Config`, the environment variable ``CALLRADAR_<NAME>`` (upper case,
dots as underscores), or the default. ``callradar settings`` prints the table;
``tests/test_config.py`` checks that every setting is documented and that every
setting the code reads exists.

Rows are grouped by the stage that reads them; add a stage's settings in its
group.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callradar.errors import ConfigError, did_you_mean


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        return "CALLRADAR_" + self.name.upper().replace(".", "_")

    def coerce(self, raw: Any) -> Any:
        """Turn ``raw`` (often a string from the environment) into the default's type."""
        kind = type(self.default)
        if raw is None or isinstance(raw, kind):
            return raw
        try:
            if kind is bool:
                text = str(raw).strip().lower()
                if text in {"1", "true", "yes", "on"}:
                    return True
                if text in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(text)
            if kind is int:
                return int(raw)
            if kind is float:
                return float(raw)
            if kind is str:
                return str(raw)
            if kind in (list, tuple):
                items = [p.strip() for p in str(raw).split(",") if p.strip()]
                return kind(items)
        except (TypeError, ValueError):
            pass
        raise ConfigError(
            f"setting {self.name}: cannot use {raw!r} as {kind.__name__}", name=self.name
        )


SETTINGS: tuple[Setting, ...] = (
    # --- core -------------------------------------------------------------
    Setting("db", "callradar.duckdb", "Path of the embedded DuckDB store."),
    Setting("timezone", "Asia/Shanghai", "Time zone for timestamps that carry no offset."),
    Setting("default_region", "CN", "Region used to parse numbers written without a country code."),
    Setting(
        "pseudonym_key",
        "",
        "Secret key for the keyed hash that pseudonymizes citizens' numbers in logs and exports. "
        "Empty means a key is generated once and kept in the store.",
    ),
    Setting("threads", 0, "Worker threads for DuckDB; 0 lets DuckDB use every core."),
    Setting("memory_limit", "4GB", "DuckDB memory limit; larger work spills to disk."),
    # --- ingest -----------------------------------------------------------
    Setting("ingest.encoding", "utf-8", "Text encoding of CSV and JSON Lines inputs (e.g. gbk)."),
    Setting("ingest.batch_rows", 1_000_000, "Rows validated and stored per batch during ingest."),
    # --- simulate ---------------------------------------------------------
    # --- features ---------------------------------------------------------
    Setting("features.engine", "duckdb", "Engine that computes features: duckdb or spark."),
    Setting(
        "features.spark_master", "local[*]", "Spark master URL used when features.engine is spark."
    ),
    Setting("features.spark_driver_memory", "3g", "Spark driver memory (local mode: all of it)."),
    Setting("features.spark_partitions", 8, "Spark shuffle partitions for feature work."),
    Setting(
        "features.compress_intermediates",
        True,
        "DuckDB engine: keep intermediate feature tables in an attached in-memory database "
        "(declared compressed) instead of plain temp tables. DuckDB compresses such a "
        "database only at a checkpoint, which the engine does not run: a checkpoint after "
        "the largest table was measured and did not pay at 50M calls (docs/benchmarks.md).",
    ),
    Setting("features.windows", ["hour", "day", "week"], "Windows computed by default."),
    Setting("features.long_talk_seconds", 60.0, "Talk time from which a call counts as long."),
    Setting(
        "features.short_talk_seconds",
        6.0,
        "Talk time under which a callee hang-up counts as a short refusal.",
    ),
    Setting("features.bin_seconds", 2.0, "Bin width of the talk/ring-time modes, in seconds."),
    Setting(
        "features.min_sequence_calls",
        5,
        "Calls a number needs in a window for its sequence, mode, overlap and reciprocity "
        "features (fewer: NULL, unknown to the scorer).",
    ),
    # --- detect -----------------------------------------------------------
    Setting("detect.model_name", "local", "Name under which `learn` stores its model."),
    Setting("detect.weight_complaint", 0.7, "Weak-label weight of one complaint naming a number."),
    Setting(
        "detect.weight_complaint_recent",
        0.3,
        "Weak-label weight of a call to a complainant shortly before a complaint naming no number.",
    ),
    Setting("detect.weight_refusal", 0.25, "Weak-label weight of one citizen refusing a number."),
    Setting("detect.weight_registry", 1.0, "Weight of a registry number as a negative label."),
    Setting("detect.weight_analyst", 1.0, "Weight of a label from an analyst label file."),
    Setting("detect.weight_unlabeled", 0.05, "Weight of an unlabeled number as a weak negative."),
    Setting(
        "detect.complaint_lookback_minutes",
        120,
        "Calls to a complainant this long before a complaint count as its suspects.",
    ),
    Setting(
        "detect.max_unlabeled", 200_000, "Unlabeled numbers sampled into training (reweighted)."
    ),
    Setting("detect.n_estimators", 200, "Boosting rounds of the scorer fitted by `learn`."),
    Setting(
        "detect.threads",
        1,
        "LightGBM threads for learn/score; 0 = all cores (slow when the machine is shared).",
    ),
    Setting(
        "detect.explain_min_score",
        0.3,
        "Scores from which per-feature reasons are computed; lower scores get a summary line.",
    ),
    Setting("detect.reasons_top_k", 3, "Reasons given per scored number."),
    Setting("detect.score_batch_rows", 500_000, "Numbers scored per batch (bounds memory)."),
    Setting(
        "detect.compile_min_rows",
        1_000_000,
        "Scoring compiles the model to machine code (lleaves; about 2 s, then about 5x less "
        "predict CPU) when it scores at least this many numbers; 0 = never.",
    ),
    # --- campaigns --------------------------------------------------------
    Setting(
        "campaigns.min_score",
        0.5,
        "Numbers whose best detect score reaches this are linked into campaigns.",
    ),
    Setting(
        "campaigns.min_prompt_share",
        0.2,
        "Share of a number's answered calls that must end at one talk length before that "
        "length counts as its recorded prompt (the spike) for linking.",
    ),
    Setting(
        "campaigns.min_prompt_calls",
        3,
        "Answered calls that must end at one talk length before that length counts as a "
        "number's recorded prompt.",
    ),
    Setting(
        "campaigns.callee_min_shared",
        5,
        "Two suspect numbers that dialled at least this many of the same citizens may be "
        "linked as one campaign re-dialling its target slice.",
    ),
    Setting(
        "campaigns.callee_min_overlap",
        0.2,
        "Shared citizens must also be at least this share of the smaller callee set of the two.",
    ),
    Setting(
        "campaigns.callee_min_run_share",
        0.9,
        "Two numbers that dialled the same citizens are one slice re-dialled only if, over "
        "the run of one of them from its first to its last shared citizen, at least this "
        "share of its calls went to shared citizens (a re-dial follows the list; another "
        "vendor sweeping the same stretch interleaves its own citizens).",
    ),
    Setting(
        "campaigns.handover_seconds",
        300.0,
        "A number that starts dialling at most this many seconds after another stopped, with "
        "the same recorded prompt, from the same range, is linked to it (a campaign hands "
        "its sweep on); SIM-farm mobiles, which have no range, never are.",
    ),
    Setting(
        "campaigns.range_prompt_tolerance_s",
        0.15,
        "Numbers of one 1000-number range whose recorded prompts differ by at most this "
        "many seconds are linked into one campaign.",
    ),
    Setting(
        "campaigns.peak_half_width_s",
        0.3,
        "Half width in seconds of a recorded-prompt peak in a range's pooled talk times; "
        "a number's answered call within it of the peak counts as playing that prompt.",
    ),
    Setting(
        "campaigns.peak_single_call_near",
        8,
        "A number with only one answered call at a range's prompt peak counts as playing "
        "that prompt only if another number of the peak lies at most this many numbers away "
        "in the range (a single call may be another prompt cut short; a dialer takes a "
        "client's lines from the range in a run).",
    ),
    Setting(
        "campaigns.run_split_z",
        3.0,
        "The numbers of one prompt peak of a range, in number order, are cut into runs where "
        "the two sides' mean talk times differ by this many standard errors (and 0.1 s): "
        "two clients of one vendor with prompts a few tenths of a second apart, each "
        "dialling from its own run of the range. Within a run, groups of numbers whose "
        "prompts lie closer than this many standard errors stay one.",
    ),
    Setting(
        "campaigns.peak_min_calls",
        3,
        "Answered calls a talk-time peak of a range must hold to count as a recorded prompt.",
    ),
    Setting(
        "campaigns.peak_min_z",
        4.0,
        "A talk-time peak must stand this many standard deviations (Poisson) above the "
        "calls an equally wide window typically holds in the surrounding two seconds, and "
        "hold twice as many.",
    ),
    Setting(
        "campaigns.cross_range_prompt_tolerance_s",
        0.2,
        "Groups of numbers from different ranges whose prompts differ by at most this many "
        "seconds may be joined when they dialled the same citizens.",
    ),
    Setting(
        "campaigns.cross_range_min_shared",
        10,
        "Citizens two such groups must both have dialled to be joined into one campaign.",
    ),
    Setting(
        "campaigns.cross_range_min_overlap",
        0.25,
        "Share of the smaller group's callees those shared citizens must also reach (chance "
        "meetings between two vendors' groups stay near 0.05-0.2).",
    ),
    Setting(
        "campaigns.attach_min_shared",
        2,
        "A suspect number with no prompt of its own joins the group of its range whose "
        "citizens it re-dialled, when it shares at least this many callees with it and at "
        "least twice as many as with any other group.",
    ),
    Setting(
        "campaigns.neighbourhood",
        5,
        "A suspect still on its own after every other signal joins the group holding all "
        "the linked numbers within this many numbers of it in its range, when some lie "
        "below it and some above (a dialer takes a client's lines from a range in a run); "
        "0 turns this off.",
    ),
    Setting(
        "campaigns.run_max_gap",
        3,
        "A suspect still on its own joins the group of its nearest linked numbers below "
        "and above it in its range when both are of that group and each at most this far "
        "away in number order (a dialer takes a client's lines from a range in a run, in "
        "order); or the group just below it, when it started after all that group's lines.",
    ),
    Setting(
        "campaigns.attach_mobile_max_called_by",
        1,
        "A mobile with no prompt and no range joins a group by shared callees alone only "
        "if at most this many distinct numbers ever called it: a person's phone is called "
        "by the contacts it calls, and campaigns dial those contacts too.",
    ),
    Setting(
        "campaigns.sweep_min_ascending",
        0.8,
        "Share of a number's consecutive calls of a day that must go to a higher number for "
        "it to count as sweeping a target list in numeric order.",
    ),
    Setting(
        "campaigns.sweep_max_gap",
        3.0,
        "A sweeping number continues another's slice when its lowest callee lies within "
        "this many of the other's typical callee spacings above the other's highest.",
    ),
    # --- protect ----------------------------------------------------------
    Setting("protect.block_threshold", 0.9, "Score at or above which a call is blocked."),
    Setting(
        "protect.online_block_threshold",
        0.9,
        "Score of the call-setup scorer (numbers no campaign holds yet) at or above which a "
        "call is blocked; it is a different model from the day-level detector, calibrated "
        "on its own (see docs/quality.md).",
    ),
    Setting("protect.label_threshold", 0.5, "Score at or above which a call is labeled."),
    Setting(
        "protect.refused_threshold",
        0.3,
        "Score at or above which a call is blocked when its callee refused the campaign the "
        "call's evidence (its campaign, or the campaigns of its block and range) points at.",
    ),
    Setting(
        "protect.refused_slice_share",
        0.3,
        "A suspect call to a citizen who refused a campaign is blocked when at least this "
        "share (and 5) of the citizens the number called so far were dialled by that "
        "campaign before: it is re-dialling that campaign's target slice.",
    ),
    Setting(
        "protect.merge_slices",
        True,
        "Join two campaigns in the call path when a number re-dials one's slice of the "
        "target list and then, without a break, the other's (campaigns.callee_min_shared "
        "citizens of each, campaigns.callee_min_run_share of its calls over each run): the "
        "rest of the day reports one id for both, and a refusal of either covers both.",
    ),
    Setting(
        "protect.merge_max_gap",
        3,
        "Two slices a number re-dials are consecutive (see protect.merge_slices) when the "
        "second starts at most this many of its new callees after the first ended.",
    ),
    Setting(
        "protect.recent_slice_callees",
        10,
        "How many of a number's latest new callees tell which part of a campaign's target "
        "list its sweep is in now (see protect.recent_slice_min).",
    ),
    Setting(
        "protect.recent_slice_min",
        5,
        "A suspect call to a citizen who refused a campaign is blocked when at least this "
        "many of the number's latest new callees (protect.recent_slice_callees) were "
        "dialled by that campaign before.",
    ),
    Setting(
        "protect.train_vendor_range_numbers",
        5,
        "Training the call-setup scorer: a landline or virtual range holding at least this "
        "many campaign numbers (and protect.train_vendor_range_share of its numbers) is a "
        "vendor's, and its low-scoring numbers are not used as negatives.",
    ),
    Setting(
        "protect.train_vendor_range_share",
        0.3,
        "Share of a range's numbers that must be campaign numbers for it to count as a "
        "vendor's range when training the call-setup scorer.",
    ),
    Setting(
        "protect.burst_window_s",
        600.0,
        "Window in seconds over which a number's recent INVITEs are counted at call setup.",
    ),
    Setting(
        "protect.prompt_tolerance_s",
        0.2,
        "An answered call whose talk time is within this many seconds of a known campaign "
        "prompt length counts as prompt-like.",
    ),
    Setting(
        "protect.fast_path_calls",
        5,
        "A number the day-level model scored clean is allowed without online scoring while "
        "it places at most this many calls within protect.burst_window_s.",
    ),
    Setting(
        "protect.callee_memory_days",
        4,
        "Days of history in which the engine remembers which campaigns dialled each "
        "citizen (a new number re-dialling those citizens is likely the same campaign).",
    ),
    Setting(
        "protect.train_days",
        2,
        "Days of the most recent history replayed to fit the online scorer.",
    ),
    Setting(
        "protect.train_max_calls",
        2_000_000,
        "At most this many history calls are replayed to fit the online scorer.",
    ),
    Setting(
        "protect.deadline_ms",
        50.0,
        "Verdict deadline in milliseconds; past it the call is allowed (fail open).",
    ),
    # --- serve ------------------------------------------------------------
    Setting(
        "serve.tokens",
        "",
        "API tokens as 'token:role' pairs separated by commas (roles: carrier, regulator, admin). "
        "Never hard-code tokens; set CALLRADAR_SERVE_TOKENS or a file.",
    ),
    Setting(
        "serve.tokens_file",
        "",
        "File of API tokens, one 'token:role' per line ('#' starts a comment); added to "
        "serve.tokens.",
    ),
    Setting("serve.http", "127.0.0.1:8080", "HOST:PORT the HTTP API listens on."),
    Setting("serve.sip", "", "HOST:PORT the SIP screener listens on (UDP and TCP); empty = off."),
    Setting(
        "serve.sip_max_bytes",
        8192,
        "Largest SIP message accepted; a larger one is dropped (UDP) or closes the connection.",
    ),
    Setting("serve.sip_tcp_idle_s", 60.0, "A SIP TCP connection idle this many seconds is closed."),
    Setting(
        "serve.sip_udp_buffer_kb",
        4096,
        "Receive and send buffer of the SIP UDP socket in KiB (capped by net.core.rmem_max): "
        "room for bursts, since a dropped datagram costs the caller a 500 ms retransmission.",
    ),
    Setting(
        "serve.jwscard_url",
        "https://callradar.invalid/v1/jwscard",
        "Base URL of the RFC 8688 jCard (Call-Info purpose=jwscard) naming the analytics "
        "service in 608 responses; the campaign id is appended.",
    ),
    Setting(
        "serve.label_text",
        "Suspected robocall",
        "Caller-ID display text the proxy shows for a 'label' verdict (302 X-Callradar-Label).",
    ),
    Setting("serve.batch_max", 1000, "Most calls or records accepted in one batch request."),
    Setting("serve.spool_poll_s", 1.0, "Seconds between scans of the --cdr-spool directory."),
    Setting(
        "serve.gil_switch_ms",
        0.5,
        "Python thread switch interval in the serve process, in ms (the interpreter's default "
        "is 5): shorter hands verdicts between the event loop and the engine thread sooner.",
    ),
    # --- audio ------------------------------------------------------------
    Setting("audio.vad_threshold", 0.5, "Silero VAD speech probability that starts speech."),
    Setting(
        "audio.min_speech_seconds", 0.5, "Less remote speech than this makes a call 'silence'."
    ),
    Setting(
        "audio.block_gap_seconds",
        0.45,
        "Pause that splits remote speech into blocks (prompt vs. what follows).",
    ),
    Setting(
        "audio.hangup_tail_seconds",
        4.0,
        "Max seconds from the end of an unknown prompt to the end of a prompt_hangup call.",
    ),
    Setting(
        "audio.change_semitones",
        5.0,
        "Median-pitch change (semitones) between prompt and later speech that means a new voice.",
    ),
    Setting(
        "audio.change_cepstral",
        6.0,
        "Mean-cepstrum distance between prompt and later speech that means a new voice.",
    ),
    Setting(
        "audio.match_min_hits", 20, "Time-aligned landmark hits for a prompt fingerprint match."
    ),
    Setting(
        "audio.match_min_ratio",
        0.02,
        "Aligned hits as a share of the smaller landmark set needed for a prompt match.",
    ),
    Setting(
        "audio.match_min_coverage",
        0.4,
        "Share of a stored prompt's duration the aligned landmark hits must span to match.",
    ),
    Setting("audio.refs_per_prompt", 3, "Fingerprint references kept per prompt (robustness)."),
    # --- complaints -------------------------------------------------------
    Setting(
        "complaints.default_area_code",
        "21",
        "Area code (no trunk 0) for 8-digit local numbers written without one in complaints.",
    ),
    Setting(
        "complaints.link_window_hours",
        72.0,
        "Hours before a complaint in which the complainant's calls from campaign numbers count.",
    ),
    Setting(
        "complaints.link_recency_hours",
        6.0,
        "Decay time of call evidence: a campaign's share of a complaint falls by e per this age.",
    ),
    Setting(
        "complaints.business_min_complaints",
        2,
        "Other linked complaints naming a business needed to link a complaint by that business.",
    ),
    Setting(
        "complaints.known_stem_min_complaints",
        2,
        "Complaints that must name a business with its suffix before its bare stem counts.",
    ),
    Setting(
        "complaints.cluster_threshold",
        0.6,
        "Cosine similarity of char n-gram TF-IDF at which two scripts or transcripts cluster.",
    ),
    # --- evidence ---------------------------------------------------------
    Setting(
        "evidence.harm_refusal_weight",
        5.0,
        "Dossier order: harm = citizens reached + this x refusals ignored + complaints weight x n.",
    ),
    Setting(
        "evidence.harm_complaint_weight",
        20.0,
        "Dossier order: weight of one linked complaint in the harm index (see above).",
    ),
    Setting(
        "evidence.agent_talk_seconds",
        60.0,
        "Answered calls talking at least this long count as handed to a live agent (lead taken).",
    ),
    Setting(
        "evidence.min_link_weight",
        0.0,
        "Complaints count for a campaign's dossier only if their link weight exceeds this.",
    ),
    Setting(
        "evidence.examples",
        20,
        "Example rows (call, complaint, refusal ids) shown per finding in dossier pages.",
    ),
)

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


class Config:
    """Read-only view of the settings, with overrides and environment applied."""

    def __init__(
        self, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for s in SETTINGS:
            raw = env.get(s.env_var)
            values[s.name] = s.default if raw is None else s.coerce(raw)
        for name, value in (overrides or {}).items():
            if value is None:
                continue
            values[name] = setting(name).coerce(value)
        self._values = values

    def get(self, name: str) -> Any:
        if name not in self._values:
            raise did_you_mean(name, list(_BY_NAME), "setting")
        return self._values[name]

    __getitem__ = get

    def replace(self, **overrides: Any) -> Config:
        """A copy with some settings changed (dots in names written as ``__``)."""
        merged = dict(self._values)
        for key, value in overrides.items():
            name = key.replace("__", ".")
            merged[name] = setting(name).coerce(value)
        new = Config.__new__(Config)
        new._values = merged
        return new

    def items(self) -> list[tuple[str, Any]]:
        return list(self._values.items())


def setting(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise did_you_mean(name, list(_BY_NAME), "setting") from None
