"""The lists' days-past-due bucket filter (SQL, db/repositories/accounts.listing) keeps exactly
the accounts whose days past due, as every door counts them (services/accounts_view.days_past_due),
fall in the bucket: for debtors in zones from UTC-11 to UTC+14 (quarter-hour offsets and an
unknown zone among them), at every hour of a day and around local midnights, for accounts that
have run (the read model's `past_due_since`, or no date in a row from before it was kept) and
accounts that have not (their due date), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from live_account import one_email, open_account, publish, snapshot, strategy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Account
from db.models import AccountState as AccountStateRow
from db.repositories import accounts
from db.repositories import campaigns as campaigns_repo
from db.session import session_scope
from services import accounts_view
from workflows.contracts import debtor_workflow_id

ZONES = [
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Chatham",  # UTC+13:45 in December
    "Asia/Kathmandu",  # UTC+5:45
    "UTC",
    "America/St_Johns",  # UTC-3:30
    "America/Santiago",  # UTC-3 in December
    "Pacific/Pago_Pago",  # UTC-11
]
UNKNOWN_ZONE = "Mars/Olympus_Mons"  # an old row's zone no one knows: counted in UTC
DAY = date(2026, 12, 2)
DAY_NOON = datetime(2026, 12, 2, 12, tzinfo=UTC)
# Each hour of the day, and the minutes around the quarter-hour zones' midnights.
NOWS = [datetime(2026, 12, 2, h, tzinfo=UTC) for h in range(24)] + [
    datetime(2026, 12, 2, 10, 14, 59, tzinfo=UTC),  # Chatham: 23:59:59
    datetime(2026, 12, 2, 10, 15, tzinfo=UTC),  # Chatham: midnight
    datetime(2026, 12, 2, 18, 14, 59, tzinfo=UTC),  # Kathmandu: 23:59:59
    datetime(2026, 12, 2, 18, 15, tzinfo=UTC),
    datetime(2026, 12, 2, 3, 29, 59, tzinfo=UTC),  # St John's: 23:59:59 of the day before
    datetime(2026, 12, 2, 3, 30, tzinfo=UTC),
]
# Days before DAY the dates lie: on either side of every bucket's bounds.
SHIFTS = sorted({edge + d for edge in (0, 1, 29, 30, 59, 60, 89, 90) for d in (-2, -1, 0, 1, 2)})
CAMPAIGN = "c-buckets"
STRATEGY = one_email("buckets", wait=None)


def seed(sessions: sessionmaker[Session]) -> None:
    """For each zone and date: an account not run (due then), one that ran counting from then (due
    long before: the read model's date is what counts), and one whose row has no date (due then)."""
    version = strategy(STRATEGY)
    publish(sessions, version)
    open_account(sessions, CAMPAIGN, snapshot("first"), version.hash)
    with session_scope(sessions) as session:
        for zone in [*ZONES, UNKNOWN_ZONE]:
            for shift in SHIFTS:
                when = DAY - timedelta(days=shift)
                for kind in ("not_run", "ran", "ran_before_the_date_was_kept"):
                    external = f"{kind}-{zone}-{shift}"
                    due = when - timedelta(days=365) if kind == "ran" else when
                    known = zone if zone != UNKNOWN_ZONE else "UTC"
                    snap = snapshot(external, due_date=due.isoformat(), timezone=known)
                    record = campaigns_repo.AccountRecord(
                        snapshot=snap, debtor_external_id=f"d-{external}", contacts=()
                    )
                    campaigns_repo.write_accounts(session, CAMPAIGN, [record])
                    wf = debtor_workflow_id(CAMPAIGN, external)
                    account = session.scalars(select(Account).where(Account.workflow_id == wf)).one()
                    if zone == UNKNOWN_ZONE:  # imports refuse it: written as an old row would hold it
                        account.snapshot_json = {**account.snapshot_json, "timezone": zone}
                    if kind != "not_run":
                        session.add(state_row(account.id, wf, when if kind == "ran" else None))


def state_row(account_id: int, workflow_id: str, since: date | None) -> AccountStateRow:
    return AccountStateRow(
        account_id=account_id,
        workflow_id=workflow_id,
        campaign_id=CAMPAIGN,
        stage="contact",
        step="aviso",
        segment="all",
        variant=None,
        strategy_hash="0" * 64,
        balance=1,
        paid_total=0,
        currency="CLP",
        days_past_due=0,
        past_due_since=since,
        contacts=0,
        version=1,
    )


def test_the_bucket_filter_keeps_what_the_accounts_show(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with sessions() as session:
        everyone = accounts.listing(
            session,
            accounts.AccountFilters(),
            today=accounts_view.debtors_today(DAY_NOON),
            who=None,
            after=None,
            limit=10_000,
        )
        assert len(everyone) == 1 + (len(ZONES) + 1) * len(SHIFTS) * 3
        mismatches = []
        for now in NOWS:
            today = accounts_view.debtors_today(now)
            shown = {a.id: accounts.dpd_bucket(accounts_view.days_past_due(a, r, now)) for a, r in everyone}
            for bucket in accounts.DPD_BUCKETS:
                for filters in (
                    accounts.AccountFilters(campaign_id=CAMPAIGN, dpd_bucket=bucket),
                    accounts.AccountFilters(campaign_id=CAMPAIGN, stage="contact", dpd_bucket=bucket),
                ):
                    kept = accounts.listing(session, filters, today=today, who=None, after=None, limit=10_000)
                    ran = {a.id for a, r in everyone if r is not None}
                    wanted = sorted(i for i, b in shown.items() if b == bucket and (filters.stage is None or i in ran))
                    if [a.id for a, _ in kept] != wanted:
                        mismatches.append((now, filters))
        assert mismatches == []
