"""Small shared vocabulary: channels, weekdays, lifecycle stages, outcome codes, resolutions."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field


class Channel(StrEnum):
    """A way of reaching a debtor. `voice` covers both agent calls and automated calls."""

    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    VOICE = "voice"
    LETTER = "letter"


class Weekday(StrEnum):
    """Days as strategists write them; `number` matches `datetime.weekday()`."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        return _WEEKDAY_NUMBERS[self]


class Stage(StrEnum):
    """Lifecycle stage of an account; `hold` and `closed` are side and end states."""

    OUTREACH = "outreach"
    CONTACT = "contact"
    COMMITMENT = "commitment"
    PAYMENT = "payment"
    LEGAL = "legal"
    HOLD = "hold"
    CLOSED = "closed"


class Outcome(StrEnum):
    """What an agent records after working a task."""

    RIGHT_PARTY_CONTACT = "right_party_contact"
    NO_ANSWER = "no_answer"
    WRONG_PARTY = "wrong_party"
    PROMISE_TO_PAY = "promise_to_pay"
    PAYMENT_PLAN = "payment_plan"
    DISPUTE = "dispute"
    REFUSAL = "refusal"
    HARDSHIP = "hardship"
    CALLBACK_REQUESTED = "callback_requested"


# Built-in outcomes that were no conversation with the debtor: every other built-in one was a
# right-party contact. A strategy's own codes say it themselves (`CustomOutcome.right_party_contact`).
NOT_A_CONVERSATION = frozenset({Outcome.NO_ANSWER, Outcome.WRONG_PARTY})
CUSTOM_OUTCOME_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_OUTCOME_CHARS = 64

# An outcome code: a built-in `Outcome`, or a code the strategy declares (`outcomes:`), such as
# `deceased`. Built-in codes are tried first, so JSON written before custom codes existed reads back
# as the same enum members; a custom code stays a plain string.
OutcomeCode = Annotated[
    Outcome | Annotated[str, Field(pattern=CUSTOM_OUTCOME_PATTERN, max_length=MAX_OUTCOME_CHARS)],
    Field(union_mode="left_to_right"),
]


class Resolution(StrEnum):
    """Why an account was closed."""

    PAID = "paid"
    SETTLED = "settled"
    WRITTEN_OFF = "written_off"
    OPTED_OUT = "opted_out"
    LEGAL = "legal"
    CLOSED_BY_SUPERVISOR = "closed_by_supervisor"


_WEEKDAY_NUMBERS = {day: number for number, day in enumerate(Weekday)}
