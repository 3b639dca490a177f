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
    # --- detect -----------------------------------------------------------
    # --- campaigns --------------------------------------------------------
    # --- protect ----------------------------------------------------------
    Setting("protect.block_threshold", 0.9, "Score at or above which a call is blocked."),
    Setting("protect.label_threshold", 0.5, "Score at or above which a call is labeled."),
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
    # --- audio ------------------------------------------------------------
    # --- complaints -------------------------------------------------------
    # --- evidence ---------------------------------------------------------
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
