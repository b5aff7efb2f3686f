"""strategies/co-consumer.yaml: the Colombian consumer strategy under Ley 2300 de 2023, checked the
way a strategist reads a simulated timeline (debtor's local time, start Monday 2026-11-02 09:00
America/Bogota, a festivo; account 15 days past due with COP 2.500.000)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from spread_times import shifted, spread_of

from domain.interpreter import choose_variant
from domain.policy import ContactRecord, check_contact
from domain.policy_presets import CO
from domain.strategy import CompiledStrategy
from domain.types import Channel, Resolution, Stage
from simulator.engine import Entry, Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import DEFAULT_SPREAD_S, compile_file
from strategies.rendering import EXAMPLE_CONTEXT, render

PATH = Path(__file__).resolve().parents[2] / "strategies" / "co-consumer.yaml"
TZ = "America/Bogota"
ZONE = ZoneInfo(TZ)
START = datetime(2026, 11, 2, 9, 0, tzinfo=ZONE)
BALANCE = 250_000_000  # COP 2.500.000,00 in centavos
NOT_A_CONVERSATION = ("no_answer", "wrong_party")
CO_HOLIDAYS = holidays.country_holidays("CO", years=(2026, 2027))


@pytest.fixture(scope="module")
def strategy() -> CompiledStrategy:
    return compile_file(str(PATH)).strategy


def account_in(strategy: CompiledStrategy, variant: str) -> str:
    """The first account id the stable champion/challenger split puts in `variant`."""
    return next(f"CO-{n:05d}" for n in range(1000) if choose_variant(strategy, f"CO-{n:05d}") == variant)


def run_scenario(strategy: CompiledStrategy, scenario: dict[str, Any], variant: str = "champion") -> Run:
    doc = ScenarioDoc.model_validate(scenario)
    overrides = {
        "account_id": account_in(strategy, variant),
        "debtor_name": "Ana Pérez",
        "balance": BALANCE,
        "email": "ana.perez@example.co",
        "phone": "+573001234567",
        "postal_address": "Calle 72 # 10-34, Bogotá",
        **doc.account,
    }
    account = default_account(strategy, START.date(), overrides)
    start = START.astimezone(UTC)
    events = to_events(doc, account, start)
    return simulate(strategy, account, start, doc.days, events, ScriptedResponder(doc.calls, doc.approvals))


def when(at: datetime) -> str:
    return at.astimezone(ZONE).strftime("%a %Y-%m-%d %H:%M")


def later(strategy: CompiledStrategy, text: str, variant: str = "champion") -> str:
    """`text` plus the spread of the account `run_scenario` runs: where a contact the policy moved
    to a window's opening lands, and every wait counted from it. The journeys start on a festivo,
    so their first contact is such a move and most of what follows counts from it."""
    return shifted(text, spread_of(strategy, account_in(strategy, variant)))


def of(run: Run, kind: str, step: str | None = None) -> list[Entry]:
    return [e for e in run.timeline if e.kind == kind and (step is None or e.step == step)]


def sent(run: Run) -> list[tuple[str, str, str]]:
    """(local time, step, "channel template") of every message sent."""
    return [(when(e.at), e.step, e.detail) for e in of(run, "send")]


def milestones(run: Run) -> list[tuple[str, str, str, str]]:
    kinds = ("send", "task", "call", "approval", "legal", "closed")
    return [(when(e.at), e.kind, e.step, e.detail) for e in run.timeline if e.kind in kinds]


def steps_taken(run: Run) -> list[str]:
    out: list[str] = []
    for e in run.timeline:
        if not out or out[-1] != e.step:
            out.append(e.step)
    return out


NO_ANSWER = {"calls": ["no_answer", "no_answer", "no_answer"]}
PROMISE_KEPT = {"calls": [{"code": "promise_to_pay", "in_days": 5}], "events": [{"day": 12, "payment": BALANCE}]}
PROMISE_BROKEN = {"calls": [{"code": "promise_to_pay", "in_days": 5}]}
PLAN = {
    "calls": [{"code": "payment_plan", "installments": 3, "down_payment": 30_000_000, "in_days": 5}],
    "events": [{"day": 12, "payment": 30_000_000}],
}
PARTIAL = {
    "events": [
        {"day": 1, "payment": 100_000_000},
        {"day": 3, "at": "18:00", "payment": 100_000_000},
        {"day": 5, "payment": 50_000_000},
    ]
}
SMS_OPT_OUT = {**NO_ANSWER, "events": [{"day": 1, "opt_out": "sms"}]}


# ---- the document ------------------------------------------------------------------------------


def test_compiles_under_the_colombian_preset_without_warnings() -> None:
    compiled = compile_file(str(PATH), compiled_on=date(2026, 11, 30))
    s = compiled.strategy
    assert compiled.warnings == ()
    assert PATH.read_text(encoding="utf-8").splitlines()[0] == "# yaml-language-server: $schema=../strategy.schema.json"
    assert (s.locale, s.currency, s.timezone) == ("es-CO", "COP", "America/Bogota")
    # The preset as is (Sundays, festivos, 1 contact a day, weekly channel lock), its holidays frozen,
    # moved contacts spread by the default.
    assert s.policy == CO.with_calendar(date(2026, 11, 30)).model_copy(update={"spread_s": DEFAULT_SPREAD_S})
    assert s.fee_cap is None
    assert not [name for name, step in s.steps.items() if step.fees]
    assert [(v.name, v.weight) for v in s.variants] == [("champion", 80), ("challenger", 20)]
    assert [seg.name for seg in s.segments] == ["alto_monto", "general"]
    assert s.segments[1].variant_starts == {"challenger": "aviso_sms"}
    assert s.promises is not None
    assert (s.promises.grace_days, s.promises.on_broken) == (2, "promesa_incumplida")
    assert s.plans is not None
    assert (s.plans.max_installments, s.plans.missed_tolerated, s.plans.on_broken) == (6, 1, "plan_incumplido")
    assert Decimal(s.plans.min_down_payment_pct) == 10
    assert s.handlers.payment_in_full == "pago_total"
    assert len(s.steps) < 15  # the Colombian path is the short one


def test_every_outcome_the_call_allows_has_a_route(strategy: CompiledStrategy) -> None:
    (task,) = strategy.steps["llamada"].actions
    assert task.kind == "agent_task"
    assert (task.queue, task.attempts) == ("cobranza_temprana", 3)
    assert {str(code): target for code, target in task.outcomes.items()} == {
        "right_party_contact": "oferta_plan",
        "no_answer": "oferta_plan",
        "wrong_party": "oferta_plan",
        "promise_to_pay": "promesa",
        "payment_plan": "plan_vigente",
        "dispute": "disputa",
        "refusal": "carta_final",
        "hardship": "oferta_plan",
        "callback_requested": "llamada",
    }


def _rendered(strategy: CompiledStrategy) -> dict[str, str]:
    """Every template with the example context, the offer terms as the compiled plan offer sends them."""
    (offer, *_) = strategy.steps["oferta_plan"].actions
    assert offer.kind == "offer_plan"
    terms = {
        "max_installments": str(offer.max_installments),
        "min_down_payment_pct": offer.min_down_payment_pct,
        "frequencies": ",".join(offer.frequencies),
    }
    context = {**EXAMPLE_CONTEXT, "offer": {**EXAMPLE_CONTEXT["offer"], **terms}}
    out = {}
    for name, per_locale in strategy.templates.items():
        t = per_locale["es-CO"]
        text = render(f"{t.subject or ''}\n{t.body}", "es-CO", "COP", context)
        out[name] = " ".join(text.split())
    return out


def test_templates_read_well_in_colombian_spanish(strategy: CompiledStrategy) -> None:
    texts = _rendered(strategy)
    assert "$1.500,00" in texts["recordatorio"]  # 150000 centavos, Colombian separators
    assert "1 de noviembre de 2026" in texts["recordatorio"]
    assert "Hola, Ana" in texts["recordatorio"]
    assert "https://pay.example/ACC-1" in texts["recordatorio"]
    assert "usted lo autorizó" in texts["recordatorio"]  # Ley 2300: only channels the debtor authorized
    offer = texts["oferta_plan"]
    assert "hasta 6 cuotas" in offer
    assert "al menos 10% del saldo" in offer
    assert "E+" not in offer
    assert "sábados de 8:00 a.m. a 3:00 p.m." in texts["carta_final"]
    for name, text in texts.items():
        assert "Acme" in text, name


# Ley 2300 forbids asking the debtor why they defaulted; no threats or pseudo-judicial wording.
FORBIDDEN_CO = (
    "por qué",
    "porqué",
    "motivo",
    "razón",
    "razones",
    "causa",
    "cuéntenos",
    "explique",
    "qué pasó",
    "embargo",
    "demanda",
    "juzgado",
    "tribunal",
    "centrales de riesgo",
    "datacrédito",
    "su empleador",
    "sus referencias",
    "último aviso",
)


def test_templates_never_ask_why_and_never_threaten(strategy: CompiledStrategy) -> None:
    for name, text in _rendered(strategy).items():
        lowered = text.lower()
        found = [w for w in FORBIDDEN_CO if w in lowered]
        assert not found, f"{name}: {found}"
        assert "?" not in text, f"{name}: the messages ask the debtor nothing"
        assert "¿" not in text, f"{name}: the messages ask the debtor nothing"


# ---- (a) nobody answers -------------------------------------------------------------------------


def test_nobody_answers_reminders_calls_offer_final_letter_and_legal_referral(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, NO_ANSWER)
    assert milestones(run) == [
        (later(strategy, "Tue 2026-11-03 07:00"), "send", "aviso_email", "email recordatorio"),  # Mon 2 is a festivo
        (later(strategy, "Fri 2026-11-06 07:00"), "send", "aviso_email", "sms recordatorio_sms"),
        (later(strategy, "Tue 2026-11-10 07:00"), "task", "llamada", "agent task in cobranza_temprana (attempt 1)"),
        (later(strategy, "Tue 2026-11-10 07:00"), "call", "llamada", "call outcome no_answer"),
        (later(strategy, "Thu 2026-11-12 07:00"), "task", "llamada", "agent task in cobranza_temprana (attempt 2)"),
        (later(strategy, "Thu 2026-11-12 07:00"), "call", "llamada", "call outcome no_answer"),
        (later(strategy, "Sat 2026-11-14 08:00"), "task", "llamada", "agent task in cobranza_temprana (attempt 3)"),
        (later(strategy, "Sat 2026-11-14 08:00"), "call", "llamada", "call outcome no_answer"),
        # one contact a day (CO-F1), no Sunday, Monday 16 is a festivo
        (later(strategy, "Tue 2026-11-17 07:00"), "send", "oferta_plan", "email oferta_plan"),
        ("Wed 2026-12-02 10:00", "send", "carta_final", "letter carta_final"),  # weekly letter run
        ("Thu 2026-12-17 10:00", "approval", "cobro_juridico", "waits for a supervisor's approval (legal)"),
        ("Thu 2026-12-17 11:00", "legal", "cobro_juridico", "referred to legal with balance 250000000"),
        ("Thu 2026-12-17 11:00", "closed", "cobro_juridico", "closed: legal"),
    ]
    s = run.state
    assert s.resolution == Resolution.LEGAL
    assert s.stage == Stage.CLOSED
    assert (s.balance, s.fees_total) == (BALANCE, 0)
    assert (s.counters.agent_attempts, s.counters.right_party_contacts) == (3, 0)


def test_first_contact_moves_off_the_festivo(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {})
    first = run.timeline[0]
    assert (first.kind, first.channel, when(first.at)) == ("blocked", "email", "Mon 2026-11-02 09:00")
    assert "public holiday in CO" in first.detail
    assert first.moved_to is not None
    assert when(first.moved_to) == later(strategy, "Tue 2026-11-03 07:00")
    assert [when(t.at) for t in of(run, "task")] == [
        later(strategy, "Tue 2026-11-10 07:00"),
        later(strategy, "Fri 2026-11-13 07:00"),
        later(strategy, "Tue 2026-11-17 07:00"),  # retry fell on Monday 16, a festivo
    ]


def test_small_balance_is_not_sent_to_legal(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"account": {"balance": 150_000}, **NO_ANSWER})  # COP 1.500
    assert not of(run, "approval")
    assert not of(run, "legal")
    assert [e.detail for e in of(run, "send", "cierre")] == ["email oferta_plan"]
    assert run.state.resolution == Resolution.WRITTEN_OFF


# ---- (b) promise kept ---------------------------------------------------------------------------


def test_promise_then_payment_in_full_closes_paid_with_a_receipt(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PROMISE_KEPT)
    (call,) = of(run, "call")
    assert call.detail == "call outcome promise_to_pay (250000000 by 2026-11-15)"
    assert not of(run, "send", "promesa")  # the agent confirms on the call: one channel per week
    (receipt,) = of(run, "send", "pago_total")
    assert receipt.detail == "email pago_recibido"
    # paid on Saturday 14; after Tuesday's call only voice may be used that week (CO-F2), Monday 16
    # is a festivo: the receipt goes out on Tuesday 17 at 07:00, plus the spread
    assert when(receipt.at) == later(strategy, "Tue 2026-11-17 07:00")
    blocked = [e for e in of(run, "blocked", "pago_total")]
    assert [e.detail.split(":")[0] for e in blocked] == ["email blocked by CO-F2"]
    (closed,) = of(run, "closed")
    assert closed.at == receipt.at
    assert closed.detail == "closed: paid"
    s = run.state
    assert s.resolution == Resolution.PAID
    assert s.balance == 0
    assert (s.counters.promises, s.counters.promises_kept, s.counters.promises_broken) == (1, 1, 0)


# ---- (c) promise broken -------------------------------------------------------------------------


def test_broken_promise_takes_the_broken_promise_route(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PROMISE_BROKEN)
    broken = of(run, "send", "promesa_incumplida")
    # promised for Sunday 15, 2 days of grace: broken at midnight on Wednesday 18, sent after 07:00
    assert [(when(e.at), e.detail) for e in broken] == [
        (later(strategy, "Wed 2026-11-18 07:00"), "sms promesa_incumplida")
    ]
    steps = steps_taken(run)
    assert steps.index("llamada") < steps.index("promesa_incumplida")
    assert steps[steps.index("promesa_incumplida") + 1] == "llamada"  # first broken promise: call again
    assert run.state.counters.promises_broken == 1


def test_second_broken_promise_goes_to_the_plan_offer(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"calls": [{"code": "promise_to_pay", "in_days": 5}] * 2})
    assert run.state.counters.promises_broken == 2
    steps = steps_taken(run)
    last = len(steps) - 1 - steps[::-1].index("promesa_incumplida")
    assert steps[last + 1] == "oferta_plan"


# ---- (d) payment plan ---------------------------------------------------------------------------


def test_plan_tolerates_one_missed_installment(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {**PLAN, "days": 60})
    plan = run.state.plan
    assert plan is not None, "one missed installment must not break the plan"
    assert [(i.due.isoformat(), i.amount, i.settled, i.missed) for i in plan.installments] == [
        ("2026-11-15", 30_000_000, True, False),
        ("2026-12-15", 73_333_333, False, True),
        ("2027-01-15", 73_333_333, False, False),
        ("2027-02-15", 73_333_334, False, False),
    ]
    assert plan.missed == 1
    assert run.state.step == "plan_vigente"
    assert run.state.stage == Stage.PAYMENT
    assert (later(strategy, "Sat 2026-12-19 08:00"), "plan_cuota_atrasada", "sms cuota_atrasada") in sent(run)
    assert not of(run, "send", "plan_incumplido")


def test_second_missed_installment_breaks_the_plan(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PLAN)
    (broken,) = of(run, "send", "plan_incumplido")
    assert (when(broken.at), broken.detail) == (later(strategy, "Tue 2027-01-19 07:00"), "email plan_incumplido")
    steps = steps_taken(run)
    assert steps.index("plan_cuota_atrasada") < steps.index("plan_incumplido") < steps.index("carta_final")
    assert run.state.plan is None
    assert run.state.paid_total == 30_000_000
    assert of(run, "legal")[0].detail == "referred to legal with balance 220000000"


# ---- (e) partial payments -----------------------------------------------------------------------


def test_partial_payments_down_to_zero_close_paid(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PARTIAL)
    assert len([e for e in of(run, "event") if e.detail.startswith("payment")]) == 3
    assert (later(strategy, "Fri 2026-11-06 07:00"), "aviso_email", "sms recordatorio_sms") in sent(run)
    (receipt,) = of(run, "send", "pago_total")
    assert (when(receipt.at), receipt.detail) == ("Sat 2026-11-07 12:00", "email pago_recibido")
    (closed,) = of(run, "closed")
    assert closed.at == receipt.at
    assert closed.detail == "closed: paid"
    s = run.state
    assert (s.resolution, s.balance, s.paid_total, s.counters.payments) == (Resolution.PAID, 0, BALANCE, 3)
    assert not of(run, "task")


# ---- (f) opt-out --------------------------------------------------------------------------------


def test_no_sms_after_an_sms_opt_out(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {**PROMISE_BROKEN, "events": [{"day": 1, "opt_out": "sms"}]})
    (opt_out,) = [e for e in of(run, "event") if e.detail == "opt-out sms"]
    assert not [e for e in of(run, "send") if e.channel == "sms" and e.at >= opt_out.at]
    blocked = {e.step for e in of(run, "blocked") if e.channel == "sms" and "opted out" in e.detail}
    assert blocked == {"aviso_email", "promesa_incumplida"}
    assert (later(strategy, "Fri 2026-11-06 07:00"), "aviso_email", "email recordatorio_sms") in sent(run)
    assert (later(strategy, "Wed 2026-11-18 07:00"), "promesa_incumplida", "email promesa_incumplida") in sent(run)
    assert run.state.opted_out == (Channel.SMS,)


def test_full_opt_out_closes_the_account(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"events": [{"day": 4, "opt_out": "all"}]})
    (closed,) = of(run, "closed")
    assert (when(closed.at), closed.detail) == ("Fri 2026-11-06 12:00", "closed: opted_out")
    assert not [e for e in of(run, "send") if e.at > closed.at]


# ---- (g) contact hours and frequency ------------------------------------------------------------

ALL_SCENARIOS = {
    "no_answer": NO_ANSWER,
    "unworked": {},
    "promise_kept": PROMISE_KEPT,
    "promise_broken": PROMISE_BROKEN,
    "plan": PLAN,
    "partial": PARTIAL,
    "sms_opt_out": SMS_OPT_OUT,
    "right_party": {"calls": ["right_party_contact"]},
    "wrong_party": {"calls": ["wrong_party"]},
    "refusal": {"calls": ["refusal"]},
    "callback": {"calls": ["callback_requested", "hardship"]},
    "high_balance": {"account": {"balance": 600_000_000}},
}


def _history(run: Run, upto: int) -> list[ContactRecord]:
    out = []
    for e in run.timeline[:upto]:
        if e.kind == "send" and e.channel:
            out.append(ContactRecord(channel=Channel(e.channel), at=e.at))
        elif e.kind == "call":
            code = e.detail.removeprefix("call outcome ").split(" ")[0]
            out.append(ContactRecord(channel=Channel.VOICE, at=e.at, conversation=code not in NOT_A_CONVERSATION))
    return out


@pytest.mark.parametrize("name", sorted(ALL_SCENARIOS))
@pytest.mark.parametrize("variant", ["champion", "challenger"])
def test_every_contact_respects_ley_2300(strategy: CompiledStrategy, name: str, variant: str) -> None:
    run = run_scenario(strategy, ALL_SCENARIOS[name], variant)
    days: Counter[str] = Counter()
    for index, e in enumerate(run.timeline):
        if e.kind not in ("send", "task"):
            continue
        channel = Channel(e.channel) if e.kind == "send" and e.channel else Channel.VOICE
        local = e.at.astimezone(ZONE)
        # CO-T1: Mon-Fri 07:00-19:00, Sat 08:00-15:00, never on Sundays or festivos. The preset
        # leaves letters out; the strategy sends them in its Wednesday 10:00 letter run.
        assert local.weekday() != 6, f"{when(e.at)} {e.detail} on a Sunday"
        assert local.date() not in CO_HOLIDAYS, f"{when(e.at)} {e.detail} on {CO_HOLIDAYS.get(local.date())}"
        if local.weekday() == 5:
            assert 8 <= local.hour < 15, f"{when(e.at)} {e.detail} outside Saturday hours"
        else:
            assert 7 <= local.hour < 19, f"{when(e.at)} {e.detail} outside weekday hours"
        # CO-F1 (one attempt a day, all channels) and CO-F2 (one channel a week after a conversation)
        decision = check_contact(CO, channel, e.at, TZ, _history(run, index))
        assert decision.allowed, f"{when(e.at)} {e.detail}: {decision.rule} {decision.reason}"
        days[local.date().isoformat()] += 1
    assert days, "no contact at all"
    assert max(days.values()) == 1, f"more than one contact on a day: {days.most_common(1)}"


def test_after_a_conversation_only_the_phone_is_used_that_week(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"calls": ["right_party_contact"]})
    (call,) = of(run, "call")
    assert when(call.at) == later(strategy, "Tue 2026-11-10 07:00")
    (offer,) = of(run, "send", "oferta_plan")
    assert when(offer.at) == later(strategy, "Tue 2026-11-17 07:00")  # next week (Monday 16 is a festivo)
    assert any(e.detail.startswith("email blocked by CO-F2") for e in of(run, "blocked", "oferta_plan"))


# ---- (h) champion / challenger ------------------------------------------------------------------


def test_challenger_starts_with_sms_and_champion_with_email(strategy: CompiledStrategy) -> None:
    challenger = run_scenario(strategy, {}, variant="challenger")
    champion = run_scenario(strategy, {}, variant="champion")
    assert (challenger.state.variant, champion.state.variant) == ("challenger", "champion")
    # each account lands at its own offset after Tuesday's opening
    assert sent(challenger)[:2] == [
        (later(strategy, "Tue 2026-11-03 07:00", "challenger"), "aviso_sms", "sms recordatorio_sms"),
        (later(strategy, "Fri 2026-11-06 07:00", "challenger"), "aviso_sms", "email recordatorio"),
    ]
    assert sent(champion)[:2] == [
        (later(strategy, "Tue 2026-11-03 07:00"), "aviso_email", "email recordatorio"),
        (later(strategy, "Fri 2026-11-06 07:00"), "aviso_email", "sms recordatorio_sms"),
    ]


def test_split_is_stable_and_close_to_80_20(strategy: CompiledStrategy) -> None:
    ids = [f"ACC-{n}" for n in range(4000)]
    arms = [choose_variant(strategy, i) for i in ids]
    assert arms == [choose_variant(strategy, i) for i in ids]
    assert 0.17 < arms.count("challenger") / len(ids) < 0.23


def test_high_balance_segment_calls_first(strategy: CompiledStrategy) -> None:
    for variant in ("champion", "challenger"):
        run = run_scenario(strategy, {"account": {"balance": 600_000_000}}, variant)
        assert run.state.segment == "alto_monto"
        assert run.timeline[1].kind == "task"
        assert when(run.timeline[1].at) == later(strategy, "Tue 2026-11-03 07:00", variant)
        assert not [e for e in of(run, "send") if e.at < run.timeline[1].at]


def test_rejected_legal_referral_gets_a_last_offer_then_write_off(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {**NO_ANSWER, "approvals": "reject"})
    assert not of(run, "legal")
    (offer,) = of(run, "send", "cierre")
    (closed,) = of(run, "closed")
    assert closed.detail == "closed: written_off"
    assert closed.at - offer.at == timedelta(days=30)
