"""StrategyDoc -> CompiledStrategy, with the static checks that make a strategy safe to publish.

Checks: references to unknown steps, templates and queues; unreachable steps; loops that can
run without waiting; agent outcomes nobody routes; conditions that do not parse, use unknown
variables or mix types; templates with unknown variables; unknown currency, locale, time zone
or holiday calendar; and a contact policy that loosens its preset without an explicit override.
Every problem is reported at once, each with its `file:line:col`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from babel.numbers import list_currencies
from jinja2 import TemplateSyntaxError, UndefinedError, meta

from domain import conditions
from domain import strategy as st
from domain.fees import FEE_CAPS
from domain.policy import Cap, ContactPolicy, Cooldown, MinGap, Window, loosenings
from domain.policy_presets import PRESETS
from domain.types import Channel, Outcome, Weekday
from strategies import schema as sc
from strategies.loader import PathKey, Source, StrategyError, StrategyInvalid, load_file, load_text
from strategies.rendering import EXAMPLE_CONTEXT, check_locale, environment

# A permissive base for strategies outside any preset jurisdiction.
NO_PRESET = ContactPolicy(
    name="NONE",
    window_rule="window",
    windows=(Window(days=tuple(Weekday), start=0, end=1440),),
    window_channels=(Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.VOICE),
)
WAITING_KINDS = (sc.WaitDoc, sc.AgentTaskDoc)


@dataclass(frozen=True)
class Compiled:
    strategy: st.CompiledStrategy
    warnings: tuple[str, ...]


def content_hash(strategy: st.CompiledStrategy) -> str:
    """sha256 of the canonical JSON of everything but the hash itself."""
    body = strategy.model_dump(mode="json", exclude={"hash"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def compile_file(path: str) -> Compiled:
    src, doc = load_file(path)
    return _Compiler(src, doc).run()


def compile_text(text: str, file: str = "<strategy>") -> Compiled:
    src, doc = load_text(text, file)
    return _Compiler(src, doc).run()


class _Compiler:
    def __init__(self, src: Source, doc: sc.StrategyDoc) -> None:
        self.src = src
        self.doc = doc
        self.errors: list[StrategyError] = []
        self.warnings: list[str] = []

    def fail(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        self.errors.append(self.src.error(path, message, at_key=at_key))

    def run(self) -> Compiled:
        doc = self.doc
        self.check_basics()
        policy = self.build_policy()
        self.check_conditions()
        self.check_references()
        self.check_termination()
        self.check_reachability()
        self.check_loops()
        self.check_templates()
        if self.errors:
            raise StrategyInvalid(self.errors)
        fee_cap = FEE_CAPS.get(doc.policy.preset)
        if fee_cap is not None and doc.policy.fee_cap_unit_value is not None:
            fee_cap = fee_cap.model_copy(update={"unit_minor": doc.policy.fee_cap_unit_value})
        compiled = st.CompiledStrategy(
            id=doc.id,
            name=doc.name,
            description=doc.description,
            locale=doc.locale,
            currency=doc.currency,
            timezone=doc.timezone,
            policy=policy,
            fee_cap=fee_cap,
            segments=tuple(
                st.Segment(name=s.name, when=s.when, start=s.start, variant_starts=dict(s.variants))
                for s in doc.segments
            ),
            variants=tuple(st.Variant(name=v.name, weight=v.weight) for v in doc.variants),
            steps={name: self.compile_step(name, step) for name, step in doc.steps.items()},
            handlers=st.Handlers(**doc.on.model_dump()),
            promises=(
                st.PromiseRules(
                    grace_days=doc.promises.grace_days,
                    kept_threshold_pct=int(float(doc.promises.kept_threshold)),
                    max_days_ahead=doc.promises.max_days_ahead,
                    step=doc.promises.step,
                    on_kept=doc.promises.on_kept,
                    on_broken=doc.promises.on_broken,
                )
                if doc.promises
                else None
            ),
            plans=st.PlanRules(**doc.plans.model_dump()) if doc.plans else None,
            templates={
                name: {loc: st.Template(subject=t.subject, body=t.body) for loc, t in per_locale.items()}
                for name, per_locale in doc.templates.items()
            },
        )
        compiled = compiled.model_copy(update={"hash": content_hash(compiled)})
        return Compiled(compiled, tuple(self.warnings))

    # ---- basics ----------------------------------------------------------------------------------

    def check_basics(self) -> None:
        doc = self.doc
        if doc.currency not in list_currencies():
            self.fail(("currency",), f"unknown currency {doc.currency!r}; expected an ISO 4217 code such as CLP, USD, COP, MXN")
        problem = check_locale(doc.locale)
        if problem:
            self.fail(("locale",), f"unknown locale {doc.locale!r}; expected a locale such as es-CL or en-US")
        try:
            ZoneInfo(doc.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(("timezone",), f"unknown time zone {doc.timezone!r}; expected an IANA zone such as America/Santiago")
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
                    self.fail(
                        ("segments", index, "variants", variant),
                        f"unknown variant {variant!r}; declared variants: {', '.join(names) or 'none'}",
                        at_key=True,
                    )
        for name, per_locale in doc.templates.items():
            for loc in per_locale:
                if check_locale(loc):
                    self.fail(("templates", name, loc), f"unknown locale {loc!r} in template {name!r}", at_key=True)
        if doc.plans and doc.plans.missed_tolerated >= doc.plans.max_installments:
            self.fail(("plans", "missed_tolerated"), "missed_tolerated must be below max_installments")

    # ---- policy ----------------------------------------------------------------------------------

    def build_policy(self) -> ContactPolicy:
        pdoc = self.doc.policy
        base = PRESETS.get(pdoc.preset, NO_PRESET)
        tightened = self.apply_rules(base, pdoc, ("policy",))
        for loosening in loosenings(base, tightened):
            self.fail(
                ("policy",),
                f"policy loosens preset {base.name}: {loosening}; put the change under policy.override "
                "with a reason if it is deliberate",
                at_key=True,
            )
        if pdoc.override is None:
            return tightened
        final = self.apply_rules(tightened, pdoc.override, ("policy", "override"))
        notes = tuple(f"{text} (override: {pdoc.override.reason})" for text in loosenings(base, final))
        self.warnings.extend(f"policy override: {n}" for n in notes)
        return final.model_copy(update={"overrides": notes, "name": f"{base.name}+override"})

    def apply_rules(self, base: ContactPolicy, rules: sc.PolicyRulesDoc, path: PathKey) -> ContactPolicy:
        update: dict[str, object] = {}
        if rules.windows is not None:
            update["windows"] = tuple(
                Window(days=tuple(w.days), start=w.start, end=w.end) for w in rules.windows if w.start < w.end
            )
            for index, w in enumerate(rules.windows):
                if w.start >= w.end:
                    self.fail((*path, "windows", index), "window must start before it ends")
        if rules.holidays is not None:
            if rules.holidays.upper() not in holidays_lib.list_supported_countries():
                self.fail((*path, "holidays"), f"unknown holiday calendar {rules.holidays!r}; expected a country code such as CL")
            update["holidays"] = rules.holidays.upper()
        if rules.caps is not None:
            caps = {c.id: c for c in base.caps}
            for index, c in enumerate(rules.caps):
                if isinstance(c.per, int):
                    if c.per % 86400:
                        self.fail((*path, "caps", index, "per"), "a rolling cap period must be whole days, such as 7d")
                    caps[c.id] = Cap(id=c.id, channels=_channels(c.channels), max=c.max, period="rolling", days=max(1, c.per // 86400))
                else:
                    period = "calendar_day" if c.per == "day" else "calendar_week"
                    caps[c.id] = Cap(id=c.id, channels=_channels(c.channels), max=c.max, period=period)
            update["caps"] = tuple(caps.values())
        if rules.min_gaps is not None:
            gaps = {g.id: g for g in base.min_gaps}
            for g in rules.min_gaps:
                gaps[g.id] = MinGap(id=g.id, channels=_channels(g.channels), minutes=max(1, g.gap // 60))
            update["min_gaps"] = tuple(gaps.values())
        if rules.cooldowns is not None:
            cools = {c.id: c for c in base.cooldowns}
            for c in rules.cooldowns:
                cools[c.id] = Cooldown(id=c.id, channels=tuple(c.channels), days=c.days)
            update["cooldowns"] = tuple(cools.values())
        return base.model_copy(update=update) if update else base

    # ---- conditions ------------------------------------------------------------------------------

    def check_condition(self, expression: str, path: PathKey) -> None:
        try:
            unknown = conditions.unknown_variables(expression)
        except ValueError as exc:
            detail = str(exc).split("ERROR: <input>:", 1)[-1].split("\n")[0]
            self.fail(path, f"condition does not parse: {detail.strip()}")
            return
        if unknown:
            self.fail(
                path,
                f"unknown variable {unknown[0]!r} in condition; expected one of: {', '.join(conditions.VARIABLES)}",
            )
            return
        try:
            conditions.check_types(expression)
        except (TypeError, RuntimeError) as exc:
            self.fail(path, f"condition has a type error: {str(exc).split('. ')[0]}")

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
            near = _closest(target, list(self.doc.steps))
            hint = f"; did you mean {near!r}?" if near else f"; steps are: {', '.join(self.doc.steps)}"
            self.fail(path, f"unknown step {target!r}{hint}")

    def template_ref(self, name: str, path: PathKey) -> None:
        templates = self.doc.templates
        if name not in templates:
            self.fail(path, f"unknown template {name!r}; templates are: {', '.join(templates) or 'none'}")
        elif self.doc.locale not in templates[name]:
            self.fail(path, f"template {name!r} has no {self.doc.locale} version (the strategy's locale)")

    def check_references(self) -> None:
        doc = self.doc
        for index, seg in enumerate(doc.segments):
            self.step_ref(seg.start, ("segments", index, "start"))
            for variant, start in seg.variants.items():
                self.step_ref(start, ("segments", index, "variants", variant))
        for field, target in doc.on.model_dump().items():
            self.step_ref(target, ("on", field))
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
                self.fail(("steps", name, "approval"), "a step that needs approval needs on_rejected: the step to take when a supervisor rejects it")
        for path, action in self.actions():
            self.check_action_refs(path, action)

    def check_action_refs(self, path: PathKey, action: sc.ActionDoc) -> None:
        doc = self.doc
        match action:
            case sc.SendDoc(send=spec):
                self.template_ref(spec.template, (*path, "send", "template"))
                if spec.channel in spec.fallback:
                    self.fail((*path, "send", "fallback"), f"fallback repeats the main channel {spec.channel}")
            case sc.OfferPlanDoc(offer_plan=spec):
                self.template_ref(spec.template, (*path, "offer_plan", "template"))
                if doc.plans is None:
                    self.fail((*path, "offer_plan"), "offer_plan needs a top-level `plans:` section (installment rules and routes)", at_key=True)
            case sc.OfferSettlementDoc(offer_settlement=spec):
                self.template_ref(spec.template, (*path, "offer_settlement", "template"))
            case sc.AgentTaskDoc(agent_task=spec):
                if spec.queue not in doc.queues:
                    self.fail((*path, "agent_task", "queue"), f"unknown queue {spec.queue!r}; declared queues: {', '.join(doc.queues) or 'none (add a top-level queues: list)'}")
                for code, target in spec.outcomes.items():
                    self.step_ref(target, (*path, "agent_task", "outcomes", code.value))
                if Outcome.NO_ANSWER not in spec.outcomes:
                    self.fail((*path, "agent_task", "outcomes"), "outcome no_answer has no step: a task nobody works in time routes as no_answer", at_key=True)
                if Outcome.PROMISE_TO_PAY in spec.outcomes and doc.promises is None:
                    self.fail((*path, "agent_task", "outcomes", "promise_to_pay"), "outcome promise_to_pay needs a top-level `promises:` section", at_key=True)
                if Outcome.PAYMENT_PLAN in spec.outcomes and doc.plans is None:
                    self.fail((*path, "agent_task", "outcomes", "payment_plan"), "outcome payment_plan needs a top-level `plans:` section", at_key=True)
            case sc.WaitDoc(wait=spec):
                if spec.until is not None and _parse_until(spec.until) is None:
                    self.fail((*path, "wait", "until"), f"cannot parse until {spec.until!r}; expected \"HH:MM\" or \"mon 10:00\"")
            case sc.EscalateLegalDoc(escalate_legal=spec):
                if spec is not None:
                    self.step_ref(spec.on_rejected, (*path, "escalate_legal", "on_rejected"))
                    if spec.on_rejected and not spec.approval:
                        self.fail((*path, "escalate_legal", "on_rejected"), "on_rejected only applies with approval: true")
            case sc.BranchDoc(branch=items):
                for i, item in enumerate(items):
                    if isinstance(item, sc.BranchCaseDoc):
                        self.step_ref(item.goto, (*path, "branch", i, "goto"))
                    else:
                        self.step_ref(item.otherwise, (*path, "branch", i, "else"))
                        if i != len(items) - 1:
                            self.fail((*path, "branch", i), "else must be the last case of a branch")
            case sc.GotoDoc(goto=target):
                self.step_ref(target, (*path, "goto"))
            case _:
                pass

    # ---- graph checks ----------------------------------------------------------------------------

    def edges(self, name: str, *, instant_only: bool) -> list[str]:
        """Steps `name` can lead to; with instant_only, only those reached without waiting."""
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
                case sc.BranchDoc(branch=items):
                    out.extend(i.goto if isinstance(i, sc.BranchCaseDoc) else i.otherwise for i in items)
                case sc.GotoDoc(goto=target):
                    out.append(target)
                case sc.EscalateLegalDoc(escalate_legal=spec) if spec is not None:
                    if spec.approval:
                        waited = True
                        if spec.on_rejected and not instant_only:
                            out.append(spec.on_rejected)
            if isinstance(action, WAITING_KINDS):
                waited = True
        if step.next and not (instant_only and waited):
            out.append(step.next)
        return [t for t in out if t in self.doc.steps]

    def check_termination(self) -> None:
        for name, step in self.doc.steps.items():
            last = step.do[-1]
            ends = isinstance(last, sc.GotoDoc | sc.EndDoc | sc.AgentTaskDoc) or (
                isinstance(last, sc.BranchDoc) and isinstance(last.branch[-1], sc.BranchElseDoc)
            )
            if ends and step.next is not None:
                self.fail(("steps", name, "next"), f"step {name!r} never reaches next: its last action already leaves the step", at_key=True)
            if not ends and step.next is None:
                self.fail(("steps", name), f"step {name!r} has no way out: end it with goto, end, a branch with else, or add next:", at_key=True)

    def roots(self) -> list[str]:
        doc = self.doc
        found = [s.start for s in doc.segments] + [t for s in doc.segments for t in s.variants.values()]
        found += [t for t in doc.on.model_dump().values() if t]
        if doc.promises:
            found += [t for t in (doc.promises.step, doc.promises.on_kept, doc.promises.on_broken) if t]
        if doc.plans:
            found += [t for t in (doc.plans.step, doc.plans.on_missed, doc.plans.on_broken) if t]
        return [r for r in found if r in doc.steps]

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
                self.fail(("steps", name), f"step {name!r} is unreachable: no segment, handler or other step leads to it", at_key=True)

    def check_loops(self) -> None:
        graph = {name: self.edges(name, instant_only=True) for name in self.doc.steps}
        reported: set[frozenset[str]] = set()
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in graph[node]:
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt):]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        path = " -> ".join([*cycle, nxt])
                        self.fail(("steps", nxt), f"loop with no wait in it: {path}; add a wait or an agent task", at_key=True)
                elif nxt not in state:
                    visit(nxt)
            stack.pop()
            state[node] = 2

        for name in graph:
            if name not in state:
                visit(name)

    # ---- templates -------------------------------------------------------------------------------

    def check_templates(self) -> None:
        doc = self.doc
        allowed = set(EXAMPLE_CONTEXT)
        for name, per_locale in doc.templates.items():
            for loc, tpl in per_locale.items():
                if check_locale(loc):
                    continue
                for part in ("subject", "body"):
                    source = getattr(tpl, part)
                    if source is None:
                        continue
                    path = ("templates", name, loc, part)
                    env = environment(loc, doc.currency if doc.currency in list_currencies() else "USD")
                    try:
                        parsed = env.parse(source)
                        unknown = sorted(meta.find_undeclared_variables(parsed) - allowed)
                        if unknown:
                            self.template_error(path, source, unknown[0], f"unknown template variable {unknown[0]!r}; expected one of: {', '.join(sorted(allowed))}")
                            continue
                        env.from_string(source).render(EXAMPLE_CONTEXT)
                    except TemplateSyntaxError as exc:
                        self.template_error(path, source, None, f"template syntax: {exc.message}", exc.lineno)
                    except UndefinedError as exc:
                        attr = re.search(r"attribute '([^']+)'", str(exc))
                        self.template_error(path, source, attr[1] if attr else None, f"template error: {exc}")
                    except (TypeError, ValueError) as exc:
                        self.template_error(path, source, None, f"template error: {exc}")

    def template_error(self, path: PathKey, source: str, needle: str | None, message: str, lineno: int | None = None) -> None:
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
            fees=tuple(st.Fee(fixed_minor=f.fixed, percent=f.percent) for f in step.fees),
            actions=tuple(self.compile_action(a) for a in step.do),
            next=step.next,
        )

    def compile_action(self, action: sc.ActionDoc) -> st.Action:
        plans = self.doc.plans
        match action:
            case sc.SendDoc(send=s):
                return st.SendAction(channel=s.channel, template=s.template, fallback=tuple(s.fallback))
            case sc.AgentTaskDoc(agent_task=a):
                return st.AgentTaskAction(queue=a.queue, due_within_s=a.due_within, attempts=a.attempts, retry_after_s=a.retry_after, outcomes=dict(a.outcomes))
            case sc.WaitDoc(wait=w):
                weekday, minute = _parse_until(w.until) if w.until else (None, None)
                return st.WaitAction(seconds=w.duration or 0, anchor=w.anchor, until_weekday=weekday, until_minute=minute)
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
                )
            case sc.OfferSettlementDoc(offer_settlement=o):
                return st.OfferSettlementAction(channel=o.channel, template=o.template, max_discount_pct=o.max_discount, expires_after_s=o.expires_in)
            case sc.EscalateLegalDoc(escalate_legal=e):
                return st.EscalateLegalAction(approval=bool(e and e.approval), on_rejected=e.on_rejected if e else None)
            case sc.BranchDoc(branch=items):
                cases = tuple(st.BranchCase(when=i.when, goto=i.goto) for i in items if isinstance(i, sc.BranchCaseDoc))
                otherwise = next((i.otherwise for i in items if isinstance(i, sc.BranchElseDoc)), None)
                return st.BranchAction(cases=cases, otherwise=otherwise)
            case sc.GotoDoc(goto=target):
                return st.GotoAction(step=target)
            case sc.EndDoc(end=resolution):
                return st.EndAction(resolution=resolution)
        raise AssertionError(f"unhandled action {action!r}")


def _channels(channels: list[Channel] | None) -> tuple[Channel, ...] | None:
    return tuple(channels) if channels is not None else None


def _parse_until(text: str) -> tuple[Weekday | None, int | None] | None:
    match = re.fullmatch(r"(?:(mon|tue|wed|thu|fri|sat|sun)\s+)?(\d{1,2}):(\d{2})", text.strip().lower())
    if match is None or int(match[2]) > 23 or int(match[3]) > 59:
        return None
    return (Weekday(match[1]) if match[1] else None), int(match[2]) * 60 + int(match[3])


def _closest(word: str, options: list[str]) -> str | None:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    return found[0] if found else None
