"""KPI counters and roll-rate snapshots: what campaign KPIs are read from instead of every
account's facts.

`kpi_counters` holds, per campaign, currency, fact, UTC day, variant, agent and detail, a count, an
amount and a revision (db/models/kpis.py says what each fact counts); the code that writes a fact
keeps it current from now on, and this revision counts the facts already in the database, with
the same rules (db/repositories/kpi_counters.py `recount`, written out here in SQL because a
revision must not import application code). `kpi_roll_snapshots` starts empty: month-end
transitions are computed when first asked for.

Revision ID: 0008_kpi_counters
Revises: 0006_payment_delivery
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_kpi_counters"
down_revision: str | None = "0006_payment_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = ("placed", "message", "call", "outcome", "promise", "payment", "fee", "task_done")
CONTACTED = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")
COLUMNS = "campaign_id, currency, fact, day, variant, agent, detail, count, amount, revision"


def upgrade() -> None:
    op.create_table(
        "kpi_counters",
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fact", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("variant", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "fact IN (" + ", ".join(f"'{fact}'" for fact in FACTS) + ")", name=op.f("ck_kpi_counters_fact")
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "currency", "fact", "day", "variant", "agent", "detail", name=op.f("pk_kpi_counters")
        ),
    )
    op.create_table(
        "kpi_roll_snapshots",
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("inputs_revision", sa.BigInteger(), nullable=False),
        sa.Column("transitions", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "currency", "period_end", name=op.f("pk_kpi_roll_snapshots")),
    )
    _count_existing_facts()


def _count_existing_facts() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"

    def day(column: str) -> str:
        return f"CAST(timezone('UTC', {column}) AS DATE)" if postgres else f"date({column})"

    def day_text(column: str) -> str:
        return f"to_char(timezone('UTC', {column}), 'YYYY-MM-DD')" if postgres else f"date({column})"

    balance = (
        "CAST((a.snapshot_json ->> 'balance') AS BIGINT)"
        if postgres
        else "CAST(json_extract(a.snapshot_json, '$.balance') AS INTEGER)"
    )
    contacted = ", ".join(f"'{status}'" for status in CONTACTED)
    states = "LEFT JOIN account_states s ON s.account_id = a.id"

    def home(table: str) -> str:
        return f"{table} JOIN accounts a ON a.id = {table.split()[1]}.account_id {states}"

    variant = "COALESCE(s.variant, '')"
    statements = [
        f"""SELECT a.campaign_id, a.currency, 'placed', {day("a.created_at")}, {variant}, '', '',
                COUNT(*), SUM(COALESCE({balance}, a.balance)), 1
            FROM accounts a {states}
            GROUP BY a.campaign_id, a.currency, {day("a.created_at")}, {variant}""",
        f"""SELECT a.campaign_id, a.currency, CASE WHEN c.provider = 'agent' THEN 'call' ELSE 'message' END,
                {day("c.planned_at")}, {variant}, '', c.channel, COUNT(*), 0, 1
            FROM {home("communications c")}
            WHERE c.status IN ({contacted})
            GROUP BY a.campaign_id, a.currency, CASE WHEN c.provider = 'agent' THEN 'call' ELSE 'message' END,
                {day("c.planned_at")}, {variant}, c.channel""",
        f"""SELECT a.campaign_id, a.currency, 'outcome', {day("o.recorded_at")}, {variant},
                COALESCE(o.agent, ''), o.code, COUNT(*), 0, 1
            FROM {home("outcomes o")}
            GROUP BY a.campaign_id, a.currency, {day("o.recorded_at")}, {variant}, COALESCE(o.agent, ''), o.code""",
        f"""SELECT a.campaign_id, a.currency, 'promise', {day("p.made_at")}, {variant},
                COALESCE(p.agent, ''), p.status, COUNT(*), SUM(p.amount), 1
            FROM {home("promises p")}
            GROUP BY a.campaign_id, a.currency, {day("p.made_at")}, {variant}, COALESCE(p.agent, ''), p.status""",
        f"""SELECT a.campaign_id, a.currency, 'payment', {day("p.received_at")}, {variant},
                COALESCE(t.agent, ''), CASE WHEN t.id IS NOT NULL THEN {day_text("t.made_at")} ELSE '' END,
                COUNT(*), SUM(p.amount), 1
            FROM {home("payments p")}
            LEFT JOIN (promises t JOIN accounts ta ON ta.id = t.account_id)
                ON p.allocated_to LIKE 'promise:%' AND t.key = substr(p.allocated_to, 9)
                AND ta.campaign_id = a.campaign_id AND ta.currency = a.currency
            WHERE p.currency = a.currency
            GROUP BY a.campaign_id, a.currency, {day("p.received_at")}, {variant}, COALESCE(t.agent, ''),
                CASE WHEN t.id IS NOT NULL THEN {day_text("t.made_at")} ELSE '' END""",
        f"""SELECT a.campaign_id, a.currency, 'fee', {day("f.applied_at")}, {variant}, '', '',
                COUNT(*), SUM(f.amount), 1
            FROM {home("fees f")}
            WHERE f.currency = a.currency
            GROUP BY a.campaign_id, a.currency, {day("f.applied_at")}, {variant}""",
        f"""SELECT a.campaign_id, a.currency, 'task_done', {day("t.completed_at")}, {variant},
                t.assigned_agent, '', COUNT(*), 0, 1
            FROM {home("agent_tasks t")}
            WHERE t.status = 'done' AND t.assigned_agent IS NOT NULL AND t.completed_at IS NOT NULL
            GROUP BY a.campaign_id, a.currency, {day("t.completed_at")}, {variant}, t.assigned_agent""",
    ]
    for statement in statements:
        op.execute(f"INSERT INTO kpi_counters ({COLUMNS}) {statement}")


def downgrade() -> None:
    op.drop_table("kpi_roll_snapshots")
    op.drop_table("kpi_counters")
