"""CEL conditions over an account: the variables a strategist may use (with their declared types
and bounds, which strategies/cel_check.py checks conditions against), and their evaluation.

Money variables are integers in the currency's minor units (see `domain.account`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


class _Facts:
    """What the variables of one account at one instant read, each derived at most once: a
    condition reads only the variables it names (`Conditions`), and the debtor's today and the
    oldest unpaid due are shared by several of them."""

    __slots__ = ("_oldest_days", "_today", "edition", "now", "state")

    def __init__(self, state: AccountState, now: datetime, edition: int) -> None:
        self.state, self.now, self.edition = state, now, edition
        self._today: date | None = None
        self._oldest_days: int | None = None

    @property
    def today(self) -> date:
        if self._today is None:
            self._today = self.now.astimezone(ZoneInfo(self.state.account.timezone)).date()
        return self._today

    @property
    def oldest_days(self) -> int:
        if self._oldest_days is None:
            s = self.state
            self._oldest_days = (self.today - dues.oldest_unpaid_due(s.account, s.paid_total)).days
        return self._oldest_days

    def usable(self, channel: str) -> bool:
        """Neither opted out of nor failed for good."""
        return channel not in self.state.opted_out and channel not in self.state.invalid


# How each variable of VARIABLES is read (the same names, checked below). The addresses
# AccountSnapshot.address gives are read inline.
_READERS: dict[str, Callable[[_Facts], Any]] = {
    "balance": lambda f: f.state.balance,
    "original_amount": lambda f: f.state.account.original_amount,
    "paid_total": lambda f: f.state.paid_total,
    "interest_total": lambda f: f.state.interest_total,
    "fees_total": lambda f: f.state.fees_total,
    "currency": lambda f: f.state.account.currency,
    "days_past_due": lambda f: (f.today - f.state.account.due_date).days if f.edition < 2 else f.oldest_days,
    "unpaid_dues": lambda f: dues.unpaid_dues(f.state.account, f.state.paid_total, f.state.balance),
    "oldest_unpaid_due_days": lambda f: f.oldest_days,
    "country": lambda f: f.state.account.country,
    "tags": lambda f: list(f.state.account.tags),
    "risk_score": lambda f: float(f.state.account.risk_score),
    "payments": lambda f: f.state.account.payments_count + f.state.counters.payments,
    "promises_kept": lambda f: f.state.account.promises_kept + f.state.counters.promises_kept,
    "promises_broken": lambda f: f.state.account.promises_broken + f.state.counters.promises_broken,
    "contacts": lambda f: f.state.counters.contacts,
    "right_party_contacts": lambda f: f.state.counters.right_party_contacts,
    "opened": lambda f: f.state.counters.opened,
    "clicked": lambda f: f.state.counters.clicked,
    "has_email": lambda f: bool(f.state.account.email) and f.usable("email"),
    "has_phone": lambda f: bool(f.state.account.phone) and f.usable("sms"),
    "has_sms": lambda f: bool(f.state.account.phone) and f.usable("sms"),
    "has_whatsapp": lambda f: bool(f.state.account.whatsapp or f.state.account.phone) and f.usable("whatsapp"),
    "has_voice": lambda f: bool(f.state.account.phone) and f.usable("voice"),
    "has_letter": lambda f: bool(f.state.account.postal_address) and f.usable("letter"),
    "opted_out": lambda f: [str(ch) for ch in f.state.opted_out],
    "segment": lambda f: f.state.segment,
    "variant": lambda f: f.state.variant or "",
}
assert _READERS.keys() == VARIABLES.keys(), "every variable is read, and only those"


def context(state: AccountState, now: datetime, edition: int = 1) -> dict[str, Any]:
    """Every variable of the account at `now`, as a strategy of `edition` reads them."""
    facts = _Facts(state, now, edition)
    return {name: read(facts) for name, read in _READERS.items()}


@lru_cache(maxsize=1024)
def _variables_of(expression: str) -> tuple[str, ...]:
    """The variables `expression` names (see `_named`)."""
    return tuple(name for name in _READERS if name in _named(expression))


class Conditions:
    """Conditions evaluated on one account at one instant, each reading only the variables it names
    (what `evaluate` on the whole `context` gives, without deriving the rest: a segment condition
    on `balance` runs for every account a what-if analysis places)."""

    def __init__(self, state: AccountState, now: datetime, edition: int) -> None:
        self._facts = _Facts(state, now, edition)
        self._read: dict[str, Any] = {}

    def holds(self, expression: str) -> bool:
        read = self._read
        for name in _variables_of(expression):
            if name not in read:
                read[name] = _READERS[name](self._facts)
        return evaluate(expression, read)


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
