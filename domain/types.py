"""Small shared vocabulary: channels, weekdays, lifecycle stages, outcome codes, resolutions."""

from __future__ import annotations

from enum import StrEnum


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


class Resolution(StrEnum):
    """Why an account was closed."""

    PAID = "paid"
    SETTLED = "settled"
    WRITTEN_OFF = "written_off"
    OPTED_OUT = "opted_out"
    LEGAL = "legal"
    CLOSED_BY_SUPERVISOR = "closed_by_supervisor"


_WEEKDAY_NUMBERS = {day: number for number, day in enumerate(Weekday)}
