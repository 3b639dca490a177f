"""The dashboard for regulators and hotline staff: HTML pages under ``/ui/``.

:func:`make_router` builds a FastAPI ``APIRouter`` over a store;
:func:`mount` adds it to an app with the serve stage's tokens. Pages: the
campaigns (sortable table), one campaign (timeline and number-rotation charts
drawn in the browser from the page's own data, findings, lines, complaints),
the complaints, the exports (``campaigns.json`` and each dossier's CSVs), and a
search answering "who called me?" for a reported number.

Access: the browser sends the API token once as ``?token=`` (or through the
login form); it is kept in an HTTP-only cookie. ``regulator`` and ``admin`` see
numbers in full; ``carrier`` (hotline staff) sees pseudonyms. A request with no
valid token gets the login page (401).
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from callradar.errors import AuthError, CallradarError, ForbiddenError, NotFoundError
from callradar.evidence import dossier
from callradar.evidence.report import EXTRACTS, env, write_rows
from callradar.privacy import Pseudonymizer

COOKIE = "callradar_ui_token"
REVEAL_ROLES = ("regulator", "admin")
UI_ROLES = ("carrier", "regulator", "admin")

RoleOf = Callable[[Request], str]
# declared on every page so apps that reject unknown query parameters accept it
TOKEN = Query("", description="API token, once; kept in an HTTP-only cookie afterwards.")


def token_role(tokens: Any) -> RoleOf:
    """A role resolver over serve's :class:`~callradar.serve.auth.Tokens`."""

    def role_of(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        token = token or request.query_params.get("token", "") or request.cookies.get(COOKIE, "")
        return str(tokens.require(token or None, UI_ROLES))

    return role_of


def make_router(store: Any, role_of: RoleOf) -> APIRouter:
    """The ``/ui`` router over ``store`` (anything with ``cursor()`` and ``config``)."""
    router = APIRouter(prefix="/ui", include_in_schema=False)
    pseudo = Pseudonymizer.for_store(store)
    js = resources.files("callradar.evidence").joinpath("static/ui.js").read_text("utf-8")

    def view(request: Request) -> tuple[dossier.View, str]:
        role = role_of(request)
        cur = store.cursor()
        request.state.ui_cursor = cur  # closed when the page is done (see guarded)
        return dossier.View(cur, store.config, pseudo, role in REVEAL_ROLES), role

    def page(name: str, request: Request, role: str, status: int = 200, **ctx: Any) -> Response:
        html = env().get_template(name).render(role=role, ui=True, **ctx)
        resp = HTMLResponse(html, status_code=status)
        token = request.query_params.get("token")
        if token:
            resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/ui")
        return resp

    def guarded(fn: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def wrapper(request: Request, *args: Any, **kwargs: Any) -> Response:
            try:
                return fn(request, *args, **kwargs)
            except (AuthError, ForbiddenError) as exc:
                return page("ui_login.html", request, "none", exc.http_status, error=exc.message)
            except NotFoundError as exc:
                return page("ui_error.html", request, "-", 404, error=exc.message)
            except CallradarError as exc:
                return page("ui_error.html", request, "-", exc.http_status, error=exc.message)
            finally:
                cur = getattr(request.state, "ui_cursor", None)
                if cur is not None:
                    cur.close()

        return wrapper

    @router.get("/", response_class=HTMLResponse)
    def home() -> Response:
        return RedirectResponse("/ui/campaigns", status_code=307)

    @router.get("/static/ui.js")
    def static_js() -> Response:
        return Response(js, media_type="text/javascript")

    @router.get("/login", response_class=HTMLResponse)
    def login(request: Request) -> Response:
        return page("ui_login.html", request, "none", error="")

    @router.get("/campaigns", response_class=HTMLResponse)
    @guarded
    def campaigns(request: Request, token: str = TOKEN) -> Response:
        v, role = view(request)
        rows = dossier.summaries(v)
        return page("ui_campaigns.html", request, role, campaigns=rows)

    @router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
    @guarded
    def campaign(request: Request, campaign_id: str, token: str = TOKEN) -> Response:
        v, role = view(request)
        d = dossier.detail(v, campaign_id)
        series = {
            "by_day": [[r["day"], r["calls"], r["answered"]] for r in d["volume_by_day"]],
            "by_hour": [
                [f"{r['hour']:02d}", r["calls"], r["answered"]] for r in d["volume_by_hour"]
            ],
            "rotation": [[r["number"], r["first_seen"], r["last_seen"]] for r in d["numbers"]],
        }
        return page(
            "ui_campaign.html",
            request,
            role,
            d=d,
            s=d["summary"],
            series=json.dumps(series, ensure_ascii=False).replace("</", "<\\/"),
            extracts=list(EXTRACTS),
        )

    @router.get("/complaints", response_class=HTMLResponse)
    @guarded
    def complaints(request: Request, token: str = TOKEN) -> Response:
        v, role = view(request)
        return page("ui_complaints.html", request, role, complaints=dossier.complaint_list(v))

    @router.get("/search", response_class=HTMLResponse)
    @guarded
    def search(request: Request, number: str = "", token: str = TOKEN) -> Response:
        from callradar.numbering import normalize_one

        v, role = view(request)
        e164 = normalize_one(number, str(store.config.get("default_region"))) if number else None
        found = dossier.who_called(v, e164) if e164 else []
        for r in found:
            r["first_seen"], r["last_seen"] = v.time(r["first_seen"]), v.time(r["last_seen"])
        return page(
            "ui_search.html",
            request,
            role,
            query=number,
            e164=e164,
            shown=e164 if v.reveal else "The reported number",
            found=found,
        )

    @router.get("/exports", response_class=HTMLResponse)
    @guarded
    def exports(request: Request, token: str = TOKEN) -> Response:
        v, role = view(request)
        return page(
            "ui_exports.html",
            request,
            role,
            campaigns=dossier.campaign_ids(v),
            extracts=list(EXTRACTS),
        )

    @router.get("/export/campaigns.json")
    @guarded
    def export_json(request: Request, token: str = TOKEN) -> Response:
        v, _ = view(request)
        return JSONResponse(dossier.summaries(v))

    @router.get("/export/{campaign_id}/{name}")
    @guarded
    def export_csv(request: Request, campaign_id: str, name: str, token: str = TOKEN) -> Response:
        v, _ = view(request)
        if name not in EXTRACTS:
            raise NotFoundError(f"no extract {name!r}", name=name)
        d = dossier.detail(v, campaign_id)
        buf = io.StringIO()
        write_rows(buf, d[EXTRACTS[name]])
        return Response(
            buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{campaign_id}-{name}"'},
        )

    return router


def mount(app: FastAPI, store: Any, tokens: Any = None, role_of: RoleOf | None = None) -> None:
    """Serve the dashboard under ``/ui`` of ``app`` (tokens: serve's ``Tokens``)."""
    if role_of is None:
        if tokens is None:
            from callradar.serve.auth import Tokens

            tokens = Tokens.from_config(store.config)
        role_of = token_role(tokens)
    app.include_router(make_router(store, role_of))
