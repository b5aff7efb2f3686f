"""The indexes the agents' queue and the supervisors' lists are answered from exist after the
migrations, with their columns, sort orders and partial-index predicates, on SQLite and
PostgreSQL (tests/db/test_query_plans.py shows the planner using them at scale)."""

from __future__ import annotations

import re

from sqlalchemy import Connection, inspect, text

from db.session import make_engine

OPEN_UNASSIGNED = "status='open'andassigned_agentisnull"
OPEN_RESERVED = "status='open'andassigned_agentisnotnull"
# table -> index name -> (columns, with " desc" where descending; predicate of a partial index)
EXPECTED: dict[str, dict[str, tuple[list[str], str | None]]] = {
    "agent_tasks": {
        "ix_agent_tasks_open_queue_due": (["queue", "due_at", "score desc", "id"], OPEN_UNASSIGNED),
        "ix_agent_tasks_open_queue_score": (["queue", "score desc", "due_at", "id"], OPEN_UNASSIGNED),
        "ix_agent_tasks_open_due": (["due_at", "score desc", "id"], OPEN_UNASSIGNED),
        "ix_agent_tasks_open_score": (["score desc", "due_at", "id"], OPEN_UNASSIGNED),
        "ix_agent_tasks_reserved_due": (["assigned_agent", "due_at", "score desc", "id"], OPEN_RESERVED),
        "ix_agent_tasks_reserved_score": (["assigned_agent", "score desc", "due_at", "id"], OPEN_RESERVED),
        "ix_agent_tasks_assigned_agent_status": (["assigned_agent", "status"], None),
        "ix_agent_tasks_account_id": (["account_id"], None),
    },
    "accounts": {
        "ix_accounts_campaign_id_id": (["campaign_id", "id"], None),
        "ix_accounts_debtor_id": (["debtor_id"], None),
    },
    "account_states": {
        "ix_account_states_campaign_id_stage_account_id": (["campaign_id", "stage", "account_id"], None),
        "ix_account_states_campaign_id_segment_account_id": (["campaign_id", "segment", "account_id"], None),
        "ix_account_states_campaign_id_variant_account_id": (["campaign_id", "variant", "account_id"], None),
        "ix_account_states_stage_account_id": (["stage", "account_id"], None),
        "ix_account_states_assigned_agent_account_id": (["assigned_agent", "account_id"], None),
        "ix_account_states_overpaid_campaign": (["campaign_id", "account_id"], "overpaid>0"),
        "ix_account_states_overpaid": (["account_id"], "overpaid>0"),
        # The charged KPI's sums, read from the index alone.
        "ix_account_states_charged": (
            ["campaign_id", "currency", "fees_total", "interest_total"],
            "fees_total>0orinterest_total>0",
        ),
    },
    # The supervisors' approvals queue: `status = 'pending' ORDER BY id`.
    "approvals": {"ix_approvals_status_id": (["status", "id"], None)},
    # What a timeline and a debtor's history read by account.
    "outcomes": {"ix_outcomes_account_id": (["account_id"], None)},
    "promises": {"ix_promises_account_id": (["account_id"], None)},
    "communications": {"ix_communications_account_id_created_at": (["account_id", "created_at"], None)},
}


def _predicate(where: object) -> str | None:
    if where is None:
        return None
    plain = re.sub(r"::\w+|[()\s]", "", str(where)).lower()
    return plain or None


def _descending(connection: Connection, index: str) -> set[str]:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text(f"PRAGMA index_xinfo('{index}')")).mappings()
        return {r["name"] for r in rows if r["key"] and r["desc"]}
    return set()


def indexes(url: str, table: str) -> dict[str, tuple[list[str], str | None]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = {}
            for index in inspect(connection).get_indexes(table):
                name = str(index["name"])
                descending = _descending(connection, name) | {
                    column for column, order in index.get("column_sorting", {}).items() if "desc" in order
                }
                columns = [f"{c} desc" if c in descending else str(c) for c in index["column_names"]]
                options = index.get("dialect_options", {})
                where = options.get("postgresql_where", options.get("sqlite_where"))
                found[name] = (columns, _predicate(where))
            return found
    finally:
        engine.dispose()


def test_the_queue_and_list_indexes_exist(migrated_url: str) -> None:
    for table, expected in EXPECTED.items():
        found = indexes(migrated_url, table)
        assert {name: found.get(name) for name in expected} == expected, table


def test_the_read_model_lost_its_single_column_indexes(migrated_url: str) -> None:
    """Each was a prefix of a composite one, and every index costs the turns that write the row."""
    found = indexes(migrated_url, "account_states")
    assert not {"ix_account_states_campaign_id", "ix_account_states_stage", "ix_account_states_assigned_agent"} & set(
        found
    )
