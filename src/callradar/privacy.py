"""Pseudonymization of citizens' numbers: a keyed hash (SHA-256 over key and number).

Citizens' numbers are personal data. Logs and exports show ``p:`` plus the
first 16 hex digits of SHA-256(key_hex + ':' + E.164 number) unless the reader holds
the regulator role. The key comes from the ``pseudonym_key`` setting, or is
generated once per store and kept in its ``secrets`` table, so the same number
maps to the same pseudonym across runs of one deployment and cannot be
reversed without the key. The same hash is computed in Python and, vectorized,
in DuckDB SQL (:meth:`Pseudonymizer.sql_expr`), so bulk exports need no Python
loop. The output is truncated and the input has a fixed form, so SHA-256's
length extension gives an attacker nothing here.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callradar.store import Store

PREFIX = "p:"


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("pseudonymization key must not be empty")
        self._key = key
        self._salt = key.hex().encode() + b":"

    def __call__(self, number: str | None) -> str:
        if not number:
            return ""
        digest = hashlib.sha256(self._salt + number.encode()).hexdigest()
        return PREFIX + digest[:16]

    def sql_expr(self, column: str) -> str:
        """A DuckDB expression computing the same pseudonym as ``__call__`` for ``column``."""
        salt = self._salt.decode()
        return (
            f"CASE WHEN {column} IS NULL OR {column} = '' THEN '' ELSE "
            f"'{PREFIX}' || left(sha256('{salt}' || {column}), 16) END"
        )

    @classmethod
    def for_store(cls, store: Store) -> Pseudonymizer:
        configured = str(store.config.get("pseudonym_key"))
        if configured:
            return cls(configured.encode())
        store.sql(
            "CREATE TABLE IF NOT EXISTS secrets (name VARCHAR PRIMARY KEY, value VARCHAR)"
        ).fetchall()
        row = store.sql("SELECT value FROM secrets WHERE name = 'pseudonym_key'").fetchone()
        if row is None:
            value = secrets.token_hex(32)
            store.sql(
                "INSERT INTO secrets VALUES ('pseudonym_key', ?) ON CONFLICT DO NOTHING", [value]
            ).fetchall()
            row = store.sql("SELECT value FROM secrets WHERE name = 'pseudonym_key'").fetchone()
        return cls(str(row[0]).encode())
