"""What the browser tests share: Debian's Chromium driven by Playwright against ``uvicorn`` on loopback.

* :func:`browser_or_skip`: Playwright's sync API, or a skip when /usr/bin/chromium is missing (a failure if CI=true);
* :func:`serving`: an :class:`~certflow.services.runner.Application` served by uvicorn in a thread on a free port;
* :func:`browser_page` (:func:`playwright_and_page`): a German Chromium page that records every URL it requests
  (and, if asked, console errors);
* :func:`fill_login`, :func:`log_in`, :func:`log_in_with_the_keyboard`: the login form;
* :func:`shot`, :func:`assert_shots`: screenshots into artifacts/web/.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "web"
ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync")


def browser_or_skip():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing (/usr/bin/chromium) and CI=true: apt-get install chromium")
        pytest.skip("Chromium fehlt (/usr/bin/chromium): apt-get install chromium")
    return pytest.importorskip("playwright.sync_api", reason="playwright is part of the test extra")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """``app`` (an Application) served by uvicorn in a thread on a free loopback port; yields the base URL."""
    import uvicorn

    from certflow.web import WebConfig, create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app, WebConfig()), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def browser_page(requested: list[str], *, width: int = 1280, errors: list[str] | None = None,
                 args: Iterable[str] = ARGS):
    """A Chromium page (German, ``width`` px wide, downloads accepted) that appends every URL it requests to
    ``requested`` and, given ``errors``, every console error to it; the browser is closed afterwards."""
    with playwright_and_page(requested, width=width, errors=errors, args=args) as (_, page):
        yield page


@contextlib.contextmanager
def playwright_and_page(requested: list[str], *, width: int = 1280, errors: list[str] | None = None,
                        args: Iterable[str] = ARGS):
    """:func:`browser_page` with the Playwright object beside it (for request contexts of its own)."""
    sync_api = browser_or_skip()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(args), headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE",
                                          accept_downloads=True)
            page = context.new_page()
            page.on("request", lambda request: requested.append(request.url))
            if errors is not None:
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            yield p, page
        finally:
            browser.close()


def fill_login(page, user_id: str, password: str) -> None:
    page.get_by_label("Benutzername").fill(user_id)
    page.get_by_label("Passwort").fill(password)


def log_in(page, base: str, user_id: str, password: str, *, at: str = "/start") -> None:
    """Open ``at``, log in with the form (mouse) and land on ``at`` again."""
    page.goto(f"{base}{at}")
    fill_login(page, user_id, password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{base}{at}")


def log_in_with_the_keyboard(page, base: str, user_id: str, password: str) -> None:
    page.goto(f"{base}/start")
    assert page.url.startswith(f"{base}/anmelden")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.textContent") == "Zum Inhalt springen"
    page.get_by_label("Benutzername").focus()
    page.keyboard.type(user_id)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/start")


def shot(target, name: str, **options) -> None:
    """A screenshot of ``target`` (a page or a locator) as artifacts/web/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"), **options)


def assert_shots(prefix: str, names: Iterable[str], *, min_size: int = 1000) -> None:
    for name in names:
        assert (ARTIFACTS / f"{prefix}-{name}.png").stat().st_size > min_size, name
