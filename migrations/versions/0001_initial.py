"""Initial schema.

Strategies, campaigns, debtors, accounts, the communications log, agent work, commitments, the ledger,
legal and the supervisors' read model.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 19:36:27.162050
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("strategy_hash", sa.String(length=64), nullable=False),
        sa.Column("creditor_name", sa.String(), nullable=False),
        sa.Column("creditor_phone", sa.String(), nullable=True),
        sa.Column("creditor_email", sa.String(), nullable=True),
        sa.Column("payment_link_base", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'running', 'paused', 'stopped')", name=op.f("ck_campaigns_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_strategy_hash"), "campaigns", ["strategy_hash"])

    op.create_table(
        "debtors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("locale", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debtors")),
        sa.UniqueConstraint("external_id", name=op.f("uq_debtors_external_id")),
    )
    op.create_table(
        "strategy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("strategy_id", sa.String(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("source_yaml", sa.Text(), nullable=False),
        sa.Column("compiled_json", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_versions")),
        sa.UniqueConstraint("hash", name=op.f("uq_strategy_versions_hash")),
    )
    op.create_index(op.f("ix_strategy_versions_strategy_id"), "strategy_versions", ["strategy_id"])

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("original_amount", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("snapshot_json", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_accounts_campaign_id_campaigns")),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], name=op.f("fk_accounts_debtor_id_debtors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("campaign_id", "external_id", name=op.f("uq_accounts_campaign_id_external_id")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_accounts_workflow_id")),
    )
    op.create_index(op.f("ix_accounts_debtor_id"), "accounts", ["debtor_id"])

    op.create_table(
        "contact_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("invalid_reason", sa.String(), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_source", sa.String(), nullable=True),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'whatsapp', 'voice', 'letter')", name=op.f("ck_contact_points_channel")
        ),
        sa.ForeignKeyConstraint(
            ["debtor_id"], ["debtors.id"], name=op.f("fk_contact_points_debtor_id_debtors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_points")),
        sa.UniqueConstraint(
            "debtor_id", "channel", "address", name=op.f("uq_contact_points_debtor_id_channel_address")
        ),
    )
    op.create_table(
        "account_states",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("segment", sa.String(), nullable=False),
        sa.Column("variant", sa.String(), nullable=True),
        sa.Column("strategy_hash", sa.String(length=64), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("paid_total", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("hold", sa.String(), nullable=True),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.Column("next_action", sa.String(), nullable=True),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promise_amount", sa.BigInteger(), nullable=True),
        sa.Column("promise_due", sa.Date(), nullable=True),
        sa.Column("plan_summary", sa.String(), nullable=True),
        sa.Column("assigned_agent", sa.String(), nullable=True),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_states_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_states")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_account_states_workflow_id")),
    )
    op.create_index(op.f("ix_account_states_assigned_agent"), "account_states", ["assigned_agent"])
    op.create_index(op.f("ix_account_states_campaign_id"), "account_states", ["campaign_id"])
    op.create_index(op.f("ix_account_states_stage"), "account_states", ["stage"])

    op.create_table(
        "agent_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("allowed_outcomes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("assigned_agent", sa.String(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'done', 'expired', 'cancelled')", name=op.f("ck_agent_tasks_status")
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_agent_tasks_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tasks")),
        sa.UniqueConstraint("key", name=op.f("uq_agent_tasks_key")),
    )
    op.create_index(op.f("ix_agent_tasks_account_id"), "agent_tasks", ["account_id"])
    op.create_index(op.f("ix_agent_tasks_assigned_agent"), "agent_tasks", ["assigned_agent"])
    op.create_index(op.f("ix_agent_tasks_queue"), "agent_tasks", ["queue"])
    op.create_index(op.f("ix_agent_tasks_workflow_id"), "agent_tasks", ["workflow_id"])

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f("ck_approvals_status")),
        sa.CheckConstraint("subject IN ('step', 'legal')", name=op.f("ck_approvals_subject")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_approvals_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("key", name=op.f("uq_approvals_key")),
    )
    op.create_index(op.f("ix_approvals_account_id"), "approvals", ["account_id"])
    op.create_index(op.f("ix_approvals_workflow_id"), "approvals", ["workflow_id"])

    op.create_table(
        "communications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("template", sa.String(), nullable=True),
        sa.Column("to_address", sa.String(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=True),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("blocked_rule", sa.String(), nullable=True),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("moved_to", sa.String(), nullable=True),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'blocked', 'failed', 'unknown', "
            "'delivered', 'opened', 'clicked', 'bounced', 'replied')",
            name=op.f("ck_communications_status"),
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_communications_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communications")),
        sa.UniqueConstraint("key", name=op.f("uq_communications_key")),
    )
    op.create_index(op.f("ix_communications_account_id_created_at"), "communications", ["account_id", "created_at"])
    op.create_index(op.f("ix_communications_provider_id"), "communications", ["provider_id"])
    op.create_index(op.f("ix_communications_workflow_id"), "communications", ["workflow_id"])

    op.create_table(
        "fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rule", sa.String(), nullable=True),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_fees_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fees")),
        sa.UniqueConstraint("key", name=op.f("uq_fees_key")),
    )
    op.create_index(op.f("ix_fees_account_id"), "fees", ["account_id"])

    op.create_table(
        "legal_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("case_json", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_legal_referrals_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_referrals")),
        sa.UniqueConstraint("key", name=op.f("uq_legal_referrals_key")),
    )
    op.create_index(op.f("ix_legal_referrals_account_id"), "legal_referrals", ["account_id"])

    op.create_table(
        "payment_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("installments", sa.Integer(), nullable=False),
        sa.Column("down_payment", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("frequency", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("agreed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'broken', 'cancelled')", name=op.f("ck_payment_plans_status")
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_payment_plans_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_plans")),
        sa.UniqueConstraint("key", name=op.f("uq_payment_plans_key")),
    )
    op.create_index(op.f("ix_payment_plans_account_id"), "payment_plans", ["account_id"])

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("provider_payment_id", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allocated_to", sa.String(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("provider", "provider_payment_id", name=op.f("uq_payments_provider_provider_payment_id")),
    )
    op.create_index(op.f("ix_payments_account_id"), "payments", ["account_id"])

    op.create_table(
        "promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'kept', 'broken', 'cancelled')", name=op.f("ck_promises_status")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_promises_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
        sa.UniqueConstraint("key", name=op.f("uq_promises_key")),
    )
    op.create_index(op.f("ix_promises_account_id"), "promises", ["account_id"])

    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("communication_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("provider_event_id", sa.String(), nullable=True),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["communication_id"], ["communications.id"], name=op.f("fk_message_events_communication_id_communications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
        sa.UniqueConstraint("provider", "provider_event_id", name=op.f("uq_message_events_provider_provider_event_id")),
    )
    op.create_index(op.f("ix_message_events_communication_id"), "message_events", ["communication_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("communication_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("to_address", sa.String(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["communication_id"], ["communications.id"], name=op.f("fk_outbox_communication_id_communications")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("communication_id", name=op.f("uq_outbox_communication_id")),
    )
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_outcomes_account_id_accounts")),
        sa.ForeignKeyConstraint(["task_id"], ["agent_tasks.id"], name=op.f("fk_outcomes_task_id_agent_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
        sa.UniqueConstraint("key", name=op.f("uq_outcomes_key")),
    )
    op.create_index(op.f("ix_outcomes_account_id"), "outcomes", ["account_id"])
    op.create_index(op.f("ix_outcomes_task_id"), "outcomes", ["task_id"])

    op.create_table(
        "plan_installments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.CheckConstraint("status IN ('due', 'paid', 'missed')", name=op.f("ck_plan_installments_status")),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["payment_plans.id"],
            name=op.f("fk_plan_installments_plan_id_payment_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_installments")),
        sa.UniqueConstraint("plan_id", "number", name=op.f("uq_plan_installments_plan_id_number")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; children go before the tables they reference.
    op.drop_table("plan_installments")
    op.drop_table("outcomes")
    op.drop_table("outbox")
    op.drop_table("message_events")
    op.drop_table("promises")
    op.drop_table("payments")
    op.drop_table("payment_plans")
    op.drop_table("legal_referrals")
    op.drop_table("fees")
    op.drop_table("communications")
    op.drop_table("approvals")
    op.drop_table("agent_tasks")
    op.drop_table("account_states")
    op.drop_table("contact_points")
    op.drop_table("accounts")
    op.drop_table("strategy_versions")
    op.drop_table("debtors")
    op.drop_table("campaigns")
