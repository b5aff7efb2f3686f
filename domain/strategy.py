"""The compiled strategy: the immutable, hashed plan the interpreter runs.

The compiler in `strategies/` builds it from YAML; a Temporal workflow receives it in its input,
so a running account keeps the version it started with. Durations are whole seconds, money is
integer minor units, percentages are decimal strings: everything survives a JSON round trip.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from domain.frozen import Frozen, added
from domain.interest import Interest
from domain.money import minor_digits
from domain.policy import ContactPolicy
from domain.types import NOT_A_CONVERSATION, Channel, OutcomeCode, Resolution, Stage, Weekday

# The language's current edition (see `CompiledStrategy.edition`).
EDITION = 2

# `end_of_month`: the last day of the local month in which the wait began.
Anchor = Literal["due_date", "oldest_unpaid_due_date", "previous_step", "promise_date", "end_of_month"]
Frequency = Literal["weekly", "biweekly", "monthly"]
# What the contacts whose time fell while the account was held (paused, disputed) do on release:
# `all` run at once, in order (as before the choice existed); `skip_missed` are skipped;
# `latest` runs only the last of them.
CatchUp = Literal["all", "skip_missed", "latest"]
# A handler under `on:` may name this instead of a step: re-evaluate the account's segment in place
# (the compiler refuses a step of this name, so it never meant a step in a strategy that uses it).
REEVALUATE = "reevaluate"


class SendAction(Frozen):
    kind: Literal["send"] = "send"
    channel: Channel
    template: str
    # Tried in order when the account has no usable contact point on `channel`
    # (no address, opted out on it, or a message to it bounced).
    fallback: tuple[Channel, ...] = ()
    # A template rendered as a PDF statement that goes with the message (email and letter only).
    attach: str | None = added(None)


class AgentTaskAction(Frozen):
    kind: Literal["agent_task"] = "agent_task"
    queue: str
    due_within_s: int
    attempts: int = 1
    retry_after_s: int = 86400
    # Allowed outcome codes (built-in, or declared in `CompiledStrategy.outcomes`) and the step
    # each one leads to. A task that is not worked before it is due counts as an unanswered
    # attempt; after the last attempt it routes as `no_answer`.
    outcomes: dict[OutcomeCode, str]


class WaitAction(Frozen):
    kind: Literal["wait"] = "wait"
    # Calendar months first, on the debtor's calendar (Jan 31 + 1 month = Feb 28 or 29), then
    # `seconds`. Strategies compiled before months existed carry none (0): their waits are unchanged.
    # Both are negative in a wait that ends before its anchor (never from `previous_step`).
    months: int = added(0)
    seconds: int = 0
    anchor: Anchor = "previous_step"
    # The anchor's date moved to the |n|th business day before (n < 0) or after it under the
    # policy's holiday calendar, weekends excluded; 0 (every wait compiled before) moves nothing.
    business_days: int = added(0)
    until_weekday: Weekday | None = None
    until_minute: int | None = None  # minutes after local midnight


class CheckPaymentAction(Frozen):
    kind: Literal["check_payment"] = "check_payment"


class OfferPlanAction(Frozen):
    kind: Literal["offer_plan"] = "offer_plan"
    channel: Channel
    template: str
    max_installments: int
    min_down_payment_pct: str
    frequencies: tuple[Frequency, ...]
    # As SendAction.fallback; none in strategies compiled before offers took fallbacks.
    fallback: tuple[Channel, ...] = added(())


class OfferSettlementAction(Frozen):
    kind: Literal["offer_settlement"] = "offer_settlement"
    channel: Channel
    template: str
    max_discount_pct: str
    expires_after_s: int
    fallback: tuple[Channel, ...] = added(())


class EscalateLegalAction(Frozen):
    kind: Literal["escalate_legal"] = "escalate_legal"
    approval: bool = False
    on_rejected: str | None = None


class NotifyAction(Frozen):
    """Post a signed webhook to the campaign's notify URL (the creditor's own systems: suspend a
    service, stop credit). `event` is the strategy's name for what happened; `data` is a small
    static map sent with it."""

    kind: Literal["notify"] = "notify"
    event: str
    data: dict[str, str | int | bool] = Field(default_factory=dict)


class BranchCase(Frozen):
    when: str
    goto: str


class BranchAction(Frozen):
    kind: Literal["branch"] = "branch"
    cases: tuple[BranchCase, ...]
    otherwise: str | None = None


class GotoAction(Frozen):
    kind: Literal["goto"] = "goto"
    step: str


class EndAction(Frozen):
    kind: Literal["end"] = "end"
    resolution: Resolution


class ReevaluateAction(Frozen):
    """Place the account again from its current facts: the first segment whose condition holds
    (strategists order segments most severe first), entered at its start (its variant's start);
    when none holds, the step goes on with its next action."""

    kind: Literal["reevaluate"] = "reevaluate"


Action = Annotated[
    SendAction
    | AgentTaskAction
    | WaitAction
    | CheckPaymentAction
    | OfferPlanAction
    | OfferSettlementAction
    | EscalateLegalAction
    | NotifyAction
    | BranchAction
    | GotoAction
    | EndAction
    | ReevaluateAction,
    Field(discriminator="kind"),
]


class Fee(Frozen):
    """A late fee or interest charge applied once per step and account."""

    fixed_minor: int | None = None
    percent: str | None = None  # of the current balance


class Step(Frozen):
    name: str
    stage: Stage
    approval: bool = False
    on_rejected: str | None = None
    fees: tuple[Fee, ...] = ()
    actions: tuple[Action, ...]
    next: str | None = None


class Segment(Frozen):
    name: str
    when: str | None = None
    start: str
    variant_starts: dict[str, str] = Field(default_factory=dict)


class Variant(Frozen):
    name: str
    weight: int


class PromiseRules(Frozen):
    grace_days: int = 0
    kept_threshold_pct: int = 100
    max_days_ahead: int = 30
    step: str
    on_kept: str | None = None
    on_broken: str


class PlanRules(Frozen):
    grace_days: int = 0
    missed_tolerated: int = 0
    max_installments: int = 12
    min_down_payment_pct: str = "0"
    frequencies: tuple[Frequency, ...] = ("monthly",)
    step: str
    on_missed: str | None = None
    on_broken: str


class Handlers(Frozen):
    """Global routes that apply at any step; None keeps the default behaviour."""

    payment_in_full: str | None = None
    partial_payment: str | None = None
    opt_out: str | None = None
    dispute: str | None = None
    dispute_resolved: str | None = None
    message_failed: str | None = None
    message_opened: str | None = None
    message_clicked: str | None = None
    # Opt-outs routed by what they cover: a channel's name, or `all` for a request to stop every
    # contact; an opt-out the mapping does not name takes `opt_out` (written `any`), as before.
    opt_out_by_channel: dict[Channel | Literal["all"], str] = added({})
    # Where a paused account goes when a supervisor resumes it; None: on from where it was.
    resumed: str | None = added(None)

    def opt_out_route(self, channel: Channel | None) -> str | None:
        """The step an opt-out of `channel` (None: of everything) leads to, if any."""
        return self.opt_out_by_channel.get(channel or "all", self.opt_out)


class Template(Frozen):
    subject: str | None = None
    body: str


class CustomOutcome(Frozen):
    """An outcome code the strategy declares for its agent tasks (`deceased`, `voicemail_left`),
    routed like the built-in ones. It moves the account only by its route: no promise, plan or
    hold goes with it."""

    code: str
    labels: dict[str, str]  # locale -> what the agent's screen shows
    # Whether the agent spoke with the debtor: counted as a right-party contact (KPIs, the
    # `right_party_contacts` variable) and as a conversation for the policy's cooldowns.
    right_party_contact: bool

    def label(self, locale: str | None) -> str:
        """The label in `locale`, else in its language, else the first one declared."""
        if locale in self.labels:
            return self.labels[locale]
        language = (locale or "").split("-")[0]
        near = next((text for loc, text in self.labels.items() if loc.split("-")[0] == language), None)
        return near or next(iter(self.labels.values()), self.code)


class FeeCap(Frozen):
    """A legal ceiling on collection fees: progressive percentages over the debt in a unit of
    account (Chile's UF), and no fee before a number of days past due."""

    rule: str
    unit_minor: int  # value of one unit of account in minor units of the strategy's currency
    tiers: tuple[tuple[int | None, str], ...]  # (upper bound in units or None, percent)
    min_days_past_due: int = 0


class CompiledStrategy(Frozen):
    id: str
    name: str
    description: str = ""
    locale: str
    currency: str
    # The currency's minor-unit exponent when compiled (domain.money): what the strategy's amounts
    # (fees, caps) and the accounts it runs mean. None in strategies compiled before it was recorded.
    currency_digits: int | None = added(None)
    # The edition of the language's meaning the strategy was compiled under. Behaviour the second
    # edition changed for strategies that already ran (days past due counted from the oldest
    # unpaid due, say) checks `edition >= 2`, so a running account's strategy, compiled before,
    # keeps its behaviour and its recorded history replays; the compiler writes the current one.
    edition: int = added(1, ge=1)
    timezone: str
    policy: ContactPolicy
    catch_up: CatchUp = added("all")
    fee_cap: FeeCap | None = None
    # Interest that accrues on the principal (domain/interest.py); None, as in every strategy
    # compiled before interest existed: nothing accrues.
    interest: Interest | None = added(None)
    segments: tuple[Segment, ...]
    variants: tuple[Variant, ...] = ()
    steps: dict[str, Step]
    handlers: Handlers = Handlers()
    promises: PromiseRules | None = None
    plans: PlanRules | None = None
    templates: dict[str, dict[str, Template]]
    # Outcome codes the strategy declares beyond the built-in ones; none in strategies compiled
    # before they existed.
    outcomes: tuple[CustomOutcome, ...] = added(())
    hash: str = ""

    @property
    def digits(self) -> int:
        """The exponent of the strategy's currency: as recorded, else the product's table."""
        return minor_digits(self.currency) if self.currency_digits is None else self.currency_digits

    def custom_outcome(self, code: str) -> CustomOutcome | None:
        """The strategy's own declaration of outcome `code`; None for a built-in code."""
        return next((o for o in self.outcomes if o.code == code), None)

    def is_conversation(self, code: str) -> bool:
        """Whether an agent outcome `code` was a right-party contact: as declared for the
        strategy's own codes; every built-in one but no_answer and wrong_party."""
        custom = self.custom_outcome(code)
        return custom.right_party_contact if custom is not None else code not in NOT_A_CONVERSATION

    def template_for(self, name: str, locale: str) -> Template:
        """Template `name` in `locale`, else in the strategy's locale, else its first one."""
        per_locale = self.templates[name]
        return per_locale.get(locale) or per_locale.get(self.locale) or next(iter(per_locale.values()))
