"""What crosses the Temporal boundary: the debtor workflow's input, its query answer, the payloads
of its updates, and every activity's input and result. Names here are stable wire names; add
fields with defaults, never rename.

Signals and updates carry the domain's own events (`domain.events`), so the API, the simulator
and the workflow speak one vocabulary.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from domain import actions as act
from domain.account import AccountSnapshot
from domain.events import PaymentReceived, PromiseTerms
from domain.frozen import Frozen
from domain.policy import ContactPolicy
from domain.state import AccountState, BlockedContact, Counters
from domain.strategy import CompiledStrategy, Template
from domain.terms import TermsLimits
from domain.types import Channel
from workflows.shared_strategies import shared

# Turns (interpreter calls) per workflow run before continuing as new. Each turn adds a handful
# of events; 400 keeps a run well under Temporal's suggested 4,096 events and its limit of 2,000
# updates per run.
DEFAULT_TURNS_PER_RUN = 400


def debtor_workflow_id(campaign_id: str, account_id: str) -> str:
    """One workflow per account and campaign: starting it twice finds the running one."""
    return f"debtor:{campaign_id}:{account_id}"


class CampaignInfo(Frozen):
    """What templates may say about the creditor, and where payment links point."""

    id: str = Field(min_length=1)
    creditor_name: str = ""
    creditor_phone: str | None = None
    creditor_email: str | None = None
    payment_link_base: str | None = None


class DebtorInput(Frozen):
    """Start (state None) or continue-as-new (state carried) of one account's workflow."""

    campaign: CampaignInfo
    account: AccountSnapshot
    strategy: CompiledStrategy
    state: AccountState | None = None
    turn: int = 0  # interpreter calls so far, across runs: keys of per-turn writes
    turns_per_run: int = Field(default=DEFAULT_TURNS_PER_RUN, ge=2)
    assigned_agent: str | None = None
    # How long one send may take before Temporal retries it elsewhere (a worker that died
    # mid-send is noticed after this long). Providers answer in well under 10 s.
    send_timeout_s: int = Field(default=60, ge=1)
    # True when `strategy` is a published version (a strategy_versions row, as every launch and
    # move gives): activities may then find it there by hash instead of carrying its parts.
    strategy_published: bool = False

    @field_validator("strategy")
    @classmethod
    def _one_copy_per_process(cls, strategy: CompiledStrategy) -> CompiledStrategy:
        """Decoded once per workflow, held once per process (workflows/shared_strategies.py)."""
        return shared(strategy)


class DebtorResult(Frozen):
    account_id: str
    resolution: str | None
    balance: int
    paid_total: int
    closed_at: datetime | None


class ChangeStrategy(Frozen):
    """Move the account to another published strategy version. `step`: where to continue; by
    default the step of the same name."""

    strategy: CompiledStrategy
    step: str | None = None
    by: str = ""
    published: bool = False  # `strategy` is a strategy_versions row (see DebtorInput.strategy_published)

    @field_validator("strategy")
    @classmethod
    def _one_copy_per_process(cls, strategy: CompiledStrategy) -> CompiledStrategy:
        """Decoded once per workflow, held once per process (workflows/shared_strategies.py)."""
        return shared(strategy)


class AssignAgent(Frozen):
    """A supervisor gave the account's work to `agent` (None: back to the queue)."""

    agent: str | None = None
    by: str = ""


class Snapshot(Frozen):
    """The `snapshot` query's answer: whether the account is idle and its whole interpreter state,
    read in one query so the two always belong to the same moment (two queries can straddle a
    workflow task). `turn` counts interpreter calls across runs."""

    idle: bool
    state: AccountState | None
    turn: int


class AccountView(Frozen):
    """One account's live state, as the `state` query answers it."""

    workflow_id: str
    campaign_id: str
    account_id: str
    strategy_id: str
    strategy_hash: str
    stage: str
    step: str
    segment: str
    variant: str | None
    waiting: str | None  # timer | policy | agent | approval | payment_check
    open_task_seq: int | None  # the agent task an outcome must answer
    next_action: str | None
    next_action_at: datetime | None
    balance: int  # never below zero: what was paid beyond it is `overpaid`
    paid_total: int
    fees_total: int
    currency: str
    hold: str | None
    resolution: str | None
    hold_reason: str | None = None  # set when hold == "error": what failed, for the supervisor
    # Paid beyond what the account owed: a refund or credit the creditor owes the debtor. (Absent,
    # so 0, in a view answered by a worker from before it.)
    overpaid: int = 0
    interest_total: int = 0  # charged so far (domain/interest.py); 0 from a worker older than it
    promise_amount: int | None = None
    promise_due: date | None = None
    plan_installments: int | None = None
    plan_missed: int | None = None
    opted_out: tuple[Channel, ...] = ()
    invalid: tuple[Channel, ...] = ()
    counters: Counters
    blocked: tuple[BlockedContact, ...] = ()
    assigned_agent: str | None = None
    turn: int
    # The promise and plan the account takes now (the interpreter's own limits, which refuse
    # anything beyond them); empty once closed, and from workers older than this field.
    limits: TermsLimits = TermsLimits()


