from __future__ import annotations

from pathlib import Path

import pytest

from callradar.config import Config
from callradar.store import Store, all_migrations


def test_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path, Config(environ={})) as s:
        names = s.schema_version()
        assert names == [n for n, _ in all_migrations()]
        assert "calls" in s.tables()
    with Store(path, Config(environ={})) as s:
        assert s.migrate() == []


def test_transaction_rolls_back(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as con:
        con.execute("INSERT INTO registry VALUES ('+8695588', 'ICBC', 'bank', NULL)")
        raise RuntimeError("boom")
    assert store.table_counts()["registry"] == 0
