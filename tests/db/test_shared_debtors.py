"""A debtor with accounts in several campaigns belongs to none of them alone: an import may add an
account for them, but changing any fact of theirs (name, country, time zone, locale, addresses,
consent) from one campaign is refused when another campaign holds one of their accounts. And no
import ever clears an opt-out the debtor gave (webhooks record it in `opted_out_at`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from activities.messaging import opted_out_channels
from api.account_import import ImportedAccount, parse_row
from db.models import Account, Campaign, Debtor
from db.repositories.campaigns import CONTACT_COLUMNS, Refused, WriteOutcome, debtor_facts, write_accounts
from db.repositories.webhooks import set_opted_out
from db.session import session_scope
from domain.types import Channel

TODAY = date(2026, 11, 30)
OPTED_OUT_AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DEBTOR = "CL-00005"

BASE = {
    "debtor_id": DEBTOR,
    "debtor_name": "Ana Pérez",
    "country": "CL",
    "currency": "CLP",
    "balance": "150000",
    "due_date": "2026-10-01",
    "timezone": "America/Santiago",
    "locale": "es-CL",
    "email": "ana@example.com",
    "phone": "+56987654321",
    "whatsapp": "+56987654321",
    "postal_address": "Av. Providencia 1234, Santiago",
    "consent": "yes",
}

# One change of the row per debtor fact the import writes (the keys of `debtor_facts`) and per
# contact channel (new address, changed consent): the test below fails when a fact is added
# to the import without a case here.
FACT_CHANGES: dict[str, dict[str, str]] = {
    "name": {"debtor_name": "Mallory"},
    "country": {"country": "PE"},
    "timezone": {"timezone": "Pacific/Easter"},
    "locale": {"locale": "en"},
}
ADDRESS_CHANGES: dict[Channel, dict[str, str]] = {
    Channel.EMAIL: {"email": "mallory@evil.example"},
    Channel.SMS: {"phone": "+56987654322"},
    Channel.WHATSAPP: {"whatsapp": "+56987654323"},
    Channel.VOICE: {"phone": "+56987654324"},
    Channel.LETTER: {"postal_address": "Casilla 99, Valparaíso"},
}
CONSENT_CHANGES: dict[Channel, dict[str, str]] = {
    Channel.EMAIL: {"email_consent": "no"},
    Channel.SMS: {"sms_consent": "no"},
    Channel.WHATSAPP: {"whatsapp_consent": "no"},
}
CASES = (
    [(f"fact:{name}", change) for name, change in FACT_CHANGES.items()]
    + [(f"address:{channel}", change) for channel, change in ADDRESS_CHANGES.items()]
    + [(f"consent:{channel}", change) for channel, change in CONSENT_CHANGES.items()]
)


def record(account_id: str, **changes: str | None) -> Any:
    row = {k: v for k, v in {**BASE, "account_id": account_id, **changes}.items() if v is not None}
    parsed = parse_row(1, row, today=TODAY)
    assert isinstance(parsed, ImportedAccount), parsed
    return parsed.record


def write(sessions: sessionmaker[Session], campaign_id: str, *records: Any) -> list[WriteOutcome | Refused]:
    with session_scope(sessions) as session:
        return write_accounts(session, campaign_id, list(records))


def debtor_state(sessions: sessionmaker[Session]) -> tuple[dict[str, str], list[tuple[Any, ...]]]:
    """The debtor's facts and contact points, everything an import could change."""
    with session_scope(sessions) as session:
        debtor = session.scalars(select(Debtor).where(Debtor.external_id == DEBTOR)).one()
        facts = {name: getattr(debtor, name) for name in debtor_facts(record("X").snapshot)}
        points = sorted(
            (p.channel, p.address, p.valid, p.consent, p.consent_source, p.opted_out_at) for p in debtor.contact_points
        )
        return facts, points


def accounts_in(sessions: sessionmaker[Session], campaign_id: str) -> list[str]:
    with session_scope(sessions) as session:
        return sorted(session.scalars(select(Account.external_id).where(Account.campaign_id == campaign_id)))


