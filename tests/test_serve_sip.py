"""The SIP screener with real peers: SIPp scenarios (tests/sipp/) and raw sockets."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from callradar.config import Config
from callradar.protect import CallSetup, Engine, Verdict
from callradar.serve import LiveState, Tokens
from callradar.serve.demo import C1, C1_NUMBERS, C2_NUMBERS, REGISTERED, seed_demo
from callradar.serve.server import BackgroundServer, free_port
from callradar.store import Store

SIPP_DIR = Path(__file__).resolve().parent / "sipp"
pytestmark = pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed")


def make_config(**extra: object) -> Config:
    # a generous deadline: the test machine is shared; fail-open has its own test
    return Config({"protect.deadline_ms": 5000, "serve.sip_max_bytes": 4096, **extra}, environ={})


@pytest.fixture(scope="module")
def sip_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    cfg = make_config()
    store = Store(tmp_path_factory.mktemp("sip") / "s.duckdb", cfg)
    seed_demo(store)
    live = LiveState.open(store, cfg)
    with BackgroundServer(live, Tokens({}), sip_port=free_port()) as srv:
        yield srv
    store.close()


def metrics(srv: BackgroundServer) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in httpx.get(srv.url + "/metrics", timeout=30).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def sip_count(srv: BackgroundServer, decision: str) -> float:
    return metrics(srv)[f'callradar_verdicts_total{{channel="sip",decision="{decision}"}}']


def run_sipp(
    port: int,
    tmp: Path,
    scenario: str,
    rows: list[tuple[str, str]],
    calls: int,
    rate: int = 20,
    transport: str = "u1",
) -> subprocess.CompletedProcess[str]:
    inf = tmp / f"{scenario}.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{a};{b};\n" for a, b in rows), encoding="utf-8")
    cmd = [
        "sipp",
        f"127.0.0.1:{port}",
        "-sf",
        str(SIPP_DIR / scenario),
        "-inf",
        str(inf),
        "-m",
        str(calls),
        "-r",
        str(rate),
        "-l",
        "500",
        "-t",
        transport,
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-nostdin",
        "-timeout",
        "60s",
        "-timeout_error",
        "-trace_err",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_campaign_caller_gets_608(
    sip_server: BackgroundServer, tmp_path: Path, transport: str
) -> None:
    before = sip_count(sip_server, "block")
    rows = [(n, f"+86138000{i:05d}") for i, n in enumerate(C1_NUMBERS)]
    r = run_sipp(
        sip_server.sip_port, tmp_path, "uac_block.xml", rows, calls=10, transport=transport
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert sip_count(sip_server, "block") - before == 10


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_ordinary_caller_continues(
    sip_server: BackgroundServer, tmp_path: Path, transport: str
) -> None:
    before = sip_count(sip_server, "allow")
    rows = [(f"+86139{i:08d}", f"+86138100{i:05d}") for i in range(10)]
    r = run_sipp(
        sip_server.sip_port, tmp_path, "uac_continue.xml", rows, calls=10, transport=transport
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert sip_count(sip_server, "allow") - before == 10


@pytest.mark.slow
def test_registry_number_continues(sip_server: BackgroundServer, tmp_path: Path) -> None:
    before = sip_count(sip_server, "allow")
    r = run_sipp(
        sip_server.sip_port, tmp_path, "uac_continue.xml", [(REGISTERED, "+8613820000001")], 3
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert sip_count(sip_server, "allow") - before == 3


@pytest.mark.slow
def test_campaign_scenario_fails_on_an_ordinary_caller(
    sip_server: BackgroundServer, tmp_path: Path
) -> None:
    """The 608 scenario is a real check: an ordinary caller makes SIPp fail (exit 1)."""
    r = run_sipp(
        sip_server.sip_port, tmp_path, "uac_block.xml", [("+8613912345678", "+8613830000001")], 2
    )
    assert r.returncode == 1


@pytest.mark.slow
def test_malformed_messages_get_400(sip_server: BackgroundServer, tmp_path: Path) -> None:
    rows = [("+8613912345678", "+8613840000001")]
    r = run_sipp(sip_server.sip_port, tmp_path, "uac_malformed.xml", rows, calls=3)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.slow
def test_burst(sip_server: BackgroundServer, tmp_path: Path) -> None:
    before = sum(sip_count(sip_server, d) for d in ("allow", "label"))
    rows = [(f"+86135{i:08d}", f"+86138500{i:05d}") for i in range(400)]
    r = run_sipp(sip_server.sip_port, tmp_path, "uac_continue.xml", rows, calls=800, rate=200)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sum(sip_count(sip_server, d) for d in ("allow", "label")) - before == 800


# -- raw sockets -------------------------------------------------------------------------
def invite(caller: str, callee: str, call_id: str = "", branch: str = "", extra: str = "") -> bytes:
    call_id = call_id or uuid.uuid4().hex
    branch = branch or "z9hG4bK" + uuid.uuid4().hex[:12]
    return (
        f"INVITE sip:{callee}@127.0.0.1;user=phone SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch={branch};rport\r\n"
        f"From: <sip:{caller}@127.0.0.1;user=phone>;tag=abc\r\n"
        f"To: <sip:{callee}@127.0.0.1;user=phone>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"{extra}"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def exchange(port: int, data: bytes, timeout: float = 10.0) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, ("127.0.0.1", port))
        return s.recvfrom(65535)[0].decode()


def headers(resp: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in resp.split("\r\n")[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            out.setdefault(k.strip().lower(), v.strip())
    return out


def test_block_answer_follows_rfc_8688(sip_server: BackgroundServer) -> None:
    resp = exchange(sip_server.sip_port, invite(C1_NUMBERS[0], "+8613850000001"))
    assert resp.startswith("SIP/2.0 608 Rejected\r\n")
    h = headers(resp)
    assert h["call-info"].endswith(f"/{C1}>;purpose=jwscard")
    assert h["reason"] == 'SIP ;cause=608 ;text="Rejected"'
    assert "tag=" in h["to"] and "rport=" in h["via"] and "received=127.0.0.1" in h["via"]


def test_label_and_allow_continue_to_the_original_target(sip_server: BackgroundServer) -> None:
    resp = exchange(sip_server.sip_port, invite(C2_NUMBERS[0], "+8613850000002"))
    assert resp.startswith("SIP/2.0 302 Moved Temporarily\r\n")
    h = headers(resp)
    assert h["contact"] == "<sip:+8613850000002@127.0.0.1;user=phone>"
    assert h["x-callradar-verdict"].startswith("label;") and h["x-callradar-label"]
    resp = exchange(sip_server.sip_port, invite("+8613712345678", "+8613850000002"))
    h = headers(resp)
    assert h["x-callradar-verdict"].startswith("allow;") and "x-callradar-label" not in h
    # an anonymous caller cannot be screened: it continues (fail open)
    resp = exchange(sip_server.sip_port, invite("anonymous", "+8613850000002"))
    assert resp.startswith("SIP/2.0 302") and "fail-open" in headers(resp)["x-callradar-verdict"]


def test_trunk_group_and_pai_are_read(sip_server: BackgroundServer) -> None:
    pai = f"P-Asserted-Identity: <sip:{C1_NUMBERS[1]}@carrier.example>\r\n"
    resp = exchange(sip_server.sip_port, invite("+8613712345679", "+8613850000003", extra=pai))
    assert resp.startswith("SIP/2.0 608")


def test_retransmission_is_answered_without_deciding_again(sip_server: BackgroundServer) -> None:
    msg = invite(C1_NUMBERS[2], "+8613850000004")
    before = sip_count(sip_server, "block")
    first = exchange(sip_server.sip_port, msg)
    second = exchange(sip_server.sip_port, msg)
    assert first == second
    assert sip_count(sip_server, "block") - before == 1


def test_bad_messages_never_crash_or_hang(sip_server: BackgroundServer) -> None:
    port = sip_server.sip_port
    before = metrics(sip_server)
    junk = [
        b"\x00\xff" * 50,
        b"hello world",
        b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\n\r\n",
        b"INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9\r\nCall-ID: b1\r\nbad\r\n\r\n",
        invite(C1_NUMBERS[0], "+8613850000005") + b"A" * 5000,  # oversized
        invite("+8613712345678", "+8613850000006").replace(
            b"Content-Length: 0", b"Content-Length: 99"
        ),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        answers = []
        for data in junk:
            s.sendto(data, ("127.0.0.1", port))
            try:
                answers.append(s.recvfrom(65535)[0].decode(errors="replace"))
            except TimeoutError:
                answers.append("")
    assert answers[:4] == ["", "", "", ""] and answers[5] == ""
    assert answers[4].startswith("SIP/2.0 400") and answers[6].startswith("SIP/2.0 400")
    after = metrics(sip_server)
    assert after['callradar_sip_dropped_total{reason="oversized"}'] > before.get(
        'callradar_sip_dropped_total{reason="oversized"}', 0
    )
    options = (
        b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKo\r\n"
        b"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: opt-1\r\n"
        b"CSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    assert exchange(port, options).startswith("SIP/2.0 200 OK")


def test_tcp_framing_limits(sip_server: BackgroundServer) -> None:
    port = sip_server.sip_port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"\r\n\r\n")  # keepalive ping
        assert s.recv(10) == b"\r\n"
        # two messages in one segment, then one split across segments
        s.sendall(
            invite(C1_NUMBERS[3], "+8613860000001") + invite("+8613712345600", "+8613860000002")
        )
        data = b""
        while data.count(b"\r\n\r\n") < 2:
            data += s.recv(65535)
        assert data.startswith(b"SIP/2.0 608") and b"SIP/2.0 302" in data
        msg = invite(C1_NUMBERS[4], "+8613860000003")
        s.sendall(msg[:40])
        time.sleep(0.05)
        s.sendall(msg[40:])
        assert s.recv(65535).startswith(b"SIP/2.0 608")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"X" * 5000)  # no header end within the size limit: connection closed
        assert s.recv(100) == b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(invite(C1_NUMBERS[5], "+8613860000004").replace(b"Content-Length: 0\r\n", b""))
        assert s.recv(1000).startswith(b"SIP/2.0 400")
        assert s.recv(100) == b""


class SlowEngine(Engine):
    def decide(self, call: CallSetup) -> Verdict:
        time.sleep(0.5)
        return super().decide(call)


def test_slow_engine_fails_open_within_the_deadline(store: Store) -> None:
    cfg = make_config(**{"protect.deadline_ms": 50})
    seed_demo(store)
    live = LiveState.open(store, cfg, SlowEngine.from_store(store, cfg))
    with BackgroundServer(live, Tokens({}), sip_port=free_port()) as srv:
        start = time.perf_counter()
        resp = exchange(srv.sip_port, invite(C1_NUMBERS[0], "+8613870000001"))
        elapsed = time.perf_counter() - start
        assert resp.startswith("SIP/2.0 302")
        assert headers(resp)["x-callradar-verdict"].startswith("allow;") and "fail-open" in resp
        assert elapsed < 0.4, f"answer held {elapsed:.3f} s"
        assert metrics(srv)['callradar_fail_open_total{cause="deadline"}'] == 1


# -- the shipped Kamailio integration, end to end ------------------------------------------
KAMAILIO_CFG = Path(__file__).resolve().parent.parent / "deploy" / "kamailio"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("kamailio") is None, reason="kamailio is not installed")
def test_kamailio_redirect_integration(sip_server: BackgroundServer, tmp_path: Path) -> None:
    """SIPp caller -> Kamailio (deploy/kamailio/callradar-screening.cfg) -> callradar.

    Campaign calls get callradar's 608 relayed by the proxy; ordinary and labeled calls
    continue to the switch (a SIPp UAS answering 486), labeled ones with the label as the
    P-Asserted-Identity display name.
    """
    kam_port, uas_port = free_port(), free_port()
    kam = subprocess.Popen(
        [
            "kamailio",
            "-f",
            str(KAMAILIO_CFG / "callradar-screening.cfg"),
            "-DD",
            "-E",
            "-Y",
            str(tmp_path),
            "-A",
            f"LISTEN=udp:127.0.0.1:{kam_port}",
            "-A",
            f'CALLRADAR="sip:127.0.0.1:{sip_server.sip_port}"',
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    uas = subprocess.Popen(
        [
            *(
                "sipp",
                "-sf",
                str(SIPP_DIR / "uas_busy.xml"),
                "-i",
                "127.0.0.1",
                "-p",
                str(uas_port),
            ),
            *("-m", "4", "-nostdin", "-timeout", "60s", "-trace_err", "-trace_msg"),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)
        assert kam.poll() is None, kam.stderr.read().decode()[-2000:] if kam.stderr else ""
        ordinary = [
            ("+8613912345001", f"+8613880000001;{uas_port}"),
            (C2_NUMBERS[2], f"+8613880000002;{uas_port}"),
        ]
        r = run_sipp(kam_port, tmp_path, "uac_busy.xml", ordinary, calls=4, rate=10)
        assert r.returncode == 0, r.stderr[-2000:]
        r = run_sipp(kam_port, tmp_path, "uac_block.xml", [(C1_NUMBERS[0], "+8613880000003")], 2)
        assert r.returncode == 0, r.stderr[-2000:]
        _, err = uas.communicate(timeout=60)
        assert uas.returncode == 0, err[-2000:]
        trace = "".join(p.read_text(errors="replace") for p in tmp_path.glob("uas_busy_*messages*"))
        assert 'P-Asserted-Identity: "Suspected robocall" <sip:+8617000000003@' in trace
        assert f"From: <sip:{C1_NUMBERS[0]}" not in trace  # blocked calls never reach the switch
    finally:
        for p in (uas, kam):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
