"""What the live account timeline (db/repositories/timeline.py) tells supervisors and agents.

Money: every kind of entry whose summary names an amount reads it as the simulator's timeline
does (strategies/amounts.py `Currency.shown`): in the account's locale, with the digits the row
recorded, never as minor units ("150000 CLP"). Versions: an account moved to another strategy
version keeps its earlier entries in the stages and rule origins of the version that ran them,
read with one query for all its versions. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from live_account import open_account, publish, snapshot, strategy, turn
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from activities.turns import TurnActivities
from db.models import (
    AccountEvent,
    CreditorNotification,
    LegalReferral,
    Payment,
    PaymentPlan,
    PlanInstallment,
    Promise,
)
from db.repositories import timeline as history
from db.session import session_scope
from domain import actions as act
from domain.types import Channel

T1 = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
AMOUNT = 150_000  # minor units: 150.000 pesos, or 1,500.00 dollars
STRATEGY = """
id: live-timeline
name: Live timeline
locale: es-CL
currency: CLP
timezone: America/Santiago
policy:
  preset: NONE
  caps: [{{id: two-emails-a-week, channels: [email], max: 2, per: 7d}}]
segments: [{{name: all, start: aviso}}]
steps:
  aviso:
    stage: {stage}
    do:
      - send: {{channel: email, template: aviso}}
      - wait: 10d
      - end: written_off
templates:
  aviso:
    es-CL: {{subject: Aviso, body: Hola}}
"""
# The version the account moves to: the same step in another stage, and no cap of its own.
MOVED = STRATEGY.format(stage="commitment").replace(
    "  caps: [{id: two-emails-a-week, channels: [email], max: 2, per: 7d}]\n", ""
)
# Money as minor units with a currency code after it: what the timeline must never show.
RAW_MONEY = re.compile(r"\b\d{4,} [A-Z]{3}\b")
MONEY_KINDS = {"payment", "promise", "promise_settled", "plan", "fee", "interest", "legal_referral"}


def blocked(step: str) -> act.ContactBlocked:
    return act.ContactBlocked(step=step, channel=Channel.EMAIL, rule="two-emails-a-week", reason="2 emails in 7 days")


def money_rows(session: Session, account_id: int, campaign_id: str, currency: str) -> None:
    """One row of every kind of fact that carries money the turn record does not write here."""
    key = f"{campaign_id}:{account_id}"
    session.add(
        Payment(
            account_id=account_id,
            provider="khipu",
            provider_payment_id=key,
            amount=AMOUNT,
            currency=currency,
            received_at=T1 + timedelta(hours=1),
        )
    )
    session.add(
        Promise(
            key=f"{key}:promise",
            account_id=account_id,
            amount=AMOUNT,
            currency=currency,
            due_date=date(2026, 12, 9),
            status="kept",
            made_at=T1,
            settled_at=T1 + timedelta(hours=1),
        )
    )
    plan = PaymentPlan(
        key=f"{key}:plan",
        account_id=account_id,
        installments=3,
        down_payment=0,
        currency=currency,
        frequency="monthly",
        agreed_at=T1 + timedelta(hours=2),
    )
    session.add(plan)
    session.flush()
    for number in (1, 2, 3):
        due = date(2027, number, 5)
        session.add(PlanInstallment(plan_id=plan.id, number=number, due_date=due, amount=AMOUNT))
    session.add(
        LegalReferral(
            key=f"{key}:legal",
            account_id=account_id,
            balance=AMOUNT * 2,
            currency=currency,
            case_json={},
            created_at=T1,
        )
    )
    session.add(
        CreditorNotification(
            key=f"{key}:notify",
            account_id=account_id,
            campaign_id=campaign_id,
            step="aviso",
            event="paid",
            balance=AMOUNT,
            currency=currency,
            body={},
            status="delivered",
            attempts=1,
            created_at=T1,
        )
    )
    session.add(
        AccountEvent(
            key=f"{key}:offer",
            account_id=account_id,
            kind="offer_expired",
            step="aviso",
            at=T1,
            details={"offer": "settlement"},
        )
    )


def live_account(sessions: sessionmaker[Session], campaign_id: str, **fields: Any) -> list[history.Entry]:
    """An account with every kind of money entry, written by the turn record and the API's rows."""
    version = strategy(STRATEGY.format(stage="outreach"))
    publish(sessions, version)
    snap = snapshot(f"{campaign_id}-1", **fields)
    account_id = open_account(sessions, campaign_id, snap, version.hash)
    charges = (
        act.ApplyFee(seq=1, step="aviso", amount=AMOUNT, requested=AMOUNT * 2, rule="CL-FEE-CAP"),
        act.ChargeInterest(seq=2, step="aviso", amount=12_345, through=date(2026, 12, 2), total=123_456),
    )
    TurnActivities(sessions).record_turn(turn(campaign_id, snap, version.hash, 1, T1, step="aviso", actions=charges))
    with session_scope(sessions) as session:
        money_rows(session, account_id, campaign_id, snap.currency)
    with session_scope(sessions) as session:
        return history.timeline(session, account_id)


