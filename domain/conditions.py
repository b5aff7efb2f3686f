"""CEL conditions over an account: the variables a strategist may use (with their declared types
and bounds, which strategies/cel_check.py checks conditions against), and their evaluation.

Money variables are integers in the currency's minor units (see `domain.account`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import cel

from domain import dues
from domain.account import AccountSnapshot
from domain.errors import InterpreterError
from domain.state import AccountState

# Declared bounds of the numbers a condition sees. Account import refuses amounts above 10^15
# minor units and risk scores beyond +-10^6 (api/account_import.py); sums and counters get room
# above that. The condition checker (strategies/cel_check.py) proves over these bounds that no
# arithmetic a strategy writes can overflow or divide by zero.
MONEY_MAX = 10**16
COUNT_MAX = 10**12
DAYS_MAX = 4_000_000  # further than any date Python can hold, in days
RISK_MAX = 10**6


@dataclass(frozen=True)
class Variable:
    """An account variable a condition may use: its CEL type and, for numbers, its bounds."""

    type: str  # "int", "double", "string", "bool" or "list(string)"
    description: str
    low: int | None = None
    high: int | None = None
    # What a number counts; the checker keeps quantities apart (an amount never meets a bare number).
    unit: str | None = None


VARIABLES: dict[str, Variable] = {
    "balance": Variable("int", "current balance, integer minor units", 0, MONEY_MAX, "money"),
    "original_amount": Variable("int", "amount originally owed, integer minor units", 0, MONEY_MAX, "money"),
    "paid_total": Variable("int", "paid since the account entered the campaign, minor units", 0, MONEY_MAX, "money"),
    "interest_total": Variable("int", "interest charged in this campaign, minor units", 0, MONEY_MAX, "money"),
    "fees_total": Variable("int", "fees charged in this campaign, minor units", 0, MONEY_MAX, "money"),
    "currency": Variable("string", "ISO 4217 code"),
    "days_past_due": Variable(
        "int", "days since the due date, in the debtor's local calendar", -DAYS_MAX, DAYS_MAX, "days"
    ),
    "unpaid_dues": Variable("int", "dues not fully paid (payments cover the oldest first)", 0, COUNT_MAX, "count"),
    "oldest_unpaid_due_days": Variable(
        "int", "days since the oldest unpaid due date, in the debtor's local calendar", -DAYS_MAX, DAYS_MAX, "days"
    ),
    "country": Variable("string", "ISO 3166 alpha-2 country of the debtor"),
    "tags": Variable("list(string)", "list of strings from the account"),
    "risk_score": Variable("double", "number from the account (0 = safest)", -RISK_MAX, RISK_MAX, "score"),
    "payments": Variable("int", "payments recorded, history included", 0, COUNT_MAX, "count"),
    "promises_kept": Variable("int", "promises kept, history included", 0, COUNT_MAX, "count"),
    "promises_broken": Variable("int", "promises broken, history included", 0, COUNT_MAX, "count"),
    "contacts": Variable("int", "contacts sent or attempted in this campaign", 0, COUNT_MAX, "count"),
    "right_party_contacts": Variable("int", "right-party conversations in this campaign", 0, COUNT_MAX, "count"),
    "opened": Variable("int", "messages opened", 0, COUNT_MAX, "count"),
    "clicked": Variable("int", "message links clicked", 0, COUNT_MAX, "count"),
    "has_email": Variable("bool", "the account has a usable email address"),
    "has_phone": Variable("bool", "the account has a usable phone number"),
    "has_sms": Variable("bool", "SMS can reach the debtor: a number, no opt-out, no permanent failure"),
    "has_whatsapp": Variable("bool", "WhatsApp can reach the debtor (its number, else the phone's)"),
    "has_voice": Variable("bool", "calls can reach the debtor (agent tasks, automated calls)"),
    "has_letter": Variable("bool", "letters can reach the debtor: a postal address, no opt-out"),
    "opted_out": Variable("list(string)", "channels the debtor opted out of (email, sms, whatsapp, voice, letter)"),
    "segment": Variable("string", "segment the account was placed in"),
    "variant": Variable("string", "champion/challenger variant, empty when none"),
}


@lru_cache(maxsize=1024)
def compiled(expression: str) -> Any:
    """Parse once; programs are immutable and safe to share."""
    return cel.compile(expression)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=1024)
def _named(expression: str) -> frozenset[str]:
    """Every identifier written in `expression` (and a few words from its strings: harmless)."""
    return frozenset(_IDENTIFIER.findall(expression))


def days_past_due(due: date, now: datetime, tz: str) -> int:
    return (now.astimezone(ZoneInfo(tz)).date() - due).days


def account_days_past_due(state: AccountState, now: datetime, edition: int) -> int:
    """`days_past_due` of the account in `state` as a strategy of `edition` reads it."""
    return edition_days_past_due(state.account, state.paid_total, now, edition)


def past_due_since(account: AccountSnapshot, paid_total: int, edition: int) -> date:
    """The date a strategy of `edition` counts `days_past_due` from: the oldest unpaid due (second
    edition), else the account's first due date even after that due was paid (the first
    edition's reading, which running accounts keep). The read model stores it (activities/turns.py)
    so lists and pages count the days to the debtor's today (services/accounts_view.py)."""
    return dues.oldest_unpaid_due(account, paid_total) if edition >= 2 else account.due_date


