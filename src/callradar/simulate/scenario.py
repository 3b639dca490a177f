"""Scenarios: TOML files of knobs over the defaults in ``scenarios/base.toml``.

A scenario is named (a file shipped in ``callradar/simulate/scenarios/``) or a
path to a TOML file. Unknown sections or knobs, and values of the wrong type,
are errors with a clear message.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from callradar.errors import BadRequestError, did_you_mean

PACKAGE = "callradar.simulate"


def _scenario_dir() -> Any:
    return resources.files(PACKAGE).joinpath("scenarios")


def builtin_names() -> list[str]:
    """Names of the shipped scenarios (``base`` excluded: it only holds defaults)."""
    names = [
        p.name[: -len(".toml")]
        for p in _scenario_dir().iterdir()
        if p.name.endswith(".toml") and p.name != "base.toml"
    ]
    return sorted(names)


def _read_text(name: str) -> str:
    return _scenario_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")


def base_knobs() -> dict[str, Any]:
    """The defaults of every knob (the parsed ``base.toml``)."""
    return tomllib.loads(_read_text("base"))


def knob_paths(tree: dict[str, Any] | None = None) -> list[str]:
    """Every knob as ``section.key`` (top-level keys as ``key``)."""
    tree = base_knobs() if tree is None else tree
    out: list[str] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out.extend(f"{key}.{k}" for k in value)
        else:
            out.append(key)
    return out


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: every knob has a value."""

    name: str
    knobs: dict[str, Any]

    def __getitem__(self, path: str) -> Any:
        section, _, key = path.partition(".")
        return self.knobs[section][key] if key else self.knobs[section]

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(str(self["city.start_date"]))


def _merge(base: dict[str, Any], over: dict[str, Any], origin: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if key not in base:
            raise did_you_mean(key, list(base), f"scenario section or key (in {origin})")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise BadRequestError(f"scenario {origin}: [{key}] must be a table")
            for k, v in value.items():
                if k not in base[key]:
                    raise did_you_mean(k, list(base[key]), f"knob in [{key}] (in {origin})")
                out[key][k] = _coerce(f"{key}.{k}", base[key][k], v, origin)
        else:
            out[key] = _coerce(key, base[key], value, origin)
    return out


def _coerce(path: str, default: Any, value: Any, origin: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, list) and isinstance(value, list) and len(value) == len(default):
        return [float(v) for v in value]
    raise BadRequestError(
        f"scenario {origin}: {path} = {value!r} has the wrong type "
        f"(expected {type(default).__name__} like {default!r})"
    )


def load_scenario(
    scenario: str | Path, *, days: int | None = None, subscribers: int | None = None
) -> Scenario:
    """Resolve a scenario name or TOML path, then apply the ``days``/``subscribers`` overrides."""
    text: str
    origin: str
    path = Path(scenario)
    if isinstance(scenario, Path) or str(scenario).endswith(".toml") or path.is_file():
        if not path.is_file():
            raise BadRequestError(f"scenario file {str(path)!r} does not exist")
        text = path.read_text(encoding="utf-8")
        origin = str(path)
    else:
        names = builtin_names()
        if str(scenario) not in names:
            raise did_you_mean(str(scenario), names, "scenario")
        text = _read_text(str(scenario))
        origin = str(scenario)
    try:
        over = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadRequestError(f"scenario {origin}: not valid TOML: {exc}") from None
    knobs = _merge(base_knobs(), over, origin)
    if days is not None:
        knobs["city"]["days"] = int(days)
    if subscribers is not None:
        knobs["city"]["subscribers"] = int(subscribers)
    sc = Scenario(name=str(knobs["name"]), knobs=knobs)
    _validate(sc, origin)
    return sc


def _validate(sc: Scenario, origin: str) -> None:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise BadRequestError(f"scenario {origin}: {what}")

    need(sc["city.subscribers"] >= 100, "city.subscribers must be at least 100")
    need(sc["city.days"] >= 1, "city.days must be at least 1")
    try:
        sc.start_date  # noqa: B018
    except ValueError:
        raise BadRequestError(f"scenario {origin}: city.start_date must be YYYY-MM-DD") from None
    need(sc["vendors.count"] >= 1, "vendors.count must be at least 1")
    for lo, hi in (
        ("clients_min", "clients_max"),
        ("volume_min", "volume_max"),
        ("target_share_min", "target_share_max"),
        ("redial_days_min", "redial_days_max"),
        ("prompt_min", "prompt_max"),
        ("number_calls_min", "number_calls_max"),
        ("trunks_min", "trunks_max"),
    ):
        need(
            0 < sc[f"vendors.{lo}"] <= sc[f"vendors.{hi}"],
            f"vendors.{lo} must be positive and <= vendors.{hi}",
        )
    need(0 <= sc["vendors.hour_start"] < sc["vendors.hour_end"] <= 24, "bad vendors hours")
    need(sc["vendors.target_share_max"] <= 1.0, "vendors.target_share_max must be <= 1")
    need(sc["resellers.count"] >= 1 and sc["resellers.trunks"] >= 1, "resellers must be >= 1")
    need(0.0 <= sc["honeypots.share"] <= 0.1, "honeypots.share must be between 0 and 0.1")
    need(sc["output.chunk_rows"] >= 1000, "output.chunk_rows must be at least 1000")
    need(
        sc["output.compression"] in {"snappy", "zstd", "lz4", "gzip", "none"},
        "output.compression must be snappy, zstd, lz4, gzip or none",
    )