class TestMoney:
    def test_no_entry_reads_minor_units_and_pesos_and_dollars_read_as_their_locale_writes_them(
        self, sessions: sessionmaker[Session]
    ) -> None:
        pesos = live_account(sessions, "c-clp")
        dollars = live_account(
            sessions, "c-usd", currency="USD", country="US", timezone="America/New_York", locale="en-US"
        )
        for entries in (pesos, dollars):
            assert {e.kind for e in entries} >= MONEY_KINDS  # every kind that names an amount is here
            for e in entries:
                assert not RAW_MONEY.search(e.summary), e
                assert str(AMOUNT) not in e.summary, e
        [peso_payment] = [e.summary for e in pesos if e.kind == "payment"]
        [dollar_payment] = [e.summary for e in dollars if e.kind == "payment"]
        assert peso_payment == "payment of $150.000"
        assert dollar_payment == "payment of $1,500.00"
        [fee] = [e.summary for e in dollars if e.kind == "fee"]
        assert fee == "fee of $1,500.00 at step aviso (capped by CL-FEE-CAP from $3,000.00)"
        [plan] = [e.summary for e in pesos if e.kind == "plan"]
        assert plan == "plan of 3 monthly installments, $450.000 (active)"
        [interest] = [e.summary for e in pesos if e.kind == "interest"]
        assert interest == "interest charged $12.345 at step aviso ($123.456 so far)"


class TestVersions:
    def test_entries_before_a_move_keep_the_stage_and_rule_origin_of_the_version_that_made_them(
        self, sessions: sessionmaker[Session]
    ) -> None:
        first, moved = strategy(STRATEGY.format(stage="outreach")), strategy(MOVED)
        for version in (first, moved):
            publish(sessions, version)
        snap = snapshot("moved-1")
        account_id = open_account(sessions, "c-move", snap, first.hash)
        turns = TurnActivities(sessions)
        fee = act.ApplyFee(seq=1, step="aviso", amount=5_000, requested=5_000)
        turns.record_turn(turn("c-move", snap, first.hash, 1, T1, step="aviso", actions=(blocked("aviso"), fee)))
        # The supervisor moved the account to the new version; its next turns ran that one.
        later = T1 + timedelta(days=1)
        turns.record_turn(turn("c-move", snap, moved.hash, 2, later, step="aviso", actions=(blocked("aviso"),)))
        turns.record_turn(turn("c-move", snap, moved.hash, 3, later + timedelta(days=1), step="aviso"))

        with session_scope(sessions) as session:
            versions_read: list[str] = []

            def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
                if "strategy_versions" in statement:
                    versions_read.append(statement)

            engine = session.get_bind()
            event.listen(engine, "before_cursor_execute", count)
            try:
                entries = history.timeline(session, account_id)
            finally:
                event.remove(engine, "before_cursor_execute", count)

        before, after = [e for e in entries if e.at == T1], [e for e in entries if e.at == later]
        [old_block] = [e for e in before if e.kind == "communication"]
        [old_fee] = [e for e in before if e.kind == "fee"]
        [new_block] = [e for e in after if e.kind == "communication"]
        assert (old_block.details["stage"], old_fee.details["stage"]) == ("outreach", "outreach")
        assert "blocked by your strategy's rule `two-emails-a-week`" in old_block.summary
        assert new_block.details["stage"] == "commitment"
        assert "blocked by two-emails-a-week:" in new_block.summary  # no longer a rule of its own
        # Both versions in one read (the locale's read names the table too, in a query of its own).
        assert len([s for s in versions_read if "compiled_json" in s and " IN " in s]) == 1
        assert len(versions_read) <= 2
