"""The send activity: render, check the contact policy a second time, send exactly once.

Order of work, and why:
1. The key (`workflow_id:seq`) is looked up first: a retried or replayed activity finds the
   earlier attempt and returns its result instead of sending again.
2. The policy is checked again against the communications log in the database, right before
   sending: the log sees contacts the workflow's own state cannot (another account of the same
   debtor, a STOP recorded by a webhook a moment ago). A blocked message is logged with the rule
   that blocked it and is never sent.
3. A `pending` row is committed *before* the provider is called. Neither SendGrid nor Twilio
   accepts an idempotency key, so if the process dies during the call the outcome is unknown; the
   retry then finds `pending`, marks it `unknown` and does not send again (never twice beats
   maybe twice in collections). A retryable provider error (throttling, server, network) removes
   the pending row and raises, so Temporal's backoff retries it; a permanent error (invalid
   number, bounced address) marks the contact point invalid and returns `failed`, which the
   workflow turns into the strategy's failure route.
With no sender configured for a channel (no credentials), the sandbox records the message in
the outbox table in the same transaction; letters always go to the outbox for the print vendor.
A message whose step says `attach: <template>` carries that template rendered as a PDF statement
(strategies/statement.py): as a SendGrid attachment, or next to the letter in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.lookups import account_by_workflow
from activities.strategy_versions import StrategyVersions
from channels.base import Attachment, ChannelError, OutgoingMessage, Sender
from db.models import Account, Communication, ContactPoint, OutboxMessage, OutcomeRecord
from db.repositories import kpi_counters
from db.session import session_scope
from domain.policy import ContactPolicy, ContactRecord, check_contact
from domain.state import CONTACT_HISTORY_DAYS
from domain.strategy import Template
from domain.types import Channel
from strategies.message_context import template_context
from strategies.rendering import render
from strategies.statement import CONTENT_TYPE, statement_pdf
from workflows.contracts import SendInput, SendResult

# Statuses that mean the debtor was (or may have been) contacted: they weigh on caps and gaps.
CONTACTED = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")
# Agent calls are logged with this provider; outcomes other than these were conversations.
NOT_CONVERSATIONS = ("no_answer", "wrong_party")


def message_context(input: SendInput, now: datetime) -> dict[str, Any]:
    """The variables templates may use, for this send (strategies/message_context.py)."""
    campaign = input.campaign
    return template_context(
        input.account,
        balance=input.balance,
        paid_total=input.paid_total,
        currency=input.currency,
        edition=input.edition,
        offer=input.offer,
        promise=(input.promise.amount, input.promise.due) if input.promise else None,
        fees_total=input.fees_total,
        interest_total=input.interest_total,
        creditor={
            "name": campaign.creditor_name,
            "phone": campaign.creditor_phone or "",
            "email": campaign.creditor_email or "",
        },
        payment_link_base=campaign.payment_link_base or "",
        now=now,
    )


def contact_history(session: Session, debtor_id: int, since: datetime) -> list[ContactRecord]:
    """The debtor's contact ledger from the communications log, across all their accounts."""
    # A call's outcome row (activities/turns.py writes `wf:call:turn` and `wf:outcome:turn` together)
    # says whether it was a conversation; older rows and calls without one go by their built-in code.
    outcome_key = func.replace(Communication.key, ":call:", ":outcome:")
    rows = session.execute(
        select(
            Communication.channel,
            Communication.planned_at,
            Communication.provider,
            Communication.template,
            OutcomeRecord.right_party_contact,
        )
        .join(Account, Account.id == Communication.account_id)
        .outerjoin(OutcomeRecord, and_(Communication.provider == "agent", OutcomeRecord.key == outcome_key))
        .where(Account.debtor_id == debtor_id)
        .where(Communication.status.in_(CONTACTED))
        .where(Communication.planned_at >= since)
    ).all()
    return [
        ContactRecord(
            channel=Channel(channel),
            at=at,
            conversation=provider == "agent"
            and (spoke if spoke is not None else (template or "") not in NOT_CONVERSATIONS),
        )
        for channel, at, provider, template, spoke in rows
    ]


