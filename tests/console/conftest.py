"""The browser tests' fixtures: the live product on SQLite and on PostgreSQL (one stack per
database for the module, seeded once through the API: tests/console/browser_harness.py), and one
headless Chromium per stack.

Each test gets a fresh browser context (no cookies) whose every request is checked: one to any
other host than the app is refused and fails the test, as do script errors and console errors
(a Content-Security-Policy violation is one). `shot(page, name)` saves a full-page screenshot
under test-artifacts/screenshots/<database>/, which the run leaves behind. The tests read or
steer different accounts, so they do not depend on each other's order.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_harness import CHROMIUM, CONSOLE_SECRET, PEOPLE, SCREENSHOTS, Seeded, Watch, new_page, seed
from databases import fresh_database
from live_stack import live_stack
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from api.auth import issue_key
from db.migrate import upgrade
from db.session import make_engine, make_session_factory


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def product(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The live stack on one database, seeded."""
    folder = tmp_path_factory.mktemp(f"console-{request.param}")
    with fresh_database(request.param, folder) as url:
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            keys = {who: issue_key(session, *person).key for who, person in PEOPLE.items()}
            session.commit()
        engine.dispose()
        env = {"COLLECT_CONSOLE_SECRET": CONSOLE_SECRET, "COLLECT_CHANNEL_COSTS": '{"email": 25}'}
        with live_stack(url, folder, extra_env=env) as stack:
            yield seed(stack, request.param, url, keys, folder / "demo")


@pytest.fixture(scope="module")
def playwright(product: Seeded) -> Iterator[Playwright]:
    """Started after the stack: Playwright's sync API runs an event loop in this thread, and the
    stack's start-up probe (stack/parts.py) runs its own, which cannot start inside another."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run installs it)")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One browser per stack (per database)."""
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture
def watch() -> Iterator[Watch]:
    seen = Watch()
    yield seen
    assert seen.outside == [], "the page reached beyond the app"
    assert seen.errors == []


@pytest.fixture
def page(browser: Browser, product: Seeded, watch: Watch) -> Iterator[Page]:
    opened = new_page(browser, product, watch)
    yield opened
    opened.context.close()


@pytest.fixture
def shot(product: Seeded) -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as test-artifacts/screenshots/<database>/<name>.png."""

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / product.database / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
