"""KPI counters and roll-rate snapshots: what campaign KPIs are read from instead of every
account's facts.

`kpi_counters` holds, per campaign, fact, currency, grain (day, month, total), day, variant, agent
and detail, a count, an amount and a revision (db/models/kpis.py says what each fact counts). The
code that writes a fact keeps it current from now on; this revision counts the facts already in
the database, with the same rules (db/repositories/kpi_counters.py `recount`, written out here in
SQL because a revision must not import application code). `kpi_roll_snapshots` starts empty:
month-end transitions are computed when first asked for.

Revision ID: 0009_kpi_counters
Revises: 0008_launch
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_kpi_counters"
down_revision: str | None = "0008_launch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = (
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
DAY_ONLY = ("agent_paid_after", "agent_paid_before")
CONTACTED = ("sent", "unknown", "delivered", "opened", "clicked", "replied", "bounced")
COLUMNS = "campaign_id, fact, currency, grain, day, variant, agent, detail, count, amount, revision"
KEY = "campaign_id, fact, currency, variant, agent, detail"


def upgrade() -> None:
    op.create_table(
        "kpi_counters",
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("fact", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
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
        sa.CheckConstraint("grain IN ('day', 'month', 'total')", name=op.f("ck_kpi_counters_grain")),
        sa.PrimaryKeyConstraint(
            "campaign_id",
            "fact",
            "currency",
            "grain",
            "day",
            "variant",
            "agent",
            "detail",
            name=op.f("pk_kpi_counters"),
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

    def home(table: str, by_variant: bool = True) -> str:
        return f"{table} JOIN accounts a ON a.id = {table.split()[1]}.account_id {states if by_variant else ''}"

    variant = "COALESCE(s.variant, '')"
    kind = "CASE WHEN c.provider = 'agent' THEN 'call' ELSE 'message' END"
    towards = """JOIN (SELECT t.key, t.agent, t.made_at, ta.campaign_id, ta.currency
                  FROM promises t JOIN accounts ta ON ta.id = t.account_id
                  WHERE t.agent IS NOT NULL AND t.agent != '') w
            ON p.allocated_to LIKE 'promise:%' AND w.key = substr(p.allocated_to, 9)
            AND w.campaign_id = a.campaign_id AND w.currency = a.currency"""
    days = [
        f"""SELECT a.campaign_id, 'placed', a.currency, 'day', {day("a.created_at")}, {variant}, '', '',
                COUNT(*), SUM(COALESCE({balance}, a.balance)), 1
            FROM accounts a {states}
            GROUP BY a.campaign_id, a.currency, {day("a.created_at")}, {variant}""",
        f"""SELECT a.campaign_id, {kind}, a.currency, 'day', {day("c.planned_at")}, {variant}, '', c.channel,
                COUNT(*), 0, 1
            FROM {home("communications c")}
            WHERE c.status IN ({contacted})
            GROUP BY a.campaign_id, {kind}, a.currency, {day("c.planned_at")}, {variant}, c.channel""",
        f"""SELECT a.campaign_id, 'outcome', a.currency, 'day', {day("o.recorded_at")}, {variant}, '', o.code,
                COUNT(*), 0, 1
            FROM {home("outcomes o")}
            GROUP BY a.campaign_id, a.currency, {day("o.recorded_at")}, {variant}, o.code""",
        f"""SELECT a.campaign_id, 'agent_outcome', a.currency, 'day', {day("o.recorded_at")}, '', o.agent, o.code,
                COUNT(*), 0, 1
            FROM {home("outcomes o", False)}
            WHERE o.agent IS NOT NULL AND o.agent != ''
            GROUP BY a.campaign_id, a.currency, {day("o.recorded_at")}, o.agent, o.code""",
        f"""SELECT a.campaign_id, 'promise', a.currency, 'day', {day("p.made_at")}, {variant}, '', p.status,
                COUNT(*), SUM(p.amount), 1
            FROM {home("promises p")}
            GROUP BY a.campaign_id, a.currency, {day("p.made_at")}, {variant}, p.status""",
        f"""SELECT a.campaign_id, 'agent_promise', a.currency, 'day', {day("p.made_at")}, '', p.agent, p.status,
                COUNT(*), SUM(p.amount), 1
            FROM {home("promises p", False)}
            WHERE p.agent IS NOT NULL AND p.agent != ''
            GROUP BY a.campaign_id, a.currency, {day("p.made_at")}, p.agent, p.status""",
        f"""SELECT a.campaign_id, 'payment', a.currency, 'day', {day("p.received_at")}, {variant}, '', '',
                COUNT(*), SUM(p.amount), 1
            FROM {home("payments p")}
            WHERE p.currency = a.currency
            GROUP BY a.campaign_id, a.currency, {day("p.received_at")}, {variant}""",
        f"""SELECT a.campaign_id, 'agent_collected', a.currency, 'day', {day("p.received_at")}, '', w.agent, '',
                COUNT(*), SUM(p.amount), 1
            FROM {home("payments p", False)} {towards}
            WHERE p.currency = a.currency
            GROUP BY a.campaign_id, a.currency, {day("p.received_at")}, w.agent""",
        f"""SELECT a.campaign_id, 'agent_paid_after', a.currency, 'day', {day("p.received_at")}, '', w.agent,
                {day_text("w.made_at")}, COUNT(*), SUM(p.amount), 1
            FROM {home("payments p", False)} {towards}
            WHERE p.currency = a.currency AND {day("w.made_at")} <= {day("p.received_at")}
            GROUP BY a.campaign_id, a.currency, {day("p.received_at")}, w.agent, {day_text("w.made_at")}""",
        f"""SELECT a.campaign_id, 'agent_paid_before', a.currency, 'day', {day("w.made_at")}, '', w.agent,
                {day_text("p.received_at")}, COUNT(*), SUM(p.amount), 1
            FROM {home("payments p", False)} {towards}
            WHERE p.currency = a.currency AND {day("w.made_at")} > {day("p.received_at")}
            GROUP BY a.campaign_id, a.currency, {day("w.made_at")}, w.agent, {day_text("p.received_at")}""",
        f"""SELECT a.campaign_id, 'fee', a.currency, 'day', {day("f.applied_at")}, {variant}, '', '',
                COUNT(*), SUM(f.amount), 1
            FROM {home("fees f")}
            WHERE f.currency = a.currency
            GROUP BY a.campaign_id, a.currency, {day("f.applied_at")}, {variant}""",
        f"""SELECT a.campaign_id, 'agent_task_done', a.currency, 'day', {day("t.completed_at")}, '',
                t.assigned_agent, '', COUNT(*), 0, 1
            FROM {home("agent_tasks t", False)}
            WHERE t.status = 'done' AND t.assigned_agent IS NOT NULL AND t.assigned_agent != ''
                AND t.completed_at IS NOT NULL
            GROUP BY a.campaign_id, a.currency, {day("t.completed_at")}, t.assigned_agent""",
    ]
    for statement in days:
        op.execute(f"INSERT INTO kpi_counters ({COLUMNS}) {statement}")
    month = "CAST(date_trunc('month', day) AS DATE)" if postgres else "date(day, 'start of month')"
    rollable = "grain = 'day' AND fact NOT IN (" + ", ".join(f"'{fact}'" for fact in DAY_ONLY) + ")"
    for grain, at in (("month", month), ("total", "'0001-01-01'")):
        op.execute(
            f"""INSERT INTO kpi_counters ({COLUMNS})
                SELECT campaign_id, fact, currency, '{grain}', {at}, variant, agent, detail,
                    SUM(count), SUM(amount), 1
                FROM kpi_counters WHERE {rollable}
                GROUP BY {KEY}{", " + at if grain == "month" else ""}"""
        )


def downgrade() -> None:
    op.drop_table("kpi_roll_snapshots")
    op.drop_table("kpi_counters")
