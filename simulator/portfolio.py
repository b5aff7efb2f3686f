"""The synthetic portfolio a what-if analysis runs: how balances and days past due are spread, which
share of accounts can be reached on each channel, how debtors answer each channel, and how they
and the agents behave (`Behaviour`).

Written as YAML by a strategist (`collect strategy simulate --portfolio FILE`, or the simulate
endpoint's `portfolio`):

    balance: {min: "100.00", max: "10,000.00", spread: log-uniform}  # major units, strategy's currency
    days_past_due: {min: 1, max: 60}
    channels: {email: 0.9, sms: 0.95, whatsapp: 0.0, letter: 1.0}   # share of accounts reachable
    responses: {email: 0.03, sms: 0.03, whatsapp: 0.05}              # a message makes them pay
    behaviour: {answer: 0.3, promise: 0.4, keep: 0.65, self_cure: 0.05,
                outcomes: {deceased: 0.01}}  # the strategy's own outcome codes, as promise

Every part is optional; what is left out takes the defaults below. Each account draws from its own
random streams keyed by (seed, account index), so two strategies run on the same seed see the same
accounts and, as far as their contacts allow, the same debtor answers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from domain.account import AccountSnapshot
from domain.strategy import AgentTaskAction, CompiledStrategy
from domain.types import CUSTOM_OUTCOME_PATTERN, MAX_OUTCOME_CHARS, Channel, Outcome
from strategies import amounts


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _chance(default: float, meaning: str) -> float:
    return Field(default=default, ge=0.0, le=1.0, description=meaning)


OutcomeKey = Annotated[str, StringConstraints(pattern=CUSTOM_OUTCOME_PATTERN, max_length=MAX_OUTCOME_CHARS)]
Chance = Annotated[float, Field(ge=0.0, le=1.0)]
_BUILT_IN = frozenset(o.value for o in Outcome)
# More codes than any strategy declares; a bound so that a request cannot carry thousands.
MAX_CUSTOM_OUTCOMES = 50


class Behaviour(_Doc):
    """How synthetic debtors and agents behave. Probabilities are per event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: float = _chance(0.3, "a call reaches the right party")
    wrong_party: float = _chance(0.05, "a call reaches someone else")
    promise: float = _chance(0.4, "a right-party contact ends in a promise (when the task allows it)")
    plan: float = _chance(0.1, "... or in a payment plan")
    dispute: float = _chance(0.03, "... or in a dispute")
    keep: float = _chance(0.65, "a promise or installment is paid on time")
    pay_after_message: float = _chance(0.03, "a message makes the debtor pay in full within days")
    opt_out_sms: float = _chance(0.01, "an SMS makes the debtor opt out of SMS")
    approve: float = _chance(0.9, "supervisors approve a requested step")
    # Debtors who pay in full during the run with no contact at all (forgot, paid on payday): the
    # self-cure baseline is made of these alone, and they pay on the same day under any strategy.
    self_cure: float = _chance(0.05, "the debtor pays in full during the run without being contacted")
    # The strategy's own outcome codes (`outcomes:` of the strategy, e.g. deceased): the chance an
    # answered call ends in each, beside promise, plan and dispute, where the open task allows it.
    # None given: the debtor draws exactly as before custom codes could be drawn.
    outcomes: dict[OutcomeKey, Chance] = Field(
        default_factory=dict,
        max_length=MAX_CUSTOM_OUTCOMES,
        description="a right-party contact ends in this outcome code of the strategy's own (when the task allows it)",
    )

    @field_validator("outcomes")
    @classmethod
    def _own_codes(cls, outcomes: dict[str, float]) -> dict[str, float]:
        built_in = sorted(code for code in outcomes if code in _BUILT_IN)
        if built_in:
            raise ValueError(
                f"{', '.join(built_in)}: built-in outcome; its chance is set by answer, wrong_party, promise, plan "
                "and dispute (outcomes: takes the strategy's own codes)"
            )
        # In code order, whatever the file's: the same chances draw the same outcomes.
        return dict(sorted(outcomes.items()))

    @model_validator(mode="after")
    def _call_chances(self) -> Behaviour:
        if self.answer + self.wrong_party > 1:
            raise ValueError(f"answer + wrong_party is {self.answer + self.wrong_party:g}; at most 1")
        shared = self.promise + self.plan + self.dispute + sum(self.outcomes.values())
        if shared > 1:
            named = "promise + plan + dispute" + (" + outcomes" if self.outcomes else "")
            raise ValueError(f"{named} is {shared:g}; at most 1 (they share one right-party contact)")
        return self


class BalanceDoc(_Doc):
    # Major units as a strategist writes money ("10,000.00"), read exactly in the strategy's currency.
    min: str = Field(default="", max_length=40, description="smallest balance, e.g. '100.00'")
    max: str = Field(default="", max_length=40, description="largest balance, e.g. '10,000.00'")
    spread: Literal["log-uniform", "uniform"] = "log-uniform"


