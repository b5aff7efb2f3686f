"""Every side effect of the debtor workflow, one module per concern, each a class with its
dependencies injected (a session factory, channel senders, a clock). The workflow calls them by
name; `build_activities` hands the worker their bound methods."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from activities.accounts import AccountActivities
from activities.agent_tasks import AgentTaskActivities
from activities.calendars import freeze_holiday_calendar
from activities.campaigns import CampaignActivities
from activities.legal import LegalActivities
from activities.messaging import MessagingActivities
from activities.notify import NotifyActivities
from activities.payments import PaymentActivities
from activities.strategy_versions import StrategyVersions
from activities.turns import TurnActivities
from channels.base import Sender
from domain.types import Channel
from services.secrets_at_rest import SecretBox


def build_activities(
    sessions: sessionmaker[Session],
    senders: Mapping[Channel, Sender],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    account_task_queue: str | None = None,
    notify_private_addresses: bool = False,
    *,
    secrets: SecretBox,
) -> list[Callable[..., Any]]:
    """`secrets` opens the campaigns' sealed webhook secrets (the payload keys, as the worker's
    client has them); `clock` is the wall clock sends are checked against (tests pass the Temporal
    test server's);
    `account_task_queue` where launches start account workflows (default: the worker's queue);
    `notify_private_addresses` lets `notify` webhooks reach loopback and private addresses."""
    campaigns = CampaignActivities(sessions, account_task_queue)
    strategies = StrategyVersions(sessions)  # one cache of published versions per process
    turns = TurnActivities(sessions, strategies)
    return [
        AccountActivities(sessions).register_account,
        MessagingActivities(sessions, senders, clock, strategies).send_message,
        AgentTaskActivities(sessions).create_agent_task,
        PaymentActivities(sessions).check_payments,
        LegalActivities(sessions).refer_to_legal,
        NotifyActivities(sessions, clock, secrets, allow_private=notify_private_addresses).notify_creditor,
        turns.record_turn,
        turns.record_update,
        campaigns.launch_accounts,
        campaigns.signal_accounts,
        campaigns.finish_launch,
        campaigns.move_accounts,
        freeze_holiday_calendar,
    ]
