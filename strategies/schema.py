"""The strategy language as strategists write it: pydantic models of the YAML document.

These models check shape and scalar syntax (durations, percentages, times of day); the
compiler checks meaning (unknown steps, unreachable steps, loops, policy loosening) and turns a
document into a `domain.strategy.CompiledStrategy`. Amounts are written as money ("5,000.00 MXN",
`strategies.amounts`); the compiler turns them into integer minor units, like every amount in the
product.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.types import MAX_OUTCOME_CHARS, Channel, Outcome, Resolution, Stage, Weekday
from strategies import amounts
from strategies.amounts import WrittenAmount
from strategies.limits import (
    MAX_CONDITION_CHARS,
    MAX_CONDITION_DEPTH,
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    MAX_TEMPLATE_CHARS,
)

# Units, largest first: months (calendar, waits only), weeks, days, hours, minutes. Minutes are
# `min` and months `mo`: a bare `m` meant a month to one strategist and ran as a minute (issue 13).
_DURATION = re.compile(r"^(?:(\d+)mo)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)min)?$")
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60)
_BARE_M = re.compile(r"\d+m(?![a-z])")
DURATION_HELP = "a duration such as 30min, 4h, 3d, 2w or 1d12h"
WAIT_DURATION_HELP = "a duration such as 30min, 4h, 3d, 2w, 1d12h or 1mo (a calendar month)"


@dataclass(frozen=True)
class WaitLength:
    """How long a wait lasts: calendar months (added on the debtor's calendar, Jan 31 + 1mo =
    Feb 28/29), then whole seconds."""

    months: int = 0
    seconds: int = 0


def _shown(value: Any) -> str:
    """How a strategist's value is quoted in a message (pydantic templates cannot apply !r)."""
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _duration_parts(value: Any, *, months: bool, signed: bool = False) -> WaitLength:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    sign = 1
    if signed and text is not None and text.startswith("-"):
        # A wait from an anchor may end before it (`for: -3d, from: due_date`: a due-soon reminder).
        sign, text = -1, text[1:].strip()
    if text is not None and (bare := _BARE_M.search(text)):
        number = bare.group()[:-1]
        hint = f"write {number}min for minutes or {number}mo for months" if months else f"write {number}min for minutes"
        raise PydanticCustomError(
            "duration",
            "{value}: `m` is not a unit, it could mean minutes or months; {hint}",
            {"value": _shown(value), "hint": hint},
        )
    match = _DURATION.match(text) if text else None
    if text is None or match is None or not any(match.groups()):
        raise PydanticCustomError(
            "duration",
            "cannot parse duration {value}; expected {help}",
            {"value": _shown(value), "help": WAIT_DURATION_HELP if months else DURATION_HELP},
        )
    if match[1] and not months:
        raise PydanticCustomError(
            "duration",
            "{value}: months (mo) are only for waits, whose months follow the calendar; here write days, such as 30d",
            {"value": _shown(value)},
        )
    seconds = sum(int(g) * unit for g, unit in zip(match.groups()[1:], _UNIT_SECONDS, strict=True) if g)
    return WaitLength(months=sign * int(match[1] or 0), seconds=sign * seconds)


def parse_duration(value: Any) -> int:
    """'1d12h' -> 129600 seconds; 'm' is refused (min or mo?), and so are months."""
    return _duration_parts(value, months=False).seconds


def parse_wait_duration(value: Any) -> WaitLength:
    """'1mo2d' -> 1 calendar month and 172800 seconds: a wait's `for`; '-3d' ends 3 days before
    its anchor (the compiler refuses a negative wait from `previous_step`)."""
    if isinstance(value, WaitLength):
        return value
    return _duration_parts(value, months=True, signed=True)


