"""At 100,000 accounts on PostgreSQL, with statistics gathered (ANALYZE), the statements behind
the agents' next task and claim, the score upkeep of a turn, the account lists (filters, deep
keyset pages, an agent's own), an agent's access check and the timeline read a page's worth of
rows through indexes: the planner's own EXPLAIN ANALYZE shows no sequential scan of a large table
and few rows read, whatever the table sizes. The statements are the product's own, captured as
its functions run (tests/db/portfolio.py writes the rows).

PostgreSQL only (TEST_DATABASE_URL); seeding takes about half a minute.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from clock import TEST_NOW
from portfolio import seed
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from db.migrate import upgrade
from db.repositories import accounts, approvals, tasks
from db.repositories import kpis as kpi_facts
from db.repositories import timeline as history
from db.session import make_engine, normalize_url
from services import accounts_view, next_task, task_priority

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ACCOUNTS = 100_000
LARGE = {
    "accounts",
    "account_states",
    "agent_tasks",
    "debtors",
    "outcomes",
    "promises",
    "communications",
    "message_events",
    "payments",
    "fees",
}
# A page is 51 rows; joins and the access checks' per-account lookups read a few rows for each.
# (Two read-model filters at once read a page of the first one's index per page of matches of
# both: how many depends on how rare the pair is, so each filter is checked on its own here.)
MOST_ROWS_READ = 2_000
LATER = TEST_NOW - timedelta(days=30)  # nothing is urgent yet: the score band answers
AGENT = tasks.Who("agent3", ("calls",))
TODAY = accounts_view.debtors_today(TEST_NOW)
Filters = accounts.AccountFilters


@dataclass
class Scan:
    relation: str
    node: str
    index: str | None
    rows: float


@dataclass
class Plan:
    statement: str
    scans: list[Scan] = field(default_factory=list)

    @property
    def rows_read(self) -> float:
        return sum(s.rows for s in self.scans)

    @property
    def indexes(self) -> set[str]:
        return {s.index for s in self.scans if s.index}


@pytest.fixture(scope="module")
def portfolio_engine() -> Iterator[Engine]:
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("TEST_DATABASE_URL is not set; the query plans are PostgreSQL's")
    schema = f"plans_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url)
    try:
        upgrade(url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            seed(connection, TEST_NOW, ACCOUNTS)
        with Session(engine) as session:
            task_priority.rescore_all(session)
            session.commit()
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def plans(engine: Engine, call: Callable[[Session], Any]) -> list[Plan]:
    """Run `call`, then EXPLAIN ANALYZE every statement it sent (in a transaction rolled back)."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            call(session)
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    out = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in sent:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            (document,) = cursor.fetchone()
            document = json.loads(document) if isinstance(document, str) else document
            plan = Plan(statement)
            _walk(document[0]["Plan"], plan)
            out.append(plan)
        raw.rollback()
    finally:
        raw.close()
    return out


def _walk(node: dict[str, Any], plan: Plan) -> None:
    if "Relation Name" in node:
        rows = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * node.get("Actual Loops", 1)
        plan.scans.append(Scan(node["Relation Name"], node["Node Type"], node.get("Index Name"), rows))
    for child in node.get("Plans", []):
        _walk(child, plan)


def assert_indexed(found: list[Plan]) -> None:
    for plan in found:
        sequential = [s.relation for s in plan.scans if s.node == "Seq Scan" and s.relation in LARGE]
        assert not sequential, (sequential, plan.statement)
        assert plan.rows_read <= MOST_ROWS_READ, (plan.rows_read, plan.scans, plan.statement)