def edition_days_past_due(account: AccountSnapshot, paid_total: int, now: datetime, edition: int) -> int:
    """`days_past_due` as a strategy of `edition` reads it: from `past_due_since` to the debtor's
    today. `context` computes the same inline."""
    return days_past_due(past_due_since(account, paid_total, edition), now, account.timezone)


def context(state: AccountState, now: datetime, edition: int = 1) -> dict[str, Any]:
    a = state.account
    c = state.counters
    usable = [ch for ch in ("email", "sms") if ch not in state.opted_out and ch not in state.invalid]
    today = now.astimezone(ZoneInfo(a.timezone)).date()
    oldest_days = (today - dues.oldest_unpaid_due(a, state.paid_total)).days
    gone = (*state.opted_out, *state.invalid)  # channels that can no longer carry a contact
    return {
        "balance": state.balance,
        "original_amount": a.original_amount,
        "paid_total": state.paid_total,
        "interest_total": state.interest_total,
        "fees_total": state.fees_total,
        "currency": a.currency,
        "days_past_due": (today - a.due_date).days if edition < 2 else oldest_days,
        "unpaid_dues": dues.unpaid_dues(a, state.paid_total, state.balance),
        "oldest_unpaid_due_days": oldest_days,
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
        # The addresses AccountSnapshot.address gives, read inline: this runs at every condition.
        "has_sms": bool(a.phone) and "sms" not in gone,
        "has_whatsapp": bool(a.whatsapp or a.phone) and "whatsapp" not in gone,
        "has_voice": bool(a.phone) and "voice" not in gone,
        "has_letter": bool(a.postal_address) and "letter" not in gone,
        "opted_out": [str(ch) for ch in state.opted_out],
        "segment": state.segment,
        "variant": state.variant or "",
    }


def evaluate(expression: str, ctx: dict[str, Any]) -> bool:
    """The condition's value on `ctx`. The compiler's static checks make failure unreachable for
    published strategies; should one fail anyway, the caller gets an InterpreterError naming it
    (the workflow then holds the account for a supervisor) instead of CEL's own exception."""
    try:
        # Only the variables the expression names: CEL converts every value it is handed, which
        # cost 40 of the 41 microseconds of a one-variable condition on the whole context. A
        # variable is always written as its name, so this is never fewer than the expression reads.
        names = _named(expression)
        result = compiled(expression).execute({k: v for k, v in ctx.items() if k in names})
    except Exception as exc:  # CEL raises TypeError, OverflowError, ZeroDivisionError, IndexError...
        raise InterpreterError(f"condition {expression!r} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, bool):
        raise InterpreterError(f"condition {expression!r} gave {result!r}, not true or false")
    return result
