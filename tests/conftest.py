"""Shared fixtures: a fresh store, a config, and paths to the shared real data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callradar.config import Config
from callradar.store import Store

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture
def config() -> Config:
    return Config(environ={})


@pytest.fixture
def store(tmp_path: Path, config: Config) -> Iterator[Store]:
    """A fresh, migrated DuckDB store in a temporary file."""
    with Store(tmp_path / "test.duckdb", config) as s:
        yield s


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("shared/data is not beside the repository")
    return SHARED_DATA
