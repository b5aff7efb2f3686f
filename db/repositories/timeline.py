"""One account's timeline: everything that happened to it, read back from the facts the workflow's
activities and the API wrote, as entries of (when, what kind, who, a one-line summary, details),
in time order.

Kinds: `communication` (sent, blocked, failed... with channel, template, status, a preview of
the message as sent, and the blocking rule: the strategy's own tightening named as such),
`message_event` (a provider's delivery report), `task` (a call handed to a queue), `task_expired`
(nobody worked it before its due time), `outcome` (what the agent recorded, with the agent),
`promise` and `promise_settled` (kept or broken), `plan`, `offer_expired`, `payment`, `fee`, `interest`, `note`,
`approval_requested` and `approval_decided`, `legal_referral`, and `notification` (the strategy's
`notify`: a webhook to the creditor's systems and the receiver's last answer). Entries a step made carry the
step and its stage (from the account's strategy version) in their details.
Calls an agent made appear once, as their outcome (the communications log also holds them so the
contact policy counts them). `who` is the person or provider behind the entry, `system` for what
the strategy did on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.models import (
    AccountEvent,
    AccountState,
    AgentNote,
    AgentTask,
    Approval,
    Communication,
    CreditorNotification,
    Fee,
    InterestCharge,
    LegalReferral,
    MessageEvent,
    OutcomeRecord,
    Payment,
    PaymentPlan,
    Promise,
    StrategyVersion,
)
from domain.policy import ContactPolicy, blocking_rule
from strategies.preview import preview_of

SYSTEM = "system"
# Within one instant, the order in which a turn produces things.
_RANK = {
    "outcome": 0,
    "promise": 1,
    "plan": 2,
    "payment": 3,
    "promise_settled": 4,
    "interest": 5,
    "fee": 6,
    "task_expired": 6,
    "offer_expired": 6,
    "approval_decided": 7,
    "approval_requested": 8,
    "task": 9,
    "communication": 10,
    "message_event": 11,
    "legal_referral": 12,
    "notification": 13,
    "note": 14,
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    who: str | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    ref: int = 0  # the source row's id: a stable order among equal times


def _money(amount: int, currency: str) -> str:
    return f"{amount} {currency}"


@dataclass(frozen=True)
class _Version:
    """What the account's strategy version tells about its entries: the stage of each step and
    which blocking rules are the strategy's own."""

    stages: dict[str, str] = field(default_factory=dict)
    policy: ContactPolicy | None = None

    def rule(self, rule: str | None) -> str | None:
        return blocking_rule(self.policy, rule) if self.policy is not None and rule else rule

    def stage(self, step: str | None) -> str | None:
        return self.stages.get(step or "")


def _version(session: Session, account_id: int) -> _Version:
    """The strategy version the account runs under (its read-model row names it), read once."""
    compiled = session.scalar(
        select(StrategyVersion.compiled_json)
        .join(AccountState, AccountState.strategy_hash == StrategyVersion.hash)
        .where(AccountState.account_id == account_id)
    )
    if not compiled:
        return _Version()
    stages = {name: str(step.get("stage", "")) for name, step in (compiled.get("steps") or {}).items()}
    policy = ContactPolicy.model_validate(compiled["policy"]) if compiled.get("policy") else None
    return _Version(stages=stages, policy=policy)


def _communications(session: Session, account_id: int, version: _Version) -> list[Entry]:
    out: list[Entry] = []
    rows = session.scalars(
        select(Communication).where(
            Communication.account_id == account_id, Communication.provider.is_distinct_from("agent")
        )
    ).all()
    for c in rows:
        what = f"{c.channel} {c.template}" if c.template else c.channel
        if c.status == "blocked":
            summary = f"{what} blocked by {version.rule(c.blocked_rule)}: {c.blocked_reason}"
        elif c.status == "failed":
            summary = f"{what} failed: {c.error_message or c.error_code or 'no reason given'}"
        else:
            summary = f"{what} {c.status}"
        out.append(
            Entry(
                at=c.sent_at or c.attempted_at or c.planned_at,
                kind="communication",
                who=c.provider or SYSTEM,
                summary=summary,
                details={
                    "communication_id": c.id,
                    "step": c.step,
                    "stage": version.stage(c.step),
                    "channel": c.channel,
                    "template": c.template,
                    "status": c.status,
                    "to": c.to_address,
                    "provider": c.provider,
                    "rule": c.blocked_rule,
                    "reason": c.blocked_reason,
                    "moved_to": c.moved_to,
                    "error_code": c.error_code,
                    "error_message": c.error_message,
                    "planned_at": c.planned_at.isoformat(),
                    # What the debtor read: the rendered message on the channel used (a fallback's own).
                    "preview": preview_of(c.channel, c.subject, c.body) if c.body else None,
                },
                ref=c.id,
            )
        )
    events = session.execute(
        select(MessageEvent, Communication.channel)
        .join(Communication, Communication.id == MessageEvent.communication_id)
        .where(Communication.account_id == account_id)
    ).all()
    for e, channel in events:
        out.append(
            Entry(
                at=e.occurred_at,
                kind="message_event",
                who=e.provider,
                summary=f"{channel} {e.event}",
                details={"communication_id": e.communication_id, "channel": channel, "event": e.event},
                ref=e.id,
            )
        )
    return out


