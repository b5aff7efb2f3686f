"""The variables a message template sees (strategies.rendering.EXAMPLE_CONTEXT lists them), built
in one place for the send activity (the real message) and the simulator (the timeline's preview),
so a preview can never be rendered from other data than the message itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from domain.account import AccountSnapshot
from domain.conditions import edition_days_past_due
from domain.dues import due_lines, oldest_unpaid_due


def template_context(
    account: AccountSnapshot,
    *,
    balance: int,
    paid_total: int,
    currency: str,
    edition: int,
    offer: Mapping[str, str],
    promise: tuple[int, date] | None,
    fees_total: int,
    interest_total: int,
    creditor: Mapping[str, str],
    payment_link_base: str,
    now: datetime,
) -> dict[str, Any]:
    """What a template sees for `account` at `now`: amounts in minor units (templates format them
    with `| money`), days past due as the strategy's `edition` counts them (from the oldest unpaid
    due since the second), the creditor's name, phone and email, the payment link under
    `payment_link_base` (none when empty)."""
    lines = due_lines(account, paid_total)
    oldest = oldest_unpaid_due(account, paid_total)
    base = payment_link_base.rstrip("/")
    link = f"{base}/{account.account_id}" if base else ""
    return {
        "debtor": {"name": account.debtor_name, "first_name": account.first_name},
        "account": {
            "id": account.account_id,
            "balance": balance,
            "original_amount": account.original_amount,
            "currency": currency,
            "due_date": account.due_date,
            "days_past_due": edition_days_past_due(account, paid_total, now, edition),
            "unpaid_dues": sum(1 for line in lines if not line.paid) if balance > 0 else 0,
            "oldest_unpaid_due": oldest,
        },
        "dues": [
            {
                "number": line.number,
                "due_date": line.due_date,
                "amount": line.amount,
                "paid_amount": line.paid_amount,
                "paid": line.paid,
            }
            for line in lines
        ],
        "creditor": {key: creditor.get(key) or "" for key in ("name", "phone", "email")},
        "payment_link": link,
        "opt_out_link": f"{link}/stop" if link else "",
        "promise": {"amount": promise[0], "due": promise[1]} if promise else None,
        "offer": dict(offer),
        "fees": {"total": fees_total},
        "interest": {"total": interest_total},
        "today": now.astimezone(UTC).date(),
    }