def parse_percent(value: Any) -> str:
    """'12.5%' -> '12.5' (a decimal string, never a float). Percentages are written one way only,
    with their sign: `percent: 0.15` meant 15% to one strategist and ran as 0.15% (issue 13), so a
    bare number is refused, and the message says how to write what it probably meant."""
    raw = str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
    signed = raw.endswith("%")
    try:
        number = Decimal(raw.removesuffix("%").strip())
    except InvalidOperation:
        number = Decimal(-1)
    if not number.is_finite() or number < 0 or number > 100:
        raise PydanticCustomError(
            "percent",
            "cannot parse percentage {value}; expected a number from 0 to 100 with its % sign, such as 9% or 2.5%",
            {"value": _shown(value)},
        )
    shown = format(number.normalize(), "f")
    if not signed:
        if 0 < number < 1:
            hint = (
                f"{shown} looks like a fraction: write {format((number * 100).normalize(), 'f')}% for that share, "
                f"or {shown}% if you mean less than one percent"
            )
        else:
            hint = f"write {shown}%"
        raise PydanticCustomError(
            "percent",
            "percentage {value} without its % sign; {hint} (percentages are written one way only, with the sign)",
            {"value": _shown(value), "hint": hint},
        )
    # format(..., "f"): str(Decimal("10").normalize()) would be "1E+1" in messages and offers
    return shown


def parse_amount(value: Any) -> WrittenAmount:
    """'5,000.00 MXN' -> its figure and currency; the compiler turns it into minor units of the
    strategy's currency. A bare number is refused: 5000 meant 5,000 to one strategist and 50.00 to
    the product (issue 13), so an amount is written as money, with its currency."""
    if isinstance(value, WrittenAmount):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError(
            "amount",
            "amount {value} without its currency; write money as money, in major units with the currency code "
            'and in quotes, such as "5,000.00 MXN" or "5,000 CLP"',
            {"value": _shown(value)},
        )
    if not isinstance(value, str):
        raise PydanticCustomError(
            "amount", 'expected an amount such as "5,000.00 MXN", got {value}', {"value": _shown(value)}
        )
    try:
        written = amounts.read(value)
    except amounts.BadAmount as exc:
        raise PydanticCustomError("amount", "{message}", {"message": str(exc)}) from None
    if written.currency is None:
        raise PydanticCustomError(
            "amount",
            'amount {value} without its currency; write the currency code after it, such as "{value_} MXN"',
            {"value": _shown(value), "value_": value.strip()},
        )
    return written


def parse_clock(value: Any) -> int:
    """'08:30' -> 510 minutes after midnight; '24:00' is allowed as the end of a day."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip()) if isinstance(value, str) else None
    if match is None or int(match[1]) > 24 or int(match[2]) > 59 or (int(match[1]) == 24 and int(match[2])):
        raise PydanticCustomError(
            "clock",
            'cannot parse time of day {value}; expected HH:MM from 00:00 to 24:00, in quotes, such as "08:00"',
            {"value": _shown(value)},
        )
    return int(match[1]) * 60 + int(match[2])


_DURATION_SCHEMA = {"type": "string", "pattern": _DURATION.pattern.replace(r"(?:(\d+)mo)?", "")}
Duration = Annotated[int, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
WaitDuration = Annotated[
    WaitLength,
    BeforeValidator(parse_wait_duration),
    WithJsonSchema({"type": "string", "pattern": "^-?" + _DURATION.pattern[1:]}),
]
Percent = Annotated[
    str,
    BeforeValidator(parse_percent),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?\s*%$"}),
]
Amount = Annotated[
    WrittenAmount,
    BeforeValidator(parse_amount),
    WithJsonSchema({"type": "string", "pattern": r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*[A-Z]{3}$"}),
]
Clock = Annotated[int, BeforeValidator(parse_clock), WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$"})]


def parse_period(value: Any) -> int | str:
    """A cap's period: 'day' or 'week' (calendar), or a rolling duration such as 7d (seconds)."""
    if value in ("day", "week"):
        return str(value)
    if isinstance(value, str) and _BARE_M.search(value):
        return parse_duration(value)  # its own message: min or mo?
    try:
        return parse_duration(value)
    except PydanticCustomError:
        raise PydanticCustomError(
            "duration",
            "cannot parse period {value}; expected day or week (calendar), or a rolling duration such as 7d",
            {"value": _shown(value)},
        ) from None


Period = Annotated[
    int | Literal["day", "week"],
    BeforeValidator(parse_period),
    WithJsonSchema({"anyOf": [_DURATION_SCHEMA, {"enum": ["day", "week"]}]}),
]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="lower_snake_case name")]


