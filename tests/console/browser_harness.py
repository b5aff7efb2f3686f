"""What the browser tests share (tests/console/conftest.py has the fixtures): the people and the
campaign the seed creates through the API, the seed itself, a browser page that watches for
requests beyond the app and for script and console errors, and signing in.

The product runs as in production (tests/live_stack.py: Temporal's dev server, worker.py and the
API under uvicorn, each its own process); Chromium is Debian's `chromium` package, driven by the
`playwright` package through `executable_path` (no browser download).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from clock import TEST_TODAY
from live_stack import LiveStack
from playwright.sync_api import Browser, ConsoleMessage, Page, Route

from stack import demo, portfolio
from stack.data_dir import DataDir

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("COLLECT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
STRATEGY = ROOT / "tests" / "api" / "strategies" / "calls.yaml"  # a call in the `calls` queue; >= 5,000,000 to legal
CAMPAIGN = "consumo-consola"
CONSOLE_SECRET = "console-browser-tests-secret-0123456789abcdef"
# (subject, role, queues) of the people who use the console in these tests.
PEOPLE = {
    "admin": ("root", "admin", []),
    "strategist": ("sofia", "strategist", []),
    "supervisor": ("marta", "supervisor", []),
    "agent": ("ana", "agent", ["calls"]),
    "outsider_agent": ("carla", "agent", ["legal"]),
}
GENERAL_ACCOUNTS = 5
LEGAL_BALANCE = 6_000_000  # the strategy sends it to a legal referral that waits for approval
DEMO_ACCOUNTS = 30
PAYMENT = 10_000  # less than any demo balance (stack/portfolio.py: at least 17,500 CLP)


@dataclass
class Seeded:
    """The running product and what the seed put in it."""

    stack: LiveStack
    database: str  # sqlite | postgresql: names the screenshots' folder
    database_url: str
    keys: dict[str, str]
    campaign_id: str
    accounts: dict[str, int] = field(default_factory=dict)  # external id -> accounts.id, test campaign
    demo_accounts: dict[str, int] = field(default_factory=dict)  # the same, demo campaign
    legal_account: str = ""  # external id of the account waiting for approval

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    def api(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.keys[who]}, timeout=30)


def account_row(n: int, balance: int) -> dict[str, str]:
    return {
        "account_id": f"CL-{n:05d}",
        "debtor_name": f"Deudora {n}",
        "country": "CL",
        "currency": "CLP",
        "balance": str(balance),
        "due_date": "2026-10-15",
        "email": f"deudora{n}@example.cl",
        "phone": f"9 8{n:07d}",
        "consent": "sí",
    }


def until(check: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    """Poll `check` until it answers something truthy (a wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def answer(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def seed(stack: LiveStack, database: str, database_url: str, keys: dict[str, str], folder: Path) -> Seeded:
    """Everything through the API: the demo `collect up` seeds (stack/demo.py: every shipped
    strategy, the `demo` campaign with champion and challenger, a synthetic portfolio, launched),
    one payment on a demo account so the KPIs have money to show, and a small campaign of the
    test strategy whose large account waits for a supervisor's approval."""
    seeded = Seeded(stack=stack, database=database, database_url=database_url, keys=keys, campaign_id=CAMPAIGN)
    data = DataDir.at(folder)
    data.create()
    report = demo.seed(
        stack.base_url, keys["admin"], data, ROOT / "strategies", accounts=DEMO_ACCOUNTS, today=TEST_TODAY
    )
    assert (report.launch_status, report.total) == ("done", DEMO_ACCOUNTS), report
    rows = [account_row(n, 150_000 + 1_000 * n) for n in range(1, GENERAL_ACCOUNTS + 1)]
    rows.append(account_row(99, LEGAL_BALANCE))
    seeded.legal_account = rows[-1]["account_id"]
    with seeded.api("strategist") as strategist, seeded.api("supervisor") as supervisor:
        published = strategist.post(
            "/strategies", content=STRATEGY.read_bytes(), headers={"Content-Type": "application/yaml"}
        )
        assert published.status_code in (200, 201), published.text
        body = {
            "id": CAMPAIGN,
            "name": "Consumo consola",
            "strategy_hash": published.json()["hash"],
            "creditor_name": "Andes",
        }
        answer(strategist.post("/campaigns", json=body), 201)
        as_csv = {"content": portfolio.to_csv(rows).encode(), "headers": {"Content-Type": "text/csv"}}
        imported = answer(strategist.post(f"/campaigns/{CAMPAIGN}/accounts", **as_csv))
        assert imported["accepted"] == len(rows), imported
        answer(strategist.post(f"/campaigns/{CAMPAIGN}/launch", json={}), 202)

        def all_started(campaign: str, total: int) -> bool:
            launch = answer(strategist.get(f"/campaigns/{campaign}"))
            return launch["launch"]["status"] == "done" and sum(launch["accounts_by_stage"].values()) == total

        until(lambda: all_started(CAMPAIGN, len(rows)), "every account's first turn")
        until(lambda: all_started(demo.CAMPAIGN_ID, DEMO_ACCOUNTS), "every demo account's first turn")
        listed = answer(supervisor.get("/accounts", params={"campaign_id": CAMPAIGN, "limit": 100}))["items"]
        seeded.accounts = {a["external_id"]: a["id"] for a in listed}
        listed = answer(supervisor.get("/accounts", params={"campaign_id": demo.CAMPAIGN_ID, "limit": 100}))["items"]
        seeded.demo_accounts = {a["external_id"]: a["id"] for a in listed}
        paid = seeded.demo_accounts[min(seeded.demo_accounts)]
        payment = {"account_id": paid, "provider": "bank-transfer", "provider_payment_id": "tx-console-1"}
        answer(supervisor.post("/payments", json={**payment, "amount": PAYMENT, "currency": "CLP"}), 201)
        until(
            lambda: answer(supervisor.get(f"/accounts/{paid}"))["account"]["paid_total"] == PAYMENT,
            "the payment in the read model",
        )
        until(
            lambda: (
                answer(supervisor.get(f"/accounts/{seeded.accounts[seeded.legal_account]}"))["live"]["waiting"]
                == "approval"
            ),
            "the legal referral to wait for approval",
        )
    return seeded


@dataclass
class Watch:
    """What a page did that it must not: reach another host, throw, or log an error."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def new_page(browser: Browser, product: Seeded, watch: Watch, locale: str = "en-US") -> Page:
    context = browser.new_context(base_url=product.base_url, locale=locale, viewport={"width": 1366, "height": 800})

    def guard(route: Route) -> None:
        if route.request.url.startswith(product.base_url + "/"):
            route.continue_()
        else:
            watch.outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda exc: watch.errors.append(f"script error: {exc}"))

    def logged(message: ConsoleMessage) -> None:
        # Pages answer 401, 403 and 404 on purpose, and a refused form 409 or 422 (the page again,
        # saying why); the browser logs every 4xx as an error.
        if message.type == "error" and not re.search(r"responded with a status of (40[1349]|422)\b", message.text):
            watch.errors.append(f"console: {message.text}")

    page.on("console", logged)
    return page


def sign_in(page: Page, key: str) -> None:
    page.goto("/console/signin")
    page.locator("#api_key").fill(key)  # by id: the label is in the page's language
    page.locator("form[action='/console/signin'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/console/signin" not in url)
