"""One account's timeline: everything that happened to it, read back from the facts the workflow's
activities and the API wrote, as entries of (when, what kind, who, a one-line summary, details),
in time order.

Kinds: `communication` (sent, blocked, failed... with channel, template, status, a preview of
the message as sent, and the blocking rule: the strategy's own tightening named as such),
`message_event` (a provider's delivery report), `task` (a call handed to a queue), `task_expired`
(nobody worked it before its due time), `outcome` (what the agent recorded, with the agent),
`promise` and `promise_settled` (kept or broken), `plan`, `offer_expired`, `payment`, `overpaid` (a payment
beyond what was owed: a refund or credit due), `refund` (a refund or credit of it, by the supervisor who
recorded it), `fee`, `interest`, `note`,
`approval_requested` and `approval_decided`, `legal_referral`, and `notification` (the strategy's
`notify`: a webhook to the creditor's systems and the receiver's last answer). Entries a step made carry the
step and its stage in their details, read in the strategy version that ran the account at the time
(db/models/account_versions.py: a move to another version leaves earlier entries in the earlier
version's stages and rules). Money reads as the simulator's timeline shows it: in the account's
locale, with the digits the amount was written with ("$150.000" in es-CL, "$1,500.00" in en-US).
Calls an agent made appear once, as their outcome (the communications log also holds them so the
contact policy counts them). `who` is the person or provider behind the entry, `system` for what
the strategy did on its own.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.models import (
    Account,
    AccountEvent,
    AccountState,
    AccountVersion,
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
from db.repositories.accounts import money_locale
from domain.policy import ContactPolicy, blocking_rule
from strategies.amounts import Currency
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
    "overpaid": 4,  # with the payment that made it, before the fees and tasks that follow
    "refund": 4,
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


# Where neither the debtor nor the strategy names a locale (neither happens for launched accounts).
FALLBACK_LOCALE = "en-US"


@dataclass(frozen=True)
class _Money:
    """The account's money as its timeline reads: the simulator's formatter (strategies/amounts.py
    `Currency.shown`) in the account's locale, each amount with the digits its row recorded."""

    locale: str

    def __call__(self, amount: int, currency: str, digits: int) -> str:
        return Currency(currency, self.locale, digits).shown(amount)


@dataclass(frozen=True)
class _Version:
    """What one strategy version tells about the entries it made: the stage of each step and
    which blocking rules are the strategy's own."""

    stages: dict[str, str] = field(default_factory=dict)
    policy: ContactPolicy | None = None

    def rule(self, rule: str | None) -> str | None:
        return blocking_rule(self.policy, rule) if self.policy is not None and rule else rule

    def stage(self, step: str | None) -> str | None:
        return self.stages.get(step or "")


def _read_version(compiled: dict[str, Any] | None) -> _Version:
    if not compiled:
        return _Version()
    stages = {name: str(step.get("stage", "")) for name, step in (compiled.get("steps") or {}).items()}
    policy = ContactPolicy.model_validate(compiled["policy"]) if compiled.get("policy") else None
    return _Version(stages=stages, policy=policy)


@dataclass(frozen=True)
class _Versions:
    """The versions that ran the account, each from the moment of its first turn: `at(t)` is the
    one that acted at `t` (the first one for anything earlier)."""

    since: tuple[datetime, ...] = ()
    versions: tuple[_Version, ...] = ()

    def at(self, when: datetime) -> _Version:
        if not self.versions:
            return _Version()
        return self.versions[max(0, bisect_right(self.since, when) - 1)]


def _versions(session: Session, account_id: int) -> _Versions:
    """The account's versions in time order (a handful of rows), then each distinct version read
    once, in one query. An account whose turns were recorded before versions were (none since)
    reads all of its entries in the version its read-model row names, as the timeline did then."""
    spans: list[tuple[datetime, str]] = list(
        session.execute(
            select(AccountVersion.since, AccountVersion.strategy_hash)
            .where(AccountVersion.account_id == account_id)
            .order_by(AccountVersion.since, AccountVersion.id)
        ).tuples()
    )
    if not spans:
        current = session.scalar(select(AccountState.strategy_hash).where(AccountState.account_id == account_id))
        spans = [(datetime.min.replace(tzinfo=UTC), current)] if current is not None else []
    if not spans:
        return _Versions()
    hashes = {h for _, h in spans}
    found: dict[str, dict[str, Any]] = {
        h: compiled
        for h, compiled in session.execute(
            select(StrategyVersion.hash, StrategyVersion.compiled_json).where(StrategyVersion.hash.in_(hashes))
        ).tuples()
    }
    read = {h: _read_version(found.get(h)) for h in hashes}
    return _Versions(since=tuple(at for at, _ in spans), versions=tuple(read[h] for _, h in spans))


