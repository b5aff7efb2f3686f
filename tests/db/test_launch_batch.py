"""The launcher's batch query on both databases: it reads the next accounts still to launch, in id
order, through the partial index of unlaunched accounts (not by sorting every unlaunched row of the
campaign for each batch), and a kept strategy is not read again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from api.account_import import parse_csv
from db.models import Campaign
from db.repositories import campaigns as repo
from db.repositories import strategies as strategies_repo
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def seed(sessions: sessionmaker[Session], campaign_id: str, accounts: int) -> str:
    strategy = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    lines = ["account_id,country,currency,balance,due_date,timezone"]
    lines += [f"{campaign_id}-{n:05d},CL,CLP,{100000 + n},2026-10-15,America/Santiago" for n in range(accounts)]
    parsed = parse_csv("\n".join(lines).encode(), "CLP", today=date(2026, 11, 30))
    assert not parsed.problems
    with sessions() as session:
        if strategies_repo.by_hash(session, strategy.hash) is None:
            strategies_repo.publish(session, strategy, source_yaml="", published_by="test")
        campaign = Campaign(
            id=campaign_id, name=campaign_id, strategy_hash=strategy.hash, creditor_name="Andes", status="running"
        )
        assert repo.create(session, campaign)
        repo.write_accounts(session, campaign_id, [a.record for a in parsed.accounts])
        session.commit()
    return strategy.hash


def statements(session: Session, call: Any) -> list[tuple[str, Any]]:
    """The SQL statements (and parameters) `call` runs on the session's connection."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(connection, "before_cursor_execute", record)
    return seen


def test_batches_come_in_id_order_skip_launched_accounts_and_read_a_kept_strategy_once(
    sessions: sessionmaker[Session],
) -> None:
    strategy_hash = seed(sessions, "c1", 12)
    seed(sessions, "c2", 5)  # another campaign's accounts are never in c1's batches
    with sessions() as session:
        first = repo.launch_batch(session, "c1", 5, NOW)
        assert first.compiled is not None
        assert first.compiled["hash"] == strategy_hash
        ids = [id_ for id_, _, _ in first.accounts]
        assert ids == sorted(ids)
        assert len(ids) == 5
        assert repo.mark_launched(session, "c1", ids[:3], NOW) == 3
        second = repo.launch_batch(session, "c1", 5, NOW, kept=frozenset({strategy_hash}))
        assert second.compiled is None  # the caller holds it
        assert [id_ for id_, _, _ in second.accounts][:2] == ids[3:]
        assert all(wf.startswith("debtor:c1:") for _, wf, _ in second.accounts)


def test_the_next_batch_is_read_through_the_partial_index_of_unlaunched_accounts(
    sessions: sessionmaker[Session],
) -> None:
    seed(sessions, "c1", 300)
    with sessions() as session:
        repo.mark_launched(
            session, "c1", [id_ for id_, _, _ in repo.launch_batch(session, "c1", 200, NOW).accounts], NOW
        )
        session.commit()
    with sessions() as session:
        ran = statements(session, lambda: repo.launch_batch(session, "c1", 50, NOW))
        (query, parameters), *_ = [(s, p) for s, p in ran if "FROM accounts" in s and "launched_at IS NULL" in s]
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            session.execute(text("ANALYZE accounts"))
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                session.execute(text(f"SET LOCAL {setting} = off"))  # tiny tables: ask for the best index path
            raw = session.connection().exec_driver_sql(f"EXPLAIN {query}", parameters).all()
        else:
            raw = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", parameters).all()
        plan = "\n".join(" ".join(str(col) for col in row) for row in raw)
        assert "ix_accounts_unlaunched" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # SQLite: already in id order
        assert "Sort" not in plan, plan  # PostgreSQL: the same
