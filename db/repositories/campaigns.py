"""Campaigns and their accounts: create and read campaigns, write imported accounts (debtor,
contact points, account) idempotently by the creditor's account id, and the launcher's
bookkeeping (which accounts are still to start, which have started, launch progress)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, and_, case, false, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from db.base import utcnow
from db.models import Account, AccountState, Campaign, ContactPoint, Debtor, StrategyVersion
from db.repositories import kpi_counters
from domain.account import AccountSnapshot
from domain.money import minor_digits
from domain.types import Channel
from workflows.contracts import debtor_workflow_id

T = TypeVar("T")
# Bound parameters per IN list: well under SQLite's and PostgreSQL's limits.
CHUNK = 500

WriteOutcome = Literal["accepted", "updated", "unchanged", "skipped"]
# The import column behind each debtor fact (`debtor_facts`) and each channel's address, named
# when a row is refused for changing them; and the words for the facts.
FACT_COLUMNS = {"name": "debtor_name", "country": "country", "timezone": "timezone", "locale": "locale"}
FACT_WORDS = {"name": "name", "country": "country", "timezone": "time zone", "locale": "locale"}
CONTACT_COLUMNS = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.WHATSAPP: "whatsapp",
    Channel.VOICE: "phone",
    Channel.LETTER: "postal_address",
}
# Channels whose consent the import asks for (the others need none).
CONSENTED = frozenset({Channel.EMAIL, Channel.SMS, Channel.WHATSAPP})


@dataclass(frozen=True)
class ContactRecord:
    channel: Channel
    address: str
    consent: bool
    consent_source: str


@dataclass(frozen=True)
class AccountRecord:
    """One validated account to write: the snapshot its workflow starts from, and its debtor."""

    snapshot: AccountSnapshot
    debtor_external_id: str
    contacts: tuple[ContactRecord, ...]


@dataclass(frozen=True)
class Refused:
    """A record not written: it would change a debtor who has accounts in another campaign.
    `problems`: (import column, detail) for each fact it would change."""

    debtor_external_id: str
    problems: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Progress:
    total: int
    not_launched: int
    by_stage: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LaunchBatch:
    """What the launcher needs for one batch; `accounts` is (id, workflow_id, snapshot_json);
    `compiled` is None when the caller said it holds the strategy already."""

    status: str
    campaign: Campaign
    compiled: dict[str, Any] | None
    accounts: list[tuple[int, str, dict[str, Any]]]


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# ---- campaigns ---------------------------------------------------------------------------------


def get(session: Session, campaign_id: str) -> Campaign | None:
    return session.get(Campaign, campaign_id)


def create(session: Session, campaign: Campaign) -> bool:
    """Add the campaign; False when its id is taken."""
    if session.get(Campaign, campaign.id) is not None:
        return False
    session.add(campaign)
    session.flush()
    return True


def notify_secrets_to_seal(session: Session, sealed_prefix: str, current_prefix: str | None) -> tuple[int, int]:
    """(in clear, sealed under another key): the campaigns' notify secrets that do not start with
    `sealed_prefix`, and those that do but not with `current_prefix` (None: not counted). One
    aggregate over the campaigns table (one row per campaign, so no index: it reads no account),
    comparing prefixes with substr, which is exact on both databases (SQLite's LIKE ignores case,
    and a `_` in a key id would be a wildcard)."""
    stored = Campaign.notify_secret

    def starts(prefix: str) -> ColumnElement[bool]:
        return func.substr(stored, 1, len(prefix)) == prefix

    sealed = starts(sealed_prefix)
    other_key = and_(sealed, ~starts(current_prefix)) if current_prefix is not None else false()
    clear, other = session.execute(
        select(func.count(case((~sealed, 1))), func.count(case((other_key, 1)))).where(stored.is_not(None))
    ).one()
    return int(clear), int(other)


def list_campaigns(session: Session, *, status: str | None, offset: int, limit: int) -> list[Campaign]:
    """Up to `limit + 1` campaigns from `offset`, oldest first."""
    query = select(Campaign).order_by(Campaign.created_at, Campaign.id).offset(offset).limit(limit + 1)
    if status is not None:
        query = query.where(Campaign.status == status)
    return list(session.scalars(query))


def progress(session: Session, campaign_id: str) -> Progress:
    """Accounts imported, still to launch, and launched ones by stage (from the read model)."""
    total = session.scalar(select(func.count()).where(Account.campaign_id == campaign_id)) or 0
    waiting = (
        session.scalar(select(func.count()).where(Account.campaign_id == campaign_id, Account.launched_at.is_(None)))
        or 0
    )
    stages = session.execute(
        select(AccountState.stage, func.count())
        .where(AccountState.campaign_id == campaign_id)
        .group_by(AccountState.stage)
        .order_by(AccountState.stage)
    ).all()
    return Progress(total=total, not_launched=waiting, by_stage={stage: count for stage, count in stages})


# ---- imports -----------------------------------------------------------------------------------


def write_accounts(
    session: Session, campaign_id: str, records: Sequence[AccountRecord]
) -> list[WriteOutcome | Refused]:
    """Write each record's debtor, contact points and account; one outcome per record, in order.

    Idempotent by the account's external id within the campaign: a known account not yet launched
    is updated (or left unchanged), a launched one is skipped (its workflow owns it now). New rows
    go in as multi-row INSERTs (thousands per file); known ones are updated through the ORM.

    A debtor belongs to every campaign holding one of their accounts: a record that would change
    the facts (`debtor_facts`) or contact points of a debtor with an account in another campaign
    is refused and writes nothing, so no campaign can redirect another's messages. A record that
    repeats those facts as they stand may still add its account.
    """
    existing: dict[str, Account] = {}
    for part in _chunks(sorted({r.snapshot.account_id for r in records})):
        # Locked (in key order): two imports updating one account apply in turn, each moving the
        # account's KPI counts from what the other committed.
        query = select(Account).where(Account.campaign_id == campaign_id, Account.external_id.in_(part))
        query = query.order_by(Account.external_id).with_for_update()
        existing.update({a.external_id: a for a in session.scalars(query)})

    def launched(record: AccountRecord) -> bool:
        known = existing.get(record.snapshot.account_id)
        return known is not None and known.launched_at is not None

    debtors = _debtors(session, {r.debtor_external_id for r in records if not launched(r)})
    shared = _shared(session, campaign_id, [d.id for d in debtors.values()])
    refusals: dict[int, Refused] = {}
    for index, record in enumerate(records):
        debtor = debtors.get(record.debtor_external_id)
        if debtor is None or debtor.id not in shared or launched(record):
            continue
        if changes := _changes(debtor, record):
            refusals[index] = Refused(record.debtor_external_id, tuple(changes))
    writable = [r for i, r in enumerate(records) if i not in refusals and not launched(r)]
    debtor_ids = _write_debtors(session, writable, debtors)

    outcomes: list[WriteOutcome | Refused] = []
    new_accounts: list[dict[str, Any]] = []
    updates: list[tuple[Account, dict[str, Any]]] = []
    placed_at = utcnow()
    for index, record in enumerate(records):
        snap = record.snapshot
        account = existing.get(snap.account_id)
        if index in refusals:
            outcomes.append(refusals[index])
            continue
        if account is not None and account.launched_at is not None:
            outcomes.append("skipped")
            continue
        values: dict[str, Any] = {
            "debtor_id": debtor_ids[record.debtor_external_id],
            "currency": snap.currency,
            "currency_digits": minor_digits(snap.currency),  # what the amounts below mean, for good
            "balance": snap.balance,
            "original_amount": snap.original_amount,
            "due_date": snap.due_date,
            "snapshot_json": snap.model_dump(mode="json"),
        }
        if account is None:
            new_accounts.append(
                {
                    "campaign_id": campaign_id,
                    "external_id": snap.account_id,
                    "workflow_id": debtor_workflow_id(campaign_id, snap.account_id),
                    "created_at": placed_at,
                    **values,
                }
            )
            outcomes.append("accepted")
        elif all(getattr(account, name) == value for name, value in values.items()):
            outcomes.append("unchanged")
        else:
            updates.append((account, values))
            outcomes.append("updated")
    # An updated placement (balance, due date, currency) moves the account's KPI counts: out
    # before the change, back in after it.
    kpi_counters.withdraw(session, [account.id for account, _ in updates])
    for account, values in updates:
        for name, value in values.items():
            setattr(account, name, value)
    if new_accounts:
        session.execute(insert(Account), new_accounts)
        kpi_counters.placed_rows(session, campaign_id, new_accounts)
    session.flush()
    kpi_counters.deposit(session, [account.id for account, _ in updates])
    return outcomes


def debtor_facts(snapshot: AccountSnapshot) -> dict[str, str]:
    """The debtor's columns an imported row sets, by column of the debtors table."""
    return {
        "name": snapshot.debtor_name,
        "country": snapshot.country,
        "timezone": snapshot.timezone,
        "locale": snapshot.locale or "",
    }


