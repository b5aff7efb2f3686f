"""`collect account refund`: a supervisor records a refund (or credit) of what an account was paid
beyond what it owed, in major units; the account's overpayment goes down; the same reference again
changes nothing; more than is owed back is the API's refusal, said as it said it."""

from __future__ import annotations

import json

from cli_stack import PAYMENT_PROVIDER, PAYMENT_SECRETS, Collect, Stack, eventually

SECRETS = {"COLLECT_PAYMENT_WEBHOOK_SECRETS": json.dumps(PAYMENT_SECRETS)}


def test_a_refund_and_a_credit_bring_the_overpayment_to_zero(collect: Collect, stack: Stack) -> None:
    campaign = stack.campaign([150_000])
    account = str(campaign.accounts[f"{campaign.id}-1"])
    paid = collect(
        "payment", "simulate", account, "175000", "--provider", PAYMENT_PROVIDER, env=SECRETS, as_="supervisor"
    )
    assert paid.exit_code == 0, paid.output

    def overpaid() -> int | None:
        facts = json.loads(collect("account", "show", account, "--json", as_="supervisor").stdout)["account"]
        return facts["overpaid"] if facts["overpaid"] else None

    assert eventually(overpaid, "the overpayment to reach the read model") == 25_000

    done = collect("account", "refund", account, "--amount", "10000", "--reference", "TRX-1", as_="supervisor")
    assert done.exit_code == 0, done.output
    assert f"refund of CLP 10,000 recorded on account {account} (ref TRX-1); CLP 15,000 still owed back" in done.stdout
    again = collect("account", "refund", account, "--amount", "10000", "--reference", "TRX-1", as_="supervisor")
    assert "refund TRX-1 was already recorded" in again.stdout

    too_much = collect("account", "refund", account, "--amount", "15001", "--reference", "TRX-2", as_="supervisor")
    assert too_much.exit_code == 1
    assert "more than the 15000 owed back" in too_much.stderr
    grouped = collect("account", "refund", account, "--amount", "15.000", "--reference", "TRX-2", as_="supervisor")
    assert grouped.exit_code == 2

    credit = collect(
        "account",
        "refund",
        account,
        "--amount",
        "CLP 15000",
        "--reference",
        "C-1",
        "--credit",
        "--json",
        as_="supervisor",
    )
    assert json.loads(credit.stdout)["overpaid"] == 0
    assert overpaid() is None
