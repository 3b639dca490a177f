"""The dashboard in a real browser: headless Debian Chromium driven by Playwright.

A real uvicorn server on a free loopback port serves ``/ui`` over the hand-built
evidence store (tests/evidence_world.py). Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence_world import A, build

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKENS = {"reg-token": "regulator", "hotline-token": "carrier"}

pytestmark = pytest.mark.slow


@pytest.fixture
def server(store) -> Iterator[str]:  # type: ignore[no-untyped-def]
    import uvicorn
    from fastapi import FastAPI

    from callradar.evidence.web import mount
    from callradar.serve.auth import Tokens
    from callradar.serve.server import free_port

    build(store)
    app = FastAPI()
    mount(app, store, Tokens(TOKENS))
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("dashboard server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian chromium package (scripts/setup)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _rows(page: Any, table: str) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        f"table#{table} tbody tr",
        "trs => trs.map(tr => Array.from(tr.cells).map(c => c.textContent.trim()))",
    )
    return rows


def test_regulator_finds_campaign_and_exports(server: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # campaigns list, most harmful first, sortable
    page.goto(f"{server}/ui/campaigns?token=reg-token")
    assert [r[0] for r in _rows(page, "campaigns")] == ["C000001", "C000002"]
    page.click("table#campaigns th:has-text('calls')")  # ascending
    assert [r[0] for r in _rows(page, "campaigns")] == ["C000002", "C000001"]
    page.click("table#campaigns th:has-text('calls')")  # descending
    assert [r[0] for r in _rows(page, "campaigns")] == ["C000001", "C000002"]
    page.screenshot(path=str(tmp_path / "campaigns.png"), full_page=True)

    # "who called me?": a citizen reports one rotating number, written the local way
    page.fill("#search", "021-6000-1002")
    page.click("button:has-text('Search')")
    link = page.locator("#result a.campaign")
    assert link.inner_text() == "C000001"
    assert A[2] in page.inner_text("#result")  # the regulator sees the number in full
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    # the campaign page: charts drawn in the browser from the page's data
    link.click()
    page.wait_for_selector("#chart-rotation svg rect.bar")
    day = page.eval_on_selector_all(
        "#chart-day svg rect.bar", "rs => rs.map(r => [r.dataset.value, r.getAttribute('height')])"
    )
    assert [v for v, _ in day] == ["10", "4"]
    assert float(day[0][1]) > float(day[1][1]) > 0
    assert page.locator("#chart-hour svg rect.bar").count() == 24
    assert page.locator("#chart-rotation svg rect.bar").count() == 3
    body = page.inner_text("body")
    for text in ("华康口腔", "市场监督管理局", "通信管理局", "网信办", "TA"):
        assert text in body
    page.screenshot(path=str(tmp_path / "campaign.png"), full_page=True)

    # complaints and exports
    page.click("nav >> text=Complaints")
    assert len(_rows(page, "complaints")) == 5
    page.click("nav >> text=Exports")
    resp = page.request.get(f"{server}/ui/export/campaigns.json")
    got = json.loads(resp.text())
    assert got[0]["numbers"] == A and got[0]["businesses"][0]["name"] == "华康口腔"
    csv_text = page.request.get(f"{server}/ui/export/C000001/refusals_ignored.csv").text()
    assert csv_text.count("\n") == 3 and A[1] in csv_text
    assert not errors, errors
    page.close()


def test_hotline_sees_pseudonyms_and_anonymous_gets_login(
    server: str, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(f"{server}/ui/campaigns/C000001?token=hotline-token")
    page.wait_for_selector("#chart-rotation svg rect.bar")
    html = page.content()
    assert "role: carrier" in html
    for n in A:
        assert n not in html and n[3:] not in html
    page.fill("#search", A[0])
    page.click("button:has-text('Search')")
    assert page.locator("#result a.campaign").inner_text() == "C000001"
    assert A[0] not in page.inner_text("#result")  # only the box echoes what was typed
    page.screenshot(path=str(tmp_path / "hotline.png"), full_page=True)

    anon = browser.new_context().new_page()
    resp = anon.goto(f"{server}/ui/campaigns")
    assert resp is not None and resp.status == 401
    assert anon.locator("input[name=token]").count() == 1
    anon.fill("input[name=token]", "reg-token")
    anon.click("button:has-text('Sign in')")
    assert [r[0] for r in _rows(anon, "campaigns")] == ["C000001", "C000002"]
    bad = anon.goto(f"{server}/ui/campaigns/C999999")
    assert bad is not None and bad.status == 404


def test_callradar_serve_serves_the_dashboard(tmp_path: Path) -> None:
    """The serve stage's app (``callradar serve --http``) mounts /ui with its own tokens."""
    import httpx

    from callradar.config import Config
    from callradar.serve import LiveState, Tokens
    from callradar.serve.server import BackgroundServer
    from callradar.store import Store

    tokens = ",".join(f"{t}:{r}" for t, r in TOKENS.items())
    cfg = Config({"serve.tokens": tokens}, environ={})
    with Store(tmp_path / "s.duckdb", cfg) as st:
        build(st)
        live = LiveState.open(st, cfg)
        with (
            BackgroundServer(live, Tokens.from_config(cfg)) as srv,
            httpx.Client(base_url=srv.url, timeout=30) as c,
        ):
            assert c.get("/ui/campaigns").status_code == 401
            r = c.get("/ui/campaigns", params={"token": "reg-token"})
            assert r.status_code == 200 and "C000001" in r.text
            r = c.get("/ui/campaigns/C000001")  # the cookie from the first visit
            assert r.status_code == 200 and A[0] in r.text
            r = c.get(
                "/ui/search",
                params={"number": "021 6000 1001"},
                headers={"Authorization": "Bearer hotline-token"},
            )
            assert r.status_code == 200 and 'class="campaign"' in r.text
            assert A[1] not in r.text.split('id="result"')[1]
