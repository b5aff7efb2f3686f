"""An account's dues and what has been paid of each: the oldest unpaid due, the count of unpaid
dues, the statement's lines.

Payments cover the oldest dues first. What the account had already paid when it entered the
campaign is what its dues add up to beyond its balance then; `paid_total` is what was paid
since. An account imported without dues has one: its due date, for its original amount (or its
balance, if larger).
"""

from __future__ import annotations

from datetime import date

from domain.account import AccountSnapshot
from domain.frozen import Frozen


class DueLine(Frozen):
    """One due as a statement shows it: `number` counts from 1 in due-date order."""

    number: int
    due_date: date
    amount: int
    paid_amount: int

    @property
    def paid(self) -> bool:
        return self.paid_amount >= self.amount


def due_lines(account: AccountSnapshot, paid_total: int) -> tuple[DueLine, ...]:
    """The account's dues, oldest first, each with what payments covered of it."""
    dues = sorted(account.dues, key=lambda d: d.due_date)
    if not dues:
        amount = max(account.original_amount, account.balance)
        covered = max(0, amount - account.balance) + paid_total
        return (DueLine(number=1, due_date=account.due_date, amount=amount, paid_amount=min(amount, covered)),)
    paid = max(0, sum(d.amount for d in dues) - account.balance) + paid_total
    lines = []
    for number, due in enumerate(dues, start=1):
        covered = min(due.amount, paid)
        paid -= covered
        lines.append(DueLine(number=number, due_date=due.due_date, amount=due.amount, paid_amount=covered))
    return tuple(lines)


def oldest_unpaid_due(account: AccountSnapshot, paid_total: int) -> date:
    """The first due date not yet covered by what was paid; the last one when all are."""
    if not account.dues:  # the common case, on every condition's path
        return account.due_date
    dues = sorted(account.dues, key=lambda d: d.due_date)
    paid = max(0, sum(d.amount for d in dues) - account.balance) + paid_total
    for due in dues:
        if paid < due.amount:
            return due.due_date
        paid -= due.amount
    return dues[-1].due_date


def unpaid_dues(account: AccountSnapshot, paid_total: int, balance: int) -> int:
    """How many dues are not fully paid; an account still owing only fees counts none."""
    if balance <= 0:
        return 0
    if not account.dues:  # the common case, on the interpreter's path: no models built
        amount = max(account.original_amount, account.balance)
        return int(max(0, amount - account.balance) + paid_total < amount)
    return sum(1 for line in due_lines(account, paid_total) if not line.paid)
