"""One error tree for callradar.

Every error a user can cause is a :class:`CallradarError`. The CLI prints it as
one line (``callradar: <message>``) and exits non-zero; the HTTP API returns it
as ``{"error": {"code": ..., "message": ..., "detail": ...}}`` with the class's
``http_status``.
"""

from __future__ import annotations

from typing import Any


class CallradarError(Exception):
    """Base class of every error callradar raises on purpose."""

    code = "callradar_error"
    http_status = 500

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        """The one JSON error shape of the API."""
        return {"error": {"code": self.code, "message": self.message, "detail": self.detail}}


class ConfigError(CallradarError):
    """A setting is unknown or has a value of the wrong type."""

    code = "config_error"
    http_status = 500


class UnknownNameError(CallradarError):
    """A registered name (format, scenario, SIP profile, engine ...) does not exist."""

    code = "unknown_name"
    http_status = 400


class InputFileError(CallradarError):
    """A whole input file cannot be read; nothing of it was stored."""

    code = "input_file_error"
    http_status = 400


class StoreError(CallradarError):
    """The store is missing, locked, or at a schema version this code cannot use."""

    code = "store_error"
    http_status = 500


class NotReadyError(CallradarError):
    """A stage was asked to run before the stage it reads from produced anything."""

    code = "not_ready"
    http_status = 409


class NotFoundError(CallradarError):
    """A requested object (number, campaign ...) is not known."""

    code = "not_found"
    http_status = 404


class BadRequestError(CallradarError):
    """A request or argument is malformed."""

    code = "bad_request"
    http_status = 400


class AuthError(CallradarError):
    """No valid token was given."""

    code = "unauthorized"
    http_status = 401


class ForbiddenError(CallradarError):
    """The token's role does not allow this."""

    code = "forbidden"
    http_status = 403


def did_you_mean(
    name: str, choices: list[str] | tuple[str, ...] | set[str], what: str
) -> UnknownNameError:
    """Build the error for an unknown registered name, suggesting the closest ones."""
    import difflib

    options = sorted(choices)
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return UnknownNameError(
        f"unknown {what} {name!r}{hint} (known: {', '.join(options)})",
        name=name,
        known=options,
    )
