"""StrategyDoc -> CompiledStrategy, with the static checks that make a strategy safe to publish.

Checks: references to unknown steps, templates and queues; unreachable steps; loops that can
run without waiting; agent outcomes nobody routes; conditions that do not parse or are ill-typed
(strategies/cel_check.py); templates with unknown variables; unknown currency, locale, time zone
or holiday calendar; and a contact policy that loosens its preset without an explicit override.
Every problem is reported at once, each with its `file:line:col`.

The policy's holiday dates are frozen into the compiled strategy for whole years up to three
after the compile year (`domain.policy.calendar_years`), so the hash, and therefore the version, changes
when the `holidays` package's calendar or the compile year does; validate and publish show the
covered years. The compile date is an argument (today in UTC when not given) so tests pin it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holidays_lib
from jinja2 import TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError

from domain import conditions
from domain import strategy as st
from domain.countries import is_country
from domain.fees import FEE_CAPS, cap_total, percent_of
from domain.frozen import omit_added_defaults
from domain.interest import CEILINGS, RATE_DECIMALS, Interest, period_ceiling, rate_units
from domain.money import MINOR_UNITS, minor_digits
from domain.money import refusal as currency_refusal
from domain.policy import MAX_SPREAD_S, Cap, ContactPolicy, Cooldown, MinGap, Window, loosenings
from domain.policy_presets import PRESETS
from domain.types import Channel, Outcome, Weekday
from strategies import amounts, cel_check
from strategies import schema as sc
from strategies.limits import MAX_COMPILED_BYTES
from strategies.loader import PathKey, Source, StrategyError, StrategyInvalid, load_file, load_text, where
from strategies.rendering import EXAMPLE_CONTEXT, check_locale, environment
from strategies.sandbox import TemplateTooCostly, render_bounded
from strategies.schema import closest

# A permissive base for strategies outside any preset jurisdiction.
NO_PRESET = ContactPolicy(
    name="NONE",
    window_rule="window",
    windows=(Window(days=tuple(Weekday), start=0, end=1440),),
    window_channels=(Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.VOICE),
)
WAITING_KINDS = (sc.WaitDoc, sc.AgentTaskDoc)
# Channels that carry a PDF statement (`send: {attach: ...}`); a fallback to another goes without it.
ATTACHING_CHANNELS = (Channel.EMAIL, Channel.LETTER)
BUILT_IN_OUTCOMES = tuple(o.value for o in Outcome)
# The spread of moved contacts a strategy gets unless its policy says otherwise: at 08:00 every
# account that waited for the window would otherwise wake at once (issue 10 measured the burst);
# half an hour is short beside a 12-hour window and beside the days between two contacts.
DEFAULT_SPREAD_S = 30 * 60


@dataclass(frozen=True)
class Compiled:
    strategy: st.CompiledStrategy
    warnings: tuple[str, ...]


def _json_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def content_hash(strategy: st.CompiledStrategy) -> str:
    """sha256 of the canonical JSON of everything but the hash itself. Fields added after versions
    were published (`domain.frozen.added`: the currency's exponent, the policy's spread, calendar
    months, the edition...) are left out while they hold their default, so a version compiled
    before each existed keeps the hash it was published with."""
    body = omit_added_defaults(strategy, strategy.model_dump(mode="json", exclude={"hash"}))
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def compile_file(path: str, *, compiled_on: date | None = None) -> Compiled:
    src, doc = load_file(path)
    return _Compiler(src, doc, compiled_on).run()


def compile_text(text: str, file: str = "<strategy>", *, compiled_on: date | None = None) -> Compiled:
    src, doc = load_text(text, file)
    return _Compiler(src, doc, compiled_on).run()


class _Compiler:
    def __init__(self, src: Source, doc: sc.StrategyDoc, compiled_on: date | None = None) -> None:
        self.src = src
        self.doc = doc
        # The day whose surrounding years the holiday calendar covers (see the module docstring).
        self.compiled_on = compiled_on or datetime.now(UTC).date()
        self.errors: list[StrategyError] = []
        self.warnings: list[str] = []
        # Amounts written as money, in minor units of the strategy's currency, by where they are written.
        self.amounts: dict[PathKey, int] = {}
        # Each condition as the interpreter runs it: money("5,000") written out as minor units.
        self.runnable: dict[str, str] = {}
        self.currency = amounts.Currency(doc.currency, doc.locale)

    def fail(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        self.errors.append(self.src.error(path, message, at_key=at_key))

    def warn(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        """A warning validate prints; it starts with the `line:col` it is about."""
        spot = self.src.error(path, message, at_key=at_key)
        self.warnings.append(f"{spot.line}:{spot.col}: {where(path)}: {message}")

    def run(self) -> Compiled:
        doc = self.doc
        self.check_basics()
        self.check_amounts()
        policy = self.build_policy()
        self.check_conditions()
        self.check_references()
        self.check_outcomes()
        self.check_termination()
        self.check_reachability()
        self.check_loops()
        self.check_templates()
        self.check_percentages()
        self.check_segment_order()
        self.check_dead_actions()
        self.check_waits_land_in_a_window(policy)
        fee_cap = self.fee_cap()
        self.check_fees(fee_cap)
        self.check_fee_journeys(fee_cap)
        interest = self.interest()
        if self.errors:
            raise StrategyInvalid(self.errors)
        compiled = st.CompiledStrategy(
            id=doc.id,
            name=doc.name,
            description=doc.description,
            locale=doc.locale,
            currency=doc.currency,
            currency_digits=minor_digits(doc.currency),
            edition=st.EDITION,
            timezone=doc.timezone,
            policy=policy,
            fee_cap=fee_cap,
            interest=interest,
            segments=tuple(
                st.Segment(
                    name=s.name,
                    when=self.runnable[s.when] if s.when is not None else None,
                    start=s.start,
                    variant_starts=dict(s.variants),
                )
                for s in doc.segments
            ),
            variants=tuple(st.Variant(name=v.name, weight=v.weight) for v in doc.variants),
            steps={name: self.compile_step(name, step) for name, step in doc.steps.items()},
            handlers=self.handlers(),
            catch_up=doc.catch_up,
            promises=(
                st.PromiseRules(
                    grace_days=doc.promises.grace_days,
                    kept_threshold_pct=int(Decimal(doc.promises.kept_threshold)),
                    max_days_ahead=doc.promises.max_days_ahead,
                    step=doc.promises.step,
                    on_kept=doc.promises.on_kept,
                    on_broken=doc.promises.on_broken,
                )
                if doc.promises
                else None
            ),
            plans=(
                st.PlanRules(
                    grace_days=doc.plans.grace_days,
                    missed_tolerated=doc.plans.missed_tolerated,
                    max_installments=doc.plans.max_installments,
                    min_down_payment_pct=doc.plans.min_down_payment,
                    frequencies=tuple(doc.plans.frequencies),
                    step=doc.plans.step,
                    on_missed=doc.plans.on_missed,
                    on_broken=doc.plans.on_broken,
                )
                if doc.plans
                else None
            ),
            templates={
                name: {loc: st.Template(subject=t.subject, body=t.body) for loc, t in per_locale.items()}
                for name, per_locale in doc.templates.items()
            },
            outcomes=tuple(
                st.CustomOutcome(code=o.code, labels=dict(o.label), right_party_contact=o.right_party_contact)
                for o in doc.outcomes
            ),
        )
        compiled = compiled.model_copy(update={"hash": content_hash(compiled)})
        self.check_size(compiled)
        if self.errors:
            raise StrategyInvalid(self.errors)
        return Compiled(compiled, tuple(self.warnings))

    def check_size(self, compiled: st.CompiledStrategy) -> None:
        """The compiled strategy travels in every account's workflow input (Temporal refuses
        payloads over 2 MB): refuse one over MAX_COMPILED_BYTES, naming its biggest part."""
        body = compiled.model_dump(mode="json")
        size = _json_size(body)
        if size <= MAX_COMPILED_BYTES:
            return
        field, part = max(((k, _json_size(v)) for k, v in body.items()), key=lambda kv: kv[1])
        source_key = {"handlers": "on"}.get(field, field)
        path: PathKey = (source_key,)
        what = source_key
        value = body[field]
        if isinstance(value, dict) and value:
            entry = max(value, key=lambda k: _json_size(value[k]))
            path, what = (source_key, entry), f"{source_key}.{entry} ({_json_size(value[entry]):,} bytes)"
        self.fail(
            path,
            f"the compiled strategy is {size:,} bytes, more than the {MAX_COMPILED_BYTES:,} it may take (it travels "
            f"with every account); {source_key} takes {part:,} bytes of it, the most being {what}",
            at_key=True,
        )

    # ---- basics ----------------------------------------------------------------------------------

    def check_basics(self) -> None:
        doc = self.doc
        if (why := currency_refusal(doc.currency)) is not None:
            near = closest(doc.currency.upper(), sorted(MINOR_UNITS))
            hint = f"did you mean {near!r}? " if near and near != doc.currency else ""
            self.fail(
                ("currency",),
                f"unknown currency {doc.currency!r}; {hint}expected an ISO 4217 code such as CLP, USD, COP or MXN"
                + ("" if why.endswith("is not an ISO 4217 currency code") else f" ({why})"),
            )
        if _locale_problem(doc.locale):
            self.fail(
                ("locale",),
                f"unknown locale {doc.locale!r}; expected a language-COUNTRY locale such as es-CL, es-MX or en-US",
            )
        try:
            ZoneInfo(doc.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            near = closest(doc.timezone, sorted(_zones()))
            hint = f"did you mean {near!r}? " if near else ""
            self.fail(
                ("timezone",),
                f"unknown time zone {doc.timezone!r}; {hint}expected an IANA zone such as America/Santiago",
            )
        names = [v.name for v in doc.variants]
        for index, name in enumerate(names):
            if name in names[:index]:
                self.fail(("variants", index, "name"), f"variant {name!r} is declared twice")
        seg_names = [s.name for s in doc.segments]
        for index, name in enumerate(seg_names):
            if name in seg_names[:index]:
                self.fail(("segments", index, "name"), f"segment {name!r} is declared twice")
        for index, seg in enumerate(doc.segments):
            for variant in seg.variants:
                if variant not in names:
                    near = closest(variant, names)
                    hint = f"did you mean {near!r}? " if near else ""
                    declared = ", ".join(names) or "none (declare them in a top-level variants: list)"
                    self.fail(
                        ("segments", index, "variants", variant),
                        f"unknown variant {variant!r}; {hint}declared variants: {declared}",
                        at_key=True,
                    )
        for name, per_locale in doc.templates.items():
            for loc in per_locale:
                if _locale_problem(loc):
                    self.fail(
                        ("templates", name, loc),
                        f"unknown locale {loc!r} in template {name!r}; expected a locale such as es-CL or en-US",
                        at_key=True,
                    )
            if doc.locale not in per_locale and not _locale_problem(doc.locale):
                self.fail(
                    ("templates", name),
                    f"template {name!r} has no {doc.locale} version (the strategy's locale, used when an account "
                    f"has none); it has: {', '.join(per_locale) or 'no versions'}",
                    at_key=True,
                )
        if doc.plans and doc.plans.missed_tolerated >= doc.plans.max_installments:
            self.fail(
                ("plans", "missed_tolerated"),
                f"missed_tolerated ({doc.plans.missed_tolerated}) must be below max_installments "
                f"({doc.plans.max_installments})",
            )
        if doc.promises and Decimal(doc.promises.kept_threshold) != Decimal(doc.promises.kept_threshold).to_integral():
            self.fail(
                ("promises", "kept_threshold"),
                f"kept_threshold must be a whole percentage such as 90%, got {doc.promises.kept_threshold}%",
            )

    def written_amounts(self) -> Iterator[tuple[PathKey, amounts.WrittenAmount]]:
        """Every amount the strategy writes, with where it is written."""
        if self.doc.policy.fee_cap_unit_value is not None:
            yield ("policy", "fee_cap_unit_value"), self.doc.policy.fee_cap_unit_value
        for name, step in self.doc.steps.items():
            for index, fee in enumerate(step.fees):
                if fee.fixed is not None:
                    yield ("steps", name, "fees", index, "fixed"), fee.fixed

    def check_amounts(self) -> None:
        """Amounts in minor units of the strategy's currency (refused in another currency)."""
        if not self.currency.known:
            return  # the currency itself is the error
        for path, written in self.written_amounts():
            try:
                minor = self.currency.minor(written)
            except amounts.BadAmount as exc:
                self.fail(path, f"{where(path)}: {exc}")
                continue
            if minor <= 0:
                self.fail(path, f"{where(path)}: {written.text!r} must be more than zero")
                continue
            self.amounts[path] = minor

    def percentages(self) -> Iterator[tuple[PathKey, str]]:
        """Every percentage the strategy writes, with where it is written."""
        doc = self.doc
        for name, step in doc.steps.items():
            for index, fee in enumerate(step.fees):
                if fee.percent is not None:
                    yield ("steps", name, "fees", index, "percent"), fee.percent
        for path, action in self.actions():
            match action:
                case sc.OfferPlanDoc(offer_plan=o) if o.min_down_payment is not None:
                    yield (*path, "offer_plan", "min_down_payment"), o.min_down_payment
                case sc.OfferSettlementDoc(offer_settlement=o):
                    yield (*path, "offer_settlement", "max_discount"), o.max_discount
        if doc.promises and "kept_threshold" in doc.promises.model_fields_set:
            yield ("promises", "kept_threshold"), doc.promises.kept_threshold
        if doc.plans and "min_down_payment" in doc.plans.model_fields_set:
            yield ("plans", "min_down_payment"), doc.plans.min_down_payment

    def check_percentages(self) -> None:
        """A percentage below one looks like a fraction written with a % sign (0.15% for 15%)."""
        for path, value in self.percentages():
            number = Decimal(value)
            if 0 < number < 1:
                share = format((number * 100).normalize(), "f")
                self.warn(
                    path,
                    f"{value}% is less than one percent; if {share}% was meant ({value} as a fraction), write {share}%",
                )

    # ---- silent mistakes: what runs, but not as written -------------------------------------------

    def check_segment_order(self) -> None:
        """A segment without a condition takes every account: any segment after it is never chosen."""
        segments = self.doc.segments
        for index, seg in enumerate(segments[:-1]):
            if seg.when is None or seg.when.strip() == "true":
                later = ", ".join(repr(s.name) for s in segments[index + 1 :])
                why = "its condition is always true" if seg.when else "it has no condition"
                self.fail(
                    ("segments", index, "name"),
                    f"segment {seg.name!r} takes every account ({why}), so the segments after it ({later}) "
                    "never get one; put the catch-all segment last",
                )

    def check_dead_actions(self) -> None:
        """Actions after one that always leaves the step (goto, end, an agent task's routes, a
        branch with else) never run."""
        for name, step in self.doc.steps.items():
            for index, action in enumerate(step.do[:-1]):
                if self.leaves_the_step(action):
                    what = _action_name(action)
                    more = len(step.do) - index - 2
                    self.fail(
                        ("steps", name, "do", index + 1),
                        f"this action never runs: the {what} before it always leaves step {name!r}"
                        + (
                            " (nor does the one after it)"
                            if more == 1
                            else f" (nor do the {more} after it)"
                            if more
                            else ""
                        )
                        + f"; remove it, or move it before the {what}",
                    )
                    break

    def contacts_after(self, name: str, index: int, depth: int = 0) -> Iterator[tuple[Channel, str]]:
        """The contacts (channel, action kind) an account makes next after action `index` of step
        `name`, before it waits again: through `goto` and `next`, a few steps deep."""
        step = self.doc.steps[name]
        for action in step.do[index + 1 :]:
            match action:
                case sc.SendDoc(send=spec):
                    yield spec.channel, "send"
                    continue
                case sc.OfferPlanDoc(offer_plan=spec):
                    yield spec.channel, "offer_plan"
                    continue
                case sc.OfferSettlementDoc(offer_settlement=spec):
                    yield spec.channel, "offer_settlement"
                    continue
                case sc.GotoDoc(goto=target) if target in self.doc.steps and depth < 3:
                    yield from self.contacts_after(target, -1, depth + 1)
                    return
                case sc.CheckPaymentDoc() | sc.NotifyDoc():
                    continue
            return  # a wait, an agent task, a branch, an escalation or the end: what follows is later
        if step.next in self.doc.steps and depth < 3:
            yield from self.contacts_after(step.next, -1, depth + 1)

    def check_wait_anchor(self, spec: sc.WaitSpec, path: PathKey) -> None:
        """A wait that ends before `previous_step` would end before it began; business days
        count from a date, and `previous_step` is a moment."""
        length = spec.duration or sc.WaitLength()
        if spec.anchor == "previous_step" and (length.months < 0 or length.seconds < 0):
            self.fail(
                (*path, "wait", "for"),
                "a negative wait ends before its anchor, and previous_step has already passed: it would end at "
                "once; count it back from a date, such as {for: -3d, from: due_date}",
            )
        if isinstance(spec.anchor, sc.BusinessDayAnchor) and spec.anchor.date_anchor == "previous_step":
            side = "business_day_before" if spec.anchor.business_days < 0 else "business_day_after"
            self.fail(
                (*path, "wait", "from", side),
                "business days count from a date (due_date, oldest_unpaid_due_date, promise_date or end_of_month); "
                "previous_step is a moment: wait from it with `for` instead",
            )

    def check_waits_land_in_a_window(self, policy: ContactPolicy) -> None:
        """A wait `until` a time the policy never allows for the contact that follows it: the
        contact would silently wait on for the next window (`sat 10:00` under a Monday-to-Friday
        preset sends on Monday morning)."""
        for path, action in self.actions():
            if not isinstance(action, sc.WaitDoc) or action.wait.until is None:
                continue
            parsed = _parse_until(action.wait.until)
            if parsed is None:
                continue  # unreadable: already an error
            weekday, minute = parsed
            assert minute is not None
            _, name, _, index = path
            assert isinstance(name, str)
            assert isinstance(index, int)
            for channel, kind in self.contacts_after(name, index):
                if channel not in policy.window_channels or _window_allows(policy, weekday, minute):
                    continue
                when = f"{weekday.value} {_hhmm(minute)}" if weekday else _hhmm(minute)
                self.fail(
                    (*path, "wait", "until"),
                    f"the contact after this wait ({kind} on {channel}) can never go out at {when.strip()}: policy "
                    f"{policy.name} allows {channel} only {_windows_text(policy)}, so it would wait on for the next "
                    "window; wait until a time inside one",
                )
                break

    def fee_cap(self) -> st.FeeCap | None:
        """The preset's legal cap on collection fees, valued with the strategy's `fee_cap_unit_value`."""
        fee_cap = FEE_CAPS.get(self.doc.policy.preset)
        unit_value = self.amounts.get(("policy", "fee_cap_unit_value"))
        if fee_cap is not None and unit_value is not None:
            fee_cap = fee_cap.model_copy(update={"unit_minor": unit_value})
        return fee_cap

    def check_fees(self, cap: st.FeeCap | None) -> None:
        """Fees against the preset's legal cap, which today only cuts them at run time: a step's
        percentage above the cap's highest rate is cut on every debt (an error); one above its
        lowest rate, or a fixed amount, is cut on some debts (a warning that says from which)."""
        if cap is None or not self.currency.known:
            return
        highest = max(Decimal(rate) for _, rate in cap.tiers)
        lowest = min(Decimal(rate) for _, rate in cap.tiers)
        rule = f"the legal cap {cap.rule} ({_tiers_text(cap, self.currency)})"
        for name, step in self.doc.steps.items():
            percent = sum((Decimal(f.percent) for f in step.fees if f.percent is not None), Decimal(0))
            where_percent = next(
                (("steps", name, "fees", i, "percent") for i, f in enumerate(step.fees) if f.percent is not None),
                None,
            )
            if where_percent is not None and percent > highest:
                self.fail(
                    where_percent,
                    f"a fee of {format(percent.normalize(), 'f')}% of the balance is above {rule} on every debt; "
                    f"at run time it would be cut to the cap, so write at most {format(highest.normalize(), 'f')}%",
                )
                continue
            if where_percent is not None and percent > lowest:
                above = _first_debt_over_cap(cap, str(percent))
                self.warn(
                    where_percent,
                    f"a fee of {format(percent.normalize(), 'f')}% of the balance is above {rule} on debts from "
                    f"{self.currency.shown(above)}; there it is cut to the cap at run time",
                )
            if where_percent is not None and percent == highest:
                # The cap's rate is highest on the first tier and falls after it: a percentage at that
                # rate already takes all the cap allows, so any fixed fee beside it is above the cap.
                for index in range(len(step.fees)):
                    fixed = self.amounts.get(("steps", name, "fees", index, "fixed"))
                    if fixed is not None:
                        self.fail(
                            ("steps", name, "fees", index, "fixed"),
                            f"a fixed fee of {self.currency.shown(fixed)} beside a fee of "
                            f"{format(percent.normalize(), 'f')}% of the balance is above {rule} on every debt: "
                            "the percentage alone takes all the cap allows",
                        )
                continue
            for index in range(len(step.fees)):
                fixed = self.amounts.get(("steps", name, "fees", index, "fixed"))
                if fixed is None:
                    continue
                below = _first_debt_within_cap(cap, fixed)
                self.warn(
                    ("steps", name, "fees", index, "fixed"),
                    f"a fixed fee of {self.currency.shown(fixed)} is above {rule} on debts below "
                    f"{self.currency.shown(below)}; there it is cut to the cap at run time",
                )

    def check_fee_journeys(self, cap: st.FeeCap | None) -> None:
        """Fees add up over an account's journey (each step's once; the cap bounds their total): a
        percentage that is within the cap alone but, with the fees of steps an account can pass
        through before it, goes above the cap's highest rate, is above the cap on every debt that
        takes that route. Steps reached by a handler (payment, opt-out...) can follow any step."""
        if cap is None or not self.currency.known:
            return
        highest = max(Decimal(rate) for _, rate in cap.tiers)
        own = {
            name: sum((Decimal(f.percent) for f in step.fees if f.percent is not None), Decimal(0))
            for name, step in self.doc.steps.items()
        }
        if sum(1 for p in own.values() if p) < 2:
            return
        anywhere = [t for t in self.roots() if t not in {s.start for s in self.doc.segments}]
        follows = {name: set(self.edges(name, instant_only=False)) | set(anywhere) for name in self.doc.steps}
        reach = {name: _reachable(name, follows) for name in self.doc.steps}
        # Steps already above the cap alone are errors of their own (check_fees): left out here.
        weights = {name: p for name, p in own.items() if p and p <= highest}
        totals = _heaviest_routes(weights, reach)
        rule = f"the legal cap {cap.rule} ({_tiers_text(cap, self.currency)})"
        for name, total in totals.items():
            if total <= highest:
                continue
            before = sorted(o for o in weights if o != name and name in reach[o])
            step = self.doc.steps[name]
            index = next(i for i, f in enumerate(step.fees) if f.percent is not None)
            self.fail(
                ("steps", name, "fees", index, "percent"),
                f"with the fees of the steps an account can pass through before it ({', '.join(before)}), an "
                f"account is charged up to {format(total.normalize(), 'f')}% of the balance in fees, above {rule} "
                f"on every debt; at run time the last fees would be cut to the cap, so lower them to at most "
                f"{format(highest.normalize(), 'f')}% together",
            )

    def interest(self) -> Interest | None:
        """The strategy's interest, checked against the legal ceiling: the figure in force as the
        policy states it (`interest_ceiling`), else the preset's dated figure (domain/interest.py),
        with a warning to state the current one since it is re-published monthly."""
        doc, policy = self.doc.interest, self.doc.policy
        if doc is None:
            return None
        path: PathKey = ("interest", "rate")
        rate = Decimal(doc.rate)
        try:
            rate_units(doc.rate)
        except ValueError:
            self.fail(path, f"an interest rate has at most {RATE_DECIMALS} decimals of a percent, got {doc.rate}%")
            return None
        if rate == 0:
            self.fail(path, "an interest rate of 0% charges nothing; leave `interest` out instead")
            return None
        compiled = Interest(rate=format(rate.normalize(), "f"), per=doc.per, after_days=doc.after_days)
        preset = CEILINGS.get(policy.preset)
        if policy.interest_ceiling is not None:
            annual, basis = policy.interest_ceiling, preset.basis if preset else "effective"
            name = f"{preset.name} as the policy states it" if preset else "the legal maximum the policy states"
        elif preset is not None:
            annual, basis, name = preset.annual_pct, preset.basis, preset.name
            self.warn(
                path,
                f"interest is checked against {preset.name} of {preset.annual_pct}% a year as of {preset.as_of} "
                f"({preset.source}); it is published again every month: write the figure in force as "
                f"policy.interest_ceiling",
            )
        else:
            return compiled  # no single legal maximum to compare with (domain/interest.py says why)
        most = period_ceiling(annual, basis, doc.per)
        if rate > most:
            shown = most.quantize(Decimal(1).scaleb(-RATE_DECIMALS), rounding=ROUND_DOWN).normalize()
            self.fail(
                path,
                f"an interest of {format(rate.normalize(), 'f')}% a {doc.per} is above {name}, {annual}% a year "
                f"({basis}): write at most {format(shown, 'f')}% a {doc.per}",
            )
        return compiled

    # ---- policy ----------------------------------------------------------------------------------

    def build_policy(self) -> ContactPolicy:
        pdoc = self.doc.policy
        base = PRESETS.get(pdoc.preset, NO_PRESET)
        tightened = self.apply_rules(base, pdoc, ("policy",))
        found = loosenings(base, tightened)
        if found and not self.report_loosenings(base, pdoc):
            for text in found:  # not traced to one rule: report them at `policy:`
                self.fail(("policy",), _loosening_message(base, text), at_key=True)
        spread = self.spread()
        if pdoc.override is None:
            own = _own_rules(base, tightened)
            return self.freeze_calendar(tightened.model_copy(update={"spread_s": spread, "own_rules": own}))
        final = self.apply_rules(tightened, pdoc.override, ("policy", "override"))
        notes = tuple(f"{text} (override: {pdoc.override.reason})" for text in loosenings(base, final))
        self.warnings.extend(f"policy override: {n}" for n in notes)
        return self.freeze_calendar(
            final.model_copy(
                update={
                    "overrides": notes,
                    "name": f"{base.name}+override",
                    "spread_s": spread,
                    "own_rules": _own_rules(base, final),
                }
            )
        )

    def spread(self) -> int:
        """The policy's spread of moved contacts in seconds: as written, else the default. Never a
        loosening (it only delays a contact within time the policy allows), so no preset limits it."""
        spread = self.doc.policy.spread
        if spread is None:
            return DEFAULT_SPREAD_S
        if spread > MAX_SPREAD_S:
            self.fail(
                ("policy", "spread"),
                f"a spread of {spread // 60} minutes is longer than a day (1440 minutes); a spread only reaches "
                "to the end of the window it starts in, so write at most 1d (0min turns it off)",
            )
            return MAX_SPREAD_S
        return spread

    def freeze_calendar(self, policy: ContactPolicy) -> ContactPolicy:
        """The policy with its holiday dates frozen for the years `calendar_years` gives."""
        if policy.holidays is None or policy.holidays not in holidays_lib.list_supported_countries():
            return policy.model_copy(update={"calendar": None})  # an unknown code is already an error
        return policy.with_calendar(self.compiled_on)

    def report_loosenings(self, base: ContactPolicy, rules: sc.PolicyRulesDoc) -> int:
        """One error per loosening, at the rule that causes it (not at `policy:`); returns how many."""
        reported = 0
        for category in ("windows", "holidays", "caps", "min_gaps", "cooldowns"):
            if getattr(rules, category) is None:
                continue
            alone = self.apply_rules(base, rules, ("policy",), only=category)
            for text in loosenings(base, alone):
                self.fail(self.loosening_path(base, rules, category, text), _loosening_message(base, text))
                reported += 1
        return reported

    def loosening_path(self, base: ContactPolicy, rules: sc.PolicyRulesDoc, category: str, text: str) -> PathKey:
        if category == "windows" and rules.windows:
            for index, w in enumerate(rules.windows):
                if w.start >= w.end:
                    continue
                one = base.model_copy(update={"windows": (Window(days=tuple(w.days), start=w.start, end=w.end),)})
                if not loosenings(base, one):
                    continue
                covering = [b for b in base.windows if set(w.days) & set(b.days)]
                if any(not any(d in b.days for b in base.windows) for d in w.days):
                    return ("policy", "windows", index, "days")
                if covering and w.end > max(b.end for b in covering):
                    return ("policy", "windows", index, "to")
                if covering and w.start < min(b.start for b in covering):
                    return ("policy", "windows", index, "from")
                return ("policy", "windows", index)
        items = getattr(rules, category)
        if isinstance(items, list):
            rule_id = text.split(":", 1)[0]
            for index, item in enumerate(items):
                if getattr(item, "id", None) == rule_id:
                    return ("policy", category, index)
        return ("policy", category)

    def apply_rules(
        self, base: ContactPolicy, rules: sc.PolicyRulesDoc, path: PathKey, only: str | None = None
    ) -> ContactPolicy:
        """`base` with the rules of `rules`; with `only`, just that category and no error reports."""
        update: dict[str, object] = {}
        report = only is None
        if rules.windows is not None and only in (None, "windows"):
            update["windows"] = tuple(
                Window(days=tuple(w.days), start=w.start, end=w.end) for w in rules.windows if w.start < w.end
            )
            for index, w in enumerate(rules.windows):
                if w.start >= w.end and report:
                    self.fail((*path, "windows", index), "a window must start before it ends (from < to)")
        if rules.holidays is not None and only in (None, "holidays"):
            if rules.holidays.upper() in holidays_lib.list_supported_countries():
                update["holidays"] = rules.holidays.upper()
            elif report:
                self.fail(
                    (*path, "holidays"),
                    f"unknown holiday calendar {rules.holidays!r}; expected a supported ISO country code "
                    "such as CL, CO, MX or US",
                )
        if rules.caps is not None and only in (None, "caps"):
            caps = {c.id: c for c in base.caps}
            for index, cap in enumerate(rules.caps):
                if isinstance(cap.per, int):
                    if cap.per % 86400 and report:
                        self.fail((*path, "caps", index, "per"), "a rolling cap period must be whole days, such as 7d")
                    caps[cap.id] = Cap(
                        id=cap.id,
                        channels=_channels(cap.channels),
                        max=cap.max,
                        period="rolling",
                        days=max(1, cap.per // 86400),
                    )
                else:
                    period = "calendar_day" if cap.per == "day" else "calendar_week"
                    caps[cap.id] = Cap(id=cap.id, channels=_channels(cap.channels), max=cap.max, period=period)
            update["caps"] = tuple(caps.values())
        if rules.min_gaps is not None and only in (None, "min_gaps"):
            gaps = {g.id: g for g in base.min_gaps}
            for g in rules.min_gaps:
                gaps[g.id] = MinGap(id=g.id, channels=_channels(g.channels), minutes=max(1, g.gap // 60))
            update["min_gaps"] = tuple(gaps.values())
        if rules.cooldowns is not None and only in (None, "cooldowns"):
            cools = {c.id: c for c in base.cooldowns}
            for cool in rules.cooldowns:
                cools[cool.id] = Cooldown(id=cool.id, channels=tuple(cool.channels), days=cool.days)
            update["cooldowns"] = tuple(cools.values())
        return base.model_copy(update=update) if update else base

    # ---- conditions ------------------------------------------------------------------------------

    def check_condition(self, expression: str, path: PathKey) -> None:
        """Syntax by CEL itself, then types statically over the declared variables (cel_check),
        each problem placed at its subexpression when the condition sits on one line."""
        try:
            conditions.compiled(expression)
        except ValueError as exc:
            self.fail(path, f"condition {expression!r} does not parse: {_cel_syntax(str(exc))}")
            return
        problems = cel_check.check(expression, conditions.VARIABLES, self.currency, self.known_values())
        if not problems:
            self.runnable[expression] = cel_check.runnable(expression, conditions.VARIABLES, self.currency)
        for problem in problems:
            message = problem.message
            if not message.startswith("unknown variable"):
                message = f"condition {expression!r}: {message}"
            self.errors.append(self.at_offset(path, expression, problem.offset, message))

    def known_values(self) -> dict[str, Callable[[str], str | None]]:
        """Why a string variable never holds a value (None when it may): the strategy's own
        segments and variants (empty before an account is placed, or without variants), ISO
        countries in capitals, and the strategy's currency, which every account it runs is in."""
        doc = self.doc

        def among(names: list[str], what: str) -> Callable[[str], str | None]:
            def why(value: str) -> str | None:
                if value in names or value == "":
                    return None
                near = closest(value, names)
                hint = f"did you mean {near!r}? " if near else ""
                return f"{hint}the strategy's {what}: {', '.join(names) or 'none'}"

            return why

        def country(value: str) -> str | None:
            if is_country(value):
                return None
            example = value.upper() if is_country(value.upper()) else "CL"
            return f"countries are ISO 3166 alpha-2 codes in capitals, such as {example!r}"

        def channel(value: str) -> str | None:
            names = [str(c) for c in Channel]
            if value in names:
                return None
            near = closest(value, names)
            hint = f"did you mean {near!r}? " if near else ""
            return f"{hint}it holds channels: {', '.join(names)}"

        def currency(value: str) -> str | None:
            return None if value == doc.currency else f"every account this strategy runs is in {doc.currency}"

        return {
            "segment": among([seg.name for seg in doc.segments], "segments"),
            "variant": among([v.name for v in doc.variants], "variants"),
            "country": country,
            "currency": currency,
            "opted_out": channel,
        }

    def at_offset(self, path: PathKey, expression: str, offset: int, message: str) -> StrategyError:
        """An error at `offset` inside the condition at `path`: the exact column when the YAML
        holds the condition verbatim on one line (plain or quoted), else the condition's start
        and the column within it."""
        error = self.src.error(path, message)
        line = self.src.line_text(error.line)[error.col - 1 :]
        if line.startswith(expression):
            return replace(error, col=error.col + offset)
        if line[:1] in ("'", '"') and line[1:].startswith(expression):
            return replace(error, col=error.col + 1 + offset)
        return replace(error, message=f"{message} (at column {offset + 1} of the condition)")

    def check_conditions(self) -> None:
        for index, seg in enumerate(self.doc.segments):
            if seg.when is not None:
                self.check_condition(seg.when, ("segments", index, "when"))
        for path, action in self.actions():
            if isinstance(action, sc.BranchDoc):
                for i, item in enumerate(action.branch):
                    if isinstance(item, sc.BranchCaseDoc):
                        self.check_condition(item.when, (*path, "branch", i, "if"))

    # ---- references ------------------------------------------------------------------------------

    def actions(self) -> Iterator[tuple[PathKey, sc.ActionDoc]]:
        for name, step in self.doc.steps.items():
            for index, action in enumerate(step.do):
                yield ("steps", name, "do", index), action

    def step_ref(self, target: str | None, path: PathKey) -> None:
        if target is not None and target not in self.doc.steps:
            near = closest(target, list(self.doc.steps))
            hint = f"; did you mean {near!r}?" if near else f"; steps are: {', '.join(self.doc.steps)}"
            self.fail(path, f"unknown step {target!r}{hint}")

    def target(self, name: str | None) -> str | None:
        """The step a reference leads to; a misspelt one counts as the step it was meant to be,
        so that one typo is one error rather than a cascade of unreachable steps."""
        if name is None or name in self.doc.steps:
            return name
        return closest(name, list(self.doc.steps))

    def outcome_ref(self, code: str, path: PathKey) -> None:
        """An agent task's outcome code must be built in or declared in `outcomes:`."""
        declared = [o.code for o in self.doc.outcomes]
        if code in BUILT_IN_OUTCOMES or code in declared:
            return
        options = [*BUILT_IN_OUTCOMES, *declared]
        near = closest(code, options)
        hint = f"did you mean {near!r}? " if near else ""
        own = ", ".join(declared) or "none (declare a code of your own in a top-level outcomes: list)"
        self.fail(
            path,
            f"unknown outcome {code!r}; {hint}built-in outcomes: {', '.join(BUILT_IN_OUTCOMES)}; declared: {own}",
            at_key=True,
        )

    def check_outcomes(self) -> None:
        """The strategy's own outcome codes: new codes, each once, labelled in the strategy's
        locale (the agent's screen falls back to it), and used by some agent task."""
        doc = self.doc
        codes = [o.code for o in doc.outcomes]
        used = {
            code
            for _, action in self.actions()
            if isinstance(action, sc.AgentTaskDoc)
            for code in action.agent_task.outcomes
        }
        for index, declared in enumerate(doc.outcomes):
            path: PathKey = ("outcomes", index)
            if declared.code in BUILT_IN_OUTCOMES:
                self.fail(
                    (*path, "code"),
                    f"outcome {declared.code!r} is built in: route it in agent_task.outcomes without declaring it; "
                    "declare only codes of the strategy's own",
                )
            elif declared.code in codes[:index]:
                self.fail((*path, "code"), f"outcome {declared.code!r} is declared twice")
            elif declared.code not in used:
                self.warn((*path, "code"), f"outcome {declared.code!r} is declared but no agent_task allows it")
            for loc, text in declared.label.items():
                if _locale_problem(loc):
                    self.fail(
                        (*path, "label", loc),
                        f"unknown locale {loc!r} in the label of outcome {declared.code!r}; expected a locale such "
                        "as es-CL or en-US",
                        at_key=True,
                    )
                elif not text.strip():
                    self.fail((*path, "label", loc), f"the {loc} label of outcome {declared.code!r} is blank")
            if doc.locale not in declared.label and not _locale_problem(doc.locale):
                self.fail(
                    (*path, "label"),
                    f"outcome {declared.code!r} has no {doc.locale} label (the strategy's locale, shown to agents "
                    f"whose language it has no label in); it has: {', '.join(declared.label)}",
                    at_key=True,
                )

    def template_ref(self, name: str, path: PathKey) -> None:
        templates = self.doc.templates
        if name not in templates:
            near = closest(name, list(templates))
            hint = f"did you mean {near!r}? " if near else ""
            known = ", ".join(templates) or "none (add a templates: section)"
            self.fail(path, f"unknown template {name!r}; {hint}templates are: {known}")

    def check_references(self) -> None:
        doc = self.doc
        for index, seg in enumerate(doc.segments):
            self.step_ref(seg.start, ("segments", index, "start"))
            for variant, start in seg.variants.items():
                self.step_ref(start, ("segments", index, "variants", variant))
        for path, target in self.handler_targets():
            self.step_ref(target, path)
        if st.REEVALUATE in doc.steps:
            self.fail(
                ("steps", st.REEVALUATE),
                f"a step may not be named {st.REEVALUATE!r}: under `on:` that name re-evaluates the account's "
                "segment (`partial_payment: reevaluate`); rename the step",
                at_key=True,
            )
        if doc.promises:
            for field in ("step", "on_kept", "on_broken"):
                self.step_ref(getattr(doc.promises, field), ("promises", field))
        if doc.plans:
            for field in ("step", "on_missed", "on_broken"):
                self.step_ref(getattr(doc.plans, field), ("plans", field))
        for name, step in doc.steps.items():
            self.step_ref(step.next, ("steps", name, "next"))
            self.step_ref(step.on_rejected, ("steps", name, "on_rejected"))
            if step.approval == "supervisor" and step.on_rejected is None:
                self.fail(
                    ("steps", name, "approval"),
                    f"step {name!r} needs a supervisor's approval but has no on_rejected: "
                    "add `on_rejected: <step>`, the step to take when the supervisor rejects it",
                )
        for path, action in self.actions():
            self.check_action_refs(path, action)

    def check_action_refs(self, path: PathKey, action: sc.ActionDoc) -> None:
        doc = self.doc
        match action:
            case sc.SendDoc(send=spec):
                self.template_ref(spec.template, (*path, "send", "template"))
                if spec.channel in spec.fallback:
                    self.fail((*path, "send", "fallback"), f"fallback repeats the main channel {spec.channel}")
                if spec.attach is not None:
                    self.template_ref(spec.attach, (*path, "send", "attach"))
                    if spec.channel not in ATTACHING_CHANNELS:
                        self.fail(
                            (*path, "send", "attach"),
                            f"a statement is attached to email and letters only, not to {spec.channel.value}; "
                            "send the statement by email or letter (an sms fallback goes without it)",
                        )
            case sc.OfferPlanDoc(offer_plan=spec):
                self.template_ref(spec.template, (*path, "offer_plan", "template"))
                if spec.channel in spec.fallback:
                    self.fail((*path, "offer_plan", "fallback"), f"fallback repeats the main channel {spec.channel}")
                if doc.plans is None:
                    self.fail(
                        (*path, "offer_plan"),
                        "offer_plan needs a top-level `plans:` section (installment rules and routes)",
                        at_key=True,
                    )
            case sc.OfferSettlementDoc(offer_settlement=spec):
                self.template_ref(spec.template, (*path, "offer_settlement", "template"))
                if spec.channel in spec.fallback:
                    self.fail(
                        (*path, "offer_settlement", "fallback"), f"fallback repeats the main channel {spec.channel}"
                    )
            case sc.AgentTaskDoc(agent_task=spec):
                if spec.queue not in doc.queues:
                    near = closest(spec.queue, doc.queues)
                    hint = f"did you mean {near!r}? " if near else ""
                    declared = ", ".join(doc.queues) or "none (add a top-level queues: list)"
                    self.fail(
                        (*path, "agent_task", "queue"),
                        f"unknown queue {spec.queue!r}; {hint}declared queues: {declared}",
                    )
                for code, target in spec.outcomes.items():
                    self.outcome_ref(code, (*path, "agent_task", "outcomes", code))
                    self.step_ref(target, (*path, "agent_task", "outcomes", code))
                if Outcome.NO_ANSWER not in spec.outcomes:
                    self.fail(
                        (*path, "agent_task", "outcomes"),
                        "outcomes has no no_answer route: a task nobody works in time (or a debtor who never "
                        "answers) ends as no_answer, so add `no_answer: <step>`",
                        at_key=True,
                    )
                if Outcome.PROMISE_TO_PAY in spec.outcomes and doc.promises is None:
                    self.fail(
                        (*path, "agent_task", "outcomes", "promise_to_pay"),
                        "outcome promise_to_pay needs a top-level `promises:` section (grace_days, step, on_broken) "
                        "to follow up the promise",
                        at_key=True,
                    )
                if Outcome.PAYMENT_PLAN in spec.outcomes and doc.plans is None:
                    self.fail(
                        (*path, "agent_task", "outcomes", "payment_plan"),
                        "outcome payment_plan needs a top-level `plans:` section (installment rules and routes)",
                        at_key=True,
                    )
            case sc.WaitDoc(wait=spec):
                if spec.until is not None and _parse_until(spec.until) is None:
                    self.fail(
                        (*path, "wait", "until"), f'cannot parse until {spec.until!r}; expected "HH:MM" or "mon 10:00"'
                    )
                self.check_wait_anchor(spec, path)
            case sc.EscalateLegalDoc(escalate_legal=spec):
                if spec is not None:
                    self.step_ref(spec.on_rejected, (*path, "escalate_legal", "on_rejected"))
                    if spec.on_rejected and not spec.approval:
                        self.fail(
                            (*path, "escalate_legal", "on_rejected"), "on_rejected only applies with approval: true"
                        )
            case sc.BranchDoc(branch=items):
                for i, item in enumerate(items):
                    if isinstance(item, sc.BranchCaseDoc):
                        self.step_ref(item.goto, (*path, "branch", i, "goto"))
                    else:
                        self.step_ref(item.otherwise, (*path, "branch", i, "else"))
                        if i != len(items) - 1:
                            self.fail(
                                (*path, "branch", i),
                                "else must be the last case of a branch: cases after it would never be tried",
                            )
            case sc.GotoDoc(goto=target):
                self.step_ref(target, (*path, "goto"))
            case _:
                pass

    # ---- graph checks ----------------------------------------------------------------------------

    def edges(self, name: str, *, instant_only: bool, uncallable: bool = False) -> list[str]:
        """Steps `name` can lead to; with instant_only, only those reached without waiting.
        For reachability a misspelt reference counts as the step it most likely means; loop
        detection only follows references that exist. `uncallable`: as for an account that
        cannot be called, whose agent task routes to `no_answer` at once instead of waiting."""
        step = self.doc.steps[name]
        out: list[str] = []
        waited = step.approval == "supervisor"
        if step.on_rejected and not instant_only:
            out.append(step.on_rejected)
        for action in step.do:
            if instant_only and waited:
                break
            match action:
                case sc.AgentTaskDoc(agent_task=spec):
                    if not instant_only:
                        out.extend(spec.outcomes.values())
                    elif uncallable:
                        no_answer = spec.outcomes.get(Outcome.NO_ANSWER)
                        if no_answer is not None:
                            out.append(no_answer)
                        break  # the interpreter leaves the step by that route
                case sc.BranchDoc(branch=items):
                    out.extend(i.goto if isinstance(i, sc.BranchCaseDoc) else i.otherwise for i in items)
                case sc.GotoDoc(goto=target):
                    out.append(target)
                case sc.ReevaluateDoc():
                    out.extend(self.segment_starts())
                case sc.EscalateLegalDoc(escalate_legal=spec) if spec is not None:
                    if spec.approval:
                        waited = True
                        if spec.on_rejected and not instant_only:
                            out.append(spec.on_rejected)
            if isinstance(action, WAITING_KINDS):
                waited = True
            if self.leaves_the_step(action):
                break  # what follows never runs (check_dead_actions)
        if step.next and not (instant_only and waited):
            out.append(step.next)
        if instant_only:
            return [t for t in out if t in self.doc.steps]
        found = [self.target(t) for t in out]
        return [t for t in found if t is not None]

    def segment_starts(self) -> list[str]:
        """Every step a segment starts at (its own and its variants'): where `reevaluate` may lead."""
        return [s.start for s in self.doc.segments] + [t for s in self.doc.segments for t in s.variants.values()]

    def leaves_the_step(self, action: sc.ActionDoc) -> bool:
        """`_leaves_the_step`, and `reevaluate` when the last segment takes every account (some
        segment then always matches; otherwise the step goes on when none does)."""
        if isinstance(action, sc.ReevaluateDoc):
            last = self.doc.segments[-1].when
            return last is None or last.strip() == "true"
        return _leaves_the_step(action)

    def handler_targets(self) -> Iterator[tuple[PathKey, str]]:
        """Each step a handler under `on:` leads to, with where it is written (`reevaluate`
        leads to a segment's start, a root already)."""
        for field, target in self.doc.on:
            if isinstance(target, sc.OptOutRoutesDoc):
                for key, step in target:
                    if step is not None and step != st.REEVALUATE:
                        yield ("on", field, key), step
            elif target is not None and target != st.REEVALUATE:
                yield ("on", field), target

    def handlers(self) -> st.Handlers:
        """`on:` compiled: a scalar opt_out keeps its meaning (any opt-out); a mapping's `any`
        becomes that scalar and its other keys route their own opt-outs."""
        on = self.doc.on
        fields = dict(on)
        if isinstance(on.opt_out, sc.OptOutRoutesDoc):
            routes = on.opt_out.model_dump(exclude_none=True)
            fields["opt_out"] = routes.pop("any", None)
            fields["opt_out_by_channel"] = routes
        return st.Handlers(**fields)

    def check_termination(self) -> None:
        for name, step in self.doc.steps.items():
            # Any action that leaves the step ends it (what follows it is dead: check_dead_actions).
            ends = any(self.leaves_the_step(action) for action in step.do)
            if ends and step.next is not None:
                self.fail(
                    ("steps", name, "next"),
                    f"step {name!r} never reaches next: its last action already leaves the step",
                    at_key=True,
                )
            if not ends and step.next is None:
                reevaluates = any(isinstance(action, sc.ReevaluateDoc) for action in step.do)
                self.fail(
                    ("steps", name),
                    f"step {name!r} has no way out: its last action must be goto, end, an agent_task or a "
                    "branch with else, or the step needs `next: <step>`"
                    + (
                        " (reevaluate goes on with the next action when no segment matches; only a last "
                        "segment that takes every account makes it always leave)"
                        if reevaluates
                        else ""
                    ),
                    at_key=True,
                )

    def roots(self) -> list[str]:
        doc = self.doc
        found = [s.start for s in doc.segments] + [t for s in doc.segments for t in s.variants.values()]
        found += [t for _, t in self.handler_targets()]
        if doc.promises:
            found += [t for t in (doc.promises.step, doc.promises.on_kept, doc.promises.on_broken) if t]
        if doc.plans:
            found += [t for t in (doc.plans.step, doc.plans.on_missed, doc.plans.on_broken) if t]
        targets = [self.target(r) for r in found]
        return [t for t in targets if t is not None]

    def check_reachability(self) -> None:
        seen: set[str] = set()
        todo = self.roots()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(self.edges(name, instant_only=False))
        for name in self.doc.steps:
            if name not in seen:
                self.fail(
                    ("steps", name),
                    f"step {name!r} is unreachable: no segment, handler, promise/plan route or other step leads to it",
                    at_key=True,
                )

    def check_loops(self) -> None:
        steps = list(self.doc.steps)
        instant = {name: self.edges(name, instant_only=True) for name in steps}
        loops = list(_cycles(instant))
        for cycle in loops:
            self.fail(
                ("steps", cycle[0]),
                f"loop with no wait in it: {_path(cycle)}; it would run forever in an instant, "
                "so add a wait or an agent_task on the way",
                at_key=True,
            )
        # An agent task waits only when the account can be called: with no phone, or opted out of
        # calls, it routes to `no_answer` at once. A loop through such a route (the redial shape,
        # `no_answer: call` on step `call`) then runs in an instant and the account is held for
        # a supervisor; it is a fine strategy for callable accounts, so this is a warning.
        known = {frozenset(c) for c in loops}
        uncallable = {name: self.edges(name, instant_only=True, uncallable=True) for name in steps}
        for cycle in _cycles(uncallable):
            if frozenset(cycle) not in known:
                self.warnings.append(
                    f"steps.{cycle[0]}: for an account that cannot be called (no phone, or opted out of "
                    f"calls) an agent task's no_answer loops with no wait: {_path(cycle)}; such an account "
                    "is held for a supervisor at once. Add a wait on the way, or route no_answer elsewhere"
                )

    # ---- templates -------------------------------------------------------------------------------

    def check_templates(self) -> None:
        doc = self.doc
        allowed = sorted(EXAMPLE_CONTEXT)
        # Each template is judged by the work it asks for (sandbox.MAX_RENDER_WORK), counted, never
        # timed: a strategy is valid or not whatever the load of the machine validating it.
        for name, per_locale in doc.templates.items():
            for loc, tpl in per_locale.items():
                if _locale_problem(loc):
                    continue
                for part in ("subject", "body"):
                    source = getattr(tpl, part)
                    if source is None:
                        continue
                    path = ("templates", name, loc, part)
                    env = environment(loc, doc.currency if doc.currency in MINOR_UNITS else "USD")
                    try:
                        parsed = env.parse(source)
                        unknown = sorted(meta.find_undeclared_variables(parsed) - set(allowed))
                        if unknown:
                            near = closest(unknown[0], allowed)
                            hint = f"did you mean {near!r}? " if near else ""
                            self.template_error(
                                path,
                                source,
                                unknown[0],
                                f"unknown template variable {unknown[0]!r}; {hint}"
                                f"expected one of: {', '.join(allowed)}",
                            )
                            continue
                        render_bounded(env.from_string(parsed), EXAMPLE_CONTEXT)  # parsed once, not twice
                    except TemplateTooCostly as exc:
                        self.template_error(path, source, None, str(exc), _template_line(exc))
                    except SecurityError as exc:
                        attr = re.search(r"attribute '([^']+)'", str(exc))
                        needle = attr[1] if attr else None
                        what = f"{needle!r}" if needle else "this"
                        self.template_error(path, source, needle, f"templates may not use {what} (sandbox)")
                    except TemplateSyntaxError as exc:
                        needle, message, lineno = _jinja_syntax(exc, source, sorted(env.filters))
                        self.template_error(path, source, needle, message, lineno)
                    except UndefinedError as exc:
                        needle, message = _jinja_undefined(str(exc), source)
                        self.template_error(path, source, needle, message)
                    except (TypeError, ValueError, AttributeError, LookupError, ArithmeticError) as exc:
                        # what a filter or operator raises on the example values (1/0, 5|wordwrap)
                        self.template_error(path, source, None, f"template error: {exc}", _template_line(exc))

    def template_error(
        self, path: PathKey, source: str, needle: str | None, message: str, lineno: int | None = None
    ) -> None:
        """Point at the template line that holds the problem, not just at the template."""
        if lineno is None and needle is not None:
            for number, text in enumerate(source.splitlines(), start=1):
                if re.search(rf"\b{re.escape(needle)}\b", text):
                    lineno = number
                    break
        base = self.src.error(path, message)
        header = self.src.line_text(base.line)
        block = header.rstrip().endswith(("|", ">", "|-", ">-", "|+", ">+"))
        if lineno is None or not (block or lineno > 1):
            self.errors.append(base)
            return
        line = base.line + lineno if block else base.line + lineno - 1
        text = self.src.line_text(line)
        col = len(text) - len(text.lstrip()) + 1
        if needle and needle in text:
            col = text.index(needle) + 1
        self.errors.append(StrategyError(self.src.file, line, col, message))

    # ---- compile ---------------------------------------------------------------------------------

    def compile_step(self, name: str, step: sc.StepDoc) -> st.Step:
        return st.Step(
            name=name,
            stage=step.stage,
            approval=step.approval == "supervisor",
            on_rejected=step.on_rejected,
            fees=tuple(
                st.Fee(fixed_minor=self.amounts.get(("steps", name, "fees", index, "fixed")), percent=f.percent)
                for index, f in enumerate(step.fees)
            ),
            actions=tuple(self.compile_action(a) for a in step.do),
            next=step.next,
        )

    def compile_action(self, action: sc.ActionDoc) -> st.Action:
        plans = self.doc.plans
        match action:
            case sc.SendDoc(send=s):
                return st.SendAction(
                    channel=s.channel, template=s.template, fallback=tuple(s.fallback), attach=s.attach
                )
            case sc.AgentTaskDoc(agent_task=a):
                return st.AgentTaskAction(
                    queue=a.queue,
                    due_within_s=a.due_within,
                    attempts=a.attempts,
                    retry_after_s=a.retry_after,
                    outcomes=dict(a.outcomes),  # built-in codes read back as `Outcome` members
                )
            case sc.WaitDoc(wait=w):
                parsed = _parse_until(w.until) if w.until else None
                weekday, minute = parsed if parsed is not None else (None, None)
                length = w.duration or sc.WaitLength()
                business = w.anchor if isinstance(w.anchor, sc.BusinessDayAnchor) else None
                return st.WaitAction(
                    months=length.months,
                    seconds=length.seconds,
                    anchor=business.date_anchor if business else w.anchor,
                    business_days=business.business_days if business else 0,
                    until_weekday=weekday,
                    until_minute=minute,
                )
            case sc.CheckPaymentDoc():
                return st.CheckPaymentAction()
            case sc.OfferPlanDoc(offer_plan=o):
                assert plans is not None
                return st.OfferPlanAction(
                    channel=o.channel,
                    template=o.template,
                    max_installments=o.max_installments or plans.max_installments,
                    min_down_payment_pct=o.min_down_payment or plans.min_down_payment,
                    frequencies=tuple(o.frequencies or plans.frequencies),
                    fallback=tuple(o.fallback),
                )
            case sc.OfferSettlementDoc(offer_settlement=o):
                return st.OfferSettlementAction(
                    channel=o.channel,
                    template=o.template,
                    max_discount_pct=o.max_discount,
                    expires_after_s=o.expires_in,
                    fallback=tuple(o.fallback),
                )
            case sc.EscalateLegalDoc(escalate_legal=e):
                return st.EscalateLegalAction(approval=bool(e and e.approval), on_rejected=e.on_rejected if e else None)
            case sc.NotifyDoc(notify=n):
                return st.NotifyAction(event=n.event, data=dict(n.data))
            case sc.BranchDoc(branch=items):
                cases = tuple(
                    st.BranchCase(when=self.runnable[i.when], goto=i.goto)
                    for i in items
                    if isinstance(i, sc.BranchCaseDoc)
                )
                otherwise = next((i.otherwise for i in items if isinstance(i, sc.BranchElseDoc)), None)
                return st.BranchAction(cases=cases, otherwise=otherwise)
            case sc.GotoDoc(goto=target):
                return st.GotoAction(step=target)
            case sc.EndDoc(end=resolution):
                return st.EndAction(resolution=resolution)
            case sc.ReevaluateDoc():
                return st.ReevaluateAction()
        raise AssertionError(f"unhandled action {action!r}")


_STRATEGY_FILTERS = ("money", "date")


def _jinja_syntax(exc: TemplateSyntaxError, source: str, filters: list[str]) -> tuple[str | None, str, int | None]:
    """Jinja's syntax error -> (text to point at, message, template line)."""
    text = exc.message or str(exc)
    missing = re.match(r"No filter named '([^']+)'", text)
    if missing:
        near = closest(missing[1], filters)
        hint = f"did you mean {near!r}? " if near else ""
        return (
            missing[1],
            (
                f"unknown template filter {missing[1]!r}; {hint}the strategy's own filters are "
                f"{' and '.join(_STRATEGY_FILTERS)}, besides Jinja's built-in ones such as upper or default"
            ),
            exc.lineno,
        )
    block = re.search(r"The innermost block that needs to be closed is '(\w+)'", text)
    if block:
        opening = None
        for number, line in enumerate(source.splitlines(), start=1):
            if re.search(rf"{{%-?\s*{block[1]}\b", line):
                opening = number
        return (
            block[1],
            (f"template syntax error: {{% {block[1]} %}} is never closed; add {{% end{block[1]} %}}"),
            opening or exc.lineno,
        )
    text = text.rstrip(".")
    return None, f"template syntax error: {text} (check the {{{{ ... }}}} and {{% ... %}} pairs)", exc.lineno


def _template_line(exc: BaseException) -> int | None:
    """The template line a render failed on: Jinja rewrites the traceback so that the template's
    own frames carry its file name (`<template>`) and line numbers."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _jinja_undefined(message: str, source: str) -> tuple[str | None, str]:
    """'dict object' has no attribute 'nmae' -> unknown attribute 'nmae' of 'debtor' + the choices."""
    attr = re.search(r"has no attribute '([^']+)'", message)
    if attr is None:
        return None, f"template error: {message}"
    owner = re.search(rf"([A-Za-z_][\w.]*)\.{re.escape(attr[1])}\b", source)
    value: object = EXAMPLE_CONTEXT
    if owner:
        for part in owner[1].split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if owner and isinstance(value, dict):
        options = sorted(value)
        near = closest(attr[1], options)
        hint = f"did you mean {near!r}? " if near else ""
        return attr[1], (f"unknown attribute {attr[1]!r} of {owner[1]!r}; {hint}{owner[1]} has: {', '.join(options)}")
    return attr[1], f"unknown attribute {attr[1]!r}" + (f" of {owner[1]!r}" if owner else "")


def _loosening_message(base: ContactPolicy, text: str) -> str:
    return (
        f"this loosens preset {base.name} ({text}); a strategy may only tighten its preset: "
        "if the change is deliberate, move it under policy.override with a reason"
    )


def _cel_syntax(message: str) -> str:
    """cel's ANTLR message -> "unexpected '$' (at column 13)", without the token list."""
    found = re.search(r"<input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)", message)
    if found is None:
        return message.split("\n")[0]
    column, detail = found[2], found[3]
    detail = re.sub(r" expecting (\{.*\}|\S+)$", "", detail)
    detail = detail.replace("mismatched input '<EOF>'", "the condition ends too early")
    detail = re.sub(r"(?:mismatched|extraneous) input ('[^']*')", r"unexpected \1", detail)
    detail = re.sub(r"token recognition error at: ('[^']*')", r"unexpected character \1", detail)
    return f"{detail} (at column {column})"


def _locale_problem(locale: str) -> str | None:
    """rendering.check_locale, but Babel's UnknownLocaleError is not a ValueError."""
    try:
        return check_locale(locale)
    except Exception as exc:  # babel.core.UnknownLocaleError and friends
        return str(exc)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _channels(channels: list[Channel] | None) -> tuple[Channel, ...] | None:
    return tuple(channels) if channels is not None else None


def _parse_until(text: str) -> tuple[Weekday | None, int | None] | None:
    match = re.fullmatch(r"(?:(mon|tue|wed|thu|fri|sat|sun)\s+)?(\d{1,2}):(\d{2})", text.strip().lower())
    if match is None or int(match[2]) > 23 or int(match[3]) > 59:
        return None
    return (Weekday(match[1]) if match[1] else None), int(match[2]) * 60 + int(match[3])


def _leaves_the_step(action: sc.ActionDoc) -> bool:
    """Whether an action always leaves its step, so that nothing written after it runs."""
    return isinstance(action, sc.GotoDoc | sc.EndDoc | sc.AgentTaskDoc) or (
        isinstance(action, sc.BranchDoc) and any(isinstance(i, sc.BranchElseDoc) for i in action.branch)
    )


def _action_name(action: sc.ActionDoc) -> str:
    if isinstance(action, sc.BranchDoc):
        return "branch with else"
    if isinstance(action, sc.ReevaluateDoc):
        return "reevaluate"
    return "goto" if isinstance(action, sc.GotoDoc) else "end" if isinstance(action, sc.EndDoc) else "agent_task"


def _own_rules(base: ContactPolicy, final: ContactPolicy) -> tuple[str, ...]:
    """The ids of the rules `final` holds that its preset `base` does not hold as they are: what
    the strategy wrote itself, which a blocked contact names as the strategy's own."""
    own: list[str] = []
    if final.windows != base.windows:
        own.append(final.window_rule)
    if final.holidays is not None and final.holidays != base.holidays:
        own.append(final.holiday_rule)
    for mine, preset in ((final.caps, base.caps), (final.min_gaps, base.min_gaps), (final.cooldowns, base.cooldowns)):
        own.extend(rule.id for rule in mine if rule not in preset)
    return tuple(dict.fromkeys(own))


def _window_allows(policy: ContactPolicy, weekday: Weekday | None, minute: int) -> bool:
    """Whether some window of `policy` covers `minute` on `weekday` (on some day, when None)."""
    return any(w.start <= minute < w.end and (weekday is None or weekday in w.days) for w in policy.windows)


def _windows_text(policy: ContactPolicy) -> str:
    """`mon, tue, wed, thu, fri 07:00-22:00` for each window."""
    if not policy.windows:
        return "never"
    return "; ".join(f"{', '.join(d.value for d in w.days)} {_hhmm(w.start)}-{_hhmm(w.end)}" for w in policy.windows)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _tiers_text(cap: st.FeeCap, currency: amounts.Currency) -> str:
    """`9% of the debt up to $397.000, 6% of the part up to $1.985.000, 3% above` (the cap's
    units valued in money)."""
    parts = []
    for index, (upper, rate) in enumerate(cap.tiers):
        part = "of the debt" if index == 0 else "of the part"
        parts.append(f"{rate}% {part} up to {currency.shown(upper * cap.unit_minor)}" if upper else f"{rate}% above")
    return ", ".join(parts)


_DEBT_MAX = 10**16  # conditions.MONEY_MAX: the largest balance an account may hold


def _first_debt_over_cap(cap: st.FeeCap, percent: str) -> int:
    """The smallest debt on which a fee of `percent` exceeds the cap (the cap's rate falls as the
    debt grows, so beyond it the fee stays above): a bisection over whole minor units."""
    low, high = 1, _DEBT_MAX
    while low < high:
        middle = (low + high) // 2
        if percent_of(middle, percent) > cap_total(cap, middle):
            high = middle
        else:
            low = middle + 1
    return low


def _first_debt_within_cap(cap: st.FeeCap, fixed: int) -> int:
    """The smallest debt whose cap allows a fixed fee of `fixed` (the cap grows with the debt)."""
    low, high = 1, _DEBT_MAX
    while low < high:
        middle = (low + high) // 2
        if cap_total(cap, middle) >= fixed:
            high = middle
        else:
            low = middle + 1
    return low


def _reachable(start: str, follows: dict[str, set[str]]) -> set[str]:
    """Steps reachable from `start` in one or more moves."""
    seen: set[str] = set()
    todo = list(follows.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(follows.get(name, ()))
    return seen


def _heaviest_routes(weights: dict[str, Decimal], reach: dict[str, set[str]]) -> dict[str, Decimal]:
    """For each weighted step, the most weight an account can collect on a route that ends there,
    each step's once. Steps that reach one another both ways can all be taken, in any order, so
    they form one group; between groups the routes form a DAG, walked once (longest path)."""
    names = sorted(weights)
    group = {n: frozenset(o for o in names if o == n or (o in reach[n] and n in reach[o])) for n in names}
    memo: dict[frozenset[str], Decimal] = {}

    def heaviest(g: frozenset[str]) -> Decimal:
        if g not in memo:
            member = next(iter(g))
            earlier = {group[o] for o in names if group[o] != g and member in reach[o]}
            memo[g] = sum((weights[n] for n in g), Decimal(0)) + max(map(heaviest, earlier), default=Decimal(0))
        return memo[g]

    return {n: heaviest(group[n]) for n in names}


def _cycles(graph: dict[str, list[str]]) -> Iterator[list[str]]:
    """Each cycle of `graph` found by a depth-first walk, once per set of steps. The walk keeps
    its own stack: a chain of a few thousand steps must not hit Python's recursion limit (it did,
    as "maximum recursion depth exceeded" at 1:1)."""
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}
    for root in graph:
        if root in state:
            continue
        state[root] = 1
        stack = [root]
        pending = [iter(graph[root])]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                pending.pop()
                state[stack.pop()] = 2
            elif state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    yield cycle
            elif nxt not in state:
                state[nxt] = 1
                stack.append(nxt)
                pending.append(iter(graph[nxt]))


def _path(cycle: list[str]) -> str:
    """`a -> b -> a`; a long loop is named by its ends, not by thousands of steps."""
    shown = [*cycle, cycle[0]]
    if len(shown) > 12:
        shown = [*shown[:6], f"... {len(shown) - 10} more ...", *shown[-4:]]
    return " -> ".join(shown)
