"""A call's weight in the contact policy (activities/messaging.contact_history): a conversation
when its outcome row says so (a strategy's own codes declare it), else as its built-in code says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from activities.messaging import contact_history
from db.models import Account, Campaign, Communication, Debtor, OutcomeRecord

AT = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def call(
    session: Session, account: Account, turn: int, code: str, spoke: bool | None, *, with_row: bool = True
) -> None:
    wf = account.workflow_id
    session.add(
        Communication(
            key=f"{wf}:call:{turn}",
            account_id=account.id,
            workflow_id=wf,
            step="llamada",
            channel="voice",
            template=code,
            status="sent",
            provider="agent",
            planned_at=AT + timedelta(hours=turn),
            sent_at=AT + timedelta(hours=turn),
        )
    )
    if with_row:
        session.add(
            OutcomeRecord(
                key=f"{wf}:outcome:{turn}",
                account_id=account.id,
                code=code,
                right_party_contact=spoke,
                recorded_at=AT + timedelta(hours=turn),
            )
        )


def test_a_call_counts_as_a_conversation_as_its_outcome_was_recorded(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add(Campaign(id="c", name="c", strategy_hash="h" * 64, creditor_name="Acme"))
        debtor = Debtor(external_id="d", name="Ana", country="CL", timezone="America/Santiago", locale="es-CL")
        session.add(debtor)
        session.flush()
        account = Account(
            campaign_id="c",
            external_id="A-1",
            debtor_id=debtor.id,
            workflow_id="debtor:c:A-1",
            currency="CLP",
            balance=100_000,
            original_amount=100_000,
            due_date=date(2026, 10, 1),
            snapshot_json={},
        )
        session.add(account)
        session.flush()
        call(session, account, 1, "deceased", False)  # a strategy's own code: no conversation
        call(session, account, 2, "third_party_paying", True)  # a strategy's own code: a conversation
        call(session, account, 3, "refusal", None)  # recorded before custom codes: by its code
        call(session, account, 4, "no_answer", None, with_row=False)  # no outcome row: by its code
        call(session, account, 5, "refusal", None, with_row=False)
        session.commit()
        history = sorted(contact_history(session, debtor.id, AT - timedelta(days=1)), key=lambda c: c.at)
    assert [c.conversation for c in history] == [False, True, True, False, True]