@pytest.fixture
def loop_debtor(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Campaigns `loop` and `edge`; debtor CL-00005 has one account, in `loop`."""
    with session_scope(sessions) as session:
        for name in ("loop", "edge"):
            session.add(Campaign(id=name, name=name, strategy_hash="0" * 64, creditor_name="Acme"))
        session.flush()
        assert write_accounts(session, "loop", [record("L1")]) == ["accepted"]
    return sessions


def test_the_cases_cover_every_fact_and_channel_the_import_writes() -> None:
    assert set(FACT_CHANGES) == set(debtor_facts(record("X").snapshot))
    assert set(ADDRESS_CHANGES) == set(CONTACT_COLUMNS) == set(Channel)
    consented = {c.channel for c in record("X").contacts if c.consent_source == "import"}
    assert set(CONSENT_CHANGES) == consented


def test_the_reported_attack_is_refused_and_changes_nothing(loop_debtor: sessionmaker[Session]) -> None:
    before = debtor_state(loop_debtor)
    attack = record("E1", debtor_name="Mallory", email="mallory@evil.example", consent="yes")
    [outcome] = write(loop_debtor, "edge", attack)
    assert isinstance(outcome, Refused)
    assert outcome.debtor_external_id == DEBTOR
    assert [column for column, _ in outcome.problems] == ["debtor_name", "email"]
    for _, detail in outcome.problems:
        assert DEBTOR in detail
        assert "another campaign" in detail
        assert "loop" not in detail
        assert "Ana" not in detail
        assert "ana@example.com" not in detail
    assert debtor_state(loop_debtor) == before
    assert accounts_in(loop_debtor, "edge") == []


@pytest.mark.parametrize(("case", "change"), CASES, ids=[case for case, _ in CASES])
def test_a_change_from_another_campaign_is_refused_and_from_its_own_accepted(
    loop_debtor: sessionmaker[Session], case: str, change: dict[str, str]
) -> None:
    before = debtor_state(loop_debtor)
    [refused] = write(loop_debtor, "edge", record("E1", **change))
    assert isinstance(refused, Refused), case
    assert refused.problems, case
    assert debtor_state(loop_debtor) == before, case
    assert accounts_in(loop_debtor, "edge") == []

    assert write(loop_debtor, "loop", record("L2", **change)) == ["accepted"], case
    assert debtor_state(loop_debtor) != before, case


def test_repeating_a_shared_debtors_facts_adds_the_account(loop_debtor: sessionmaker[Session]) -> None:
    before = debtor_state(loop_debtor)
    # Fewer addresses than stored is no change either: an import never removes one.
    assert write(loop_debtor, "edge", record("E1"), record("E2", email=None, whatsapp=None)) == [
        "accepted",
        "accepted",
    ]
    assert debtor_state(loop_debtor) == before
    assert accounts_in(loop_debtor, "edge") == ["E1", "E2"]
    # Now the debtor is shared both ways: `loop` may no longer change them either.
    [refused] = write(loop_debtor, "loop", record("L1", debtor_name="Ana María Pérez"))
    assert isinstance(refused, Refused)
    assert debtor_state(loop_debtor) == before


def test_a_refused_row_leaves_the_rest_of_the_file_written(loop_debtor: sessionmaker[Session]) -> None:
    outcomes = write(loop_debtor, "edge", record("E1", debtor_name="Mallory"), record("E2", debtor_id="NEW-1"))
    assert isinstance(outcomes[0], Refused)
    assert outcomes[1] == "accepted"
    assert accounts_in(loop_debtor, "edge") == ["E2"]


@pytest.mark.parametrize("campaign_id", ["loop", "edge"])
def test_no_import_clears_an_opt_out(loop_debtor: sessionmaker[Session], campaign_id: str) -> None:
    with session_scope(loop_debtor) as session:
        debtor_id = session.scalars(select(Debtor.id).where(Debtor.external_id == DEBTOR)).one()
        for channel in ("email", "sms", "whatsapp"):
            assert set_opted_out(session, [debtor_id], channel, None, OPTED_OUT_AT) == 1
    # The creditor's file says yes again, and again, and gives new addresses on those channels.
    rows = [
        record("L1"),
        record("L1", consent="no"),
        record("L1", consent="yes"),
        record("L3", email="ana.perez@example.com", phone="+56987654325", whatsapp="+56987654325"),
    ]
    for row in rows:
        write(loop_debtor, campaign_id, row)
    _, points = debtor_state(loop_debtor)
    opted = {(channel, address): at for channel, address, *_, at in points}
    for channel in ("email", "sms", "whatsapp"):
        original = BASE["email"] if channel == "email" else BASE["phone"]
        assert opted[(channel, original)] == OPTED_OUT_AT, channel
    with session_scope(loop_debtor) as session:
        assert opted_out_channels(session, debtor_id) >= {Channel.EMAIL, Channel.SMS, Channel.WHATSAPP}
