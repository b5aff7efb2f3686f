"""The rule for giving back an overpayment (a refund or a credit), one place for every door: the
interpreter applies it to a running account's state, and services/refunds.py to the read model of
an account whose workflow has finished (nothing else will move that account's `overpaid`)."""

from __future__ import annotations


def refusal(due: int, amount: int, method: str = "refund") -> str | None:
    """Why a refund or credit of `amount` cannot be recorded when `due` is owed back; None if it can."""
    if amount <= 0:
        return f"a {method} must be of a positive amount, not {amount}"
    if due <= 0:
        return "nothing is owed back: the account has no overpayment to refund or credit"
    if amount > due:
        return f"the {method} of {amount} is more than the {due} owed back"
    return None