def _debtors(session: Session, external_ids: set[str]) -> dict[str, Debtor]:
    """The known debtors among `external_ids`, with their contact points, locked for this
    transaction (on PostgreSQL): a concurrent import into another campaign waits, then sees the
    accounts this one adds before deciding whether the debtor is shared."""
    debtors: dict[str, Debtor] = {}
    for part in _chunks(sorted(external_ids)):  # one lock order for every import
        found = session.scalars(
            select(Debtor)
            .where(Debtor.external_id.in_(part))
            .order_by(Debtor.external_id)
            .options(selectinload(Debtor.contact_points))
            .with_for_update(of=Debtor)
        )
        debtors.update({d.external_id: d for d in found})
    return debtors


def _shared(session: Session, campaign_id: str, debtor_ids: Sequence[int]) -> set[int]:
    """The debtors among `debtor_ids` with an account in a campaign other than `campaign_id`."""
    shared: set[int] = set()
    for part in _chunks(debtor_ids):
        query = select(Account.debtor_id).where(Account.debtor_id.in_(part), Account.campaign_id != campaign_id)
        shared.update(session.scalars(query.distinct()))
    return shared


def _changes(debtor: Debtor, record: AccountRecord) -> list[tuple[str, str]]:
    """(import column, what it would change) for each fact of `debtor` the record differs on;
    never the stored value, which belongs to another campaign too."""
    found: dict[str, str] = {}
    for name, value in debtor_facts(record.snapshot).items():
        if getattr(debtor, name) != value:
            found.setdefault(FACT_COLUMNS[name], f"its {FACT_WORDS[name]}")
    points = {(p.channel, p.address): p for p in debtor.contact_points}
    for contact in record.contacts:
        point = points.get((contact.channel.value, contact.address))
        if point is None:
            found.setdefault(CONTACT_COLUMNS[contact.channel], f"a {contact.channel.value} address it does not have")
        elif point.consent != contact.consent or point.consent_source != contact.consent_source:
            column = f"{contact.channel.value}_consent" if contact.channel in CONSENTED else "consent"
            found.setdefault(column, f"its {contact.channel.value} consent")
    who = record.debtor_external_id
    return [
        (
            column,
            f"would change {what} for debtor {who}, who also has accounts in another campaign; an import "
            "may change only debtors whose accounts are all in this campaign (give their facts unchanged "
            "to add this account)",
        )
        for column, what in found.items()
    ]


