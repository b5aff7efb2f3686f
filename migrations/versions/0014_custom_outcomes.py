"""Custom outcome codes: whether an agent outcome reached the right party is recorded with it, and
counted apart.

A strategy may declare outcome codes of its own, each saying whether it was a conversation with
the debtor, so the code alone no longer tells a right-party contact. `outcomes.right_party_contact`
holds what the interpreter counted; rows written before stay NULL, and their built-in code says it
(every code but no_answer and wrong_party), as it always did. The KPI counters gain
`right_party` and `agent_right_party` (db/models/kpis.py); this revision counts the outcomes already
counted, with that rule, from the `outcome` and `agent_outcome` rows of every grain.

Revision ID: 0014_custom_outcomes
Revises: 0013_creditor_notify
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_custom_outcomes"
down_revision: str | None = "0013_creditor_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS_BEFORE = (
    "placed",
    "message",
    "call",
    "outcome",
    "promise",
    "payment",
    "fee",
    "agent_outcome",
    "agent_promise",
    "agent_task_done",
    "agent_collected",
    "agent_paid_after",
    "agent_paid_before",
)
NEW_FACTS = {"right_party": "outcome", "agent_right_party": "agent_outcome"}  # new fact -> counted from
NOT_CONVERSATIONS = ("no_answer", "wrong_party")
COLUMNS = "campaign_id, fact, currency, grain, day, variant, agent, detail, count, amount, revision"


def _facts_check(facts: Sequence[str]) -> str:
    return "fact IN (" + ", ".join(f"'{fact}'" for fact in facts) + ")"


def upgrade() -> None:
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("right_party_contact", sa.Boolean(), nullable=True))
    with op.batch_alter_table("kpi_counters", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_kpi_counters_fact"), type_="check")
        batch_op.create_check_constraint("fact", _facts_check((*FACTS_BEFORE, *NEW_FACTS)))
    spoke = "detail NOT IN (" + ", ".join(f"'{code}'" for code in NOT_CONVERSATIONS) + ")"
    for fact, source in NEW_FACTS.items():
        op.execute(
            f"""INSERT INTO kpi_counters ({COLUMNS})
                SELECT campaign_id, '{fact}', currency, grain, day, variant, agent, '', SUM(count), 0, 1
                FROM kpi_counters WHERE fact = '{source}' AND {spoke}
                GROUP BY campaign_id, currency, grain, day, variant, agent
                HAVING SUM(count) <> 0"""
        )


def downgrade() -> None:
    op.execute("DELETE FROM kpi_counters WHERE fact IN (" + ", ".join(f"'{f}'" for f in NEW_FACTS) + ")")
    with op.batch_alter_table("kpi_counters", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_kpi_counters_fact"), type_="check")
        batch_op.create_check_constraint("fact", _facts_check(FACTS_BEFORE))
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_column("right_party_contact")
