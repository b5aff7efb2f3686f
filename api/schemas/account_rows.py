"""One row of an account import in its JSON form: the CSV's columns (api/account_import.py reads
their names from here), each with the JSON type a client should send, so that a client generated
from the OpenAPI description can build and check its rows.

The rows are read exactly as CSV rows are, by the same code, and each problem (a wrong type
included) is reported in its row, as a CSV row's would be: one bad row never sinks the import.
The reader also takes the CSV's text forms (`"yes"` for a flag, `"a;b"` for tags, a number as
text or text as a number), so a file converted from CSV goes in unchanged.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, StrictInt

# Money in MAJOR units: decimal text is exact in every client; a whole JSON number is exact too.
# (Fractional JSON numbers are read exactly here, but many clients hold them as binary floats.)
Amount = str | StrictInt
AMOUNT_HELP = 'In major units: decimal text such as "1500.00" (USD) or "150000" (CLP), or a whole number.'


class AccountRow(BaseModel):
    """An account to import (keys are case-insensitive; unknown keys are reported and ignored)."""

    model_config = ConfigDict(extra="allow")

    account_id: str = Field(
        description="The creditor's id for the account (at most 100 characters); importing it again updates it."
    )
    country: str = Field(description="ISO 3166 alpha-2, e.g. CL.")
    currency: str = Field(description="ISO 4217; the campaign strategy's currency.")
    balance: Amount = Field(description=AMOUNT_HELP + " Greater than zero.")
    due_date: date = Field(description="No more than 50 years before and 10 years after the day of the import.")
    debtor_id: str | None = Field(default=None, description="The creditor's id for the person (default: account_id).")
    debtor_name: str | None = None
    original_amount: Amount | None = Field(default=None, description=AMOUNT_HELP + " Default: the balance.")
    email: str | None = None
    phone: str | None = Field(default=None, description="Read with the country as region; stored as E.164.")
    whatsapp: str | None = Field(default=None, description="Read with the country as region; stored as E.164.")
    postal_address: str | None = None
    consent: bool | None = Field(
        default=None,
        description="Consent to every electronic channel the row gives (email, SMS, WhatsApp): required when it "
        "gives an email or phone and no per-channel answer. False keeps the address but never uses it.",
    )
    email_consent: bool | None = Field(default=None, description="Overrides `consent` for email.")
    sms_consent: bool | None = Field(default=None, description="Overrides `consent` for SMS.")
    whatsapp_consent: bool | None = Field(default=None, description="Overrides `consent` for WhatsApp.")
    timezone: str | None = Field(
        default=None,
        description="IANA zone; else from the region, else from the phone, else the country's only zone.",
    )
    region: str | None = Field(default=None, description="A state or region of the US, Chile or Mexico.")
    locale: str | None = Field(default=None, description="e.g. es-CL; default: the strategy's.")
    tags: list[str] | None = None
    risk_score: float | None = Field(default=None, description="A model's score (not money), at most 1,000,000.")
    payments_count: int | None = Field(default=None, description="Zero or more.")
    promises_kept: int | None = Field(default=None, description="Zero or more.")
    promises_broken: int | None = Field(default=None, description="Zero or more.")


REQUIRED_COLUMNS = tuple(name for name, spec in AccountRow.model_fields.items() if spec.is_required())
OPTIONAL_COLUMNS = tuple(name for name, spec in AccountRow.model_fields.items() if not spec.is_required())