# ---- activities --------------------------------------------------------------------------------


class RegisterAccountInput(Frozen):
    workflow_id: str
    campaign: CampaignInfo
    account: AccountSnapshot
    strategy_id: str
    strategy_hash: str


class SendInput(Frozen):
    """One planned message. `key` (workflow id + action sequence) makes the send idempotent.

    The message's template and the contact policy come from the published strategy version
    `strategy_hash` (the activity reads it once per process). Sends scheduled before that, or by
    a run whose strategy is not a published version as it stands, carry `template` and `policy`
    themselves instead."""

    key: str
    workflow_id: str
    seq: int
    step: str
    campaign: CampaignInfo
    account: AccountSnapshot
    channel: Channel
    template_name: str
    strategy_hash: str | None = None
    template: Template | None = None
    locale: str
    currency: str
    policy: ContactPolicy | None = None
    planned_at: datetime
    balance: int
    fees_total: int
    interest_total: int = 0  # interest charged so far (domain/interest.py); inputs recorded before it: none
    promise: PromiseTerms | None = None
    offer: dict[str, str] = Field(default_factory=dict)
    opted_out: tuple[Channel, ...] = ()
    # What was paid in the campaign (which dues the message shows as paid) and the strategy's
    # language edition (how `days_past_due` reads); sends planned before they existed carry 0 and 1.
    paid_total: int = 0
    edition: int = 1
    # The template rendered as a PDF statement that goes with the message (email and letter);
    # carried like `template` when the send does not name its strategy version.
    attach: str | None = None
    attach_template: Template | None = None

    @model_validator(mode="after")
    def _template_and_policy_known(self) -> SendInput:
        if self.strategy_hash is None and (self.template is None or self.policy is None):
            raise ValueError("a send names its strategy version or carries its template and policy")
        return self


class SendResult(Frozen):
    status: Literal["sent", "blocked", "failed", "unknown"]
    provider: str | None = None
    provider_id: str | None = None
    rule: str | None = None  # blocked: the policy rule
    reason: str | None = None  # blocked or failed: why, for a person
    duplicate: bool = False  # an earlier attempt with the same key already did the work


class AgentTaskInput(Frozen):
    key: str
    workflow_id: str
    account_id: str
    campaign_id: str
    task: act.CreateAgentTask
    at: datetime  # when the workflow planned it (workflow time)
    priority: int = 0


class PaymentCheckInput(Frozen):
    workflow_id: str
    campaign_id: str
    account_id: str


class PaymentCheckResult(Frozen):
    payments: tuple[PaymentReceived, ...] = ()


class LegalInput(Frozen):
    key: str
    workflow_id: str
    campaign_id: str
    state: AccountState
    at: datetime


class NotifyInput(Frozen):
    """One `notify`: what the creditor's systems are told, under the workflow's idempotency key
    (`workflow_id:seq`, the same on every attempt). `at` is the turn's time, the event's time in
    the body; `max_attempts` is the retry policy's, so the last attempt knows it is the last."""

    key: str
    workflow_id: str
    campaign_id: str
    account_id: str
    strategy_id: str
    strategy_hash: str
    step: str
    event: str
    data: dict[str, str | int | bool] = Field(default_factory=dict)
    balance: int
    currency: str
    at: datetime
    max_attempts: int = Field(ge=1)


class NotifyResult(Frozen):
    """How the notification ended (`db.models.notifications.NOTIFICATION_STATUSES`, never
    `retrying`) and the receiver's last HTTP status, if it answered."""

    status: str
    response_status: int | None = None


