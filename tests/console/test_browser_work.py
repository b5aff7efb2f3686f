"""The agents' workspace and the strategists' pages in a real browser against the live product
(tests/console/conftest.py): an agent takes the next task, records a promise within the
strategy's limits and sees it on the timeline, is refused beyond them with the workflow's reason,
and gets the API's 404 for another queue's account; a strategist uploads a strategy with an error
and sees it at its line, fixes it, simulates, publishes, compares, creates a campaign, imports its
accounts and launches it, watching the progress bar reach the total; a strategist sets a campaign's
notify URL, is refused a private address beside the field, reads a rotated secret once and removes
the URL; an agent records an outcome code the strategy declares, offered under its label."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from browser_harness import STRATEGY, Seeded, Watch, account_row, answer, new_page, sign_in, until
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from db.models import OutcomeRecord
from db.session import make_engine, make_session_factory
from stack import portfolio

# One process runs the whole module (bin/test's isolated run is `-n 2 --dist loadgroup`): its stacks start once.
pytestmark = [pytest.mark.isolated, pytest.mark.xdist_group("browser_work"), pytest.mark.timeout(600)]
Shot = Callable[[Page, str], Path]
WAIT_MS = 20_000  # how long to wait for a workflow to take an update, or a launch to finish


def next_task_account(page: Page) -> str:
    return page.locator("#next-task dd").first.inner_text().split()[0]


class TestAgent:
    def test_takes_the_next_task_records_a_promise_and_sees_it_on_the_timeline(
        self, page: Page, product: Seeded, shot: Shot
    ) -> None:
        sign_in(page, product.keys["agent"])
        expect(page).to_have_url(re.compile(r"/console/work$"))  # an agent lands on the workspace
        expect(page.locator("#score-value")).to_be_visible()  # the score's parts, down to the score
        expect(page.locator("#score")).to_contain_text("likelihood of contact")
        shot(page, "workspace")
        external_id = next_task_account(page)

        page.get_by_role("button", name="Claim").click()
        expect(page.get_by_role("status")).to_have_text("The task is yours.")
        expect(page.get_by_role("heading", name=re.compile(f"Account {external_id}"))).to_be_visible()
        page.get_by_label("Outcome").select_option("promise_to_pay")
        promise = page.locator("#outcome-form fieldset.for-promise_to_pay")
        expect(promise).to_be_visible()  # shown with the outcome that needs it
        expect(page.locator("#outcome-form fieldset.for-payment_plan")).to_be_hidden()
        expect(promise.locator(".limits")).to_contain_text("days ahead at the most")  # the strategy's limit
        amount, due = promise.locator("#outcome-promise-amount"), promise.locator("#outcome-promise-due")
        latest, balance = due.get_attribute("max"), amount.get_attribute("max")
        assert latest is not None
        assert balance is not None
        amount.fill(balance)  # the whole balance: the most a promise may be
        due.fill(latest)  # the furthest date the strategy takes
        page.get_by_label("Note (optional)").fill("pagará con su sueldo")
        shot(page, "task")
        page.get_by_role("button", name="Record outcome").click()

        expect(page).to_have_url(re.compile(r"/console/work/accounts/\d+\?done=outcome$"))
        expect(page.get_by_role("status")).to_contain_text("Outcome recorded")
        entry = page.locator("#timeline li[data-kind=promise]")
        # Written before the answer, its money as the account's locale reads it.
        expect(entry).to_contain_text(f"promise to pay ${int(balance):,} by {latest}".replace(",", "."))
        expect(page.locator("#timeline li[data-kind=outcome]")).to_contain_text("promise_to_pay")
        expect(page.locator("#live")).to_contain_text(f"${int(balance):,}".replace(",", "."), timeout=WAIT_MS)
        shot(page, "agent-account")

    def test_a_promise_beyond_the_strategys_limit_is_refused_with_the_workflows_reason(
        self, page: Page, product: Seeded, shot: Shot
    ) -> None:
        account = product.accounts["CL-00003"]
        sign_in(page, product.keys["agent"])
        page.goto(f"/console/work/accounts/{account}")
        promises = page.locator("#timeline li[data-kind=promise]").count()
        form = page.locator("#promise-form")
        latest = form.get_by_label("Due date").get_attribute("max")
        assert latest is not None
        beyond = (date.fromisoformat(latest) + timedelta(days=1)).isoformat()
        form.evaluate("f => { f.noValidate = true }")  # what the browser would stop, the server refuses
        form.get_by_label("Amount (CLP)").fill("20000")
        form.get_by_label("Due date").fill(beyond)
        form.get_by_role("button", name="Record promise").click()

        refusal = page.locator("#promise-refused")
        expect(refusal).to_contain_text(f"The account refused it: promise date {beyond} is more than 15 days ahead")
        expect(form.get_by_label("Due date")).to_have_value(beyond)  # what was typed stays
        expect(page.locator("#timeline li[data-kind=promise]")).to_have_count(promises)
        with product.api("agent") as api:
            refused = api.post(
                f"/accounts/{account}/promises", json={"amount": 20000, "currency": "CLP", "due": beyond}
            )
        assert refused.status_code == 409
        assert refused.json()["detail"] == refusal.inner_text()  # the API's answer, word for word
        shot(page, "agent-refused")

        page.get_by_label("A note for whoever works the account next").fill("volver a llamar el lunes")
        page.get_by_role("button", name="Save note").click()
        expect(page.get_by_role("status")).to_have_text("Note saved.")
        expect(page.locator("#timeline li[data-kind=note]")).to_contain_text("volver a llamar el lunes")

    def test_lists_my_open_tasks(self, page: Page, product: Seeded, shot: Shot) -> None:
        sign_in(page, product.keys["agent"])
        page.get_by_role("link", name="My tasks").click()
        rows = page.locator("#task-list tbody tr")
        expect(rows.first).to_be_visible()
        with product.api("agent") as api:
            listed = api.get("/agent/tasks", params={"limit": 100}).json()["items"]
        expect(rows).to_have_count(len(listed))  # what GET /agent/tasks answers
        shot(page, "tasks")

    def test_the_workspace_reads_in_spanish(self, browser: Browser, product: Seeded, watch: Watch, shot: Shot) -> None:
        spanish = new_page(browser, product, watch, locale="es-CL")
        sign_in(spanish, product.keys["agent"])
        expect(spanish.get_by_role("heading", level=1)).to_have_text("Puesto de trabajo")
        expect(spanish.locator("#score caption")).to_have_text("Por qué esta tarea va primero")
        expect(spanish.get_by_role("button", name="Tomar")).to_be_visible()
        shot(spanish, "workspace-es")
        spanish.context.close()

    def test_another_queues_account_is_not_found_as_in_the_api(self, page: Page, product: Seeded) -> None:
        legal = product.accounts[product.legal_account]  # no task of the agent's queue ever touched it
        sign_in(page, product.keys["agent"])
        response = page.goto(f"/console/work/accounts/{legal}")
        assert response is not None
        assert response.status == 404
        with product.api("agent") as api:
            refused = api.get(f"/accounts/{legal}/timeline")
        assert refused.status_code == 404
        expect(page.get_by_role("alert")).to_have_text(refused.json()["detail"])


# The strategist's strategy: the test strategy under another id, with one mistake (a promise may
# be at most 365 days ahead) on a line the test finds.
SOURCE = (
    STRATEGY.read_text("utf-8")
    .replace("id: api-calls", "id: consola-llamadas")
    .replace("name: Calls for the API tests", "name: Llamadas desde la consola")
)
BROKEN = SOURCE.replace("max_days_ahead: 15", "max_days_ahead: 500")
FIXED = SOURCE.replace("max_days_ahead: 15", "max_days_ahead: 20")
BROKEN_LINE = next(n for n, line in enumerate(BROKEN.splitlines(), 1) if "max_days_ahead: 500" in line)
ACCOUNTS = 8


class TestStrategist:
    def test_from_a_broken_upload_to_a_launched_campaign(self, page: Page, product: Seeded, shot: Shot) -> None:
        sign_in(page, product.keys["strategist"])
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Strategies").click()
        expect(page.locator("#version-list")).to_contain_text("api-calls")
        shot(page, "strategies")
        page.get_by_role("link", name="New version").click()
        page.get_by_label("or upload a YAML file").set_input_files(
            files=[{"name": "consola.yaml", "mimeType": "text/yaml", "buffer": BROKEN.encode()}]
        )
        page.get_by_role("button", name="Validate").click()

        line = page.locator(f"#source-line-{BROKEN_LINE}")
        expect(line).to_have_class("has-error")
        expect(line.locator(".line-error")).to_contain_text("365")
        expect(page.locator("#source-line li.has-error")).to_have_count(1)  # the one mistake, nowhere else
        expect(page.get_by_label("Paste the strategy's YAML")).to_have_value(BROKEN)  # ready to fix
        shot(page, "strategy-errors")

        page.get_by_label("Paste the strategy's YAML").fill(FIXED)
        page.get_by_role("button", name="Validate").click()
        expect(page.get_by_role("heading", name="Valid: Llamadas desde la consola")).to_be_visible()
        page.get_by_role("button", name="Simulate").click()
        timeline = page.locator("#simulation-timeline tbody tr")
        expect(timeline.first).to_be_visible()
        expect(page.locator("#simulation-timeline tr[data-kind=call]")).to_contain_text("promise_to_pay")
        expect(page.locator("#simulation")).to_contain_text("paid")  # the scenario's payment keeps the promise
        shot(page, "simulation")

        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("status")).to_contain_text("Published")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Llamadas desde la consola")
        shot(page, "version")
        with product.api("strategist") as api:
            [calls] = api.get("/strategies", params={"strategy_id": "api-calls"}).json()["items"]
        page.get_by_label("What changed since").select_option(calls["hash"])
        page.get_by_role("button", name="Compare").click()
        expect(page.locator("#diff-parts")).to_contain_text("promises")
        expect(page.locator("#unified-diff .add").filter(has_text="max_days_ahead: 20")).to_have_count(1)
        # Only the id, the name and the limit changed: the pasted text kept the file's line ends.
        expect(page.locator("#unified-diff .add")).to_have_count(3)
        expect(page.locator("#unified-diff .del")).to_have_count(3)
        shot(page, "diff")
        page.go_back()

        # Many accounts beside the version it came from, on the same accounts and draws.
        page.get_by_label("Synthetic accounts").fill("300")
        page.get_by_label("Beside another version (same accounts and draws)").select_option(calls["hash"])
        page.get_by_role("button", name="Run the analysis").click()
        expect(page.locator("#whatif-chart svg polyline")).to_have_count(3)  # this, the other, no contact
        expect(page.locator("#whatif-arms tbody tr").first).to_contain_text("all accounts")
        expect(page.locator("#whatif-comparison")).to_contain_text("95% interval")
        # Both versions' agent calls, by the outcome the simulated agents recorded, in words.
        outcomes = page.locator("#whatif-outcomes tbody tr")
        expect(outcomes.filter(has_text="no answer")).to_have_count(2)
        shot(page, "what-if")

        page.get_by_role("link", name="Create a campaign").click()
        page.get_by_label("Name", exact=True).fill("Consola nueva")
        page.get_by_label("Id (optional: one is made up)").fill("consola-nueva")
        page.get_by_label("Creditor", exact=True).fill("Andes")
        expect(page.get_by_label("Strategy version")).to_contain_text("Llamadas desde la consola")
        page.get_by_role("button", name="Create campaign").click()
        expect(page.get_by_role("status")).to_contain_text("Campaign created")

        rows = [account_row(n, 120_000 + 1_000 * n) for n in range(1, ACCOUNTS + 1)]
        rows.append({**account_row(ACCOUNTS + 1, 1), "balance": "mucho"})  # reported, not imported
        page.get_by_label("Accounts file (CSV or JSON)").set_input_files(
            files=[{"name": "cuentas.csv", "mimeType": "text/csv", "buffer": portfolio.to_csv(rows).encode()}]
        )
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#report-accepted")).to_have_text(str(ACCOUNTS))
        expect(page.locator("#report-rejected")).to_have_text("1")
        expect(page.locator("#report-rows-table tr.rejected")).to_contain_text("balance")
        shot(page, "import")

        page.get_by_role("button", name=f"Launch {ACCOUNTS} accounts").click()
        expect(page.get_by_role("status")).to_contain_text("Launch sent")
        expect(page.locator("#launch-count")).to_have_text(f"{ACCOUNTS} / {ACCOUNTS}", timeout=WAIT_MS)
        expect(page.locator("#launch-progress")).to_have_attribute("value", str(ACCOUNTS))
        expect(page.locator("#launch-status")).to_have_attribute("data-status", "done", timeout=WAIT_MS)
        shot(page, "launch")

        page.reload()
        page.get_by_role("button", name="Pause campaign").click()
        expect(page.locator("#campaign-status")).to_have_text("paused")
        page.get_by_role("button", name="Resume campaign").click()
        expect(page.locator("#campaign-status")).to_have_text("running")
        expect(page.get_by_label("Strategy version")).to_have_count(0)  # moving is for supervisors

        page.get_by_role("button", name="Sign out").click()
        sign_in(page, product.keys["supervisor"])
        page.goto("/console/campaigns/consola-nueva")
        page.get_by_label("Strategy version").select_option(calls["hash"])
        page.get_by_role("button", name="Move campaign").click()
        expect(page.get_by_role("status")).to_contain_text("Move sent")
        expect(page.locator("#campaign-strategy")).to_contain_text(calls["hash"][:12])
        page.get_by_role("button", name="Stop campaign").click()
        expect(page.locator("#campaign-status")).to_have_text("stopped")
        expect(page.get_by_role("button", name="Launch")).to_have_count(0)


NOTIFY_CAMPAIGN = "consola-aviso"
HOOK = "https://hooks.andes.example/collect"


class TestNotifyForm:
    def test_sets_the_url_is_refused_a_private_one_rotates_the_secret_and_removes_it(
        self, page: Page, product: Seeded, shot: Shot
    ) -> None:
        with product.api("strategist") as api:
            [calls] = api.get("/strategies", params={"strategy_id": "api-calls"}).json()["items"]
            body = {"id": NOTIFY_CAMPAIGN, "name": "Aviso", "strategy_hash": calls["hash"], "creditor_name": "Andes"}
            answer(api.post("/campaigns", json=body), 201)
        sign_in(page, product.keys["strategist"])
        page.goto(f"/console/campaigns/{NOTIFY_CAMPAIGN}")
        field = page.get_by_label("Where the strategy's notify actions post (http or https)")
        field.fill(HOOK)
        page.get_by_role("button", name="Save URL").click()

        # The first URL's secret, on the answer that made it.
        secret = page.locator("#notify-secret").inner_text()
        assert len(secret) >= 40
        expect(page.locator("#notify-secret-note")).to_contain_text("copy it now")
        shot(page, "notify-secret")
        page.get_by_role("link", name="Back to the campaign").click()
        expect(page.locator("#notify-url")).to_have_text(HOOK)
        expect(page.locator("#notify-secret-state")).to_contain_text("Set · made")
        assert secret not in page.content()

        field.fill("http://10.1.2.3/hook")  # a private address: the worker must not reach it
        page.get_by_role("button", name="Save URL").click()
        expect(page.locator("#notify-url-error")).to_contain_text("That address is not public")
        expect(field).to_have_value("http://10.1.2.3/hook")  # what was typed stays, to fix
        expect(page.locator("#notify-url")).to_have_text(HOOK)  # nothing changed
        shot(page, "notify-refused")

        page.get_by_role("button", name="Rotate secret").click()
        rotated = page.locator("#notify-secret").inner_text()
        assert rotated not in ("", secret)
        page.get_by_role("link", name="Back to the campaign").click()
        page.reload()
        assert rotated not in page.content()
        expect(page.locator("#notify-secret")).to_have_count(0)

        page.get_by_role("button", name="Remove URL").click()
        expect(page.get_by_role("status")).to_contain_text("Notify URL removed")
        expect(field).to_have_value("")
        with product.api("supervisor") as api:
            config = answer(api.get(f"/campaigns/{NOTIFY_CAMPAIGN}/notify"))
        assert (config["url"], config["secret_set"], config["secret"]) == (None, True, None)


CUSTOM = STRATEGY.parent / "custom-outcomes.yaml"  # `deceased` (labelled in es and en) closes the account
CUSTOM_CAMPAIGN = "consola-propios"


class TestCustomOutcome:
    def test_the_agent_picks_the_strategys_own_code_by_its_label(
        self, browser: Browser, page: Page, product: Seeded, watch: Watch, shot: Shot
    ) -> None:
        with product.api("strategist") as api, product.api("supervisor") as supervisor:
            yaml = {"content": CUSTOM.read_bytes(), "headers": {"Content-Type": "application/yaml"}}
            published = api.post("/strategies", **yaml)
            assert published.status_code in (200, 201), published.text
            body = {
                "id": CUSTOM_CAMPAIGN,
                "name": "Propios",
                "strategy_hash": published.json()["hash"],
                "creditor_name": "Andes",
            }
            answer(api.post("/campaigns", json=body), 201)
            csv = portfolio.to_csv([account_row(201, 180_000)]).encode()
            as_csv = {"content": csv, "headers": {"Content-Type": "text/csv"}}
            answer(api.post(f"/campaigns/{CUSTOM_CAMPAIGN}/accounts", **as_csv))
            answer(api.post(f"/campaigns/{CUSTOM_CAMPAIGN}/launch", json={}), 202)
            listed = until(
                lambda: answer(supervisor.get("/accounts", params={"campaign_id": CUSTOM_CAMPAIGN}))["items"],
                "the account's row",
            )
            account = listed[0]["id"]
            task = until(lambda: answer(supervisor.get(f"/accounts/{account}"))["tasks"], "the account's call")[0]

        # In Spanish, the strategist's Spanish label.
        spanish = new_page(browser, product, watch, locale="es-CL")
        sign_in(spanish, product.keys["agent"])
        spanish.goto(f"/console/tasks/{task['id']}")
        expect(spanish.locator("#outcome-code option[value=deceased]")).to_have_text("Deudor fallecido")
        spanish.context.close()

        sign_in(page, product.keys["agent"])
        page.goto(f"/console/tasks/{task['id']}")
        outcome = page.get_by_label("Outcome")
        expect(outcome.locator("option[value=deceased]")).to_have_text("Debtor deceased")
        expect(outcome.locator("option[value=third_party_paying]")).to_have_text("Paga un tercero")  # its only label
        outcome.select_option(label="Debtor deceased")
        page.get_by_label("Note (optional)").fill("informado por su hija")
        shot(page, "custom-outcome")
        page.get_by_role("button", name="Record outcome").click()
        expect(page).to_have_url(re.compile(rf"/console/work/accounts/{account}\?done=outcome$"))
        expect(page.locator("#timeline li[data-kind=outcome]")).to_contain_text("deceased")

        engine = make_engine(product.database_url)
        try:
            with make_session_factory(engine)() as session:
                recorded = session.execute(
                    select(OutcomeRecord.code, OutcomeRecord.right_party_contact, OutcomeRecord.agent).where(
                        OutcomeRecord.account_id == account
                    )
                ).all()
        finally:
            engine.dispose()
        assert [tuple(r) for r in recorded] == [("deceased", False, "ana")]
        with product.api("supervisor") as supervisor:
            closed = until(
                lambda: answer(supervisor.get(f"/accounts/{account}"))["account"]["resolution"] == "written_off",
                "the account to close as the code routes it",
            )
            assert closed
            # Counted under its own code (no console page shows outcomes per code; the API's report does).
            until(
                lambda: (
                    answer(supervisor.get(f"/kpis/campaigns/{CUSTOM_CAMPAIGN}"))["overall"]["outcomes"]
                    == {"deceased": 1}
                ),
                "the outcome in the campaign's KPIs",
            )