def _nesting(expression: str) -> int:
    """Deepest nesting of (), [] and {} outside quoted text."""
    depth = deepest = 0
    quote: str | None = None
    escaped = False
    for ch in expression:
        if quote is not None:
            escaped, quote = (False, quote) if escaped else (ch == "\\", None if ch == quote else quote)
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth = max(depth - 1, 0)
    return deepest


def bounded_condition(expression: str) -> str:
    """A CEL condition short and shallow enough to parse and check in bounded time."""
    if len(expression) > MAX_CONDITION_CHARS:
        raise PydanticCustomError(
            "condition",
            "condition too long: {length} characters, at most {limit}; split it into several branch cases",
            {"length": f"{len(expression):,}", "limit": f"{MAX_CONDITION_CHARS:,}"},
        )
    if _nesting(expression) > MAX_CONDITION_DEPTH:
        raise PydanticCustomError(
            "condition",
            "condition nested too deeply: brackets {depth} levels deep, at most {limit}",
            {"depth": _nesting(expression), "limit": MAX_CONDITION_DEPTH},
        )
    return expression


# An agent task's outcome code: a built-in one, or one the strategy declares in `outcomes:` (the
# compiler checks which; editors offer the built-in ones).
OutcomeKey = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=MAX_OUTCOME_CHARS),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": [o.value for o in Outcome]},
                {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$", "description": "a code declared in outcomes:"},
            ]
        }
    ),
]


Condition = Annotated[str, AfterValidator(bounded_condition)]
Text = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
TemplateText = Annotated[str, Field(max_length=MAX_TEMPLATE_CHARS)]


