"""The terms an account takes: how far ahead a promise may fall and how much it may be, and the
plan a debtor may agree (installments, down payment, frequencies).

The interpreter computes these (domain/interpreter.terms_limits) from the strategy, the current
plan offer and the balance, and checks every promise and plan against the very same values; the
workflow shows them in its live state, so that a form can say what it will accept before an agent
types it, without a second copy of the rule. Dates count from the debtor's today, which the
caller supplies: a workflow's live state may be read days after its last turn."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import Field

from domain.frozen import Frozen
from domain.strategy import Frequency


def first_day_after(today: date) -> date:
    """Promises and a plan's first installment fall after the debtor's today, never on it."""
    return today + timedelta(days=1)


class PromiseLimits(Frozen):
    max_days_ahead: int = Field(description="A promise falls after the debtor's today and at most this many days on.")
    max_amount: int = Field(description="A promise is at most the balance (minor units).")

    def latest(self, today: date) -> date:
        """The furthest promise date the strategy accepts on the debtor's `today`."""
        return today + timedelta(days=self.max_days_ahead)


class PlanLimits(Frozen):
    max_installments: int
    min_down_payment: int = Field(
        description="Minor units: `min_down_payment_pct` percent of the balance, rounded half up."
    )
    min_down_payment_pct: str
    balance: int = Field(description="The down payment stays below it (all of it is a promise, not a plan).")
    frequencies: tuple[Frequency, ...]
    offered: bool = Field(description="The limits are those of the plan offered to the debtor, not the strategy's own.")


class TermsLimits(Frozen):
    """The promise and plan the account takes now, as the strategy checks them; a part is null
    where the strategy takes no promises or offers no plans, and both once the account is closed.
    A plan's first installment, like a promise, falls after the debtor's today."""

    promise: PromiseLimits | None = None
    plan: PlanLimits | None = None