def _communications(session: Session, account_id: int, versions: _Versions) -> list[Entry]:
    out: list[Entry] = []
    rows = session.scalars(
        select(Communication).where(
            Communication.account_id == account_id, Communication.provider.is_distinct_from("agent")
        )
    ).all()
    for c in rows:
        version = versions.at(c.planned_at)  # the turn that planned it
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


def _work(session: Session, account_id: int, versions: _Versions) -> list[Entry]:
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
                    "stage": versions.at(t.created_at).stage(t.step),
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


def _commitments(session: Session, account_id: int, money: _Money) -> list[Entry]:
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
                summary=f"promise to pay {money(p.amount, p.currency, p.currency_digits)} by {p.due_date.isoformat()} "
                f"({p.status})",
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
                    summary=f"promise of {money(p.amount, p.currency, p.currency_digits)} {p.status}",
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
                summary=f"plan of {plan.installments} {plan.frequency} installments, "
                f"{money(total, plan.currency, plan.currency_digits)} "
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


def _money_and_steering(session: Session, account_id: int, versions: _Versions, money: _Money) -> list[Entry]:
    out: list[Entry] = []
    for pay in session.scalars(select(Payment).where(Payment.account_id == account_id)):
        out.append(
            Entry(
                at=pay.received_at,
                kind="payment",
                who=pay.provider,
                summary=f"payment of {money(pay.amount, pay.currency, pay.currency_digits)}",
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
        elif event.kind == "overpaid":
            summary = f"overpayment of {money(d['amount'], d['currency'], d['currency_digits'])}: refund or credit due"
        elif event.kind == "refund":
            amount = money(d["amount"], d["currency"], d["currency_digits"])
            summary = f"{d['method']} of {amount} recorded (ref {d['reference']})"
        else:
            summary = f"{d.get('offer')} offer expired"
        out.append(
            Entry(
                at=event.at,
                kind=event.kind,
                who=str(d.get("by") or SYSTEM) if event.kind == "refund" else SYSTEM,
                summary=summary,
                details={**d, "step": event.step, "stage": versions.at(event.at).stage(event.step)},
                ref=event.id,
            )
        )
    for fee in session.scalars(select(Fee).where(Fee.account_id == account_id)):
        requested = money(fee.requested, fee.currency, fee.currency_digits)
        capped = f" (capped by {fee.rule} from {requested})" if fee.rule else ""
        out.append(
            Entry(
                at=fee.applied_at,
                kind="fee",
                who=SYSTEM,
                summary=f"fee of {money(fee.amount, fee.currency, fee.currency_digits)} at step {fee.step}{capped}",
                details={
                    "amount": fee.amount,
                    "requested": fee.requested,
                    "currency": fee.currency,
                    "rule": fee.rule,
                    "step": fee.step,
                    "stage": versions.at(fee.applied_at).stage(fee.step),
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
                    f"interest charged {money(charge.amount, charge.currency, charge.currency_digits)} at step "
                    f"{charge.step} ({money(charge.total, charge.currency, charge.currency_digits)} so far)"
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
                summary=f"referred to legal with a balance of {money(r.balance, r.currency, r.currency_digits)}",
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


def _notifications(session: Session, account_id: int, versions: _Versions) -> list[Entry]:
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
                    "stage": versions.at(n.created_at).stage(n.step),
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
    account = session.get(Account, account_id)
    if account is None:
        return []
    versions = _versions(session, account_id)
    money = _Money(money_locale(session, account) or FALLBACK_LOCALE)
    entries = [
        *_communications(session, account_id, versions),
        *_work(session, account_id, versions),
        *_commitments(session, account_id, money),
        *_money_and_steering(session, account_id, versions, money),
        *_notifications(session, account_id, versions),
    ]
    return sorted(entries, key=lambda e: (e.at, _RANK[e.kind], e.ref))