class Doc(BaseModel):
    """Base of every document node: unknown keys are errors that list the keys expected.

    When validated with `context={UNKNOWN_FIELDS: []}` (as the loader does), unknown keys are
    recorded there and dropped, so that the rest of the node is still checked and every mistake
    of a file is reported at once; without that context the first unknown key is the error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        known = {f.alias or name for name, f in cls.model_fields.items()} | set(cls.model_fields)
        unknown = [key for key in data if key not in known]
        if not unknown:
            return data
        expected = [f.alias or n for n, f in cls.model_fields.items()]
        sink = info.context.get(UNKNOWN_FIELDS) if isinstance(info.context, dict) else None
        if sink is None:
            raise PydanticCustomError(
                "unknown_field",
                "{message}",
                {"message": unknown_field_message(unknown[0], expected), "field": unknown[0]},
            )
        for key in unknown:
            sink.append(UnknownField(container=data, key=key, expected=tuple(expected)))
        return {key: value for key, value in data.items() if key in known}


UNKNOWN_FIELDS = "unknown_fields"


@dataclass(frozen=True)
class UnknownField:
    """A key a node does not take; `container` is the YAML mapping that holds it."""

    container: dict[Any, Any]
    key: Any
    expected: tuple[str, ...]

    @property
    def suggestion(self) -> str | None:
        return closest(str(self.key), list(self.expected))

    @property
    def message(self) -> str:
        return unknown_field_message(self.key, list(self.expected))


def closest(word: str, options: list[str]) -> str | None:
    """The option a typo most likely meant, if any is close enough."""
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    if not found:
        lowered = {o.lower(): o for o in options}
        found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.7)
        found = [lowered[f] for f in found]
    return found[0] if found else None


def unknown_field_message(key: Any, expected: list[str]) -> str:
    near = closest(str(key), expected)
    hint = f"did you mean {near!r}? " if near else ""
    return f"unknown field {_shown(key)}; {hint}expected one of: {', '.join(expected)}"


# ---- contact policy ------------------------------------------------------------------------------


class WindowDoc(Doc):
    days: list[Weekday] = Field(min_length=1)
    start: Clock = Field(alias="from")
    end: Clock = Field(alias="to")


class CapDoc(Doc):
    id: str
    channels: list[Channel] | None = None
    max: int = Field(ge=1)
    per: Period = Field(description="rolling duration (7d), or calendar day/week")


class GapDoc(Doc):
    id: str
    channels: list[Channel] | None = None
    gap: Duration


class CooldownDoc(Doc):
    id: str
    channels: list[Channel] = Field(min_length=1)
    days: int = Field(ge=1)


class PolicyRulesDoc(Doc):
    windows: list[WindowDoc] | None = None
    holidays: str | None = Field(default=None, description="ISO country code of the holiday calendar")
    caps: list[CapDoc] | None = None
    min_gaps: list[GapDoc] | None = None
    cooldowns: list[CooldownDoc] | None = None


class OverrideDoc(PolicyRulesDoc):
    reason: str = Field(min_length=10, description="why the preset is loosened; shown by validate and simulate")


class PolicyDoc(PolicyRulesDoc):
    preset: Literal["US_REG_F", "CL", "CO", "MX", "PE", "AR", "BR", "NONE"]
    override: OverrideDoc | None = None
    fee_cap_unit_value: Amount | None = Field(
        default=None, description="today's value of the fee cap's unit (Chile: one UF, such as \"39,700 CLP\")"
    )
    interest_ceiling: Percent | None = Field(
        default=None,
        description=(
            "the legal maximum interest rate in force, a yearly rate (Chile's TMC, Colombia's usury rate, "
            "a US state's limit...); interest above it is an error"
        ),
    )
    spread: Duration | None = Field(
        default=None,
        description=(
            "contacts the policy moves land at a stable per-account offset within this much of the allowed "
            "time, never past the window's end, so a window's opening is not a burst (default 30min; 0min: none)"
        ),
    )


# ---- actions ---------------------------------------------------------------------------------------


class SendSpec(Doc):
    channel: Channel
    template: str
    fallback: list[Channel] = []
    attach: str | None = Field(
        default=None,
        description="a template whose rendered text goes with the message as a PDF statement (email and letter only)",
    )


class AgentTaskSpec(Doc):
    queue: str
    due_within: Duration
    attempts: int = Field(default=1, ge=1, le=20)
    retry_after: Duration = Field(default=86400, description="pause between two attempts")
    outcomes: dict[OutcomeKey, str] = Field(
        min_length=1, description="allowed outcome code (built-in, or declared in outcomes:) -> next step"
    )


WaitAnchor = Literal["due_date", "oldest_unpaid_due_date", "previous_step", "promise_date", "end_of_month"]


class BusinessDayAnchor(Doc):
    """`from: {business_day_before: due_date}`: the last business day before the anchor's date
    (after: the first one after it), under the policy's holiday calendar; weekends are not
    business days."""

    business_day_before: WaitAnchor | None = None
    business_day_after: WaitAnchor | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> BusinessDayAnchor:
        if (self.business_day_before is None) == (self.business_day_after is None):
            raise PydanticCustomError(
                "wait",
                "write one of business_day_before or business_day_after, such as {business_day_before: due_date}",
                {},
            )
        return self

    @property
    def date_anchor(self) -> str:
        return self.business_day_before or self.business_day_after or ""

    @property
    def business_days(self) -> int:
        return -1 if self.business_day_before is not None else 1


class WaitSpec(Doc):
    duration: WaitDuration | None = Field(default=None, alias="for")
    anchor: Annotated[
        Annotated[WaitAnchor, Tag("date")] | Annotated[BusinessDayAnchor, Tag("business_day")],
        Discriminator(lambda v: "business_day" if isinstance(v, dict | BusinessDayAnchor) else "date"),
    ] = Field(
        default="previous_step",
        alias="from",
        description="previous_step, due_date, oldest_unpaid_due_date, promise_date, end_of_month, "
        "or {business_day_before: <one of those dates>} / {business_day_after: ...}",
    )
    until: str | None = Field(default=None, description='"10:00" or "mon 10:00", in the debtor\'s time zone')

    @model_validator(mode="after")
    def _something_to_wait_for(self) -> WaitSpec:
        if self.duration is None and self.until is None:
            raise PydanticCustomError("wait", "wait needs `for` (a duration), `until` (a time), or both", {})
        return self


class OfferPlanSpec(Doc):
    channel: Channel
    template: str
    max_installments: int | None = Field(default=None, ge=1, le=120)
    min_down_payment: Percent | None = None
    frequencies: list[Literal["weekly", "biweekly", "monthly"]] | None = None
    fallback: list[Channel] = []


class OfferSettlementSpec(Doc):
    channel: Channel
    template: str
    max_discount: Percent
    expires_in: Duration
    fallback: list[Channel] = []


class EscalateLegalSpec(Doc):
    approval: bool = False
    on_rejected: str | None = None


# `notify`: the event name the creditor's systems dispatch on, and a small static map sent with it.
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")
IDENTIFIER_HELP = "a short identifier: lowercase letters, digits and _, starting with a letter, at most 64 characters"
MAX_NOTIFY_DATA = 20
MAX_NOTIFY_VALUE_CHARS = 200


def notify_identifier(value: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        message = f"not {IDENTIFIER_HELP} (e.g. suspend_service)"
        raise PydanticCustomError("identifier", "{message}", {"message": message})
    return value


def notify_value(value: Any) -> Any:
    """One message for a value of the wrong kind (not three, one per kind the union tries)."""
    if isinstance(value, str) and len(value) > MAX_NOTIFY_VALUE_CHARS:
        raise PydanticCustomError(
            "notify_value", "{message}", {"message": f"a data value holds at most {MAX_NOTIFY_VALUE_CHARS} characters"}
        )
    if not isinstance(value, str | int | bool):
        raise PydanticCustomError(
            "notify_value",
            "{message}",
            {"message": "a data value is text, a whole number or true/false (data is a flat, static map)"},
        )
    return value


NotifyName = Annotated[str, AfterValidator(notify_identifier)]
NotifyValue = Annotated[str | int | bool, BeforeValidator(notify_value)]


class NotifySpec(Doc):
    event: NotifyName = Field(description="what happened, for the creditor's systems (e.g. suspend_service)")
    data: dict[NotifyName, NotifyValue] = Field(
        default={}, max_length=MAX_NOTIFY_DATA, description="a small static map sent with the event"
    )


class BranchCaseDoc(Doc):
    when: Condition = Field(alias="if")
    goto: str


class BranchElseDoc(Doc):
    otherwise: str = Field(alias="else")


def _branch_item(value: Any) -> str:
    return "else" if isinstance(value, dict) and "else" in value else "if"


BranchItem = Annotated[
    Annotated[BranchCaseDoc, Tag("if")] | Annotated[BranchElseDoc, Tag("else")], Discriminator(_branch_item)
]


class SendDoc(Doc):
    send: SendSpec


class AgentTaskDoc(Doc):
    agent_task: AgentTaskSpec


class WaitDoc(Doc):
    wait: WaitSpec

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("wait"), str | int):
            return {"wait": {"for": data["wait"]}}
        return data


class CheckPaymentDoc(Doc):
    check_payment: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_options(self) -> CheckPaymentDoc:
        if self.check_payment:
            raise PydanticCustomError("options", "check_payment takes no options", {})
        return self


class OfferPlanDoc(Doc):
    offer_plan: OfferPlanSpec


class OfferSettlementDoc(Doc):
    offer_settlement: OfferSettlementSpec


class EscalateLegalDoc(Doc):
    escalate_legal: EscalateLegalSpec | None = None


class NotifyDoc(Doc):
    notify: NotifySpec

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        """`- notify: suspend_service` is `- notify: {event: suspend_service}`."""
        if isinstance(data, dict) and isinstance(data.get("notify"), str):
            return {"notify": {"event": data["notify"]}}
        return data


class BranchDoc(Doc):
    branch: list[BranchItem] = Field(min_length=1)


class GotoDoc(Doc):
    goto: str


class ReevaluateDoc(Doc):
    reevaluate: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_options(self) -> ReevaluateDoc:
        if self.reevaluate:
            raise PydanticCustomError(
                "options", "reevaluate takes no options: it places the account by the segments", {}
            )
        return self


class EndDoc(Doc):
    end: Resolution


ACTION_KINDS = (
    "send",
    "agent_task",
    "wait",
    "check_payment",
    "offer_plan",
    "offer_settlement",
    "escalate_legal",
    "notify",
    "branch",
    "goto",
    "end",
    "reevaluate",
)


# Actions that may be written bare, without options (`- check_payment`).
BARE_ACTIONS = ("check_payment", "escalate_legal", "reevaluate")


def _action_kind(value: Any) -> str | None:
    if isinstance(value, str) and value in BARE_ACTIONS:
        return value
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in ACTION_KINDS else None
    return None


def _bare_action(value: Any) -> Any:
    """`- check_payment`, `- escalate_legal` and `- reevaluate` may be written without options."""
    if isinstance(value, str) and value in BARE_ACTIONS:
        return {value: None}
    if _action_kind(value) is None:
        expected = ", ".join(ACTION_KINDS)
        if isinstance(value, dict) and len(value) > 1 and set(value) & set(ACTION_KINDS):
            raise PydanticCustomError(
                "action",
                "{message}",
                {
                    "message": f"one list item holds {len(value)} keys ({', '.join(map(str, value))}), "
                    "but an action is a mapping with exactly one key; put each action in its own `- ` item"
                },
            )
        if isinstance(value, dict) and value:
            found = next(iter(value))
            near = closest(str(found), list(ACTION_KINDS))
            hint = f"did you mean {near!r}? " if near else ""
            message = f"unknown action {_shown(found)}; {hint}expected one of: {expected}"
        elif isinstance(value, str) and value in ACTION_KINDS:
            message = f"action {value!r} needs options, written as `- {value}: ...`"
        elif isinstance(value, str):
            near = closest(value, list(ACTION_KINDS))
            hint = f"did you mean {near!r}? " if near else ""
            message = (
                f"unknown action {value!r}; {hint}expected one of: {expected} "
                "(only check_payment, escalate_legal and reevaluate may be written without options)"
            )
        else:
            message = f"expected an action such as `- send: {{channel: email, template: reminder}}`, got {value!r}"
        raise PydanticCustomError("action", "{message}", {"message": message})
    return value


ActionDoc = Annotated[
    Annotated[SendDoc, Tag("send")]
    | Annotated[AgentTaskDoc, Tag("agent_task")]
    | Annotated[WaitDoc, Tag("wait")]
    | Annotated[CheckPaymentDoc, Tag("check_payment")]
    | Annotated[OfferPlanDoc, Tag("offer_plan")]
    | Annotated[OfferSettlementDoc, Tag("offer_settlement")]
    | Annotated[EscalateLegalDoc, Tag("escalate_legal")]
    | Annotated[NotifyDoc, Tag("notify")]
    | Annotated[BranchDoc, Tag("branch")]
    | Annotated[GotoDoc, Tag("goto")]
    | Annotated[EndDoc, Tag("end")]
    | Annotated[ReevaluateDoc, Tag("reevaluate")],
    Discriminator(_action_kind),
    BeforeValidator(_bare_action),
]


# ---- steps and the document ------------------------------------------------------------------------


class FeeDoc(Doc):
    fixed: Amount | None = Field(default=None, description='an amount with its currency, such as "5,000.00 MXN"')
    percent: Percent | None = Field(default=None, description="of the current balance")

    @model_validator(mode="after")
    def _one_kind(self) -> FeeDoc:
        if self.fixed is not None and self.percent is not None:
            raise PydanticCustomError(
                "fee",
                "a fee has either `fixed` (an amount) or `percent`, not both; write two fees to charge both",
                {},
            )
        if self.fixed is None and self.percent is None:
            raise PydanticCustomError("fee", 'a fee needs `fixed` (an amount, such as "5,000 CLP") or `percent`', {})
        return self


class InterestDoc(Doc):
    rate: Percent = Field(description="percent of the principal per day or per month, such as 2% or 0.05%")
    per: Literal["day", "month"]
    after_days: int = Field(
        default=0, ge=0, le=3650, description="days past the due date before interest starts counting (default 0)"
    )


class StepDoc(Doc):
    stage: Stage
    approval: Literal["none", "supervisor"] = "none"
    on_rejected: str | None = None
    fees: list[FeeDoc] = []
    do: list[ActionDoc] = Field(min_length=1)
    next: str | None = None


class SegmentDoc(Doc):
    name: Name
    when: Condition | None = None
    start: str
    variants: dict[str, str] = Field(default_factory=dict, description="variant name -> start step")


class VariantDoc(Doc):
    name: Name
    weight: int = Field(ge=1)


class PromisesDoc(Doc):
    grace_days: int = Field(default=0, ge=0, le=30)
    kept_threshold: Percent = Field(default="100%", validate_default=True)
    max_days_ahead: int = Field(default=30, ge=1, le=365)
    step: str
    on_kept: str | None = None
    on_broken: str


class PlansDoc(Doc):
    max_installments: int = Field(default=12, ge=1, le=120)
    min_down_payment: Percent = Field(default="0%", validate_default=True)
    frequencies: list[Literal["weekly", "biweekly", "monthly"]] = Field(default=["monthly"], min_length=1)
    grace_days: int = Field(default=0, ge=0, le=30)
    missed_tolerated: int = Field(default=0, ge=0)
    step: str
    on_missed: str | None = None
    on_broken: str


class OptOutRoutesDoc(Doc):
    """Opt-outs routed by what they cover: a channel, `all` (a request to stop every contact) or
    `any` (an opt-out no other key names)."""

    email: str | None = None
    sms: str | None = None
    whatsapp: str | None = None
    voice: str | None = None
    letter: str | None = None
    all: str | None = None
    any: str | None = None


OptOutHandler = Annotated[
    Annotated[str, Tag("step")] | Annotated[OptOutRoutesDoc, Tag("routes")],
    Discriminator(lambda value: "routes" if isinstance(value, dict | OptOutRoutesDoc) else "step"),
]


class HandlersDoc(Doc):
    payment_in_full: str | None = None
    partial_payment: str | None = None
    opt_out: OptOutHandler | None = Field(
        default=None,
        description=(
            "a step for every opt-out, or one per channel: {whatsapp: step, all: step, any: step} "
            "(`all`: a request to stop every contact; `any`: an opt-out no other key names)"
        ),
    )
    dispute: str | None = None
    dispute_resolved: str | None = None
    message_failed: str | None = None
    message_opened: str | None = None
    message_clicked: str | None = None
    resumed: str | None = Field(default=None, description="where a paused account goes when it is resumed")


class OutcomeDoc(Doc):
    """An outcome code of the strategy's own for its agent tasks, next to the built-in ones."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=MAX_OUTCOME_CHARS)]
    label: dict[str, Text] = Field(
        min_length=1, description="locale -> what the agent's screen shows, e.g. {es-CL: Fallecido}"
    )
    right_party_contact: bool = Field(
        description="true if the agent spoke with the debtor: counted as a right-party contact (KPIs, "
        "the right_party_contacts variable) and as a conversation for the policy's cooldowns"
    )


