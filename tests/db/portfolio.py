"""A large portfolio on PostgreSQL, written with set-based SQL (generate_series) in seconds, for
query-plan tests and the agent-queue benchmark: what an operation looks like after months at
`accounts` accounts, so plans are judged on realistic row counts and ANALYZEd statistics.

Shape (for 100,000 accounts): two campaigns; 80,000 debtors (every fifth debtor has two
accounts); a read-model row per account spread over stages, segments, variants and a few
assigned agents; about 1.1 tasks per account of which 4,000 are open (most in `calls`, some in
`legal`, some reserved for an agent, due times from overdue to a week ahead); an outcome per
finished task; promises kept, broken and open; three communications per account with a
delivery event each; payments and fees. Nothing here is a fixed expectation of any test: tests
ask the product's own queries about these rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

CAMPAIGNS = ("bench-a", "bench-b")
QUEUES = ("calls", "legal")
AGENTS = tuple(f"agent{n}" for n in range(30))
STAGES = ("outreach", "contact", "commitment", "payment", "legal", "hold", "closed")


def seed(connection: Connection, now: datetime, accounts: int = 100_000) -> None:
    """Fill an empty, migrated PostgreSQL schema; `now` anchors every time (due dates, tasks)."""
    if connection.dialect.name != "postgresql":
        raise ValueError("the portfolio is written with PostgreSQL's generate_series")
    debtors = accounts * 4 // 5
    params = {"n": accounts, "debtors": debtors, "now": now}
    for statement in _STATEMENTS:
        connection.execute(text(statement), params)
    connection.execute(text("ANALYZE"))


_STATEMENTS = (
    """INSERT INTO strategy_versions (strategy_id, hash, name, source_yaml, compiled_json, published_at)
       VALUES ('bench', repeat('b', 64), 'bench', 'id: bench', '{}', :now)""",
    """INSERT INTO campaigns (id, name, strategy_hash, creditor_name, status, created_at, launch_status, launched)
       SELECT c, c, repeat('b', 64), 'Bench', 'running', :now, 'done', 0
       FROM unnest(ARRAY['bench-a', 'bench-b']) AS c""",
    """INSERT INTO debtors (id, external_id, name, country, timezone, locale, created_at)
       SELECT i, 'D' || i, 'Debtor ' || i, 'CL', 'America/Santiago', 'es-CL', :now
       FROM generate_series(1, :debtors) AS i""",
    """INSERT INTO accounts (id, campaign_id, external_id, debtor_id, workflow_id, currency, currency_digits,
                             balance, original_amount, due_date, snapshot_json, created_at, launched_at)
       SELECT i, CASE WHEN i % 2 = 0 THEN 'bench-a' ELSE 'bench-b' END, 'A' || i, (i - 1) % :debtors + 1,
              'debtor-bench-' || i, 'CLP', 0, 10000 + (i * 7919) % 990000, 10000 + (i * 7919) % 990000,
              (CAST(:now AS timestamptz) - ((i * 37) % 200) * interval '1 day')::date,
              jsonb_build_object('account_id', 'A' || i, 'balance', 10000 + (i * 7919) % 990000,
                                 'currency', 'CLP', 'timezone', 'America/Santiago',
                                 'promises_kept', i % 3, 'promises_broken', i % 4),
              :now, :now
       FROM generate_series(1, :n) AS i""",
    """INSERT INTO account_states (account_id, workflow_id, campaign_id, stage, step, segment, variant,
                                   strategy_hash, balance, paid_total, currency, assigned_agent,
                                   days_past_due, past_due_since, contacts, version, updated_at)
       SELECT a.id, a.workflow_id, a.campaign_id,
              (ARRAY['outreach', 'contact', 'commitment', 'payment', 'legal', 'hold', 'closed'])[1 + a.id % 7],
              'step' || a.id % 5, (ARRAY['early', 'late', 'vip'])[1 + a.id % 3],
              CASE WHEN a.id % 5 = 0 THEN 'challenger' END, repeat('b', 64),
              a.balance - (a.id % 10) * 1000, (a.id % 10) * 1000, 'CLP',
              CASE WHEN a.id % 50 = 0 THEN 'agent' || a.id % 30 END,
              (a.id * 37) % 200, CASE WHEN a.id % 4 = 0 THEN a.due_date + 30 ELSE a.due_date END,
              a.id % 9, 1 + a.id % 40, :now
       FROM accounts a""",
    # History: one finished task per account, then an open one for every 25th account.
    """INSERT INTO agent_tasks (key, account_id, workflow_id, seq, step, queue, attempt, allowed_outcomes,
                                status, assigned_agent, priority, due_at, created_at, claimed_at, completed_at)
       SELECT a.workflow_id || '-1', a.id, a.workflow_id, 1, 'llamada', 'calls', 1,
              '["no_answer", "promise_to_pay"]', CASE WHEN a.id % 3 = 0 THEN 'expired' ELSE 'done' END,
              'agent' || a.id % 30, 0, CAST(:now AS timestamptz) - ((a.id % 60) + 1) * interval '1 day',
              CAST(:now AS timestamptz) - ((a.id % 60) + 2) * interval '1 day', NULL,
              CAST(:now AS timestamptz) - ((a.id % 60) + 1) * interval '1 day'
       FROM accounts a""",
    """INSERT INTO agent_tasks (key, account_id, workflow_id, seq, step, queue, attempt, allowed_outcomes,
                                status, assigned_agent, priority, due_at, created_at)
       SELECT a.workflow_id || '-2', a.id, a.workflow_id, 2, 'llamada',
              CASE WHEN a.id % 10 = 0 THEN 'legal' ELSE 'calls' END, 2, '["no_answer", "promise_to_pay"]',
              CASE WHEN a.id % 125 = 0 THEN 'claimed' ELSE 'open' END,
              CASE WHEN a.id % 125 = 0 OR a.id % 175 = 0 THEN 'agent' || a.id % 30 END, 0,
              CAST(:now AS timestamptz) + ((a.id * 7) % 10080 - 600) * interval '1 minute',
              CAST(:now AS timestamptz) - interval '1 day'
       FROM accounts a WHERE a.id % 25 = 0""",
    """INSERT INTO outcomes (key, account_id, task_id, code, agent, recorded_at)
       SELECT t.key || '-outcome', t.account_id, t.id,
              (ARRAY['no_answer', 'right_party_contact', 'promise_to_pay', 'wrong_party', 'refused'])[1 + t.id % 5],
              t.assigned_agent, t.completed_at
       FROM agent_tasks t WHERE t.status = 'done'""",
    """INSERT INTO promises (key, account_id, amount, currency, currency_digits, due_date, status, agent,
                             made_at, settled_at)
       SELECT a.workflow_id || '-promise', a.id, a.balance / 2, 'CLP', 0,
              (CAST(:now AS timestamptz) - (a.id % 30) * interval '1 day')::date,
              (ARRAY['kept', 'broken', 'open', 'cancelled'])[1 + a.id % 4], 'agent' || a.id % 30,
              CAST(:now AS timestamptz) - interval '40 days',
              CASE WHEN a.id % 4 IN (0, 1) THEN CAST(:now AS timestamptz) - interval '10 days' END
       FROM accounts a WHERE a.id % 5 = 0""",
    """INSERT INTO communications (key, account_id, workflow_id, seq, step, channel, template, to_address,
                                   status, provider, planned_at, attempted_at, sent_at, created_at, updated_at)
       SELECT a.workflow_id || '-c' || k, a.id, a.workflow_id, k, 'recordatorio',
              (ARRAY['email', 'sms', 'whatsapp'])[k], 'reminder', 'a' || a.id || '@example.com', 'sent',
              'sandbox', t, t, t, t, t
       FROM accounts a, generate_series(1, 3) AS k,
            LATERAL (SELECT CAST(:now AS timestamptz) - (10 * k + a.id % 7) * interval '1 day' AS t) AS at""",
    """INSERT INTO message_events (communication_id, provider, provider_event_id, event, occurred_at, payload)
       SELECT c.id, 'sandbox', 'ev' || c.id, 'delivered', c.sent_at + interval '1 minute', '{}'
       FROM communications c""",
    """INSERT INTO payments (account_id, provider, provider_payment_id, amount, currency, currency_digits,
                             received_at, allocated_to, delivery, delivered_at)
       SELECT a.id, 'khipu', 'p' || a.id, 1000 * (1 + a.id % 10), 'CLP', 0,
              CAST(:now AS timestamptz) - (a.id % 20) * interval '1 day', 'balance', 'delivered', :now
       FROM accounts a WHERE a.id % 5 = 1""",
    """INSERT INTO fees (key, account_id, amount, requested, currency, currency_digits, step, applied_at)
       SELECT a.workflow_id || '-fee', a.id, 500, 500, 'CLP', 0, 'cargo',
              CAST(:now AS timestamptz) - interval '5 days'
       FROM accounts a WHERE a.id % 10 = 3""",
    # Explicit ids above: move the sequences past them so the product's own inserts still work.
    "SELECT setval(pg_get_serial_sequence('debtors', 'id'), (SELECT max(id) FROM debtors))",
    "SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT max(id) FROM accounts))",
)
