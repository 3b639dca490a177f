from __future__ import annotations

import re
from pathlib import Path

import pytest

from callradar.config import SETTINGS, Config, setting
from callradar.errors import ConfigError, UnknownNameError

SRC = Path(__file__).resolve().parent.parent / "src" / "callradar"


def test_every_setting_is_documented() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names)), "duplicate setting names"
    for s in SETTINGS:
        assert len(s.help) >= 15 and s.help[0].isupper(), f"setting {s.name} needs a real help text"
        assert re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)?", s.name), s.name


def test_every_setting_read_in_code_exists() -> None:
    """Every literal name passed to config.get(...) or config[...] is in the table."""
    known = {s.name for s in SETTINGS}
    pattern = re.compile(r"""(?:config|cfg|self\.config)(?:\.get\(|\[)\s*["']([a-z_.0-9]+)["']""")
    used: set[str] = set()
    for path in SRC.rglob("*.py"):
        used.update(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan found no setting reads; the pattern is broken"
    assert used <= known, f"settings read but not in the table: {sorted(used - known)}"


def test_environment_and_overrides() -> None:
    cfg = Config(environ={"CALLRADAR_PROTECT_BLOCK_THRESHOLD": "0.95"})
    assert cfg.get("protect.block_threshold") == 0.95
    cfg = Config({"protect.block_threshold": 0.8}, environ={})
    assert cfg["protect.block_threshold"] == 0.8
    assert cfg.replace(protect__label_threshold="0.4").get("protect.label_threshold") == 0.4


def test_bad_values_and_unknown_names() -> None:
    with pytest.raises(ConfigError):
        Config(environ={"CALLRADAR_THREADS": "many"})
    with pytest.raises(UnknownNameError, match=r"did you mean 'protect\.block_threshold'"):
        setting("protect.block_treshold")
