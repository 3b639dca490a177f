"""The serve stage: verdicts over HTTP (FastAPI) and SIP (RFC 8688 608 / 302), live state.

Public API: :func:`serve` (run everything until stopped), :func:`create_app`
(the FastAPI app over a :class:`LiveState`), :class:`LiveState` (engine thread,
deadlines, persistence), :func:`start_sip` (UDP+TCP screener) and
:class:`Tokens` (API tokens and roles).
"""

from __future__ import annotations

from callradar.serve.app import create_app
from callradar.serve.auth import ROLES, Tokens
from callradar.serve.live import LiveState
from callradar.serve.server import serve
from callradar.serve.sip import start_sip

__all__ = ["ROLES", "LiveState", "Tokens", "create_app", "serve", "start_sip"]
