"""A smoke test in a real browser: Debian's Chromium driven by Playwright against ``uvicorn`` on loopback.

The demo database (built once per session, see conftest.py) gets its demo logins; a Kita lead logs
in with the keyboard-reachable form, sees "Meine Aufgaben" of their own Familienzentrum only, and
logs out. Screenshots go to artifacts/web/. Every request the page makes stays on the server
(nothing from the internet). Skipped when /usr/bin/chromium is missing, unless CI=true.
"""

from __future__ import annotations

from datetime import date

import pytest
from browser_support import ARTIFACTS, browser_page, fill_login, serving, shot
from conftest import DEMO_DAY

LEAD, LEAD_FZ, OTHER_FZ = "leitung-senfkorn", "Familienzentrum Senfkorn", "Familienzentrum Nordstern"


@pytest.fixture
def served_demo(demo_db, tmp_path):
    """The demo (a private copy) with its logins, served by uvicorn in a thread; yields (base URL, password)."""
    from certflow.cli.serve import running_from
    from certflow.demo_data import set_demo_passwords
    from certflow.services.runner import Application
    from certflow.settings import Settings

    day = date.fromisoformat(DEMO_DAY)
    db = demo_db.copy(tmp_path / "demo.sqlite")
    app = Application(Settings(database_url=f"sqlite:///{db}", evidence_dir=tmp_path / "belege"),
                      clock=running_from(day))
    passwords = app.run(lambda uow: set_demo_passwords(uow, day))
    try:
        with serving(app) as base:
            yield base, passwords[LEAD]
    finally:
        app.close()


def test_a_kita_lead_logs_in_in_chromium_and_sees_only_their_tasks(served_demo):
    base, password = served_demo
    requested: list[str] = []
    with browser_page(requested, width=1200) as page:
        page.goto(f"{base}/start")
        assert page.url.startswith(f"{base}/anmelden")
        page.keyboard.press("Tab")  # the first stop is the skip link
        assert page.evaluate("document.activeElement.textContent") == "Zum Inhalt springen"
        fill_login(page, LEAD, password)
        shot(page, "anmelden", full_page=True)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(f"{base}/start")
        assert page.get_by_role("heading", level=1).inner_text() == "Meine Aufgaben"
        body = page.inner_text("main")
        assert LEAD_FZ in body and OTHER_FZ not in body
        assert "Als Nächstes:" in body or "Zurzeit steht keine Frist an." in body
        shot(page, "kita-leitung-start", full_page=True)
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url(f"{base}/anmelden?abgemeldet=1")
        assert "Sie sind abgemeldet." in page.inner_text("main")
    assert requested and all(url.startswith(base) for url in requested), requested
    assert (ARTIFACTS / "kita-leitung-start.png").stat().st_size > 1000