def _write_debtors(session: Session, records: Sequence[AccountRecord], debtors: Mapping[str, Debtor]) -> dict[str, int]:
    """Create or update the records' debtors and contact points (`debtors`: the known ones, by
    external id); the id of each debtor by external id."""
    latest = {r.debtor_external_id: r for r in records}  # a debtor named twice takes its last row
    contacts: dict[str, dict[tuple[str, str], ContactRecord]] = {key: {} for key in latest}
    for record in records:
        for contact in record.contacts:
            contacts[record.debtor_external_id][(contact.channel.value, contact.address)] = contact
    ids = {key: debtor.id for key, debtor in debtors.items() if key in latest}

    for key in ids:
        debtor = debtors[key]
        for name, value in debtor_facts(latest[key].snapshot).items():
            if getattr(debtor, name) != value:
                setattr(debtor, name, value)
        points = {(p.channel, p.address): p for p in debtor.contact_points}
        for where, contact in contacts[key].items():
            point = points.get(where)
            if point is None:
                debtor.contact_points.append(
                    ContactPoint(
                        channel=where[0],
                        address=where[1],
                        consent=contact.consent,
                        consent_source=contact.consent_source,
                    )
                )
            elif point.consent != contact.consent or point.consent_source != contact.consent_source:
                # Consent is the creditor's record; an opt-out (opted_out_at) is the debtor's own
                # word and no import touches it.
                point.consent, point.consent_source = contact.consent, contact.consent_source

    fresh = [key for key in latest if key not in debtors]
    if fresh:
        rows = [{"external_id": key, **debtor_facts(latest[key].snapshot)} for key in fresh]
        created = session.execute(insert(Debtor).returning(Debtor.id, Debtor.external_id), rows)
        ids.update({external_id: id_ for id_, external_id in created})
        points_rows = [
            {
                "debtor_id": ids[key],
                "channel": channel,
                "address": address,
                "consent": contact.consent,
                "consent_source": contact.consent_source,
            }
            for key in fresh
            for (channel, address), contact in contacts[key].items()
        ]
        if points_rows:
            session.execute(insert(ContactPoint), points_rows)
    return ids


