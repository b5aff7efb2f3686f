"""A minimal 100,000-account portfolio for benchmarks/bench_day.py, on PostgreSQL, written by the
server itself (INSERT ... SELECT over generate_series: no row crosses the wire): the published
Chilean strategy, one running campaign, its debtors with an email and a phone each, the accounts
(already launched), their read-model rows spread over stages, days past due, segments, variants
and agents, and 3,872 open agent tasks in the strategy's queue (issue 10's queue).

Stand-in for benchmarks/seed_portfolio.py (realistic rows in every table the API reads); the
benchmark uses that one when it is there. Same entry point: `seed(engine, accounts=...)`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from db.models import Campaign
from db.repositories import strategies as strategies_repo
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = "portfolio"
QUEUE = "cobranza_temprana"
OPEN_TASKS = 3872
AGENTS = 30

STATEMENTS = [
    """INSERT INTO debtors (external_id, name, country, timezone, locale, created_at)
       SELECT 'D-' || lpad(n::text, 7, '0'), 'Deudor ' || n, 'CL', 'America/Santiago', 'es-CL', now()
       FROM generate_series(1, :n) AS n""",
    """INSERT INTO contact_points (debtor_id, channel, address, valid, consent, consent_source, updated_at)
       SELECT d.id, c.channel, CASE c.channel WHEN 'email' THEN 'd' || d.id || '@example.cl'
                                    ELSE '+569' || lpad(d.id::text, 8, '0') END,
              true, true, 'import', now()
       FROM debtors d CROSS JOIN (VALUES ('email'), ('sms')) AS c(channel)
       WHERE d.external_id LIKE 'D-%'""",
    """INSERT INTO accounts (campaign_id, external_id, debtor_id, workflow_id, currency, currency_digits, balance,
                             original_amount, due_date, snapshot_json, created_at, launched_at)
       SELECT CAST(:campaign AS varchar), 'P-' || lpad(d.id::text, 7, '0'), d.id,
              'debtor:' || CAST(:campaign AS varchar) || '\\:P-' || lpad(d.id::text, 7, '0'),
              'CLP', 0, 50000 + (d.id * 7919) % 2000000, 60000 + (d.id * 7919) % 2000000,
              date '2026-11-30' - ((d.id * 37) % 200)::int,
              json_build_object('account_id', 'P-' || lpad(d.id::text, 7, '0'), 'debtor_name', d.name, 'country', 'CL',
                                'timezone', 'America/Santiago', 'locale', 'es-CL', 'currency', 'CLP',
                                'balance', 50000 + (d.id * 7919) % 2000000,
                                'original_amount', 60000 + (d.id * 7919) % 2000000,
                                'due_date', date '2026-11-30' - ((d.id * 37) % 200)::int,
                                'email', 'd' || d.id || '@example.cl', 'phone', '+569' || lpad(d.id::text, 8, '0')),
              now(), now()
       FROM debtors d WHERE d.external_id LIKE 'D-%'""",
    """INSERT INTO account_states (account_id, workflow_id, campaign_id, stage, step, segment, variant, strategy_hash,
                                   balance, paid_total, currency, next_action, next_action_at, assigned_agent,
                                   days_past_due, past_due_since, contacts, version, updated_at)
       SELECT a.id, a.workflow_id, a.campaign_id,
              (ARRAY['outreach','outreach','outreach','contact','contact','commitment','payment','legal','hold',
                     'closed'])[1 + a.id % 10],
              'aviso_email', CASE WHEN a.balance >= 1000000 THEN 'alto_monto' ELSE 'general' END,
              CASE WHEN a.id % 5 = 0 THEN 'challenger' ELSE 'champion' END, CAST(:hash AS varchar),
              a.balance, (a.id * 13) % 20000, 'CLP', 'send email', now() + interval '1 day',
              CASE WHEN a.id % 3 = 0 THEN 'agente' || (a.id % :agents) END,
              (date '2026-11-30' - a.due_date), a.due_date, (a.id % 7), 1, now()
       FROM accounts a WHERE a.campaign_id = :campaign""",
    """INSERT INTO agent_tasks (key, account_id, workflow_id, seq, step, queue, attempt, allowed_outcomes, status,
                                priority, due_at, created_at)
       SELECT a.workflow_id || '\\:5', a.id, a.workflow_id, 5, 'llamada', CAST(:queue AS varchar), 1,
              '["no_answer", "right_party_contact", "promise_to_pay"]'::json, 'open', 0,
              now() + ((a.id % 48) || ' hours')::interval, now()
       FROM accounts a WHERE a.campaign_id = :campaign ORDER BY a.id LIMIT :tasks""",
]


def seed(engine: Engine, accounts: int = 100_000) -> str:
    """Write the portfolio into a migrated, empty database; returns the campaign's id."""
    compiled = compile_file(str(ROOT / "strategies" / "cl-consumer.yaml")).strategy
    with Session(engine) as session:
        strategies_repo.publish(
            session,
            strategy_id=compiled.id,
            hash_=compiled.hash,
            name=compiled.name,
            source_yaml="",
            compiled=compiled.model_dump(mode="json"),
            published_by="bench",
        )
        session.add(
            Campaign(
                id=CAMPAIGN,
                name="Portfolio",
                strategy_hash=compiled.hash,
                creditor_name="Financiera Andes",
                status="running",
                launch_status="done",
                launched=accounts,
            )
        )
        session.flush()
        values = {
            "n": accounts,
            "campaign": CAMPAIGN,
            "hash": compiled.hash,
            "agents": AGENTS,
            "queue": QUEUE,
            "tasks": min(OPEN_TASKS, accounts),
        }
        for statement in STATEMENTS:
            session.execute(text(statement), values)
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    return CAMPAIGN
