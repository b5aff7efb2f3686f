"""All ORM models; importing this package registers every table on `db.base.Base.metadata`."""

from __future__ import annotations

from db.models.access import ROLES, ApiKey, IdempotencyRecord, WebhookReceipt
from db.models.account_events import ACCOUNT_EVENT_KINDS, AccountEvent
from db.models.account_versions import AccountVersion
from db.models.accounts import Account
from db.models.agent_work import AGENT_TASK_STATUSES, AgentNote, AgentTask, OutcomeRecord
from db.models.campaigns import CAMPAIGN_STATUSES, LAUNCH_STATUSES, Campaign
from db.models.commitments import (
    INSTALLMENT_STATUSES,
    PLAN_STATUSES,
    PROMISE_STATUSES,
    PaymentPlan,
    PlanInstallment,
    Promise,
)
from db.models.communications import COMMUNICATION_STATUSES, Communication, MessageEvent, OutboxMessage
from db.models.debtors import CHANNELS, ContactPoint, Debtor
from db.models.kpis import KPI_FACTS, KpiCounter, KpiRollSnapshot
from db.models.ledger import DELIVERY_STATES, Fee, InterestCharge, Payment
from db.models.legal import APPROVAL_STATUSES, APPROVAL_SUBJECTS, Approval, LegalReferral
from db.models.notifications import NOTIFICATION_STATUSES, CreditorNotification
from db.models.read_model import AccountState
from db.models.strategies import StrategyVersion

__all__ = [
    "ACCOUNT_EVENT_KINDS",
    "AGENT_TASK_STATUSES",
    "APPROVAL_STATUSES",
    "APPROVAL_SUBJECTS",
    "CAMPAIGN_STATUSES",
    "CHANNELS",
    "COMMUNICATION_STATUSES",
    "DELIVERY_STATES",
    "INSTALLMENT_STATUSES",
    "KPI_FACTS",
    "LAUNCH_STATUSES",
    "NOTIFICATION_STATUSES",
    "PLAN_STATUSES",
    "PROMISE_STATUSES",
    "ROLES",
    "Account",
    "AccountEvent",
    "AccountState",
    "AccountVersion",
    "AgentNote",
    "AgentTask",
    "ApiKey",
    "Approval",
    "Campaign",
    "Communication",
    "ContactPoint",
    "CreditorNotification",
    "Debtor",
    "Fee",
    "IdempotencyRecord",
    "InterestCharge",
    "KpiCounter",
    "KpiRollSnapshot",
    "LegalReferral",
    "MessageEvent",
    "OutboxMessage",
    "OutcomeRecord",
    "Payment",
    "PaymentPlan",
    "PlanInstallment",
    "Promise",
    "StrategyVersion",
    "WebhookReceipt",
]