# ---- launching ---------------------------------------------------------------------------------


def begin_launch(session: Session, campaign: Campaign, now: datetime) -> None:
    """Mark the campaign running and its launch under way (the workflow marks it done)."""
    campaign.status = "running"
    campaign.launch_status = "running"
    campaign.launch_started_at = now
    campaign.launch_finished_at = None
    campaign.launch_error = None


def launch_batch(
    session: Session, campaign_id: str, limit: int, now: datetime, kept: frozenset[str] = frozenset()
) -> LaunchBatch:
    """The next accounts to start (by the partial index of accounts not launched); when none is
    left, the launch is marked done in this transaction. The compiled strategy is read unless its
    hash is in `kept` (the caller holds it already)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} does not exist")
    if campaign.status != "running":
        return LaunchBatch(campaign.status, campaign, None, [])
    rows = session.execute(
        select(Account.id, Account.workflow_id, Account.snapshot_json)
        .where(Account.campaign_id == campaign_id, Account.launched_at.is_(None))
        .order_by(Account.id)
        .limit(limit)
    ).all()
    if not rows:
        if campaign.launch_status != "done":
            campaign.launch_status = "done"
            campaign.launch_finished_at = now
        return LaunchBatch(campaign.status, campaign, None, [])
    strategy = None
    if campaign.strategy_hash not in kept:
        strategy = session.scalar(
            select(StrategyVersion.compiled_json).where(StrategyVersion.hash == campaign.strategy_hash)
        )
        if strategy is None:
            raise LookupError(f"campaign {campaign_id} uses strategy {campaign.strategy_hash}, which is not published")
    return LaunchBatch(campaign.status, campaign, strategy, [(r[0], r[1], r[2]) for r in rows])


def mark_launched(session: Session, campaign_id: str, account_ids: Sequence[int], now: datetime) -> int:
    """Record the accounts as started; counts each once however often a retried batch marks it."""
    marked = 0
    for part in _chunks(account_ids):
        result = session.execute(
            update(Account)
            .where(Account.campaign_id == campaign_id, Account.id.in_(part), Account.launched_at.is_(None))
            .values(launched_at=now)
        )
        marked += result.rowcount  # type: ignore[attr-defined]
    if marked:
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(launched=Campaign.launched + marked))
    return marked


def finish_launch(session: Session, campaign_id: str, now: datetime) -> None:
    """The launch ends (the campaign was stopped): mark it done where it was under way."""
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.launch_status == "running")
        .values(launch_status="done", launch_finished_at=now)
    )


def fail_launch(session: Session, campaign_id: str, reason: str, now: datetime) -> None:
    """The launch cannot go on (an account cannot be started, and retrying cannot change that)."""
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(launch_status="failed", launch_error=reason, launch_finished_at=now)
    )


def launched_after(session: Session, campaign_id: str, after_id: int, limit: int) -> list[tuple[int, str]]:
    """(id, workflow_id) of launched accounts with an id above `after_id`, in id order."""
    rows = session.execute(
        select(Account.id, Account.workflow_id)
        .where(Account.campaign_id == campaign_id, Account.launched_at.is_not(None), Account.id > after_id)
        .order_by(Account.id)
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]
