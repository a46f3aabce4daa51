"""The pages in a real browser: Debian's Chromium driven by Playwright, our service and
the sandbox each on a loopback port, the sandbox's own sign-in and consent pages in the
same browser. Nothing is mocked.

Chromium comes from apt (``scripts/test`` installs it as root); Playwright never downloads
a browser. Set LEDGERBRIDGE_SCREENSHOTS=1 to refresh docs/screenshots/ from this run.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from ledgerbridge.db import Database
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.migrations import upgrade
from ledgerbridge.sandbox.app import create_sandbox_app
from ledgerbridge.sandbox.seeding import (
    DEMO_APP_CLIENT_ID,
    DEMO_APP_CLIENT_SECRET,
    DEMO_EMAIL,
    DEMO_PASSWORD,
)
from ledgerbridge.sandbox.state import SandboxState
from ledgerbridge.settings import Settings
from ledgerbridge.web.app import create_app
from ledgerbridge.xero.services import XeroServices
from tests.factories import PASSWORD, Seeded, seed_workspace
from tests.servers import free_port, serve

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
AU, NZ = "Demo Company (AU)", "Demo Company (NZ)"

if not CHROMIUM.exists():
    message = (
        "Debian's Chromium is not installed: run `apt-get install chromium` (scripts/test does, as root)."
    )
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(message)
    pytest.skip(message, allow_module_level=True)


@dataclass(frozen=True)
class Stack:
    base_url: str
    settings: Settings
    database: Database
    seeded: Seeded
    sandbox: SandboxState


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Our service (jobs off: the test runs them) and the sandbox, each on its own port."""
    state = SandboxState()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    upgrade(url)
    database = Database.from_url(url)
    with database.session() as session:
        seeded = seed_workspace(session, "Harbour Digital Pty Ltd")
    sandbox = create_sandbox_app(state)  # seeds the demo app and organisations
    state.apps[DEMO_APP_CLIENT_ID].redirect_uris.append(f"{base_url}/integrations/xero/callback")
    with serve(sandbox) as sandbox_url:
        settings = Settings(
            data_dir=tmp_path,
            database_url=url,
            base_url=base_url,
            log_level="WARNING",
            run_jobs_in_web=False,
            xero_sandbox_url=sandbox_url,
            xero_client_id=DEMO_APP_CLIENT_ID,
            xero_client_secret=SecretStr(DEMO_APP_CLIENT_SECRET),
        )
        with serve(create_app(settings, database), lifespan="on", port=port):
            yield Stack(base_url, settings, database, seeded, state)
    database.engine.dispose()


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


def run_queued_jobs(stack: Stack) -> int:
    """What the worker would do: run every queued job to the end."""

    async def run() -> int:
        xero = XeroServices.build(stack.settings, stack.database)
        try:
            runner = InProcessRunner(stack.database, xero, xero.clock, "browser-test", schedule=False)
            return await runner.run_until_idle()
        finally:
            await xero.aclose()

    # In a thread of its own: Playwright's sync API keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(run())).result(timeout=120)


def shoot(page: object, name: str) -> None:
    if os.environ.get("LEDGERBRIDGE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_connect_sync_and_disconnect_in_a_browser(stack: Stack, browser: object) -> None:
    expect = playwright_sync.expect
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1100, "height": 760})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)

    # --- sign in: a wrong password first, then the right one
    page.goto(stack.base_url + "/integrations")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    expect(page.get_by_label("Email address")).to_be_focused()
    page.get_by_label("Email address").fill(stack.seeded.owner_email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    password_error = page.locator("#password-error")
    expect(password_error).to_contain_text("Wrong email or password")
    expect(page.get_by_label("Password")).to_have_attribute("aria-describedby", "password-error")
    shoot(page, "sign-in-wrong-password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(stack.base_url + "/integrations")
    expect(page.get_by_role("status")).to_contain_text("Signed in as Owner Person")
    page.keyboard.press("Tab")  # keyboard users meet the skip link first
    expect(page.locator(":focus")).to_have_text("Skip to main content")

    # --- a form POST without the CSRF token is refused, even with the browser's cookies
    refused = context.request.post(stack.base_url + "/integrations/xero/connect", form={"x": "1"})
    assert refused.status == 403

    # --- Connect: the sandbox's sign-in and consent pages, two organisations
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", name="Log in to Xero")).to_be_visible()
    page.get_by_label("Email address").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label(AU).check()
    page.get_by_label(NZ).check()
    page.get_by_role("button", name="Allow access").click()
    expect(page).to_have_url(stack.base_url + "/integrations")
    expect(page.get_by_role("status")).to_have_text(f"Connected to Xero: {AU}, {NZ}.")
    organisations = page.locator("li.organisation")
    expect(organisations).to_have_count(2)
    au, nz = page.locator(f'[data-organisation="{AU}"]'), page.locator(f'[data-organisation="{NZ}"]')
    expect(au.get_by_text("Default", exact=True)).to_be_visible()
    expect(nz.get_by_text("Default", exact=True)).to_have_count(0)
    for card in (au, nz):
        expect(card.get_by_text("Connected", exact=True)).to_be_visible()
        expect(card).to_contain_text("of 5,000")
    shoot(page, "integrations")

    # --- Force sync, then the run is in the sync log
    au.get_by_role("button", name=f"Force sync {AU}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Sync queued for {AU}")
    page.get_by_role("link", name="Sync log").click()
    # Queued with its run: listed once, as that run, not again under "Waiting to start".
    queued = page.locator("table.runs tbody tr").filter(has_text="Force sync")
    expect(queued).to_have_count(1)
    expect(queued).to_contain_text(AU)
    expect(queued.locator(".status")).to_have_text("Queued")
    expect(page.get_by_role("heading", name="Waiting to start")).to_have_count(0)
    run_id = queued.get_attribute("data-run")
    assert run_id
    assert run_queued_jobs(stack) >= 1
    page.reload()
    run = page.locator(f'table.runs tbody tr[data-run="{run_id}"]')  # the same run, now ended
    expect(run).to_contain_text("Force sync")
    expect(run).to_contain_text(AU)
    expect(run.locator(".status")).to_have_text(re.compile("Succeeded|Some records failed"))
    shoot(page, "sync-log")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.runs")).to_have_count(0)
    expect(page.get_by_text("No runs yet match these filters")).to_be_visible()

    # --- Disconnect one organisation, with a confirmation step
    page.get_by_role("link", name="Integrations").click()
    nz.get_by_role("link", name=f"Disconnect {NZ}").click()
    expect(page.get_by_role("heading", name=f"Disconnect {NZ}?")).to_be_visible()
    shoot(page, "disconnect-confirm")
    page.get_by_role("button", name=f"Disconnect {NZ}").click()
    expect(page).to_have_url(stack.base_url + "/integrations")
    expect(page.get_by_role("status")).to_have_text("Disconnected successfully")
    expect(organisations).to_have_count(1)
    expect(page.get_by_text("Previously connected (1)")).to_be_visible()

    # --- phone width: the same page, stacked
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(au.get_by_role("button", name=f"Force sync {AU}")).to_be_visible()
    shoot(page, "integrations-phone")
    context.close()
    print(f"\nbrowser journey took {time.monotonic() - started:.1f} s")
