"""What a message's templates see of the account's dues (activities/messaging.py `message_context`):
the dues with what was paid of each, the unpaid count, and `days_past_due` from the oldest unpaid
due for second-edition strategies (first-edition sends keep counting from the first due)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from activities.messaging import message_context
from domain.account import AccountSnapshot
from domain.policy_presets import PRESETS
from domain.strategy import Template
from domain.types import Channel
from workflows.contracts import CampaignInfo, SendInput

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # December 2 in Santiago


def send_input(**extra: object) -> SendInput:
    account = AccountSnapshot.model_validate(
        {
            "account_id": "D-1",
            "debtor_name": "Ana Pérez",
            "country": "CL",
            "timezone": "America/Santiago",
            "currency": "CLP",
            "balance": 200_000,
            "original_amount": 200_000,
            "due_date": "2026-11-01",
            "dues": [{"due_date": "2026-11-01", "amount": 100_000}, {"due_date": "2026-12-01", "amount": 100_000}],
            "email": "ana@example.com",
        }
    )
    fields: dict[str, object] = {
        "key": "wf:1",
        "workflow_id": "wf",
        "seq": 1,
        "step": "s",
        "campaign": CampaignInfo(id="c"),
        "account": account,
        "channel": Channel.EMAIL,
        "template_name": "t",
        "template": Template(body="x"),
        "policy": PRESETS["CL"],
        "locale": "es-CL",
        "currency": "CLP",
        "planned_at": NOW,
        "balance": 100_000,
        "fees_total": 0,
        "paid_total": 100_000,  # the November invoice, paid during the campaign
        **extra,
    }
    return SendInput.model_validate(fields)


def test_the_dues_with_what_was_paid_of_each() -> None:
    ctx = message_context(send_input(edition=2), NOW)
    assert ctx["dues"] == [
        {"number": 1, "due_date": date(2026, 11, 1), "amount": 100_000, "paid_amount": 100_000, "paid": True},
        {"number": 2, "due_date": date(2026, 12, 1), "amount": 100_000, "paid_amount": 0, "paid": False},
    ]
    assert ctx["account"]["unpaid_dues"] == 1
    assert ctx["account"]["oldest_unpaid_due"] == date(2026, 12, 1)


def test_days_past_due_from_the_oldest_unpaid_due_in_the_second_edition() -> None:
    assert message_context(send_input(edition=2), NOW)["account"]["days_past_due"] == 1
    assert message_context(send_input(edition=1), NOW)["account"]["days_past_due"] == 31
    assert message_context(send_input(), NOW)["account"]["days_past_due"] == 31  # sends planned before
