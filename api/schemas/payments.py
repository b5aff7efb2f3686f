"""Request and response bodies of the payments endpoints: recording a provider's payment and
listing an account's ledger.

The request is strict (`"100"` is not 100, `100.0` is not an integer amount) and refuses unknown
fields; `received_at` is read from its ISO 8601 string and must carry a UTC offset. Money is an
integer of minor units plus an ISO 4217 code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from api.pagination import Page

# PostgreSQL refuses NUL characters in text; refused here with a clear message instead.
_NO_NUL = r"^[^\x00]*$"
DB_INT_MAX = 2**31 - 1  # account ids are 32-bit integers in PostgreSQL

AccountId = Annotated[int, Field(ge=1, le=DB_INT_MAX, description="The account's id in this API.")]
Provider = Annotated[
    str,
    Field(
        min_length=1,
        max_length=24,
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="Who processed the payment (lowercase), e.g. `khipu`, `stripe`, `bank-transfer`.",
        examples=["khipu"],
    ),
]
ProviderPaymentId = Annotated[
    str,
    Field(min_length=1, max_length=255, pattern=_NO_NUL, description="The provider's own id for the payment."),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. CLP", examples=["CLP"])]
MinorUnits = Annotated[int, Field(gt=0, le=10**15, description="Amount in minor units of the currency.")]


def _plausible(moment: datetime) -> datetime:
    # Far-off years cannot be a real payment, and year 1 or 9999 would overflow on conversion to UTC.
    if not 1970 <= moment.year <= 2999:
        raise ValueError("must be between the years 1970 and 2999")
    return moment


Moment = Annotated[
    AwareDatetime, Field(strict=False, description="ISO 8601 with a UTC offset."), AfterValidator(_plausible)
]


class PaymentIn(BaseModel):
    """A payment the provider reports; recording the same provider payment id again is harmless."""

    model_config = ConfigDict(extra="forbid", strict=True)

    account_id: AccountId
    provider: Provider
    provider_payment_id: ProviderPaymentId
    amount: MinorUnits
    currency: Currency = Field(description="Must be the account's currency.")
    received_at: Moment | None = Field(default=None, description="When the money arrived; default: now.")


class PaymentOut(BaseModel):
    """One payment in the ledger. `allocated_to` names what it went towards: `promise:<key>`,
    `installment:<plan key>#<n>[,<m>...]`, or `balance`. Whether that promise was kept is the
    account workflow's decision, shown on the promise itself."""

    id: int
    account_id: int
    provider: str
    provider_payment_id: str
    ledger_id: str = Field(description="The id the account's workflow counts the payment by.")
    amount: int
    currency: str
    received_at: datetime
    allocated_to: str | None


class PaymentRecorded(PaymentOut):
    """The recorded payment, whether this request created it, and whether the account's
    workflow has it: not when Temporal was unavailable (the worker's reconciler delivers it
    later, nothing to retry), when the account is not launched yet (delivered once it is), or
    when the workflow has finished (a closed account)."""

    created: bool = Field(description="False: the provider's payment was already recorded; nothing changed.")
    signalled: bool = Field(description="Whether the account's workflow received the payment (same as `delivered`).")
    delivered: bool = Field(
        default=False,
        description="Whether the account's workflow has the payment; false: recorded, delivered later if it can be.",
    )


class PaymentPage(Page[PaymentOut]):
    """A page of payments."""
