"""``callradar serve``: HTTP API, SIP screener and CDR spool watcher in one event loop."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callradar.config import Config
from callradar.errors import BadRequestError, ConfigError
from callradar.serve.auth import Tokens
from callradar.serve.live import LiveState, watch_spool

log = logging.getLogger("callradar.serve")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (faster sockets), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def host_port(text: str, what: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` too)."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BadRequestError(f"{what}: expected HOST:PORT, got {text!r}")
    return host, int(port)


async def serve(
    store: Any,
    config: Config,
    http: str,
    sip: str = "",
    spool: Path | None = None,
    engine: Any = None,
) -> None:
    """Run until SIGINT/SIGTERM. Everything acknowledged is in the store when it returns."""
    tokens = Tokens.from_config(config)
    if not len(tokens):
        log.warning(
            "no API tokens configured (serve.tokens / serve.tokens_file): every /v1 call gets 401"
        )
    http_addr = host_port(http, "--http")
    sip_addr = host_port(sip, "--sip") if sip else None
    if spool is not None and not spool.is_dir():
        raise ConfigError(f"--cdr-spool {spool}: not a directory")
    # verdicts cross between the loop and the engine thread twice: hand the GIL over sooner
    sys.setswitchinterval(float(config.get("serve.gil_switch_ms")) / 1000.0)
    live = LiveState.open(store, config, engine)
    await run(live, tokens, http_addr, sip_addr, spool)


async def run(
    live: LiveState,
    tokens: Tokens,
    http_addr: tuple[str, int],
    sip_addr: tuple[str, int] | None = None,
    spool: Path | None = None,
    holder: list[Any] | None = None,
) -> None:
    """Serve ``live`` until the uvicorn server exits; ``holder`` receives the server."""
    import uvicorn

    from callradar.serve.app import create_app
    from callradar.serve.sip import start_sip

    loop = asyncio.get_running_loop()
    live.start(loop)
    app = create_app(live, tokens)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=http_addr[0],
            port=http_addr[1],
            access_log=False,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    if holder is not None:
        holder.append(server)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    udp = tcp = None
    try:
        if sip_addr is not None:
            try:
                udp, tcp = await start_sip(live, *sip_addr)
            except OSError as exc:
                where = f"{sip_addr[0]}:{sip_addr[1]}"
                raise ConfigError(f"--sip {where}: cannot listen: {exc.strerror or exc}") from None
        if spool is not None:
            poll = float(live.config.get("serve.spool_poll_s"))
            tasks.append(asyncio.create_task(watch_spool(live, spool, poll, stop)))
        parts = [f"http on {http_addr[0]}:{http_addr[1]}"]
        if sip_addr:
            parts.append(f"sip on {sip_addr[0]}:{sip_addr[1]} (udp, tcp)")
        if spool:
            parts.append(f"spool {spool}")
        print(f"callradar serve: {', '.join(parts)}", file=sys.stderr, flush=True)
        await server.serve()
    finally:
        stop.set()
        for t in tasks:
            try:
                await asyncio.wait_for(t, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                t.cancel()
        if udp is not None:
            udp.close()
        if tcp is not None:
            tcp.close()
        live.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP on ``host`` (for tests and benchmarks)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind((host, 0))
            port = int(t.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind((host, port))
                except OSError:
                    continue
            return port
    raise OSError("no free port")


class BackgroundServer:
    """``run`` on a thread of its own (tests, benchmarks): a context manager."""

    def __init__(
        self,
        live: LiveState,
        tokens: Tokens,
        http_port: int | None = None,
        sip_port: int | None = None,
        spool: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.live = live
        self.tokens = tokens
        self.host = host
        self.http_port = http_port or free_port(host)
        self.sip_port = sip_port
        self.spool = spool
        self.url = f"http://{host}:{self.http_port}"
        self._holder: list[Any] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="callradar-serve", daemon=True)

    def _main(self) -> None:
        factory = loop_factory()
        loop = factory() if factory is not None else asyncio.new_event_loop()
        self._loop = loop
        sip = (self.host, self.sip_port) if self.sip_port else None
        try:
            loop.run_until_complete(
                run(
                    self.live,
                    self.tokens,
                    (self.host, self.http_port),
                    sip,
                    self.spool,
                    self._holder,
                )
            )
        except BaseException as exc:
            self._error = exc
        finally:
            loop.close()

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._error is not None:
                raise self._error
            if self._holder and self._holder[0].started:
                return self
            time.sleep(0.02)
        raise TimeoutError("server did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self._holder and self._loop is not None and not self._loop.is_closed():
            server = self._holder[0]
            self._loop.call_soon_threadsafe(setattr, server, "should_exit", True)
        self._thread.join(timeout=30)
