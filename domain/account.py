"""The account snapshot a campaign starts from: who owes what, since when, and how to reach them.

Money is in integer minor units of `currency` (CLP has none, so 150000 is $150.000; USD has two,
so 150000 is $1,500.00).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from domain.frozen import Frozen
from domain.types import Channel


class Due(Frozen):
    """One amount that fell or falls due (an invoice or an installment of the original loan)."""

    due_date: date
    amount: int = Field(gt=0)


class AccountSnapshot(Frozen):
    """Everything the strategy may look at when the account enters a campaign."""

    account_id: str = Field(min_length=1)
    debtor_name: str = ""
    country: str = Field(min_length=2, max_length=2)
    timezone: str
    locale: str | None = None
    currency: str = Field(min_length=3, max_length=3)
    balance: int = Field(ge=0)
    original_amount: int = Field(ge=0)
    due_date: date
    dues: tuple[Due, ...] = ()
    tags: tuple[str, ...] = ()
    risk_score: float = 0.0
    payments_count: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    email: str | None = None
    phone: str | None = None
    whatsapp: str | None = None
    postal_address: str | None = None
    opted_out: tuple[Channel, ...] = ()

    @property
    def first_name(self) -> str:
        return self.debtor_name.split(" ")[0] if self.debtor_name else ""

    def address(self, channel: Channel) -> str | None:
        """The address or number used on `channel`; WhatsApp falls back to the phone number."""
        # A chain, not a dict of every channel: the interpreter asks at every contact.
        if channel == Channel.EMAIL:
            found = self.email
        elif channel in (Channel.SMS, Channel.VOICE):
            found = self.phone
        elif channel == Channel.WHATSAPP:
            found = self.whatsapp or self.phone
        elif channel == Channel.LETTER:
            found = self.postal_address
        else:
            raise KeyError(channel)
        return found or None

    def has_contact_point(self, channel: Channel) -> bool:
        """Whether the account holds an address or number for `channel` at all."""
        return self.address(channel) is not None
