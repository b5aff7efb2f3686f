"""CEL conditions over an account: the variables a strategist may use, and their evaluation.

Money variables are integers in the currency's minor units (see `domain.account`).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import cel

from domain.errors import InterpreterError
from domain.state import AccountState

# name -> (example value used for compile-time type checks, description for docs and errors)
VARIABLES: dict[str, tuple[Any, str]] = {
    "balance": (150000, "current balance, integer minor units"),
    "original_amount": (200000, "amount originally owed, integer minor units"),
    "paid_total": (50000, "paid since the account entered the campaign, minor units"),
    "currency": ("CLP", "ISO 4217 code"),
    "days_past_due": (35, "days since the due date, in the debtor's local calendar"),
    "country": ("CL", "ISO 3166 alpha-2 country of the debtor"),
    "tags": (["vip"], "list of strings from the account"),
    "risk_score": (0.5, "number from the account (0 = safest)"),
    "payments": (1, "payments recorded, history included"),
    "promises_kept": (0, "promises kept, history included"),
    "promises_broken": (0, "promises broken, history included"),
    "contacts": (3, "contacts sent or attempted in this campaign"),
    "right_party_contacts": (1, "right-party conversations in this campaign"),
    "opened": (0, "messages opened"),
    "clicked": (0, "message links clicked"),
    "has_email": (True, "the account has a usable email address"),
    "has_phone": (True, "the account has a usable phone number"),
    "segment": ("default", "segment the account was placed in"),
    "variant": ("champion", "champion/challenger variant, empty when none"),
}


@lru_cache(maxsize=1024)
def compiled(expression: str) -> Any:
    """Parse once; programs are immutable and safe to share."""
    return cel.compile(expression)


def unknown_variables(expression: str) -> list[str]:
    """Names the expression uses that are not account variables (raises ValueError on syntax)."""
    return [v for v in compiled(expression).variables() if v not in VARIABLES]


def check_types(expression: str) -> None:
    """Run the expression on an example account so type errors (`balance > "a"`) surface at
    compile time; raises TypeError or RuntimeError with CEL's message."""
    result = compiled(expression).execute({name: value for name, (value, _) in VARIABLES.items()})
    if not isinstance(result, bool):
        raise TypeError(f"condition must be true or false, but it gives {type(result).__name__}")


def days_past_due(due: date, now: datetime, tz: str) -> int:
    return (now.astimezone(ZoneInfo(tz)).date() - due).days


def context(state: AccountState, now: datetime) -> dict[str, Any]:
    a = state.account
    c = state.counters
    usable = [ch for ch in ("email", "sms") if ch not in state.opted_out and ch not in state.invalid]
    return {
        "balance": state.balance,
        "original_amount": a.original_amount,
        "paid_total": state.paid_total,
        "currency": a.currency,
        "days_past_due": days_past_due(a.due_date, now, a.timezone),
        "country": a.country,
        "tags": list(a.tags),
        "risk_score": float(a.risk_score),
        "payments": a.payments_count + c.payments,
        "promises_kept": a.promises_kept + c.promises_kept,
        "promises_broken": a.promises_broken + c.promises_broken,
        "contacts": c.contacts,
        "right_party_contacts": c.right_party_contacts,
        "opened": c.opened,
        "clicked": c.clicked,
        "has_email": bool(a.email) and "email" in usable,
        "has_phone": bool(a.phone) and "sms" in usable,
        "segment": state.segment,
        "variant": state.variant or "",
    }


def evaluate(expression: str, ctx: dict[str, Any]) -> bool:
    try:
        result = compiled(expression).execute(ctx)
    except (TypeError, RuntimeError, ValueError) as exc:
        raise InterpreterError(f"condition {expression!r} failed: {exc}") from exc
    return bool(result)
