"""API tokens and roles.

Tokens come from the ``serve.tokens`` setting (``token:role`` pairs separated by
commas) and the file named by ``serve.tokens_file`` (one ``token:role`` per
line, ``#`` comments). Roles: ``carrier`` (verdicts, refusals, complaints,
CDRs, number lookups), ``regulator`` (campaigns, number lookups, complaints),
``admin`` (everything). No token gives 401, a token whose role is not allowed
403. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from callradar.config import Config
from callradar.errors import AuthError, ConfigError, ForbiddenError

ROLES = ("carrier", "regulator", "admin")


class Tokens:
    def __init__(self, pairs: dict[str, str]) -> None:
        for role in pairs.values():
            if role not in ROLES:
                raise ConfigError(
                    f"unknown role {role!r} in serve tokens (roles: {', '.join(ROLES)})"
                )
        self._pairs = [(t.encode(), r) for t, r in pairs.items()]

    def __len__(self) -> int:
        return len(self._pairs)

    @classmethod
    def from_config(cls, config: Config) -> Tokens:
        pairs: dict[str, str] = {}
        for item in str(config.get("serve.tokens")).split(","):
            _add(pairs, item, "serve.tokens")
        path = str(config.get("serve.tokens_file"))
        if path:
            try:
                lines = Path(path).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"cannot read serve.tokens_file {path}: {exc.strerror}") from None
            for line in lines:
                _add(pairs, line.split("#", 1)[0], path)
        return cls(pairs)

    def role_of(self, token: str | None) -> str:
        """The role of ``token``; :class:`AuthError` when missing or unknown."""
        if not token:
            raise AuthError("missing API token: send 'Authorization: Bearer <token>'")
        given = token.encode()
        role = ""
        for known, r in self._pairs:
            if hmac.compare_digest(known, given):
                role = r
        if not role:
            raise AuthError("invalid API token")
        return role

    def require(self, token: str | None, allowed: tuple[str, ...]) -> str:
        role = self.role_of(token)
        if role != "admin" and role not in allowed:
            raise ForbiddenError(
                f"role {role!r} may not do this (needs {' or '.join(allowed)})",
                role=role,
                allowed=list(allowed),
            )
        return role


def _add(pairs: dict[str, str], item: str, where: str) -> None:
    item = item.strip()
    if not item:
        return
    token, sep, role = item.rpartition(":")
    if not sep or not token.strip():
        raise ConfigError(f"{where}: expected 'token:role', got an entry without a role")
    pairs[token.strip()] = role.strip()
