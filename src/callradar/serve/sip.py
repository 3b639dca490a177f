"""The SIP screener: a stateless redirect server over UDP and TCP (asyncio).

A proxy or SBC (Kamailio, OpenSIPS ...) sends each INVITE here before routing
it (see docs/serving.md and deploy/kamailio/). callradar
decides with the live engine and answers:

* **block** -> ``608 Rejected`` (RFC 8688) with ``Call-Info: <URL>;purpose=jwscard``
  naming the analytics service and ``Reason: SIP ;cause=608 ;text="Rejected"``
  (RFC 3326). A proxy relays a 6xx upstream and opens no more branches.
* **allow / label** -> ``302 Moved Temporarily`` with ``Contact`` = the original
  Request-URI, so the proxy continues the call to its target
  (``get_redirects`` in a failure_route). A label travels in
  ``X-Callradar-Label`` (the display text) for the proxy to put in the
  P-Asserted-Identity display name; every answer carries
  ``X-Callradar-Verdict: <decision>;score=..;campaign=..``.
* fail-open (deadline, engine error, unparseable caller) -> the 302 with
  ``decision allow``: the call is never cut by callradar's own trouble.

``OPTIONS`` (keepalive) gets ``200 OK``; ``ACK`` is absorbed; ``CANCEL`` gets
``200 OK``; other methods ``405``. A message larger than ``serve.sip_max_bytes``
is dropped (UDP) or closes the connection (TCP); a message without the headers
a response needs is answered ``400 Bad Request`` when it can be (a Via and a
Call-ID are present) and dropped otherwise. Retransmitted INVITEs get the same
answer from a short cache without being decided twice.

The caller is the user part of P-Asserted-Identity, else of From; the callee
the user part of the Request-URI; the trunk the ``tgrp`` parameter of the
Request-URI (RFC 4904), else the ``otg`` parameter of From, else the
``X-Callradar-Trunk`` header.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
import time
from collections import OrderedDict
from collections.abc import Callable

from callradar.errors import BadRequestError
from callradar.protect import ALLOW, BLOCK, LABEL, CallSetup, Verdict
from callradar.serve.live import LiveState

log = logging.getLogger("callradar.serve.sip")

COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
}
CANONICAL = {"via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq"}
REQUIRED = ("via", "from", "to", "call-id", "cseq")
ALLOWED_METHODS = "INVITE, ACK, CANCEL, OPTIONS"
_URI_USER = re.compile(r"(?:sips?|tel):([^@;>?\s]+)", re.IGNORECASE)
_PARAM = re.compile(r";\s*([A-Za-z0-9\-_.!~*']+)\s*=\s*([^;>\s,]+)")
_TOKEN_OK = re.compile(r"[^\x20-\x7e]")
_REQUEST_LINE = re.compile(r"^([A-Za-z]+) (\S+) SIP/2\.0$")
_RPORT = re.compile(r";\s*rport(?=;|$|\s)")
_CSEQ = re.compile(r"^\s*(\d{1,10})\s+([A-Za-z]+)\s*$")


class SipError(Exception):
    """A message that cannot be screened; ``respond`` says whether a 400 can be sent."""

    def __init__(self, reason: str, msg: SipRequest | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.msg = msg


class SipRequest:
    __slots__ = ("_first", "body", "headers", "method", "uri")

    def __init__(self, method: str, uri: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        first: dict[str, str] = {}
        for n, v in headers:
            if n not in first:
                first[n] = v
        self._first = first

    def get(self, name: str) -> str:
        """The first value of header ``name`` (lower case, compact forms expanded), or ''."""
        return self._first.get(name, "")

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]

    def can_answer(self) -> bool:
        return bool(self.get("via") and self.get("call-id"))


def split_head(data: bytes) -> tuple[bytes, bytes]:
    idx = data.find(b"\r\n\r\n")
    if idx < 0:
        idx2 = data.find(b"\n\n")
        if idx2 < 0:
            return data, b""
        return data[:idx2], data[idx2 + 2 :]
    return data[:idx], data[idx + 4 :]


def parse(data: bytes) -> SipRequest:
    """Parse one SIP request; :class:`SipError` when it is not one we can screen."""
    head, body = split_head(data)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipError("not_utf8") from None
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    first = lines[0].strip()
    if first.startswith("SIP/2.0"):
        raise SipError("response")
    m = _REQUEST_LINE.match(first)
    if m is None:
        raise SipError("bad_request_line")
    method = m.group(1).upper()
    headers: list[tuple[str, str]] = []
    append = headers.append
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":  # folded continuation line
            if not headers:
                raise SipError("bad_header", SipRequest(method, m.group(2), headers, b""))
            n, v = headers[-1]
            headers[-1] = (n, v + " " + line.strip())
            continue
        i = line.find(":")
        key = line[:i].strip().lower() if i > 0 else ""
        if not key:
            raise SipError("bad_header", SipRequest(method, m.group(2), headers, b""))
        if len(key) == 1:
            key = COMPACT.get(key, key)
        value = line[i + 1 :].strip()
        if key == "via" and "," in value:
            headers.extend((key, part.strip()) for part in value.split(",") if part.strip())
        else:
            append((key, value))
    msg = SipRequest(method, m.group(2), headers, body)
    present = {k for k, _ in headers}
    for h in REQUIRED:
        if h not in present or not msg.get(h):
            raise SipError(f"missing_header:{h}", msg)
    cseq = _CSEQ.match(msg.get("cseq"))
    if cseq is None or cseq.group(2).upper() != method:
        raise SipError("bad_cseq", msg)
    length = msg.get("content-length")
    if length:
        if not length.isdigit() or int(length) > len(body):
            raise SipError("bad_content_length", msg)
        msg.body = body[: int(length)]
    return msg


def uri_user(value: str) -> str:
    m = _URI_USER.search(value)
    return m.group(1) if m else ""


def uri_param(value: str, name: str) -> str:
    if name not in value.lower():
        return ""
    for k, v in _PARAM.findall(value):
        if k.lower() == name:
            return v
    return ""


def _clean(text: str, limit: int = 200) -> str:
    return _TOKEN_OK.sub("?", text.replace('"', "'"))[:limit]


class Screener:
    """Turns SIP requests into answers with the live engine (transport independent)."""

    def __init__(self, live: LiveState) -> None:
        self.live = live
        cfg = live.config
        self.max_bytes = int(cfg.get("serve.sip_max_bytes"))
        self.jws_base = str(cfg.get("serve.jwscard_url")).rstrip("/")
        self.label_text = _clean(str(cfg.get("serve.label_text")), 80)
        self.metrics = live.metrics
        self._cache: OrderedDict[tuple[str, str, str], bytes | None] = OrderedDict()
        self._cache_max = 20_000

    def _count(self, transport: str, method: str) -> None:
        m = method if method in ("INVITE", "ACK", "CANCEL", "OPTIONS", "BYE") else "other"
        self.metrics.sip_message(transport, m)

    def drop(self, reason: str) -> None:
        self.metrics.sip_dropped.labels(reason).inc()

    def handle(
        self, data: bytes, transport: str, peer: tuple[str, int], send: Callable[[bytes], None]
    ) -> None:
        """Handle one complete message; ``send`` is called with the answer (maybe later)."""
        if len(data) > self.max_bytes:
            self.drop("oversized")
            return
        if data[:4] == b"ACK ":  # never answered: no need to parse it
            self.metrics.sip_message(transport, "ACK")
            return
        try:
            msg = parse(data)
        except SipError as exc:
            if exc.msg is not None and exc.msg.can_answer() and exc.msg.method != "ACK":
                self._count(transport, exc.msg.method)
                send(
                    self.response(
                        exc.msg,
                        400,
                        "Bad Request",
                        peer,
                        [f'Warning: 399 callradar "{exc.reason}"'],
                    )
                )
                self.metrics.sip_dropped.labels("answered_400").inc()
            else:
                self.drop(exc.reason.split(":")[0])
            return
        method = msg.method
        self._count(transport, method)
        if method == "INVITE":
            self.invite(msg, peer, send)
        elif method == "ACK":
            return
        elif method in ("OPTIONS", "CANCEL"):
            extra = (
                [f"Allow: {ALLOWED_METHODS}", "Accept: application/sdp"]
                if method == "OPTIONS"
                else []
            )
            send(self.response(msg, 200, "OK", peer, extra))
        else:
            send(self.response(msg, 405, "Method Not Allowed", peer, [f"Allow: {ALLOWED_METHODS}"]))

    def invite(self, msg: SipRequest, peer: tuple[str, int], send: Callable[[bytes], None]) -> None:
        via = msg.get("via")
        key = (msg.get("call-id"), msg.get("cseq"), uri_param(via, "branch"))
        if key in self._cache:
            cached = self._cache[key]
            if cached is not None:  # retransmission of an answered INVITE
                send(cached)
            return
        self._cache[key] = None
        if len(self._cache) > self._cache_max:
            for _ in range(len(self._cache) - self._cache_max):
                self._cache.popitem(last=False)
        live = self.live
        pai = msg.get("p-asserted-identity")
        frm = msg.get("from")
        trunk = uri_param(msg.uri, "tgrp") or uri_param(frm, "otg") or msg.get("x-callradar-trunk")
        try:
            call = CallSetup(
                key[0],
                _number(live, uri_user(pai) or uri_user(frm), "caller"),
                _number(live, uri_user(msg.uri), "callee"),
                trunk[:200],
                time.time(),
            )
        except BadRequestError as exc:
            v = Verdict(ALLOW, 0.0, "", f"not screened: {exc.message}", True)
            self.live.metrics.verdict("sip", ALLOW, 0.0, "error")
            self._answer(msg, peer, send, key, v)
            return
        assert live.decider is not None
        live.decider.decide(call, "sip", lambda v: self._answer(msg, peer, send, key, v))

    def _answer(
        self,
        msg: SipRequest,
        peer: tuple[str, int],
        send: Callable[[bytes], None],
        key: tuple[str, str, str],
        v: Verdict,
    ) -> None:
        cid = _clean(v.campaign_id, 80)
        verdict = f"X-Callradar-Verdict: {v.decision};score={v.score:.4f}"
        if cid:
            verdict += f";campaign={cid}"
        if v.failed_open:
            verdict += ";fail-open"
        extra = [verdict, f'X-Callradar-Detail: "{_clean(v.reason)}"']
        if v.decision == BLOCK:
            extra.append(f"Call-Info: <{self.jws_base}/{cid or 'unknown'}>;purpose=jwscard")
            extra.append('Reason: SIP ;cause=608 ;text="Rejected"')
            data = self.response(msg, 608, "Rejected", peer, extra)
        else:
            extra.insert(0, f"Contact: <{msg.uri}>")
            if v.decision == LABEL:
                extra.append(f'X-Callradar-Label: "{self.label_text}"')
            data = self.response(msg, 302, "Moved Temporarily", peer, extra)
        if key in self._cache:
            self._cache[key] = data
        send(data)

    def response(
        self, msg: SipRequest, code: int, reason: str, peer: tuple[str, int], extra: list[str]
    ) -> bytes:
        out = [f"SIP/2.0 {code} {reason}"]
        first = True
        for via in msg.all("via"):
            if first:
                first = False
                if "rport" in via and _RPORT.search(via):
                    via = _RPORT.sub(f";rport={peer[1]}", via, count=1) + f";received={peer[0]}"
            out.append(f"Via: {via}")
        out.append(f"From: {msg.get('from')}")
        to = msg.get("to")
        if code > 100 and to and not uri_param(to, "tag"):
            tag = hashlib.blake2s(
                (msg.get("call-id") + msg.get("cseq")).encode(), digest_size=6
            ).hexdigest()
            to = f"{to};tag={tag}"
        out.append(f"To: {to}")
        out.append(f"Call-ID: {msg.get('call-id')}")
        out.append(f"CSeq: {msg.get('cseq')}")
        out.extend(extra)
        out.append("Server: callradar")
        out.append("Content-Length: 0")
        return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8", "replace")


def _number(live: LiveState, user: str, field: str) -> str:
    from callradar.serve.records import normalize_number

    return normalize_number(user, live.region, field)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, screener: Screener) -> None:
        self.s = screener
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        tr = self.transport
        if tr is None:
            return
        if not data.strip():
            return  # keepalive CRLF
        try:
            self.s.handle(data, "udp", addr, lambda b: tr.sendto(b, addr))
        except Exception:  # never let one datagram stop the server
            self.s.metrics.errors.labels("sip").inc()
            log.exception("SIP UDP message failed")

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable etc.
        log.debug("SIP UDP error: %s", exc)


class _Tcp(asyncio.Protocol):
    def __init__(self, screener: Screener, idle_s: float) -> None:
        self.s = screener
        self.idle_s = idle_s
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0], peer[1]) if peer else ("", 0)
        self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(self.idle_s, self._idle)

    def _idle(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.transport = None

    def _send(self, data: bytes) -> None:
        tr = self.transport
        if tr is not None and not tr.is_closing():
            tr.write(data)

    def data_received(self, data: bytes) -> None:
        self._arm()
        self.buf += data
        try:
            self._drain()
        except Exception:
            self.s.metrics.errors.labels("sip").inc()
            log.exception("SIP TCP stream failed; closing the connection")
            if self.transport is not None:
                self.transport.close()

    def _drain(self) -> None:
        s = self.s
        while self.transport is not None:
            stripped = self.buf.lstrip(b"\r\n")
            if len(stripped) != len(self.buf):
                if self.buf.startswith(b"\r\n\r\n") and not stripped:
                    self._send(b"\r\n")  # RFC 5626 keepalive pong
                self.buf = stripped
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > s.max_bytes:
                    s.drop("oversized")
                    self.transport.close()
                return
            head = self.buf[:end]
            m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)\s*$", head)
            if m is None:
                s.drop("tcp_no_content_length")
                self._send(b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                self.transport.close()
                return
            total = end + 4 + int(m.group(1))
            if total > s.max_bytes:
                s.drop("oversized")
                self.transport.close()
                return
            if len(self.buf) < total:
                return
            msg, self.buf = self.buf[:total], self.buf[total:]
            s.handle(msg, "tcp", self.peer, self._send)


def _grow_buffers(udp: asyncio.DatagramTransport, size: int) -> None:
    """Give the UDP socket room for a burst while the process waits for a CPU: a datagram
    the kernel drops costs the caller a 500 ms retransmission. The kernel caps the size at
    net.core.rmem_max / wmem_max."""
    sock = udp.get_extra_info("socket")
    if sock is None or size <= 0:
        return
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, size)
        except OSError as exc:
            log.warning("cannot set SIP UDP buffer to %d bytes: %s", size, exc)


async def start_sip(
    live: LiveState, host: str, port: int
) -> tuple[asyncio.DatagramTransport, asyncio.base_events.Server]:
    """Listen for SIP on ``host:port``, UDP and TCP; returns the transport and server."""
    loop = asyncio.get_running_loop()
    screener = Screener(live)
    udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(screener), local_addr=(host, port))
    _grow_buffers(udp, int(live.config.get("serve.sip_udp_buffer_kb")) * 1024)
    idle = float(live.config.get("serve.sip_tcp_idle_s"))
    tcp = await loop.create_server(lambda: _Tcp(screener, idle), host, port, reuse_address=True)
    return udp, tcp
