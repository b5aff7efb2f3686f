"""The live account timeline reads right (issue 13): a task nobody worked and an offer nobody took
have rows of their own (carried by the recorded turns), each message shows what the debtor read
(a fallback's rendering on the channel it used), entries a step made carry that step's stage, and
a contact blocked by the strategy's own rule names it as the strategy's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from accounts_fixture import STRATEGIES, settle, start_accounts
from api_harness import Api
from clock import skip

TIMELINE = STRATEGIES / "timeline.yaml"


async def entries(api: Api, account_id: int) -> list[dict[str, Any]]:
    response = await api.http.get(f"/accounts/{account_id}/timeline", headers=api.as_("supervisor"))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["entries"]
    return found


class TestLiveTimeline:
    async def test_expiries_previews_stages_and_the_strategys_own_rule(self, api: Api) -> None:
        called, unreachable = await start_accounts(api, TIMELINE, 2, prefix="TL")
        # The second account has no phone: no call, and its SMS reminder falls back to email.
        await skip(api.env, timedelta(days=3))
        for account in (called, unreachable):
            await settle(api, account.workflow_id)

        first = await entries(api, called.id)
        (expired,) = [e for e in first if e["kind"] == "task_expired"]
        assert expired["summary"] == "call task expired with nobody working it (attempt 1)"
        assert (expired["details"]["step"], expired["details"]["stage"]) == ("llamada", "contact")
        (offer,) = [e for e in first if e["kind"] == "offer_expired"]
        assert offer["summary"] == "settlement offer expired"
        assert offer["details"]["stage"] == "outreach"
        sms = next(e for e in first if e["kind"] == "communication" and e["details"]["channel"] == "sms")
        assert sms["details"]["preview"] == "Hola Ana, su saldo es $150.000."
        assert sms["details"]["stage"] == "outreach"
        offered = next(e for e in first if e["kind"] == "communication" and e["details"]["template"] == "oferta")
        assert offered["details"]["preview"] == "Oferta — Ana: pague $120.000 y cierre su deuda"
        kinds = [e["kind"] for e in first]
        assert kinds.index("task_expired") < kinds.index("communication")

    async def test_a_fallback_and_a_block_by_the_strategys_own_cap(self, api: Api) -> None:
        (account,) = await start_accounts(api, TIMELINE, 1, prefix="NP", phone=None)
        await skip(api.env, timedelta(days=2))
        await settle(api, account.workflow_id)
        found = await entries(api, account.id)
        assert not [e for e in found if e["kind"] in ("task", "task_expired")]
        sent = [e for e in found if e["kind"] == "communication" and e["details"]["status"] != "blocked"]
        reminder = next(e for e in sent if e["details"]["template"] == "aviso")
        assert reminder["details"]["channel"] == "email"
        assert reminder["details"]["preview"] == "Aviso de Acme — Hola Ana, su saldo es $150.000."
        blocked = [e for e in found if e["details"].get("status") == "blocked"]
        capped = next(e for e in blocked if e["details"]["channel"] == "email")
        assert capped["summary"].startswith("email blocked by your strategy's rule `two-emails-a-week`: ")
        own_sms = next(e for e in blocked if e["details"]["channel"] == "sms")
        assert "blocked by no-contact-point" in own_sms["summary"]
