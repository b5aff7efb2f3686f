"""Constraints and column types behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from db.models import Account, Campaign, Communication, Debtor, Payment
from db.session import make_engine, make_session_factory, session_scope

CLP_AMOUNT = 12_345_678_901  # beyond 32-bit integers and exact only as an integer


@pytest.fixture
def factory(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def account_id(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as session:
        session.add(Campaign(id="camp-1", name="Q1", strategy_hash="0" * 64, creditor_name="Acme"))
        debtor = Debtor(external_id="d-1", name="Ana", country="CL", timezone="America/Santiago", locale="es-CL")
        session.add(debtor)
        session.flush()
        account = Account(
            campaign_id="camp-1",
            external_id="a-1",
            debtor_id=debtor.id,
            workflow_id="debtor-1",
            currency="CLP",
            balance=CLP_AMOUNT,
            original_amount=CLP_AMOUNT,
            due_date=date(2025, 1, 31),
            snapshot_json={"balance": CLP_AMOUNT},
        )
        session.add(account)
        session.flush()
        return account.id


def communication(account_id: int, key: str, planned_at: datetime) -> Communication:
    return Communication(
        key=key,
        account_id=account_id,
        workflow_id="debtor-1",
        seq=1,
        step="reminder",
        channel="email",
        status="pending",
        planned_at=planned_at,
    )


def payment(account_id: int, provider_payment_id: str, amount: int = 1_000) -> Payment:
    return Payment(
        account_id=account_id,
        provider="khipu",
        provider_payment_id=provider_payment_id,
        amount=amount,
        currency="CLP",
        received_at=datetime(2025, 2, 1, tzinfo=UTC),
    )


class TestUniqueConstraints:
    def test_duplicate_communication_key_is_rejected(self, factory: sessionmaker[Session], account_id: int) -> None:
        now = datetime(2025, 2, 1, 12, tzinfo=UTC)
        with session_scope(factory) as session:
            session.add(communication(account_id, "debtor-1:1", now))

        with pytest.raises(IntegrityError), session_scope(factory) as session:
            session.add(communication(account_id, "debtor-1:1", now))

    def test_duplicate_provider_payment_is_rejected(self, factory: sessionmaker[Session], account_id: int) -> None:
        with session_scope(factory) as session:
            session.add(payment(account_id, "pay-1"))

        with pytest.raises(IntegrityError), session_scope(factory) as session:
            session.add(payment(account_id, "pay-1"))

    def test_failed_unit_of_work_leaves_nothing_behind(self, factory: sessionmaker[Session], account_id: int) -> None:
        def record_first_then_duplicate() -> None:
            with session_scope(factory) as session:
                session.add(payment(account_id, "pay-2"))
                session.flush()
                session.add(payment(account_id, "pay-2"))

        with pytest.raises(IntegrityError):
            record_first_then_duplicate()

        with session_scope(factory) as session:
            assert session.scalars(select(Payment.provider_payment_id)).all() == []


class TestUTCDateTime:
    def test_aware_datetime_round_trips_as_utc(self, factory: sessionmaker[Session], account_id: int) -> None:
        santiago_summer = timezone(timedelta(hours=-3))
        planned = datetime(2025, 2, 1, 9, 30, 15, 123456, tzinfo=santiago_summer)
        with session_scope(factory) as session:
            session.add(communication(account_id, "debtor-1:1", planned))

        with session_scope(factory) as session:
            loaded = session.scalars(select(Communication.planned_at)).one()

        assert loaded == planned
        assert loaded.utcoffset() == timedelta(0)
        assert loaded == datetime(2025, 2, 1, 12, 30, 15, 123456, tzinfo=UTC)

    def test_naive_datetime_is_refused(self, factory: sessionmaker[Session], account_id: int) -> None:
        naive = datetime(2025, 2, 1, 12)  # noqa: DTZ001 - the point of the test
        with pytest.raises(StatementError, match="naive datetime") as caught, session_scope(factory) as session:
            session.add(communication(account_id, "debtor-1:1", naive))
        assert isinstance(caught.value.orig, ValueError)


class TestMoney:
    def test_large_amounts_are_exact_integers(self, factory: sessionmaker[Session], account_id: int) -> None:
        with session_scope(factory) as session:
            session.add(payment(account_id, "pay-big", amount=CLP_AMOUNT))

        with session_scope(factory) as session:
            account = session.get_one(Account, account_id)
            amount = session.scalars(select(Payment.amount)).one()

        assert (account.balance, account.original_amount, amount) == (CLP_AMOUNT, CLP_AMOUNT, CLP_AMOUNT)
        assert all(type(value) is int for value in (account.balance, amount))
