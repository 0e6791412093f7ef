"""A smoke test in a real browser: Debian's Chromium driven by Playwright against ``uvicorn`` on loopback.

The demo database (built once per session, see conftest.py) gets its demo logins; a Kita lead logs
in with the keyboard-reachable form, sees "Meine Aufgaben" of their own Familienzentrum only, and
logs out. Screenshots go to artifacts/web/. Every request the page makes stays on the server
(nothing from the internet). Skipped when /usr/bin/chromium is missing, unless CI=true.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import DEMO_DAY, ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "web"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
LEAD, LEAD_FZ, OTHER_FZ = "leitung-senfkorn", "Familienzentrum Senfkorn", "Familienzentrum Nordstern"


def _browser_or_skip():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing (/usr/bin/chromium) and CI=true: apt-get install chromium")
        pytest.skip("Chromium fehlt (/usr/bin/chromium): apt-get install chromium")
    return pytest.importorskip("playwright.sync_api", reason="playwright is part of the test extra")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served_demo(demo_db, tmp_path):
    """The demo (a private copy) with its logins, served by uvicorn in a thread; yields (base URL, password)."""
    import uvicorn

    from certflow.cli.serve import running_from
    from certflow.demo_data import set_demo_passwords
    from certflow.services.runner import Application
    from certflow.settings import Settings
    from certflow.web import WebConfig, create_app

    day = date.fromisoformat(DEMO_DAY)
    db = demo_db.copy(tmp_path / "demo.sqlite")
    app = Application(Settings(database_url=f"sqlite:///{db}", evidence_dir=tmp_path / "belege"),
                      clock=running_from(day))
    passwords = app.run(lambda uow: set_demo_passwords(uow, day))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app, WebConfig()), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", passwords[LEAD]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.close()


def test_a_kita_lead_logs_in_in_chromium_and_sees_only_their_tasks(served_demo):
    sync_api = _browser_or_skip()
    base, password = served_demo
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="de-DE")
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{base}/start")
            assert page.url.startswith(f"{base}/anmelden")
            page.keyboard.press("Tab")  # the first stop is the skip link
            assert page.evaluate("document.activeElement.textContent") == "Zum Inhalt springen"
            page.get_by_label("Benutzername").fill(LEAD)
            page.get_by_label("Passwort").fill(password)
            page.screenshot(path=str(ARTIFACTS / "anmelden.png"), full_page=True)
            page.get_by_role("button", name="Anmelden").click()
            page.wait_for_url(f"{base}/start")
            assert page.get_by_role("heading", level=1).inner_text() == "Meine Aufgaben"
            body = page.inner_text("main")
            assert LEAD_FZ in body and OTHER_FZ not in body
            assert "Als Nächstes:" in body or "Zurzeit steht keine Frist an." in body
            page.screenshot(path=str(ARTIFACTS / "kita-leitung-start.png"), full_page=True)
            page.get_by_role("button", name="Abmelden").click()
            page.wait_for_url(f"{base}/anmelden?abgemeldet=1")
            assert "Sie sind abgemeldet." in page.inner_text("main")
        finally:
            browser.close()
    assert requested and all(url.startswith(base) for url in requested), requested
    assert (ARTIFACTS / "kita-leitung-start.png").stat().st_size > 1000

