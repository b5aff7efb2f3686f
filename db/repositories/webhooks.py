"""What provider webhooks write: receipts that make a redelivered event count once, delivery and
engagement events on the communications log, and opt-outs on contact points.

Every claim is an insert under a unique constraint (one by one inside a savepoint, or in bulk
with ON CONFLICT DO NOTHING), so two deliveries of the same event racing each other still record
it once. Batches (SendGrid posts thousands of events at a time) are read and written in chunks of
`CHUNK` rows per statement, never one query per event.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Account, Communication, ContactPoint, MessageEvent, WebhookReceipt
from db.repositories import kpi_counters

# Forward-only progress of a message; a later webhook never moves a message back (providers
# deliver events out of order: an `open` can arrive before its `delivered`).
_PROGRESS = {"unknown": 1, "sent": 1, "delivered": 2, "opened": 3, "clicked": 4, "replied": 4}
_FAILURES = ("bounced", "failed")
PHONE_CHANNELS = ("sms", "whatsapp", "voice")
# Rows per statement in bulk reads and writes: well under SQLite's 32,766 and PostgreSQL's 65,535
# bound parameters per statement.
CHUNK = 5_000

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def claim(session: Session, source: str, event_id: str, payload: str | None = None) -> bool:
    """Record that `(source, event_id)` was handled; False when it already was (a redelivery)."""
    if session.scalar(
        select(WebhookReceipt.id).where(WebhookReceipt.source == source, WebhookReceipt.event_id == event_id)
    ):
        return False
    try:
        with session.begin_nested():
            session.add(WebhookReceipt(source=source, event_id=event_id, payload=payload))
    except IntegrityError:
        return False
    return True


def claim_many(session: Session, source: str, event_ids: Sequence[str]) -> set[str]:
    """Claim every `(source, event_id)` not handled before, in bulk; returns the ids claimed now.
    Ids already claimed (earlier, or by a delivery racing this one) are left out."""
    unique = list(dict.fromkeys(event_ids))
    dialect = session.get_bind().dialect.name
    claimed: set[str] = set()
    for chunk in _chunks(unique):
        rows = [{"source": source, "event_id": event_id} for event_id in chunk]
        if dialect in ("postgresql", "sqlite"):
            module = postgresql if dialect == "postgresql" else sqlite
            statement = (
                module.insert(WebhookReceipt)
                .on_conflict_do_nothing(index_elements=["source", "event_id"])
                .returning(WebhookReceipt.event_id)
            )
            claimed.update(session.scalars(statement, rows))
        else:  # no ON CONFLICT: one by one, each in its savepoint
            claimed.update(event_id for event_id in chunk if claim(session, source, event_id))
    return claimed


def communications_by_keys(session: Session, keys: Sequence[str]) -> dict[str, Communication]:
    """The communications sent under these idempotency keys, by key (unknown keys left out),
    locked until the transaction ends (see `advance`). Locked in key order, chunk after chunk, so
    two batches sharing messages take their locks in the same order and never deadlock."""
    found: dict[str, Communication] = {}
    for chunk in _chunks(sorted(set(keys))):
        query = select(Communication).where(Communication.key.in_(chunk)).order_by(Communication.key)
        found.update((c.key, c) for c in session.scalars(query.with_for_update()))
    return found


def add_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store many provider events at once; each row has the columns `add_event` takes
    (`communication_id` instead of the communication)."""
    if rows:  # SQLAlchemy pages a many-row insert into multi-VALUES statements of 1,000 rows
        session.execute(insert(MessageEvent), list(rows))


def event_kinds_seen(session: Session, communication_ids: Sequence[int]) -> set[tuple[int, str]]:
    """The (communication, provider event name) pairs already stored for these messages."""
    seen: set[tuple[int, str]] = set()
    for chunk in _chunks(list(dict.fromkeys(communication_ids))):
        rows = session.execute(
            select(MessageEvent.communication_id, MessageEvent.event)
            .where(MessageEvent.communication_id.in_(chunk))
            .distinct()
        )
        seen.update((comm_id, event) for comm_id, event in rows if comm_id is not None)
    return seen