def _work(session: Session, account_id: int, version: _Version) -> list[Entry]:
    out: list[Entry] = []
    for t in session.scalars(select(AgentTask).where(AgentTask.account_id == account_id)):
        out.append(
            Entry(
                at=t.created_at,
                kind="task",
                who=SYSTEM,
                summary=f"call in queue {t.queue} (attempt {t.attempt}), {t.status}",
                details={
                    "task_id": t.id,
                    "step": t.step,
                    "stage": version.stage(t.step),
                    "queue": t.queue,
                    "attempt": t.attempt,
                    "status": t.status,
                    "assigned_agent": t.assigned_agent,
                    "due_at": t.due_at.isoformat(),
                },
                ref=t.id,
            )
        )
    for o in session.scalars(select(OutcomeRecord).where(OutcomeRecord.account_id == account_id)):
        out.append(
            Entry(
                at=o.recorded_at,
                kind="outcome",
                who=o.agent,
                summary=f"call outcome {o.code}" + (f": {o.note}" if o.note else ""),
                details={"code": o.code, "note": o.note, "task_id": o.task_id},
                ref=o.id,
            )
        )
    for n in session.scalars(select(AgentNote).where(AgentNote.account_id == account_id)):
        out.append(
            Entry(at=n.created_at, kind="note", who=n.author, summary=n.text, details={"note_id": n.id}, ref=n.id)
        )
    return out


def _commitments(session: Session, account_id: int) -> list[Entry]:
    out: list[Entry] = []
    for p in session.scalars(select(Promise).where(Promise.account_id == account_id)):
        details = {
            "amount": p.amount,
            "currency": p.currency,
            "due_date": p.due_date.isoformat(),
            "status": p.status,
        }
        out.append(
            Entry(
                at=p.made_at,
                kind="promise",
                who=p.agent or SYSTEM,
                summary=f"promise to pay {_money(p.amount, p.currency)} by {p.due_date.isoformat()} ({p.status})",
                details=details,
                ref=p.id,
            )
        )
        if p.settled_at is not None:
            out.append(
                Entry(
                    at=p.settled_at,
                    kind="promise_settled",
                    who=SYSTEM,
                    summary=f"promise of {_money(p.amount, p.currency)} {p.status}",
                    details=details,
                    ref=p.id,
                )
            )
    plans = session.scalars(
        select(PaymentPlan).options(selectinload(PaymentPlan.schedule)).where(PaymentPlan.account_id == account_id)
    )
    for plan in plans:
        total = sum(i.amount for i in plan.schedule)
        out.append(
            Entry(
                at=plan.agreed_at,
                kind="plan",
                who=SYSTEM,
                summary=f"plan of {plan.installments} {plan.frequency} installments, {_money(total, plan.currency)} "
                f"({plan.status})",
                details={
                    "installments": plan.installments,
                    "frequency": plan.frequency,
                    "currency": plan.currency,
                    "status": plan.status,
                    "schedule": [
                        {"number": i.number, "due_date": i.due_date.isoformat(), "amount": i.amount, "status": i.status}
                        for i in plan.schedule
                    ],
                },
                ref=plan.id,
            )
        )
    return out


