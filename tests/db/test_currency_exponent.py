"""Every stored amount carries the exponent it was written with, so a later change of the product's
currency table (or of any library) never changes what an old row means."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import MetaData, Table, select
from sqlalchemy.orm import Session, sessionmaker

import db.models  # noqa: F401 - registers every table on the metadata
from api.account_import import parse_csv
from db.base import Base
from db.migrate import upgrade
from db.models import Account, Campaign, Debtor, Fee, Payment, Promise
from db.repositories.campaigns import write_accounts
from db.session import make_engine, make_session_factory, session_scope

# Projections rebuilt from the workflows, and KPI sums recounted from the ledger; they hold no
# amount of record.
DERIVED = {"account_states", "kpi_counters", "kpi_roll_snapshots"}

CSV = (
    "account_id,country,currency,balance,due_date,timezone\n"
    "A1,CO,COP,1500.00,2026-10-01,America/Bogota\n"
    "A2,CL,CLP,150000,2026-10-01,America/Santiago\n"
    "A3,KW,KWD,12.345,2026-10-01,Asia/Kuwait\n"
)


def test_every_table_with_a_currency_records_its_exponent() -> None:
    missing = [
        name
        for name, table in Base.metadata.tables.items()
        if "currency" in table.columns and name not in DERIVED and "currency_digits" not in table.columns
    ]
    assert missing == []
    for name, table in Base.metadata.tables.items():
        if "currency_digits" in table.columns:
            assert table.columns["currency_digits"].nullable is False, name


def test_imported_accounts_and_their_money_rows_are_stored_with_the_tables_exponent(
    sessions: sessionmaker[Session],
) -> None:
    parsed = parse_csv(CSV.encode(), today=date(2026, 11, 30))
    assert not parsed.problems
    with session_scope(sessions) as session:
        session.add(Campaign(id="c1", name="Q1", strategy_hash="0" * 64, creditor_name="Acme"))
        session.flush()
        write_accounts(session, "c1", [a.record for a in parsed.accounts])
    with session_scope(sessions) as session:
        accounts = {a.external_id: a for a in session.scalars(select(Account))}
        assert {k: (a.balance, a.currency_digits) for k, a in accounts.items()} == {
            "A1": (150000, 2),
            "A2": (150000, 0),
            "A3": (12345, 3),
        }
        at = datetime(2026, 11, 1, tzinfo=UTC)
        cop, kwd = accounts["A1"], accounts["A3"]
        # Rows written without naming the exponent get it from the table by their currency.
        session.add(
            Payment(account_id=kwd.id, provider="p", provider_payment_id="1", amount=5, currency="KWD", received_at=at)
        )
        session.add(Fee(key="f1", account_id=cop.id, amount=100, requested=100, currency="COP", step="s"))
        session.add(
            Promise(key="p1", account_id=cop.id, amount=100, currency="COP", due_date=date(2026, 12, 1), made_at=at)
        )
    with session_scope(sessions) as session:
        assert session.scalars(select(Payment.currency_digits)).one() == 3
        assert session.scalars(select(Fee.currency_digits)).one() == 2
        assert session.scalars(select(Promise.currency_digits)).one() == 2


def test_migration_backfills_existing_rows_from_iso_4217(database_url: str) -> None:
    upgrade(database_url, "0002")
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            # Rows go in through the tables as they stand at 0002, not the models, which later
            # migrations grow (campaigns.launch_error, ...).
            old = MetaData()
            campaigns = Table("campaigns", old, autoload_with=session.connection())
            session.execute(
                campaigns.insert().values(
                    id="c1", name="Q1", strategy_hash="0" * 64, creditor_name="Acme", status="draft",
                    created_at=datetime(2026, 11, 1, tzinfo=UTC), launch_status="not_started", launched=0,
                )
            )  # fmt: skip
            debtor = Debtor(external_id="d", name="Ana", country="CO", timezone="America/Bogota", locale="es-CO")
            session.add(debtor)
            session.flush()
            accounts = Table("accounts", old, autoload_with=session.connection())
            payments = Table("payments", old, autoload_with=session.connection())
            assert "currency_digits" not in accounts.columns
            now = datetime(2026, 11, 1, tzinfo=UTC)
            for n, code in enumerate(("COP", "CLP", "KWD", "CLF", "BGN"), start=1):
                session.execute(
                    accounts.insert().values(
                        id=n, campaign_id="c1", external_id=f"a{n}", debtor_id=debtor.id, workflow_id=f"w{n}",
                        currency=code, balance=150000, original_amount=150000, due_date=date(2026, 10, 1),
                        snapshot_json={}, created_at=now,
                    )
                )  # fmt: skip
                session.execute(
                    payments.insert().values(
                        account_id=n, provider="p", provider_payment_id=str(n), amount=1, currency=code, received_at=now
                    )
                )
    finally:
        engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            expected = {"COP": 2, "CLP": 0, "KWD": 3, "CLF": 4, "BGN": 2}
            assert {
                c: d for c, d in session.execute(select(Account.currency, Account.currency_digits)).all()
            } == expected
            assert {
                c: d for c, d in session.execute(select(Payment.currency, Payment.currency_digits)).all()
            } == expected
    finally:
        engine.dispose()
