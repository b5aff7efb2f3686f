"""One launched account on a real database, as the product writes it (the account import, a
published strategy version), and the turn records its workflow would send `record_turn`: for
tests of what supervisors and agents read about a live account (the read model, the timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Account, Campaign
from db.repositories import campaigns as campaigns_repo
from db.repositories import strategies as strategies_repo
from db.session import session_scope
from domain import actions as act
from domain.account import AccountSnapshot
from domain.state import AccountState, Counters
from domain.strategy import CompiledStrategy
from domain.types import Stage
from strategies.compiler import compile_text, content_hash
from workflows.contracts import TurnRecord, debtor_workflow_id


def one_email(strategy_id: str, stage: str = "contact", wait: str | None = "10d") -> str:
    """A strategy's YAML that sends one email (then waits `wait`, if given) and ends: an account
    with a turn or two to record."""
    waits = f"      - wait: {wait}\n" if wait else ""
    return f"""
id: {strategy_id}
name: {strategy_id}
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {{preset: NONE}}
segments: [{{name: all, start: aviso}}]
steps:
  aviso:
    stage: {stage}
    do:
      - send: {{channel: email, template: aviso}}
{waits}      - end: written_off
templates:
  aviso:
    es-CL: {{subject: Aviso, body: Hola}}
"""


def strategy(text: str, **changes: Any) -> CompiledStrategy:
    """`text` compiled, with `changes` (an older edition, say) and the content hash they give."""
    compiled = compile_text(text).strategy.model_copy(update=changes)
    return compiled.model_copy(update={"hash": content_hash(compiled)})


def publish(sessions: sessionmaker[Session], version: CompiledStrategy) -> None:
    with session_scope(sessions) as session:
        strategies_repo.publish(session, version, source_yaml="", published_by="tests")


def snapshot(account_id: str, **fields: Any) -> AccountSnapshot:
    values: dict[str, Any] = {
        "account_id": account_id,
        "debtor_name": "Ana Pérez",
        "country": "CL",
        "timezone": "America/Santiago",
        "locale": "es-CL",
        "currency": "CLP",
        "balance": 200_000,
        "original_amount": 200_000,
        "due_date": "2026-11-01",
        "email": "ana@example.cl",
        **fields,
    }
    return AccountSnapshot.model_validate(values)


def open_account(sessions: sessionmaker[Session], campaign_id: str, snap: AccountSnapshot, version: str) -> int:
    """The account imported into a new campaign of strategy `version`; its id."""
    with session_scope(sessions) as session:
        session.add(Campaign(id=campaign_id, name=campaign_id, strategy_hash=version, creditor_name="Acme"))
        session.flush()
        record = campaigns_repo.AccountRecord(snapshot=snap, debtor_external_id=f"d-{snap.account_id}", contacts=())
        campaigns_repo.write_accounts(session, campaign_id, [record])
        wf = debtor_workflow_id(campaign_id, snap.account_id)
        return session.scalars(select(Account.id).where(Account.workflow_id == wf)).one()


def turn(
    campaign_id: str,
    snap: AccountSnapshot,
    version: str,
    number: int,
    at: datetime,
    *,
    step: str,
    paid_total: int = 0,
    actions: tuple[act.Action, ...] = (),
) -> TurnRecord:
    """Turn `number` of the account's workflow under strategy `version`, at `at`, in `step`."""
    wf = debtor_workflow_id(campaign_id, snap.account_id)
    state = AccountState(
        account=snap,
        segment="all",
        stage=Stage.CONTACT,
        step=step,
        step_started_at=at,
        last_action_at=at,
        balance=snap.balance - paid_total,
        paid_total=paid_total,
    )
    return TurnRecord(
        key=f"{wf}:turn:{number}",
        workflow_id=wf,
        campaign_id=campaign_id,
        strategy_hash=version,
        turn=number,
        at=at,
        event={"kind": "timer"},
        actions=actions,
        state=state,
        previous_counters=Counters(),
    )