def opted_out_channels(session: Session, debtor_id: int) -> set[Channel]:
    rows = session.scalars(
        select(ContactPoint.channel).where(ContactPoint.debtor_id == debtor_id, ContactPoint.opted_out_at.is_not(None))
    ).all()
    return {Channel(c) for c in rows}


def _result_of(row: Communication) -> SendResult:
    status = row.status
    if status in ("pending", "unknown"):
        return SendResult(status="unknown", provider=row.provider, reason="an earlier attempt's outcome is unknown")
    if status == "blocked":
        return SendResult(status="blocked", rule=row.blocked_rule, reason=row.blocked_reason, duplicate=True)
    if status == "failed":
        return SendResult(status="failed", provider=row.provider, reason=row.error_message, duplicate=True)
    return SendResult(status="sent", provider=row.provider, provider_id=row.provider_id, duplicate=True)


def _locked(session: Session, row_id: int) -> Communication | None:
    """The message row, locked and read afresh: its status decides what the KPI counters count."""
    return session.get(Communication, row_id, with_for_update=True, populate_existing=True)


class MessagingActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: Mapping[Channel, Sender],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        strategies: StrategyVersions | None = None,
    ) -> None:
        self._sessions = sessions
        self._senders = senders
        self._clock = clock
        self._strategies = strategies or StrategyVersions(sessions)

    def _template_and_policy(self, input: SendInput) -> tuple[Template, ContactPolicy]:
        """What the input carries (sends scheduled by older runs), else the published version's."""
        if input.template is not None and input.policy is not None:
            return input.template, input.policy
        assert input.strategy_hash is not None, "SendInput validates that one of the two is there"
        strategy = self._strategies.get(input.strategy_hash)
        return strategy.template_for(input.template_name, input.locale), strategy.policy

    def _statement_template(self, input: SendInput) -> Template | None:
        """The template of the statement the message carries, if any."""
        if input.attach is None:
            return None
        if input.attach_template is not None or input.strategy_hash is None:
            return input.attach_template
        return self._strategies.get(input.strategy_hash).template_for(input.attach, input.locale)

    @activity.defn(name="send_message", no_thread_cancel_exception=True)
    def send_message(self, input: SendInput) -> SendResult:
        # The later of the planned moment and the wall clock: a send retried for hours must pass
        # the policy at the hour it really goes out (and a test server's skipped clock runs ahead
        # of the wall clock, where the planned moment is the truth).
        now = max(input.planned_at, self._clock())
        template, policy = self._template_and_policy(input)
        planned = self._plan(input, template, policy, now)
        if isinstance(planned, SendResult):
            return planned
        row_id, message, sender = planned
        try:
            receipt = sender.send(message)
        except ChannelError as exc:
            if exc.retryable:
                with session_scope(self._sessions) as session:  # not sent: the retry starts afresh
                    # Unless a retry that found it pending already marked it `unknown` (and told the
                    # workflow so): that row stays, as the workflow was told.
                    session.execute(
                        delete(Communication).where(Communication.id == row_id, Communication.status == "pending")
                    )
                raise
            return self._failed(input, row_id, exc)
        with session_scope(self._sessions) as session:
            row = _locked(session, row_id)
            if row is not None:
                before = row.status
                row.status, row.provider, row.provider_id, row.sent_at = (
                    "sent",
                    sender.provider,
                    receipt.provider_id,
                    now,
                )
                kpi_counters.contact(session, row, before)
        return SendResult(status="sent", provider=sender.provider, provider_id=receipt.provider_id)

    def _plan(
        self, input: SendInput, template: Template, policy: ContactPolicy, now: datetime
    ) -> SendResult | tuple[int, OutgoingMessage, Sender]:
        """Everything before the provider call, in one transaction; a SendResult ends the send."""
        with session_scope(self._sessions) as session:
            # Locked: a retry racing the attempt it replaces sees its status as committed.
            existing = session.scalar(select(Communication).where(Communication.key == input.key).with_for_update())
            if existing is not None:
                if existing.status == "pending":
                    existing.status = "unknown"
                    kpi_counters.contact(session, existing, "pending")
                return _result_of(existing)
            account = account_by_workflow(session, input.workflow_id)
            row = Communication(
                key=input.key,
                account_id=account.id,
                workflow_id=input.workflow_id,
                seq=input.seq,
                step=input.step,
                channel=input.channel.value,
                template=input.template_name,
                to_address=input.account.address(input.channel),
                status="pending",
                planned_at=input.planned_at,
                attempted_at=now,
            )
            session.add(row)
            history = contact_history(session, account.debtor_id, now - timedelta(days=CONTACT_HISTORY_DAYS))
            opted_out = set(input.opted_out) | opted_out_channels(session, account.debtor_id)
            decision = check_contact(policy, input.channel, now, input.account.timezone, history, opted_out)
            invalid = session.scalar(
                select(ContactPoint.invalid_reason).where(
                    ContactPoint.debtor_id == account.debtor_id,
                    ContactPoint.channel == input.channel.value,
                    ContactPoint.address == (row.to_address or ""),
                    ContactPoint.valid.is_(False),
                )
            )
            if not decision.allowed or row.to_address is None or invalid is not None:
                row.status = "blocked"
                if row.to_address is None:
                    row.blocked_rule, row.blocked_reason = "no-contact-point", f"no {input.channel} address"
                elif invalid is not None:
                    row.blocked_rule, row.blocked_reason = "invalid-contact-point", invalid
                else:
                    row.blocked_rule, row.blocked_reason = decision.rule, decision.reason
                return SendResult(status="blocked", rule=row.blocked_rule, reason=row.blocked_reason)
            context = message_context(input, now)
            try:
                row.subject = (
                    render(template.subject, input.locale, input.currency, context) if template.subject else None
                )
                row.body = render(template.body, input.locale, input.currency, context)
                attachments = self._statement(input, context)
            except Exception as exc:  # a template error must be logged, not retried forever
                row.status, row.error_code, row.error_message = "failed", "template", f"template error: {exc}"
                return SendResult(status="failed", reason=row.error_message)
            sender = None if input.channel == Channel.LETTER else self._senders.get(input.channel)
            if sender is None:
                session.flush()
                session.add(
                    OutboxMessage(
                        communication_id=row.id,
                        channel=row.channel,
                        to_address=row.to_address,
                        subject=row.subject,
                        body=row.body,
                        attachment_name=attachments[0].filename if attachments else None,
                        attachment=attachments[0].content if attachments else None,
                    )
                )
                row.status, row.sent_at = "sent", now
                row.provider = "print" if input.channel == Channel.LETTER else "sandbox"
                kpi_counters.contact(session, row, "pending")
                return SendResult(status="sent", provider=row.provider)
            session.flush()
            message = OutgoingMessage(
                key=input.key,
                channel=input.channel.value,
                to=row.to_address,
                subject=row.subject,
                body=row.body,
                locale=input.locale,
                attachments=attachments,
            )
            return row.id, message, sender

    def _statement(self, input: SendInput, context: dict[str, Any]) -> tuple[Attachment, ...]:
        """The PDF statement the message carries: its template rendered with the message's own
        context, dated at the planned send (a retry attaches the same bytes)."""
        template = self._statement_template(input)
        if template is None or input.attach is None:
            return ()
        title = render(template.subject, input.locale, input.currency, context) if template.subject else None
        body = render(template.body, input.locale, input.currency, context)
        pdf = statement_pdf(body, title=title, created_at=input.planned_at)
        return (Attachment(filename=f"{input.attach}.pdf", content_type=CONTENT_TYPE, content=pdf),)

    def _failed(self, input: SendInput, row_id: int, exc: ChannelError) -> SendResult:
        with session_scope(self._sessions) as session:
            row = session.get_one(Communication, row_id, with_for_update=True, populate_existing=True)
            before = row.status
            row.status, row.provider = "failed", exc.provider
            kpi_counters.contact(session, row, before)
            row.error_code, row.error_message = exc.code, str(exc)
            if exc.invalidates_contact_point:
                account = session.get_one(Account, row.account_id)
                session.execute(
                    update(ContactPoint)
                    .where(
                        ContactPoint.debtor_id == account.debtor_id,
                        ContactPoint.channel == input.channel.value,
                        ContactPoint.address == (row.to_address or ""),
                    )
                    .values(valid=False, invalid_reason=f"{exc.kind}: {exc}")
                )
        return SendResult(status="failed", provider=exc.provider, reason=str(exc))