class TemplateDoc(Doc):
    subject: TemplateText | None = None
    body: TemplateText


class StrategyDoc(Doc):
    """A campaign strategy. Start a file with
    `# yaml-language-server: $schema=strategy.schema.json` for completion in editors."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: Text
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    locale: str = Field(description="default message locale, such as es-CL or en-US")
    currency: str = Field(description="ISO 4217 code")
    timezone: str = Field(description="IANA zone for accounts that carry none")
    policy: PolicyDoc
    variants: list[VariantDoc] = []
    segments: list[SegmentDoc] = Field(min_length=1)
    promises: PromisesDoc | None = None
    plans: PlansDoc | None = None
    interest: InterestDoc | None = Field(
        default=None,
        description="interest that accrues on the principal (not on fees), simple, in the debtor's calendar",
    )
    on: HandlersDoc = HandlersDoc()
    catch_up: Literal["all", "skip_missed", "latest"] = Field(
        default="all",
        description=(
            "the contacts whose time fell while the account was paused or disputed: all run on release "
            "(default), skip_missed skips them, latest runs only the last"
        ),
    )
    queues: list[Name] = Field(default=[], description="agent queues this strategy hands tasks to")
    outcomes: list[OutcomeDoc] = Field(default=[], description="outcome codes of the strategy's own, for agent tasks")
    steps: dict[Name, StepDoc] = Field(min_length=1)
    templates: dict[str, dict[str, TemplateDoc]] = {}