class TurnRecord(Frozen):
    """Everything one interpreter turn decided that is not a channel send, written in one
    transaction under the key `workflow_id:turn`: blocked contacts, fees, approval requests,
    outcomes, promises, plans, task status, closure, and the supervisors' read model."""

    key: str
    workflow_id: str
    campaign_id: str
    strategy_hash: str
    turn: int
    at: datetime
    event: dict[str, Any]
    actions: tuple[act.Action, ...] = ()
    state: AccountState
    previous_counters: Counters
    next_action: str | None = None
    next_action_at: datetime | None = None
    assigned_agent: str | None = None

    @property
    def names_no_task(self) -> bool:
        """An agent outcome naming no task: which task it answered is known only once the tasks
        this turn creates exist (the API always names it)."""
        return self.event.get("kind") == "agent_outcome" and self.event.get("task_seq") is None

    def needs_record_after_actions(self) -> bool:
        """Whether this record, written before the turn's actions (`record_update`), leaves work
        only a record after them (`record_turn`) can do: matching an outcome that names no task,
        or expiring a task the turn created but no longer waits for. Neither task exists before
        the actions run."""
        w = self.state.waiting
        still_open = w.task_seq if w is not None and w.kind == "agent" else None
        created_not_waited = any(isinstance(a, act.CreateAgentTask) and a.seq != still_open for a in self.actions)
        return self.names_no_task or created_not_waited


# ---- the campaign workflow ---------------------------------------------------------------------

# Launch batches: accounts started per activity call, and workflow starts in flight at once.
DEFAULT_LAUNCH_BATCH = 100
DEFAULT_LAUNCH_CONCURRENCY = 20


def campaign_workflow_id(campaign_id: str) -> str:
    """One command processor per campaign: launches and pause/resume/stop fan-outs run in order."""
    return f"campaign:{campaign_id}"


class CampaignCommand(Frozen):
    """A command for a campaign, sent as the `command` signal (with start when none is running)."""

    action: Literal["launch", "pause", "resume", "stop", "move"]
    by: str = ""
    # move: the published version to move every launched account to, and where to continue
    # (default: the step of the same name).
    strategy_hash: str | None = None
    step: str | None = None
    batch_size: int = Field(default=DEFAULT_LAUNCH_BATCH, ge=1, le=1000)
    concurrency: int = Field(default=DEFAULT_LAUNCH_CONCURRENCY, ge=1, le=200)


class CampaignInput(Frozen):
    """Start or continue-as-new of a campaign's workflow; the carried fields survive continue-as-new."""

    campaign_id: str = Field(min_length=1)
    pending: tuple[CampaignCommand, ...] = ()
    launching: CampaignCommand | None = None  # the launch in progress, with its batch settings
    paused: bool = False
    stopped: bool = False


class CampaignResult(Frozen):
    campaign_id: str
    launched: int  # accounts this run started
    signalled: int  # account workflows this run signalled
    moved: int = 0  # accounts this run moved to another strategy version
    refused: int = 0  # accounts whose workflow refused the move (e.g. no such step)


class LaunchBatchInput(Frozen):
    campaign_id: str
    batch_size: int = Field(ge=1)
    concurrency: int = Field(ge=1)


class LaunchBatchResult(Frozen):
    """`status`: the campaign's status in the database; only a running campaign launches.
    `done`: no account is left to launch (and the campaign's launch is marked done)."""

    status: Literal["draft", "running", "paused", "stopped"]
    started: int = 0  # accounts this batch marked launched (a workflow an earlier attempt started counts here)
    done: bool = False


class FanOutInput(Frozen):
    """Signal `signal` to the launched accounts of a campaign with an id above `after_id`."""

    campaign_id: str
    signal: Literal["pause", "resume", "close"]
    reason: str = ""
    after_id: int = 0
    batch_size: int = Field(ge=1)
    concurrency: int = Field(ge=1)


class FanOutResult(Frozen):
    signalled: int = 0
    finished: int = 0  # workflows that had already ended (closed accounts)
    next_after: int | None = None  # None: the last launched account was reached


class MoveInput(Frozen):
    """Move the launched accounts of a campaign with an id above `after_id` to a strategy version."""

    campaign_id: str
    strategy_hash: str
    step: str | None = None
    by: str = ""
    after_id: int = 0
    batch_size: int = Field(ge=1)
    concurrency: int = Field(ge=1)


class MoveResult(Frozen):
    moved: int = 0
    refused: int = 0
    finished: int = 0  # workflows that had already ended (closed accounts)
    next_after: int | None = None  # None: the last launched account was reached


class FreezeCalendarInput(Frozen):
    """A country's holidays to freeze for `calendar_years(on)` (`on`: the run's first day), for a
    strategy compiled before compiled strategies carried their holiday dates."""

    country: str
    on: date
