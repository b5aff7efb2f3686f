"""`collect payment simulate`: a payment signed as its provider signs it, through the API's
webhook, counted on the account (the README's tour pays a promise with it)."""

from __future__ import annotations

import json

import pytest
from cli_stack import PAYMENT_PROVIDER, PAYMENT_SECRETS, Campaign, Collect, Stack, eventually, suite_day

SECRETS = {"COLLECT_PAYMENT_WEBHOOK_SECRETS": json.dumps(PAYMENT_SECRETS)}
PAID_AT = f"{suite_day(0)}T15:00:00+00:00"


@pytest.fixture(scope="module")
def campaign(stack: Stack) -> Campaign:
    """One account per test, so each sees only its own payments."""
    return stack.campaign([150_000, 150_000, 150_000])


class TestSimulate:
    def test_a_signed_payment_is_recorded_and_reaches_the_account(
        self, collect: Collect, stack: Stack, campaign: Campaign
    ) -> None:
        account = str(campaign.accounts[f"{campaign.id}-1"])
        result = collect(
            "payment",
            "simulate",
            account,
            "50000",
            "--provider",
            PAYMENT_PROVIDER,
            "--paid-at",
            PAID_AT,
            as_="supervisor",
            env=SECRETS,
        )
        assert result.exit_code == 0, result.output
        assert "payment recorded (#" in result.stdout
        assert f"{PAYMENT_PROVIDER}): CLP 50,000 on account {account}" in result.stdout
        assert "the account's workflow has it" in result.stdout

        def paid() -> bool:
            live = json.loads(collect("account", "show", account, "--json", as_="supervisor").stdout)["live"]
            return live["paid_total"] == 50_000

        eventually(paid, "the payment to reach the account's workflow")

    def test_json_and_the_same_payment_twice(self, collect: Collect, campaign: Campaign) -> None:
        account = str(campaign.accounts[f"{campaign.id}-2"])
        args = ("payment", "simulate", account, "CLP 20000", "--provider", "stripe", "--payment-id", "tx-1", "--json")
        first = json.loads(collect(*args, as_=None, env=SECRETS).stdout)  # the currency is given: no key needed
        assert (first["status"], first["delivered"]) == ("recorded", True)
        again = json.loads(collect(*args, as_=None, env=SECRETS).stdout)
        assert (again["status"], again["payment_id"]) == ("duplicate", first["payment_id"])

    def test_refusals_before_and_by_the_api(self, collect: Collect, campaign: Campaign) -> None:
        account = str(campaign.accounts[f"{campaign.id}-3"])
        several = collect("payment", "simulate", account, "50000", as_="supervisor", env=SECRETS)
        assert several.exit_code == 2
        assert "several providers are configured (khipu, stripe); choose one with --provider" in several.stderr
        none = collect("payment", "simulate", account, "50000", as_="supervisor")
        assert none.exit_code == 2
        assert "COLLECT_PAYMENT_WEBHOOK_SECRETS" in none.stderr
        grouped = collect(
            "payment", "simulate", account, "50.000", "--provider", "khipu", as_="supervisor", env=SECRETS
        )
        assert grouped.exit_code == 2
        wrong = collect(
            "payment", "simulate", account, "500", "--provider", "khipu", "--secret", "not-the-secret", as_="supervisor"
        )
        assert wrong.exit_code == 1
        assert "403 Forbidden: The X-Signature signature does not match" in wrong.stderr
        unknown = collect(
            "payment", "simulate", "999999", "500 CLP", "--provider", "khipu", as_="supervisor", env=SECRETS
        )
        assert unknown.exit_code == 1
        assert "There is no account 999999." in unknown.stderr
        assert "/body/account_id: not found" in unknown.stderr