def debtors_of_accounts(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """The debtor of each account, by account id."""
    found: dict[int, int] = {}
    for chunk in _chunks(list(dict.fromkeys(account_ids))):
        rows = session.execute(select(Account.id, Account.debtor_id).where(Account.id.in_(chunk)))
        found.update((account_id, debtor_id) for account_id, debtor_id in rows)
    return found


def communication_by_key(session: Session, key: str) -> Communication | None:
    """The communication sent under idempotency key `key` (SendGrid echoes it as `collect_key`),
    locked until the transaction ends (see `advance`)."""
    return session.scalar(select(Communication).where(Communication.key == key).with_for_update())


def communication_by_provider_id(session: Session, provider_id: str) -> Communication | None:
    """The communication a provider knows by `provider_id` (a Twilio message or call SID), locked
    until the transaction ends (see `advance`)."""
    return session.scalar(
        select(Communication)
        .where(Communication.provider_id == provider_id)
        .order_by(Communication.id)
        .limit(1)
        .with_for_update()
    )


def latest_to(session: Session, debtor_ids: list[int], channel: str, address: str) -> Communication | None:
    """The latest message sent on `channel` to `address` for these debtors (what an inbound reply
    answers), locked until the transaction ends (see `advance`)."""
    if not debtor_ids:
        return None
    return session.scalar(
        select(Communication)
        .join(Account, Account.id == Communication.account_id)
        .where(
            Account.debtor_id.in_(debtor_ids),
            Communication.channel == channel,
            Communication.to_address.in_(_address_forms(address)),
        )
        .order_by(Communication.id.desc())
        .limit(1)
        .with_for_update(of=Communication)
    )


def add_event(
    session: Session,
    *,
    communication: Communication | None,
    provider: str,
    provider_event_id: str,
    event: str,
    occurred_at: datetime,
    payload: dict[str, Any],
) -> MessageEvent:
    """Store one provider event (also when it matches no communication: kept for diagnosis)."""
    row = MessageEvent(
        communication_id=communication.id if communication is not None else None,
        provider=provider,
        provider_event_id=provider_event_id,
        event=event,
        occurred_at=occurred_at,
        payload=payload,
    )
    session.add(row)
    return row


def advance(session: Session, communication: Communication, status: str, error_code: str | None = None) -> None:
    """Move the message's status forward (never back); a bounce or failure ends a sent message.

    `communication` must have been read locked (the lookups above do): two webhooks about one
    message then apply in turn, so a late `delivered` cannot overwrite a `failed` committed
    meanwhile, and the KPI counters count what the row finally says."""
    current = communication.status
    if status in _FAILURES:
        if current in ("sent", "unknown", "delivered"):
            communication.status = status
            communication.error_code = error_code or communication.error_code
            kpi_counters.contact(session, communication, current)
        return
    if current in _PROGRESS and status in _PROGRESS and _PROGRESS[status] > _PROGRESS[current]:
        communication.status = status


def _address_forms(address: str) -> list[str]:
    # A WhatsApp number may have been stored with or without Twilio's `whatsapp:` prefix.
    bare = address.removeprefix("whatsapp:")
    return [bare, f"whatsapp:{bare}"]


def debtors_with_number(session: Session, number: str) -> list[int]:
    """The debtors who have `number` (E.164) on any phone channel."""
    return list(
        session.scalars(
            select(ContactPoint.debtor_id)
            .where(ContactPoint.channel.in_(PHONE_CHANNELS), ContactPoint.address.in_(_address_forms(number)))
            .distinct()
            .order_by(ContactPoint.debtor_id)
        )
    )


def debtor_of_account(session: Session, account_id: int) -> int | None:
    """The debtor an account belongs to."""
    return session.scalar(select(Account.debtor_id).where(Account.id == account_id))


def set_opted_out(
    session: Session, debtor_ids: list[int], channel: str, address: str | None, at: datetime | None
) -> int:
    """Opt the debtors' `channel` contact points out at `at` (None opts back in); `address` None
    means every address on that channel. Returns how many contact points changed."""
    if not debtor_ids:
        return 0
    query = update(ContactPoint).where(ContactPoint.debtor_id.in_(debtor_ids), ContactPoint.channel == channel)
    if address is not None and channel in PHONE_CHANNELS:
        query = query.where(or_(*(ContactPoint.address == form for form in _address_forms(address))))
    elif address is not None:  # email addresses compare without case (SendGrid reports them lowercased)
        query = query.where(func.lower(ContactPoint.address) == address.lower())
    if at is None:
        query = query.where(ContactPoint.opted_out_at.is_not(None))
    else:
        query = query.where(ContactPoint.opted_out_at.is_(None))
    result = session.execute(query.values(opted_out_at=at))
    return int(result.rowcount)  # type: ignore[attr-defined]


def workflows_of_debtors(session: Session, debtor_ids: list[int]) -> list[str]:
    """The workflow ids of every account of these debtors (launched or not, open or closed)."""
    if not debtor_ids:
        return []
    return list(
        session.scalars(
            select(Account.workflow_id).where(Account.debtor_id.in_(debtor_ids)).order_by(Account.workflow_id)
        )
    )