def vacuum(engine: Engine) -> None:
    """VACUUM ANALYZE the read model (outside a transaction, as VACUUM must run)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE account_states"))


def used(found: list[Plan]) -> set[str]:
    return set().union(*(p.indexes for p in found))


class TestNextTask:
    def test_an_agent_with_urgent_tasks(self, portfolio_engine: Engine) -> None:
        found = plans(portfolio_engine, lambda s: next_task.next_task(s, AGENT, queue=None, now=TEST_NOW))
        assert_indexed(found)
        assert {"ix_agent_tasks_open_queue_due", "ix_agent_tasks_reserved_due"} <= used(found)

    def test_an_agent_by_score(self, portfolio_engine: Engine) -> None:
        found = plans(portfolio_engine, lambda s: next_task.next_task(s, AGENT, queue=None, now=LATER))
        assert_indexed(found)
        assert {"ix_agent_tasks_open_queue_score", "ix_agent_tasks_reserved_score"} <= used(found)

    def test_a_supervisor_across_queues(self, portfolio_engine: Engine) -> None:
        found = plans(portfolio_engine, lambda s: next_task.next_task(s, None, queue=None, now=TEST_NOW))
        found += plans(portfolio_engine, lambda s: next_task.next_task(s, None, queue=None, now=LATER))
        assert_indexed(found)
        assert {"ix_agent_tasks_open_due", "ix_agent_tasks_open_score"} <= used(found)

    def test_claiming_the_next_task(self, portfolio_engine: Engine) -> None:
        found = plans(portfolio_engine, lambda s: next_task.claim_next(s, AGENT, "agent3", queue=None, now=TEST_NOW))
        assert_indexed(found)
        assert any("SKIP LOCKED" in p.statement for p in found)

    def test_a_turn_keeps_the_debtors_scores(self, portfolio_engine: Engine) -> None:
        with portfolio_engine.connect() as connection:
            debtor = connection.execute(
                text(
                    "SELECT a.debtor_id FROM agent_tasks t JOIN accounts a ON a.id = t.account_id "
                    "WHERE t.status = 'open' ORDER BY t.id LIMIT 1"
                )
            ).scalar_one()

        def turn(session: Session) -> None:
            task_priority.hold_debtor(session, debtor)
            task_priority.rescore_debtor(session, debtor)

        assert_indexed(plans(portfolio_engine, turn))


class TestLists:
    @pytest.mark.parametrize(
        "filters",
        [
            Filters(campaign_id="bench-a"),
            Filters(campaign_id="bench-a", stage="legal"),
            Filters(campaign_id="bench-b", segment="vip"),
            Filters(campaign_id="bench-b", variant="challenger"),
            Filters(campaign_id="bench-a", dpd_bucket="30-59"),
            Filters(stage="hold"),
            Filters(agent="agent7"),
            Filters(campaign_id="bench-a", overpaid=True),
            Filters(overpaid=True),
        ],
        ids=[
            "campaign",
            "campaign-stage",
            "campaign-segment",
            "campaign-variant",
            "campaign-dpd",
            "stage",
            "agent",
            "campaign-overpaid",
            "overpaid",
        ],
    )
    @pytest.mark.parametrize("after", [None, 90_000], ids=["first-page", "deep-page"])
    def test_supervisor_pages(self, portfolio_engine: Engine, filters: accounts.AccountFilters, after: int) -> None:
        assert_indexed(
            plans(
                portfolio_engine,
                lambda s: accounts.listing(s, filters, today=TODAY, who=None, after=after, limit=50),
            )
        )

    @pytest.mark.parametrize("after", [None, 50_000], ids=["first-page", "deep-page"])
    def test_an_agents_own_accounts(self, portfolio_engine: Engine, after: int | None) -> None:
        assert_indexed(
            plans(
                portfolio_engine,
                lambda s: accounts.listing(s, Filters(), today=TODAY, who=AGENT, after=after, limit=50),
            )
        )

    @pytest.mark.parametrize("overpaid", [True, False], ids=["overpaid", "none-overpaid"])
    def test_the_overpaid_filter_reads_only_overpaid_accounts(self, portfolio_engine: Engine, overpaid: bool) -> None:
        """Through its partial index, with or without overpaid accounts to find: a page of them,
        and the campaign's KPI sum of them, read only their index entries."""
        with portfolio_engine.begin() as connection:
            few = "account_id % 1000 = 8" if overpaid else "false"
            connection.execute(text(f"UPDATE account_states SET overpaid = 500 WHERE {few}"))
        try:

            def read(session: Session) -> None:
                overpaid_a = Filters(campaign_id="bench-a", overpaid=True)
                accounts.listing(session, overpaid_a, today=TEST_NOW.date(), who=None, after=None, limit=50)
                kpi_facts.overpaid(session, "bench-a", "CLP")

            found = plans(portfolio_engine, read)
            assert_indexed(found)
            assert used(found) & {"ix_account_states_overpaid_campaign", "ix_account_states_overpaid"}
        finally:
            with portfolio_engine.begin() as connection:
                connection.execute(text("UPDATE account_states SET overpaid = 0 WHERE overpaid > 0"))

    @pytest.mark.parametrize("charged", ["account_id % 1000 = 8", "account_id % 3 = 0"], ids=["few", "a-third"])
    def test_the_charged_kpi_reads_only_its_index(self, portfolio_engine: Engine, charged: str) -> None:
        """The campaign's fees and interest are summed from the partial index alone (an index-only
        scan, the visibility map kept by VACUUM as autovacuum keeps it): only the entries of the
        accounts charged anything, never the read-model rows."""
        with portfolio_engine.begin() as connection:
            connection.execute(
                text(
                    f"UPDATE account_states SET interest_total = 700, fees_total = account_id % 2 * 300 WHERE {charged}"
                )
            )
            expected = connection.scalar(
                text(f"SELECT count(*) FROM account_states WHERE campaign_id = 'bench-a' AND {charged}")
            )
        vacuum(portfolio_engine)
        try:
            (plan,) = plans(portfolio_engine, lambda session: kpi_facts.charged(session, "bench-a", "CLP"))
            assert [(s.node, s.index, s.rows) for s in plan.scans] == [
                ("Index Only Scan", "ix_account_states_charged", expected)
            ]
        finally:
            with portfolio_engine.begin() as connection:
                connection.execute(
                    text(f"UPDATE account_states SET interest_total = 0, fees_total = 0 WHERE {charged}")
                )
            vacuum(portfolio_engine)

    def test_the_pending_approvals_queue(self, portfolio_engine: Engine) -> None:
        found = plans(
            portfolio_engine,
            lambda s: approvals.listing(s, status="pending", campaign_id=None, after=None, limit=50),
        )
        assert_indexed(found)

    def test_an_agents_access_to_one_account(self, portfolio_engine: Engine) -> None:
        assert_indexed(plans(portfolio_engine, lambda s: accounts.agent_may_see(s, 4_550, AGENT)))

    def test_an_account_and_its_timeline(self, portfolio_engine: Engine) -> None:
        def page(session: Session) -> None:
            accounts.get(session, 4_550)
            accounts.state(session, 4_550)
            tasks.active_for_account(session, 4_550)
            history.timeline(session, 4_550)

        assert_indexed(plans(portfolio_engine, page))
