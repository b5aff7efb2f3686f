"""Registering an account's rows before its workflow acts: campaign, debtor, contact points,
account. The API's import writes the same rows first in production; this makes a workflow
started any other way (tests, the CLI, a re-run) self-sufficient. Idempotent by workflow id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from db.models import Account, Campaign, ContactPoint, Debtor
from db.repositories import kpi_counters
from db.session import session_scope
from domain.types import Channel
from workflows.contracts import RegisterAccountInput


class AccountActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="register_account", no_thread_cancel_exception=True)
    def register_account(self, input: RegisterAccountInput) -> int:
        """Create the account's rows if missing; return the account's database id."""
        with session_scope(self._sessions) as session:
            found = session.scalar(select(Account).where(Account.workflow_id == input.workflow_id))
            if found is not None:
                return found.id
            snap = input.account
            if session.get(Campaign, input.campaign.id) is None:
                _insert_once(
                    session,
                    Campaign(
                        id=input.campaign.id,
                        name=input.campaign.id,
                        strategy_hash=input.strategy_hash,
                        creditor_name=input.campaign.creditor_name,
                        creditor_phone=input.campaign.creditor_phone,
                        creditor_email=input.campaign.creditor_email,
                        payment_link_base=input.campaign.payment_link_base,
                        status="running",
                    ),
                )
            debtor = session.scalar(select(Debtor).where(Debtor.external_id == snap.account_id))
            if debtor is None:
                _insert_once(
                    session,
                    Debtor(
                        external_id=snap.account_id,
                        name=snap.debtor_name,
                        country=snap.country,
                        timezone=snap.timezone,
                        locale=snap.locale or "",
                    ),
                )
                debtor = session.scalars(select(Debtor).where(Debtor.external_id == snap.account_id)).one()
            known = {(p.channel, p.address) for p in debtor.contact_points}
            for channel in Channel:
                address = snap.address(channel)
                if address is not None and (channel.value, address) not in known:
                    session.add(ContactPoint(debtor_id=debtor.id, channel=channel.value, address=address))
            row = Account(
                campaign_id=input.campaign.id,
                external_id=snap.account_id,
                debtor_id=debtor.id,
                workflow_id=input.workflow_id,
                currency=snap.currency,
                balance=snap.balance,
                original_amount=snap.original_amount,
                due_date=snap.due_date,
                snapshot_json=snap.model_dump(mode="json"),
            )
            session.add(row)
            session.flush()
            kpi_counters.placed(session, row)
            return row.id


def _insert_once(session: Session, row: object) -> None:
    """Insert `row` unless a concurrent registration (another account of the same campaign or
    debtor, started at the same moment) inserted it first: a savepoint keeps our transaction."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass  # the other transaction's row is the one we wanted