class DaysPastDue(_Doc):
    min: int = Field(default=1, ge=0, le=3650)
    max: int = Field(default=60, ge=0, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> DaysPastDue:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class Channels(_Doc):
    """The share of accounts holding a contact point for each channel (calls use the phone)."""

    email: float = _chance(0.9, "accounts with an email address")
    sms: float = _chance(0.95, "accounts with a phone number (SMS and calls)")
    whatsapp: float = _chance(0.0, "accounts with a WhatsApp number of their own (else WhatsApp uses the phone)")
    letter: float = _chance(1.0, "accounts with a postal address")


class Responses(_Doc):
    """The chance a message on each channel makes the debtor pay in full within days; a channel left
    out takes `behaviour.pay_after_message`."""

    email: float | None = Field(default=None, ge=0.0, le=1.0)
    sms: float | None = Field(default=None, ge=0.0, le=1.0)
    whatsapp: float | None = Field(default=None, ge=0.0, le=1.0)
    voice: float | None = Field(default=None, ge=0.0, le=1.0)
    letter: float | None = Field(default=None, ge=0.0, le=1.0)


class PortfolioDoc(_Doc):
    balance: BalanceDoc = Field(default_factory=BalanceDoc)
    days_past_due: DaysPastDue = Field(default_factory=DaysPastDue)
    channels: Channels = Field(default_factory=Channels)
    responses: Responses = Field(default_factory=Responses)
    behaviour: Behaviour = Field(default_factory=Behaviour)

    def response(self, channel: Channel) -> float:
        chance = getattr(self.responses, str(channel), None)
        return self.behaviour.pay_after_message if chance is None else float(chance)


class PortfolioError(ValueError):
    """The portfolio cannot be used with this strategy: `where` names the field."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def check_outcomes(doc: PortfolioDoc, strategies: Iterable[CompiledStrategy]) -> None:
    """PortfolioError when the portfolio gives a chance to an outcome code no agent task of
    `strategies` allows (a typo, or a code of another strategy): it would never be drawn."""
    allowed = {
        code
        for strategy in strategies
        for step in strategy.steps.values()
        for action in step.actions
        if isinstance(action, AgentTaskAction)
        for code in action.outcomes
    }
    for code in doc.behaviour.outcomes:
        if code not in allowed:
            own = sorted(c for c in allowed if c not in _BUILT_IN)
            raise PortfolioError(
                f"behaviour.outcomes.{code}",
                f"no agent task of the strategy allows outcome {code!r}; "
                f"its own codes on agent tasks: {', '.join(own) or 'none'}",
            )


def balance_bounds(doc: PortfolioDoc, strategy: CompiledStrategy) -> tuple[int, int]:
    """The balance range in minor units of the strategy's currency; PortfolioError when unreadable.
    Left out: 100 to 10,000 major units (of a thousand pesos where the currency has no minor unit)."""
    scale = 1000 if strategy.digits == 0 else 10 ** (strategy.digits or 0)
    bounds = []
    for name, fallback in (("min", 100 * scale), ("max", 10_000 * scale)):
        text = getattr(doc.balance, name)
        if not text:
            bounds.append(fallback)
            continue
        try:
            minor = amounts.to_minor_units(amounts.read(text), strategy.currency)
        except amounts.BadAmount as exc:
            raise PortfolioError(f"balance.{name}", str(exc)) from None
        if not 1 <= minor <= 10**13:
            raise PortfolioError(
                f"balance.{name}", f"{text!r} is out of range (more than 0, at most 10^13 minor units)"
            )
        bounds.append(minor)
    low, high = bounds
    if low > high:
        raise PortfolioError("balance", f"min ({doc.balance.min or low}) is above max ({doc.balance.max or high})")
    return low, high


PURPOSES = ("account", "cure", "calls", "messages")


def stream(seed: int, index: int, purpose: str) -> random.Random:
    """The random stream of one account for one purpose: the same (seed, index) gives the same
    draws whichever strategy runs, whichever worker runs it and in whatever order. (An integer
    key: seeding from a string hashes it with SHA-512, a tenth of a small account's run.)"""
    return random.Random(((seed * (1 << 40) + index) << 3) | PURPOSES.index(purpose))


def draw_account(
    doc: PortfolioDoc, strategy: CompiledStrategy, bounds: tuple[int, int], index: int, seed: int, start: datetime
) -> AccountSnapshot:
    """Account `index` of the synthetic portfolio, in the strategy's market."""
    rng = stream(seed, index, "account")
    low, high = bounds
    if doc.balance.spread == "uniform" or low == high:
        balance = rng.randint(low, high)
    else:
        balance = int(10 ** rng.uniform(math.log10(low), math.log10(high)))
        balance = min(max(balance, low), high)
    today = start.astimezone(ZoneInfo(strategy.timezone)).date()
    ch = doc.channels
    return AccountSnapshot(
        account_id=f"MC-{index}",
        debtor_name="Synthetic Debtor",
        country=strategy.locale.split("-")[-1].upper(),
        timezone=strategy.timezone,
        currency=strategy.currency,
        balance=balance,
        original_amount=balance,
        due_date=today - timedelta(days=rng.randint(doc.days_past_due.min, doc.days_past_due.max)),
        risk_score=round(rng.random(), 2),
        email="debtor@example.com" if rng.random() < ch.email else None,
        phone="+10000000000" if rng.random() < ch.sms else None,
        whatsapp="+10000000001" if rng.random() < ch.whatsapp else None,
        postal_address="1 Example Street" if rng.random() < ch.letter else None,
    )
