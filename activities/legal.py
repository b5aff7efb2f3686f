"""Legal referral: a case file for the collection lawyers with the account, its balance, its
promises and the full communications log, created once per key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.lookups import account_by_workflow, id_by_key
from db.models import Communication, LegalReferral, Promise
from db.session import session_scope
from workflows.contracts import LegalInput


class LegalActivities:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="refer_to_legal", no_thread_cancel_exception=True)
    def refer_to_legal(self, input: LegalInput) -> int:
        with session_scope(self._sessions) as session:
            found = id_by_key(session, LegalReferral, input.key)
            if found is not None:
                return found
            account = account_by_workflow(session, input.workflow_id)
            state = input.state
            log = session.scalars(
                select(Communication)
                .where(Communication.account_id == account.id)
                .order_by(Communication.planned_at, Communication.id)
            ).all()
            promises = session.scalars(select(Promise).where(Promise.account_id == account.id)).all()
            case: dict[str, Any] = {
                "account": state.account.model_dump(mode="json"),
                "balance": state.balance,
                "paid_total": state.paid_total,
                "fees_total": state.fees_total,
                "currency": state.account.currency,
                "counters": state.counters.model_dump(mode="json"),
                "promises": [
                    {
                        "amount": p.amount,
                        "due": p.due_date.isoformat(),
                        "status": p.status,
                        "made_at": p.made_at.isoformat(),
                    }
                    for p in promises
                ],
                "communications": [
                    {
                        "at": c.planned_at.isoformat(),
                        "channel": c.channel,
                        "template": c.template,
                        "status": c.status,
                        "provider_id": c.provider_id,
                        "blocked_rule": c.blocked_rule,
                    }
                    for c in log
                ],
            }
            row = LegalReferral(
                key=input.key,
                account_id=account.id,
                balance=state.balance,
                currency=state.account.currency,
                case_json=case,
                created_at=input.at,
            )
            session.add(row)
            session.flush()
            return row.id
