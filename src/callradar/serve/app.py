"""The HTTP API (FastAPI): verdicts, live updates, lookups, health and metrics.

Every error, including 401, 403, 404, 405 and 422, has the one JSON shape
``{"error": {"code", "message", "detail"}}`` (:meth:`CallradarError.to_json`).
Roles (see :mod:`callradar.serve.auth`): ``carrier`` asks verdicts and posts
refusals, complaints and CDRs; ``regulator`` reads campaigns; both look up
numbers; ``admin`` does everything. ``/healthz``, ``/metrics`` and the OpenAPI
document are open (they carry no personal data). Uvicorn's access log is off
because paths may carry numbers; the server logs pseudonyms instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from callradar.errors import BadRequestError, CallradarError
from callradar.serve.auth import Tokens
from callradar.serve.live import LiveState

log = logging.getLogger("callradar.serve")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


# -- models ---------------------------------------------------------------------
# Documents the form; whether the digits are a real number is checked after (400).
PHONE = r"^\+?[0-9][0-9 ()\-]{2,38}$"


class ErrorBody(BaseModel):
    code: str
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody


def _not_a_boolean(value: Any) -> Any:
    # JSON true/false would pass as the number 1/0 (bool is an int in Python)
    if isinstance(value, bool):
        raise ValueError("a time is an ISO 8601 string or epoch seconds, not true/false")
    return value


Timestamp = Annotated[str | float | None, BeforeValidator(_not_a_boolean)]


class CallIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    call_id: str = Field("", max_length=200, description="Id of the attempt (generated if empty).")
    caller: str = Field(..., max_length=40, pattern=PHONE, examples=["+862152345678"])
    callee: str = Field(..., max_length=40, pattern=PHONE, examples=["13812345678"])
    trunk: str = Field("", max_length=200, description="Ingress trunk group, if known.")
    time: Timestamp = Field(
        None, description="Setup time: ISO 8601 or epoch seconds (default: now)."
    )


class VerdictOut(BaseModel):
    call_id: str
    decision: Literal["allow", "label", "block"]
    score: float
    campaign_id: str
    reason: str
    failed_open: bool = False


class BatchIn(BaseModel):
    calls: list[CallIn]


class BatchOut(BaseModel):
    verdicts: list[VerdictOut]


class RefusalIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    callee: str = Field(..., max_length=40, pattern=PHONE, description="The citizen who refused.")
    caller: str = Field(
        ..., max_length=40, pattern=PHONE, description="The number that was calling."
    )
    time: Timestamp = None
    source: str = Field("", max_length=40, description="agent, ivr, app, complaint ...")


class RefusalOut(BaseModel):
    stored: bool
    campaign_id: str


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    complaint_id: str = Field("", max_length=200)
    received_time: Timestamp = None
    complainant: str = Field(..., max_length=40, pattern=PHONE)
    reported_numbers: list[Annotated[str, Field(max_length=40, pattern=PHONE)]] = Field(
        default_factory=list, max_length=100
    )
    text: str = Field(..., min_length=1, max_length=20_000)
    channel: str = Field("", max_length=40)


class ComplaintOut(BaseModel):
    complaint_id: str
    numbers: list[str]
    campaign_ids: list[str]
    facts: dict[str, Any]


class CdrsIn(BaseModel):
    cdrs: list[dict[str, Any]] = Field(
        ..., description="Call records as in the CDR contract (data-contracts.md section 1)."
    )


class Quarantined(BaseModel):
    index: int
    reason: str


class CdrsOut(BaseModel):
    run_id: int
    read: int
    accepted: int
    duplicates: int
    quarantined: list[Quarantined]


class NumberOut(BaseModel):
    number: str
    score: float
    campaign_id: str
    campaign_link: str
    reason: str
    registered_organization: str
    calls_seen_live: int


class CampaignOut(BaseModel):
    campaign_id: str
    first_seen: str | None = None
    last_seen: str | None = None
    numbers: int = 0
    calls: int = 0
    score: float = 0.0
    prompt_seconds: float | None = None


class CampaignDetailOut(CampaignOut):
    numbers_list: list[str]
    live_numbers: list[str]
    trunks: list[str]


class HealthOut(BaseModel):
    status: str
    ready: bool
    state: dict[str, int]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": desc}
    for code, desc in (
        (400, "Bad request (e.g. not a phone number)"),
        (401, "Missing or invalid token"),
        (403, "Role not allowed"),
        (404, "Not found"),
        (422, "Request does not match the schema"),
        (500, "Internal error"),
    )
}


# -- app --------------------------------------------------------------------------
def create_app(live: LiveState, tokens: Tokens) -> FastAPI:
    """The FastAPI app over ``live``; starts ``live`` on startup if not yet started."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        owned = not live.ready
        if owned:
            live.start(asyncio.get_running_loop())
        yield
        if owned:
            live.stop()

    async def known_query_only(request: Request) -> None:
        """Unknown query parameters are a mistake: say so instead of ignoring them."""
        if not request.query_params:
            return
        route = request.scope.get("route")
        known = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", [])}
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise BadRequestError(
                f"unknown query parameter {unknown[0]!r}", unknown=unknown, known=sorted(known)
            )

    app = FastAPI(
        dependencies=[Depends(known_query_only)],
        title="callradar",
        version="1",
        description="Verdicts on calls at setup, live refusals and complaints, campaigns.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    bearer = HTTPBearer(
        auto_error=False, description="API token (roles: carrier, regulator, admin)"
    )
    batch_max = int(live.config.get("serve.batch_max"))

    def role(*allowed: str) -> Callable[..., Coroutine[Any, Any, str]]:
        async def dep(cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
            return tokens.require(cred.credentials if cred else None, allowed)

        return dep

    carrier = Depends(role("carrier"))
    regulator = Depends(role("regulator"))
    reader = Depends(role("carrier", "regulator"))
    reporter = Depends(role("carrier", "regulator"))

    @app.exception_handler(CallradarError)
    async def _cr_error(_: Request, exc: CallradarError) -> JSONResponse:
        return JSONResponse(exc.to_json(), status_code=exc.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        body = {"error": {"code": code, "message": str(exc.detail), "detail": {}}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        message = f"invalid request: {'.'.join(first['loc'])}: {first['msg']}"
        body = {
            "error": {"code": "validation_error", "message": message, "detail": {"errors": errors}}
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        live.metrics.errors.labels("http").inc()
        log.error("internal error: %s", type(exc).__name__, exc_info=exc)
        body = {"error": {"code": "internal_error", "message": "internal error", "detail": {}}}
        return JSONResponse(body, status_code=500)

    def _verdict_out(call_id: str, v: Any) -> VerdictOut:
        return VerdictOut(call_id=call_id, failed_open=v.failed_open, **v.to_dict())

    @app.post("/v1/verdict", response_model=VerdictOut, tags=["verdicts"])
    async def verdict(body: CallIn, _: str = carrier) -> Response:
        """Decide one call at setup: allow, label or block (fail-open past the deadline)."""
        call = live.call_setup(body.caller, body.callee, body.trunk, body.time, body.call_id)
        v = await live.verdict(call, "http")
        # the hot path: serialized directly (the shape is VerdictOut's)
        out = {"call_id": call.call_id, **v.to_dict(), "failed_open": v.failed_open}
        return Response(json.dumps(out, ensure_ascii=False), media_type="application/json")

    @app.post("/v1/verdicts", response_model=BatchOut, tags=["verdicts"])
    async def verdicts(body: BatchIn, _: str = carrier) -> BatchOut:
        """Decide a batch of calls (in order; each with its own deadline)."""
        if len(body.calls) > batch_max:
            raise BadRequestError(f"at most {batch_max} calls per batch", limit=batch_max)
        calls = []
        for i, c in enumerate(body.calls):
            try:
                calls.append(live.call_setup(c.caller, c.callee, c.trunk, c.time, c.call_id))
            except BadRequestError as exc:
                raise BadRequestError(f"calls[{i}]: {exc.message}", index=i) from None
        results = await asyncio.gather(*(live.verdict(c, "http") for c in calls))
        return BatchOut(
            verdicts=[_verdict_out(c.call_id, v) for c, v in zip(calls, results, strict=True)]
        )

    @app.post("/v1/refusals", response_model=RefusalOut, tags=["live state"])
    async def refusals(body: RefusalIn, _: str = carrier) -> RefusalOut:
        """Store a refusal and apply it at once to the caller's whole campaign."""
        cid = await live.refusal(body.callee, body.caller, body.time, body.source)
        return RefusalOut(stored=True, campaign_id=cid)

    @app.post("/v1/complaints", response_model=ComplaintOut, tags=["live state"])
    async def complaints(body: ComplaintIn, _: str = reporter) -> ComplaintOut:
        """Store a complaint; the reported numbers and those in its text are refused."""
        out = await live.complaint(
            body.complainant,
            body.text,
            body.reported_numbers,
            body.received_time,
            body.channel,
            body.complaint_id,
        )
        return ComplaintOut(**out)

    @app.post("/v1/cdrs", response_model=CdrsOut, tags=["live state"])
    async def cdrs(body: CdrsIn, _: str = carrier) -> CdrsOut:
        """Store finished call records (each accepted or quarantined) and learn from them."""
        if len(body.cdrs) > batch_max:
            raise BadRequestError(f"at most {batch_max} records per batch", limit=batch_max)
        return CdrsOut(**(await live.cdrs(body.cdrs)))

    @app.get("/v1/numbers/{number}", response_model=NumberOut, tags=["lookups"])
    async def number(
        number: str = Path(..., max_length=40, pattern=PHONE), _: str = reader
    ) -> NumberOut:
        """What the engine knows about a caller number."""
        return NumberOut(**(await live.number(number)))

    @app.get("/v1/campaigns", response_model=list[CampaignOut], tags=["lookups"])
    async def campaigns(
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=10_000_000),
        _: str = regulator,
    ) -> list[CampaignOut]:
        """Campaigns, most harmful first."""
        return [CampaignOut(**c) for c in await live.campaigns(limit, offset)]

    @app.get("/v1/campaigns/{campaign_id}", response_model=CampaignDetailOut, tags=["lookups"])
    async def campaign(campaign_id: str, role_: str = regulator) -> CampaignDetailOut:
        """One campaign with its numbers (batch-linked and linked live) and trunks."""
        found = await live.campaign(campaign_id, reveal=role_ in ("regulator", "admin"))
        return CampaignDetailOut(**found)

    @app.get("/healthz", response_model=HealthOut, tags=["operations"])
    async def healthz() -> HealthOut:
        """Liveness and readiness."""
        return HealthOut(status="ok", ready=live.ready, state=live._stats())

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    )
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(live.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    from callradar.evidence.web import mount as mount_ui

    mount_ui(app, live.store, tokens)  # the /ui dashboard (evidence stage)
    return app