def _money_and_steering(session: Session, account_id: int, version: _Version) -> list[Entry]:
    out: list[Entry] = []
    for pay in session.scalars(select(Payment).where(Payment.account_id == account_id)):
        out.append(
            Entry(
                at=pay.received_at,
                kind="payment",
                who=pay.provider,
                summary=f"payment of {_money(pay.amount, pay.currency)}",
                details={
                    "amount": pay.amount,
                    "currency": pay.currency,
                    "provider": pay.provider,
                    "provider_payment_id": pay.provider_payment_id,
                    "allocated_to": pay.allocated_to,
                },
                ref=pay.id,
            )
        )
    for event in session.scalars(select(AccountEvent).where(AccountEvent.account_id == account_id)):
        d = event.details
        if event.kind == "task_expired":
            summary = f"call task expired with nobody working it (attempt {d.get('attempt')})"
        else:
            summary = f"{d.get('offer')} offer expired"
        out.append(
            Entry(
                at=event.at,
                kind=event.kind,
                who=SYSTEM,
                summary=summary,
                details={**d, "step": event.step, "stage": version.stage(event.step)},
                ref=event.id,
            )
        )
    for fee in session.scalars(select(Fee).where(Fee.account_id == account_id)):
        capped = f" (capped by {fee.rule} from {fee.requested})" if fee.rule else ""
        out.append(
            Entry(
                at=fee.applied_at,
                kind="fee",
                who=SYSTEM,
                summary=f"fee of {_money(fee.amount, fee.currency)} at step {fee.step}{capped}",
                details={
                    "amount": fee.amount,
                    "requested": fee.requested,
                    "currency": fee.currency,
                    "rule": fee.rule,
                    "step": fee.step,
                    "stage": version.stage(fee.step),
                },
                ref=fee.id,
            )
        )
    for charge in session.scalars(select(InterestCharge).where(InterestCharge.account_id == account_id)):
        out.append(
            Entry(
                at=charge.applied_at,
                kind="interest",
                who=SYSTEM,
                summary=(
                    f"interest charged {_money(charge.amount, charge.currency)} at step {charge.step} "
                    f"({_money(charge.total, charge.currency)} so far)"
                ),
                details={
                    "amount": charge.amount,
                    "total": charge.total,
                    "currency": charge.currency,
                    "through": charge.through.isoformat(),
                    "step": charge.step,
                },
                ref=charge.id,
            )
        )
    for a in session.scalars(select(Approval).where(Approval.account_id == account_id)):
        details = {"approval_id": a.id, "subject": a.subject, "step": a.step, "status": a.status}
        what = "legal referral" if a.subject == "legal" else f"step {a.step}"
        out.append(
            Entry(
                at=a.requested_at,
                kind="approval_requested",
                who=SYSTEM,
                summary=f"{what} waits for a supervisor's approval",
                details=details,
                ref=a.id,
            )
        )
        if a.decided_at is not None:
            out.append(
                Entry(
                    at=a.decided_at,
                    kind="approval_decided",
                    who=a.decided_by,
                    summary=f"{what} {a.status}",
                    details=details,
                    ref=a.id,
                )
            )
    for r in session.scalars(select(LegalReferral).where(LegalReferral.account_id == account_id)):
        out.append(
            Entry(
                at=r.created_at,
                kind="legal_referral",
                who=SYSTEM,
                summary=f"referred to legal with a balance of {_money(r.balance, r.currency)}",
                details={"referral_id": r.id, "balance": r.balance, "currency": r.currency, "status": r.status},
                ref=r.id,
            )
        )
    return out


_NOTIFIED = {
    "delivered": "delivered",
    "retrying": "not answered yet, retrying",
    "rejected": "rejected",
    "failed": "failed after every retry",
    "not_configured": "not sent: the campaign has no notify URL",
    "refused": "not sent: the notify URL is refused",
}


def _notifications(session: Session, account_id: int, version: _Version) -> list[Entry]:
    out: list[Entry] = []
    for n in session.scalars(select(CreditorNotification).where(CreditorNotification.account_id == account_id)):
        answer = f" (HTTP {n.response_status})" if n.response_status is not None else ""
        attempts = f", {n.attempts} attempts" if n.attempts > 1 else ""
        out.append(
            Entry(
                at=n.created_at,
                kind="notification",
                who=SYSTEM,
                summary=f"notified {n.event} at step {n.step}: {_NOTIFIED[n.status]}{answer}{attempts}",
                details={
                    "notification_id": n.id,
                    "event": n.event,
                    "step": n.step,
                    "stage": version.stage(n.step),
                    "status": n.status,
                    "url": n.url,
                    "attempts": n.attempts,
                    "response_status": n.response_status,
                    "response_excerpt": n.response_excerpt,
                    "error": n.error,
                    "answered_at": n.answered_at.isoformat() if n.answered_at else None,
                    "balance": n.balance,
                    "currency": n.currency,
                    "idempotency_key": n.key,
                },
                ref=n.id,
            )
        )
    return out


def timeline(session: Session, account_id: int) -> list[Entry]:
    """Every entry of the account's history, oldest first."""
    version = _version(session, account_id)
    entries = [
        *_communications(session, account_id, version),
        *_work(session, account_id, version),
        *_commitments(session, account_id),
        *_money_and_steering(session, account_id, version),
        *_notifications(session, account_id, version),
    ]
    return sorted(entries, key=lambda e: (e.at, _RANK[e.kind], e.ref))
