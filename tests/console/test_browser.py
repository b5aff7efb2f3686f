"""The console in a real browser against the live product (tests/console/conftest.py): signing in,
the supervisor's pages and steering, CSRF and sign-in protection, both languages, the role rules,
and the API's documentation pages rendering with no network beyond the app."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_harness import DEMO_ACCOUNTS, PAYMENT, Seeded, Watch, new_page, sign_in
from playwright.sync_api import Browser, Page, expect

from api.auth import issue_key, revoke_key
from db.session import make_engine, make_session_factory

# One process runs the whole module (bin/test's isolated run is `-n 2 --dist loadgroup`): its stacks start once.
pytestmark = [pytest.mark.isolated, pytest.mark.xdist_group("browser"), pytest.mark.timeout(600)]
Shot = Callable[[Page, str], Path]
WAIT_MS = 20_000  # how long to wait for the workflow to take a signal and the panel to show it
DEMO_NAME = "Demo: cartera sintética chilena"  # stack/demo.py


class TestSignIn:
    def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(self, page: Page, product: Seeded, shot: Shot) -> None:
        page.goto("/console/accounts?stage=contact")
        expect(page).to_have_url(re.compile(r"/console/signin\?next=%2Fconsole%2Faccounts%3Fstage%3Dcontact$"))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        shot(page, "signin")
        page.locator("#api_key").fill(product.keys["supervisor"])
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/console/accounts\?stage=contact$"))

    def test_an_unknown_key_is_refused(self, page: Page) -> None:
        page.goto("/console/signin")
        page.locator("#api_key").fill("ck_00000000_not-a-key")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("That key is unknown or revoked.")

    def test_signing_out_ends_the_session(self, page: Page, product: Seeded) -> None:
        sign_in(page, product.keys["supervisor"])
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/console/signin$"))
        page.goto("/console/overview")
        expect(page).to_have_url(re.compile(r"/console/signin\?next="))

    def test_revoking_the_key_ends_its_sessions(self, page: Page, product: Seeded) -> None:
        engine = make_engine(product.database_url)
        try:
            with make_session_factory(engine)() as session:
                issued = issue_key(session, "temporary", "supervisor")
                session.commit()
            sign_in(page, issued.key)
            expect(page).to_have_url(re.compile(r"/console/overview$"))
            with make_session_factory(engine)() as session:
                assert revoke_key(session, issued.prefix)
                session.commit()
        finally:
            engine.dispose()
        page.reload()
        expect(page).to_have_url(re.compile(r"/console/signin\?next=%2Fconsole%2Foverview$"))

    def test_the_cookie_is_http_only_strict_and_holds_no_key(self, page: Page, product: Seeded) -> None:
        sign_in(page, product.keys["supervisor"])
        [cookie] = [c for c in page.context.cookies() if c["name"] == "collect_console"]
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/console")
        assert cookie["secure"] is False  # served over plain http here; https sets it
        secret = product.keys["supervisor"].split("_", 2)[2]  # ck_<prefix>_<secret>, and the secret may hold "_"
        assert secret not in cookie["value"]


class TestSupervisor:
    def test_sees_the_funnel_and_kpis_opens_an_account_and_pauses_it(
        self, page: Page, product: Seeded, shot: Shot
    ) -> None:
        sign_in(page, product.keys["supervisor"])
        expect(page).to_have_url(re.compile(r"/console/overview$"))
        shot(page, "overview")
        page.get_by_role("link", name=DEMO_NAME).click()

        funnel = page.locator("#funnel")
        # `all()` reads the rows as they are, without waiting: wait until the campaign's page shows them
        # (right after the click the URL may have changed while the page has not loaded yet).
        expect(funnel.locator("tr[data-stage=not_launched]")).to_be_visible()
        counts = {
            row.get_attribute("data-stage"): int(row.locator("td.num").inner_text())
            for row in funnel.locator("tr").all()
        }
        assert sum(counts.values()) == DEMO_ACCOUNTS
        assert counts["not_launched"] == 0
        expect(funnel.locator("th").first).to_have_text("not launched")

        recovery = page.locator("#kpi-recovery")
        expect(recovery.locator(".parts")).to_be_hidden()
        recovery.hover()  # numerator and denominator show on hover (and on keyboard focus)
        expect(recovery.locator(".parts")).to_be_visible()
        expect(recovery.locator(".parts")).to_contain_text("collected $10.000 ÷ placed $")
        for card in ("promise-rate", "promise-kept", "rpc", "collected", "cost"):
            expect(page.locator(f"#kpi-{card} .figure")).to_be_visible()
        expect(page.locator("#kpi-collected .figure")).to_have_text("$10.000")
        expect(page.locator("#collected-chart canvas")).to_be_visible()  # uPlot drew the day's payment
        expect(page.locator("#variants thead th")).to_have_text(["Figure", "champion", "challenger"])
        shot(page, "campaign")

        page.get_by_role("link", name="This campaign's accounts").click()
        rows = page.locator("#account-list tbody tr")
        expect(rows).to_have_count(25)  # a page; the rest follow the keyset cursor
        page.get_by_role("link", name="Next page").click()
        expect(rows).to_have_count(DEMO_ACCOUNTS - 25)
        expect(page.get_by_role("link", name="Next page")).to_have_count(0)
        page.get_by_role("link", name="First page").click()
        shot(page, "accounts")
        rows.nth(3).locator("a").click()
        expect(page.get_by_role("heading", name=re.compile("^Account "))).to_be_visible()
        expect(page.locator("#live-state")).to_have_text("running")
        expect(page.locator("#timeline li").first).to_be_visible()

        page.get_by_label("Reason (optional)").fill("customer asked for a week")
        page.get_by_role("button", name="Pause", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Pause sent")
        expect(page.locator("#live-state")).to_have_text("paused", timeout=WAIT_MS)
        expect(page.locator("#timeline")).to_contain_text("Paused: customer asked for a week")
        shot(page, "account")

        page.reload()  # the page now offers to resume it
        page.get_by_role("button", name="Resume").click()
        expect(page.locator("#live-state")).to_have_text("running", timeout=WAIT_MS)

    def test_filters_the_account_list(self, page: Page, product: Seeded) -> None:
        sign_in(page, product.keys["supervisor"])
        page.goto("/console/accounts")
        page.get_by_label("Segment").fill("legal")
        page.get_by_role("button", name="Filter").click()  # HTMX swaps the results and updates the URL
        expect(page).to_have_url(re.compile(r"segment=legal"))
        expect(page.locator("#account-list tbody tr")).to_have_count(1)
        expect(page.locator("#account-list")).to_contain_text(product.legal_account)

    def test_closes_an_account_with_a_reason_and_reassigns_a_task(self, page: Page, product: Seeded) -> None:
        sign_in(page, product.keys["supervisor"])
        page.goto(f"/console/accounts/{product.accounts['CL-00001']}")
        task = page.locator("#tasks tbody tr").first
        task.get_by_label("Agent").fill("ana")
        task.get_by_role("button", name="Reassign").click()
        expect(page.get_by_role("status")).to_have_text("Task reassigned.")
        expect(page.locator("#tasks tbody tr").first.locator("td").nth(4)).to_have_text("ana")

        page.goto(f"/console/accounts/{product.accounts['CL-00005']}")
        page.get_by_label("Reason for closing").fill("debt sold")
        page.get_by_role("button", name="Close account").click()
        closed = re.compile(r"^closed \(closed by a supervisor\)$")
        expect(page.locator("#live-state")).to_have_text(closed, timeout=WAIT_MS)
        expect(page.locator("#timeline")).to_contain_text("Closed: debt sold")

    def test_approves_the_legal_referral_from_the_queue(self, page: Page, product: Seeded, shot: Shot) -> None:
        sign_in(page, product.keys["supervisor"])
        page.get_by_role("link", name="Approvals").click()
        row = page.locator("#approval-list tbody tr", has_text=product.legal_account)
        expect(row).to_contain_text("legal referral")
        shot(page, "approvals")
        row.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("status")).to_have_text("Approved.")
        expect(page.locator("#approval-list", has_text=product.legal_account)).to_have_count(0)

    def test_sees_the_agents_leaderboard(self, page: Page, product: Seeded, shot: Shot) -> None:
        sign_in(page, product.keys["supervisor"])
        page.get_by_role("link", name="Agents").click()
        expect(page.get_by_role("heading", name="Agents' leaderboard")).to_be_visible()
        shot(page, "leaderboard")


class TestProtection:
    def test_a_form_posted_without_its_csrf_token_is_refused(self, page: Page, product: Seeded) -> None:
        sign_in(page, product.keys["supervisor"])
        account = product.accounts["CL-00003"]
        target = f"/console/accounts/{account}/pause"
        without = page.request.post(target, form={"reason": "forged"}, max_redirects=0)
        forged = page.request.post(target, form={"reason": "forged", "csrf_token": "guess"}, max_redirects=0)
        assert (without.status, forged.status) == (403, 403)
        assert "did not come from the console" in without.text()
        with product.api("supervisor") as api:
            assert api.get(f"/accounts/{account}").json()["live"]["hold"] is None  # nothing was paused

    def test_an_agent_gets_the_apis_404_for_another_queues_account(self, page: Page, product: Seeded) -> None:
        account = product.accounts["CL-00004"]  # its task is in the `calls` queue
        sign_in(page, product.keys["outsider_agent"])
        menu = page.get_by_role("navigation", name="Main menu").get_by_role("link")
        expect(menu).to_have_text(["Workspace", "My tasks", "Accounts"])
        response = page.goto(f"/console/accounts/{account}")
        assert response is not None
        assert response.status == 404
        with product.api("outsider_agent") as api:
            refused = api.get(f"/accounts/{account}")
        assert refused.status_code == 404
        expect(page.get_by_role("alert")).to_have_text(refused.json()["detail"])

    def test_a_strategist_may_not_steer(self, page: Page, product: Seeded) -> None:
        sign_in(page, product.keys["strategist"])
        response = page.goto("/console/approvals")
        assert response is not None
        assert response.status == 403


class TestLanguages:
    def test_spanish_and_english_pages_render(
        self, browser: Browser, product: Seeded, shot: Shot, watch: Watch
    ) -> None:
        spanish = new_page(browser, product, watch, locale="es-CL")  # Accept-Language: es-CL
        sign_in(spanish, product.keys["supervisor"])
        expect(spanish.get_by_role("heading", level=1)).to_have_text("Campañas")
        spanish.get_by_role("link", name=DEMO_NAME).click()
        expect(spanish.get_by_role("heading", name="Cuentas por etapa")).to_be_visible()
        expect(spanish.locator("#funnel th").first).to_have_text("sin lanzar")
        expect(spanish.locator("#kpi-collected .figure")).to_have_text(f"${PAYMENT // 1000}.000")  # es-CL: $10.000
        shot(spanish, "campaign-es")

        spanish.get_by_label("Idioma").select_option("en")  # the switch beats Accept-Language
        spanish.get_by_role("button", name="Cambiar idioma").click()
        expect(spanish.get_by_role("heading", name="Accounts per stage")).to_be_visible()
        expect(spanish.locator("html")).to_have_attribute("lang", "en")
        spanish.context.close()


class TestApiDocs:
    def test_swagger_ui_shows_the_operations_offline(self, page: Page, shot: Shot) -> None:
        page.goto("/docs")
        expect(page.locator(".opblock").first).to_be_visible()
        assert page.locator(".opblock").count() > 20
        expect(page.locator(".opblock-summary-path", has_text="/accounts/{account_id}/pause").first).to_be_visible()
        shot(page, "docs")

    def test_redoc_renders_offline(self, page: Page, watch: Watch, shot: Shot) -> None:
        # ReDoc asks for Redocly's logo from its CDN; the page's policy refuses it before any
        # request leaves (the guard sees none) and ReDoc drops the image.
        with page.expect_console_message(lambda m: "cdn.redoc.ly" in m.text) as refusal:
            page.goto("/redoc")
        assert "Content Security Policy" in refusal.value.text
        expect(page.get_by_role("heading", name="Pause an account")).to_be_visible()
        expect(page.get_by_role("img", name="redocly logo")).to_have_count(0)
        shot(page, "redoc")
        watch.errors.remove(f"console: {refusal.value.text}")
