"""strategies/cl-consumer.yaml: the Chilean consumer strategy, checked the way a strategist reads a
simulated timeline (debtor's local time, start Monday 2026-11-02 09:00 America/Santiago, account
15 days past due with CLP 150.000)."""

from __future__ import annotations

import re
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
from domain.policy_presets import CL
from domain.strategy import CompiledStrategy
from domain.types import Channel, Resolution, Stage
from simulator.engine import Entry, Run, simulate
from simulator.scenario import ScenarioDoc, ScriptedResponder, default_account, to_events
from strategies.compiler import DEFAULT_SPREAD_S, compile_file
from strategies.rendering import EXAMPLE_CONTEXT, render

PATH = Path(__file__).resolve().parents[2] / "strategies" / "cl-consumer.yaml"
TZ = "America/Santiago"
ZONE = ZoneInfo(TZ)
START = datetime(2026, 11, 2, 9, 0, tzinfo=ZONE)
BALANCE = 150_000
NOT_A_CONVERSATION = ("no_answer", "wrong_party")


@pytest.fixture(scope="module")
def strategy() -> CompiledStrategy:
    return compile_file(str(PATH)).strategy


def account_in(strategy: CompiledStrategy, variant: str) -> str:
    """The first account id the stable champion/challenger split puts in `variant`."""
    return next(f"CL-{n:05d}" for n in range(1000) if choose_variant(strategy, f"CL-{n:05d}") == variant)


def run_scenario(strategy: CompiledStrategy, scenario: dict[str, Any], variant: str = "champion") -> Run:
    doc = ScenarioDoc.model_validate(scenario)
    overrides = {
        "account_id": account_in(strategy, variant),
        "debtor_name": "Ana Pérez",
        "balance": BALANCE,
        "email": "ana.perez@example.cl",
        "phone": "+56912345678",
        "postal_address": "Av. Providencia 1234, Providencia, Santiago",
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
    to a window's opening lands, and every wait counted from it."""
    return shifted(text, spread_of(strategy, account_in(strategy, variant)))


def of(run: Run, kind: str, step: str | None = None) -> list[Entry]:
    return [e for e in run.timeline if e.kind == kind and (step is None or e.step == step)]


def sent(run: Run) -> list[tuple[str, str, str]]:
    """(local time, step, "channel template") of every message sent."""
    return [(when(e.at), e.step, e.detail) for e in of(run, "send")]


def milestones(run: Run) -> list[tuple[str, str, str, str]]:
    kinds = ("send", "task", "call", "fee", "approval", "legal", "closed")
    return [(when(e.at), e.kind, e.step, e.detail) for e in run.timeline if e.kind in kinds]


def steps_taken(run: Run) -> list[str]:
    """Steps in the order the timeline shows them, each run of the same step once."""
    out: list[str] = []
    for e in run.timeline:
        if not out or out[-1] != e.step:
            out.append(e.step)
    return out


NO_ANSWER = {"calls": ["no_answer", "no_answer", "no_answer"]}
PROMISE_KEPT = {"calls": [{"code": "promise_to_pay", "in_days": 5}], "events": [{"day": 11, "payment": BALANCE}]}
PROMISE_BROKEN = {"calls": [{"code": "promise_to_pay", "in_days": 5}]}
PLAN = {
    "calls": [{"code": "payment_plan", "installments": 3, "down_payment": 20_000, "in_days": 5}],
    "events": [{"day": 11, "payment": 20_000}],
}
PARTIAL = {
    "events": [
        {"day": 1, "payment": 50_000},
        {"day": 3, "at": "18:00", "payment": 60_000},
        {"day": 5, "payment": 40_000},
    ]
}
SMS_OPT_OUT = {**NO_ANSWER, "events": [{"day": 1, "opt_out": "sms"}]}


# ---- the document ------------------------------------------------------------------------------


def test_compiles_under_the_chilean_preset_without_warnings() -> None:
    compiled = compile_file(str(PATH), compiled_on=date(2026, 11, 30))
    s = compiled.strategy
    assert compiled.warnings == ()
    assert PATH.read_text(encoding="utf-8").splitlines()[0] == "# yaml-language-server: $schema=../strategy.schema.json"
    assert (s.locale, s.currency, s.timezone) == ("es-CL", "CLP", "America/Santiago")
    # the preset as is (nothing loosened, nothing overridden), moved contacts spread by the default
    assert s.policy == CL.with_calendar(date(2026, 11, 30)).model_copy(update={"spread_s": DEFAULT_SPREAD_S})
    assert s.fee_cap is not None
    assert s.fee_cap.rule == "CL-$1"
    assert [(v.name, v.weight) for v in s.variants] == [("champion", 80), ("challenger", 20)]
    assert [seg.name for seg in s.segments] == ["alto_monto", "general"]
    assert s.segments[1].variant_starts == {"challenger": "aviso_sms"}
    assert s.promises is not None
    assert (s.promises.grace_days, s.promises.kept_threshold_pct) == (2, 100)
    assert s.promises.on_broken == "promesa_incumplida"
    assert s.plans is not None
    assert (s.plans.max_installments, s.plans.missed_tolerated, s.plans.on_broken) == (6, 1, "plan_incumplido")
    assert Decimal(s.plans.min_down_payment_pct) == 10
    assert s.handlers.payment_in_full == "pago_total"
    assert s.steps["recordatorio_mora"].fees[0].percent == "2"


def test_every_outcome_the_call_allows_has_a_route(strategy: CompiledStrategy) -> None:
    (task,) = strategy.steps["llamada"].actions
    assert task.kind == "agent_task"
    assert (task.queue, task.attempts, task.retry_after_s) == ("cobranza_temprana", 3, 7 * 86400)
    assert {str(code): target for code, target in task.outcomes.items()} == {
        "right_party_contact": "oferta_plan",
        "no_answer": "evaluar_mora",
        "wrong_party": "numero_erroneo",
        "promise_to_pay": "promesa",
        "payment_plan": "plan_vigente",
        "dispute": "disputa",
        "refusal": "carta_final",
        "hardship": "oferta_plan",
        "callback_requested": "volver_a_llamar",
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
        t = per_locale["es-CL"]
        text = render(f"{t.subject or ''}\n{t.body}", "es-CL", "CLP", context)
        out[name] = " ".join(text.split())  # as read: line breaks of the YAML do not matter
    return out


def test_templates_read_well_in_chilean_spanish(strategy: CompiledStrategy) -> None:
    texts = _rendered(strategy)
    assert "$150.000" in texts["recordatorio"]  # CLP without decimals, Chilean separators
    assert "1 de noviembre de 2026" in texts["recordatorio"]
    assert "Hola Ana" in texts["recordatorio"]
    assert "https://pay.example/ACC-1" in texts["recordatorio"]
    offer = texts["oferta_plan"]
    assert "hasta 6 cuotas" in offer
    assert "al menos 10% del saldo" in offer
    assert "E+" not in offer  # a percentage never shows in scientific notation
    assert "$5.000" in texts["aviso_mora"]  # the collection fee is disclosed
    for name, text in texts.items():
        assert "Acme" in text, name  # every message says who is collecting


FORBIDDEN_CL = (
    "embargo",
    "demanda",
    "tribunal",
    "juzgado",
    "receptor",
    "notificación judicial",
    "citación",
    "orden de",
    "detención",
    "cárcel",
    "dicom",
    "boletín comercial",
    "último plazo",
    "consecuencias",
    "su empleador",
    "sus familiares",
)


def test_templates_have_no_threatening_or_pseudo_judicial_wording(strategy: CompiledStrategy) -> None:
    for name, text in _rendered(strategy).items():
        lowered = text.lower()
        found = [w for w in FORBIDDEN_CL if w in lowered]
        assert not found, f"{name}: {found}"
        assert not re.search(r"\b[A-ZÁÉÍÓÚÑ]{6,}\b", text), f"{name}: no shouting in capitals"
    assert "cobranza extrajudicial" in _rendered(strategy)["carta_final"]


# ---- (a) nobody answers -------------------------------------------------------------------------


def test_nobody_answers_reminders_calls_fee_final_letter_and_legal_referral(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, NO_ANSWER)
    assert milestones(run) == [
        ("Mon 2026-11-02 09:00", "send", "aviso_email", "email recordatorio"),
        ("Thu 2026-11-05 09:00", "send", "aviso_email", "sms recordatorio_sms"),
        ("Mon 2026-11-09 09:00", "task", "llamada", "agent task in cobranza_temprana (attempt 1)"),
        ("Mon 2026-11-09 09:00", "call", "llamada", "call outcome no_answer"),
        ("Mon 2026-11-16 09:00", "task", "llamada", "agent task in cobranza_temprana (attempt 2)"),
        ("Mon 2026-11-16 09:00", "call", "llamada", "call outcome no_answer"),
        ("Mon 2026-11-23 09:00", "task", "llamada", "agent task in cobranza_temprana (attempt 3)"),
        ("Mon 2026-11-23 09:00", "call", "llamada", "call outcome no_answer"),
        ("Mon 2026-11-23 09:00", "fee", "recordatorio_mora", "fee 3000"),
        ("Mon 2026-11-23 09:00", "send", "recordatorio_mora", "email aviso_mora"),
        ("Thu 2026-11-26 09:00", "send", "recordatorio_mora", "sms aviso_mora_sms"),
        ("Mon 2026-11-30 09:00", "send", "oferta_plan", "email oferta_plan"),
        ("Wed 2026-12-16 10:00", "send", "carta_final", "letter carta_final"),  # weekly letter run
        ("Sat 2026-12-26 10:00", "approval", "derivacion_judicial", "waits for a supervisor's approval (legal)"),
        ("Sat 2026-12-26 11:00", "legal", "derivacion_judicial", "referred to legal with balance 153000"),
        ("Sat 2026-12-26 11:00", "closed", "derivacion_judicial", "closed: legal"),
    ]
    s = run.state
    assert s.resolution == Resolution.LEGAL
    assert s.stage == Stage.CLOSED
    assert (s.balance, s.fees_total, s.paid_total) == (BALANCE + 3000, 3000, 0)
    assert (s.counters.agent_attempts, s.counters.right_party_contacts, s.counters.contacts) == (3, 0, 9)
    assert run.legal_at == run.closed_at


def test_unworked_calls_count_as_no_answer_and_the_fee_waits_for_day_21(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {})
    tasks = of(run, "task", "llamada")
    assert [when(t.at) for t in tasks] == ["Mon 2026-11-09 09:00", "Tue 2026-11-17 09:00", "Wed 2026-11-25 09:00"]
    assert not of(run, "call")
    (fee,) = of(run, "fee")
    due = START.date() - timedelta(days=15)
    assert (fee.at.astimezone(ZONE).date() - due).days > 20  # CL: no collection fee in the first 20 days
    assert fee.detail == "fee 3000"
    assert of(run, "send", "carta_final")[0].detail == "letter carta_final"
    assert of(run, "legal")
    assert run.state.resolution == Resolution.LEGAL


def test_fee_is_never_charged_before_21_days_past_due(strategy: CompiledStrategy) -> None:
    """A fresh high-balance account reaches the mora step at 19 days past due: it waits for day 21."""
    big = 2_000_000
    run = run_scenario(strategy, {"account": {"balance": big, "due_date": START.date().isoformat()}})
    assert run.state.segment == "alto_monto"
    (fee,) = of(run, "fee")
    assert when(fee.at) == "Mon 2026-11-23 10:00"  # due 2026-11-02 + 21 days, at the wait's 10:00
    assert fee.detail == f"fee {big * 2 // 100}"
    assert of(run, "send", "recordatorio_mora")[0].at == fee.at


# ---- (b) promise kept ---------------------------------------------------------------------------


def test_promise_then_payment_in_full_closes_paid_with_a_receipt(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PROMISE_KEPT)
    (call,) = of(run, "call")
    assert call.detail == "call outcome promise_to_pay (150000 by 2026-11-14)"
    assert sent(run)[2:] == [
        ("Mon 2026-11-09 09:00", "promesa", "email promesa_confirmada"),
        ("Fri 2026-11-13 12:00", "pago_total", "email pago_recibido"),
    ]
    (closed,) = of(run, "closed")
    assert (when(closed.at), closed.detail) == ("Fri 2026-11-13 12:00", "closed: paid")
    s = run.state
    assert s.resolution == Resolution.PAID
    assert s.balance == 0
    assert s.promise is None
    assert (s.counters.promises, s.counters.promises_kept, s.counters.promises_broken) == (1, 1, 0)
    assert not of(run, "fee")
    assert not of(run, "legal")
    assert steps_taken(run)[-2:] == ["promesa", "pago_total"]


# ---- (c) promise broken -------------------------------------------------------------------------


def test_broken_promise_takes_the_broken_promise_route(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PROMISE_BROKEN)
    assert ("Sat 2026-11-14 10:00", "promesa", "sms promesa_recordatorio") in sent(run)  # on the promised day
    broken = of(run, "send", "promesa_incumplida")
    # promised for 2026-11-14, 2 days of grace: broken at midnight, sent when the CL hours open
    assert [(when(e.at), e.detail) for e in broken] == [
        (later(strategy, "Tue 2026-11-17 08:00"), "sms promesa_incumplida")
    ]
    steps = steps_taken(run)
    assert steps.index("promesa") < steps.index("promesa_incumplida")
    # first broken promise: back to a call, not straight to the letter
    assert steps[steps.index("promesa_incumplida") + 1] == "llamada"
    assert run.state.counters.promises_broken == 1
    assert run.state.counters.promises_kept == 0
    assert run.state.resolution == Resolution.LEGAL


def test_second_broken_promise_goes_to_the_final_letter(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"calls": [{"code": "promise_to_pay", "in_days": 5}] * 2})
    assert run.state.counters.promises_broken == 2
    steps = steps_taken(run)
    second = len(steps) - 1 - steps[::-1].index("promesa_incumplida")
    assert steps[second + 1] == "carta_final"


# ---- (d) payment plan ---------------------------------------------------------------------------


def test_plan_tolerates_one_missed_installment(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {**PLAN, "days": 60})  # stop on 2027-01-01, between two installments
    plan = run.state.plan
    assert plan is not None, "one missed installment must not break the plan"
    assert [(i.due.isoformat(), i.amount, i.settled, i.missed) for i in plan.installments] == [
        ("2026-11-14", 20_000, True, False),
        ("2026-12-14", 43_333, False, True),
        ("2027-01-14", 43_333, False, False),
        ("2027-02-14", 43_334, False, False),
    ]
    assert plan.missed == 1
    assert run.state.stage == Stage.PAYMENT
    assert run.state.step == "plan_cuota_atrasada"
    assert (later(strategy, "Fri 2026-12-18 08:00"), "plan_cuota_atrasada", "sms cuota_atrasada") in sent(run)
    assert not of(run, "send", "plan_incumplido")


def test_second_missed_installment_breaks_the_plan(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PLAN)
    assert of(run, "call")[0].detail == "call outcome payment_plan (3 x monthly)"
    assert ("Mon 2026-11-09 09:00", "plan_vigente", "email plan_confirmado") in sent(run)
    assert ("Mon 2026-12-07 09:00", "plan_seguimiento", "sms cuota_recordatorio") in sent(run)
    (broken,) = of(run, "send", "plan_incumplido")
    assert (when(broken.at), broken.detail) == (later(strategy, "Mon 2027-01-18 08:00"), "email plan_incumplido")
    steps = steps_taken(run)
    assert steps.index("plan_cuota_atrasada") < steps.index("plan_incumplido") < steps.index("carta_final")
    s = run.state
    assert s.plan is None
    assert s.paid_total == 20_000
    assert s.resolution == Resolution.LEGAL
    assert of(run, "legal")[0].detail == "referred to legal with balance 130000"


def test_plan_below_the_minimum_down_payment_is_rejected(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"calls": [{"code": "payment_plan", "installments": 3, "down_payment": 10_000}]})
    (rejected,) = of(run, "rejected")
    assert "below the minimum of 15000" in rejected.detail
    assert run.state.plan is None


# ---- (e) partial payments -----------------------------------------------------------------------


def test_partial_payments_down_to_zero_close_paid(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PARTIAL)
    assert [e.detail for e in of(run, "event")] == ["payment 50000 CLP", "payment 60000 CLP", "payment 40000 CLP"]
    # partial payments do not derail the path: the day-3 SMS still goes out
    assert ("Thu 2026-11-05 09:00", "aviso_email", "sms recordatorio_sms") in sent(run)
    (receipt,) = of(run, "send", "pago_total")
    assert receipt.detail == "email pago_recibido"
    # paid on Saturday; CL-F2 (2 written contacts per 7 days) holds the receipt until Monday
    assert when(receipt.at) == "Mon 2026-11-09 09:00"
    (closed,) = of(run, "closed")
    assert closed.at == receipt.at
    assert closed.detail == "closed: paid"
    s = run.state
    assert (s.resolution, s.balance, s.paid_total, s.counters.payments) == (Resolution.PAID, 0, BALANCE, 3)
    assert not of(run, "task")


# ---- (f) opt-out --------------------------------------------------------------------------------


def test_no_sms_after_an_sms_opt_out(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, SMS_OPT_OUT)
    (opt_out,) = [e for e in of(run, "event") if e.detail == "opt-out sms"]
    assert not [e for e in of(run, "send") if e.channel == "sms" and e.at >= opt_out.at]
    blocked = [e for e in of(run, "blocked") if e.channel == "sms"]
    assert [(when(e.at), e.step) for e in blocked] == [
        ("Thu 2026-11-05 09:00", "aviso_email"),
        ("Thu 2026-11-26 09:00", "recordatorio_mora"),
    ]
    assert all("opted out" in e.detail and e.moved_to is None for e in blocked)
    # each blocked SMS falls back to email at the same moment
    assert ("Thu 2026-11-05 09:00", "aviso_email", "email recordatorio_sms") in sent(run)
    assert ("Thu 2026-11-26 09:00", "recordatorio_mora", "email aviso_mora_sms") in sent(run)
    assert run.state.opted_out == (Channel.SMS,)
    assert len(of(run, "task")) == 3  # calls are not affected by an SMS opt-out
    assert run.state.resolution == Resolution.LEGAL


# ---- (g) contact hours --------------------------------------------------------------------------

ALL_SCENARIOS = {
    "no_answer": NO_ANSWER,
    "unworked": {},
    "promise_kept": PROMISE_KEPT,
    "promise_broken": PROMISE_BROKEN,
    "plan": PLAN,
    "partial": PARTIAL,
    "sms_opt_out": SMS_OPT_OUT,
    "wrong_party": {"calls": ["wrong_party"]},
    "callback": {"calls": ["callback_requested", "right_party_contact"]},
    "high_balance": {"account": {"balance": 2_000_000}},
    "fresh_account": {"account": {"balance": 2_000_000, "due_date": START.date().isoformat()}},
}
CL_HOLIDAYS = holidays.country_holidays("CL", years=(2026, 2027))


def _history(run: Run, upto: int) -> list[ContactRecord]:
    """The contact ledger as the timeline shows it before entry `upto`."""
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
def test_every_contact_is_within_chilean_hours_and_limits(strategy: CompiledStrategy, name: str, variant: str) -> None:
    run = run_scenario(strategy, ALL_SCENARIOS[name], variant)
    checked = 0
    for index, e in enumerate(run.timeline):
        if e.kind not in ("send", "task"):
            continue
        channel = Channel(e.channel) if e.kind == "send" and e.channel else Channel.VOICE
        local = e.at.astimezone(ZONE)
        # CL-T1: Monday to Saturday, 08:00-20:00, never on a public holiday. The preset leaves
        # letters out of CL-T1; the strategy keeps them in by its Wednesday 10:00 letter run.
        assert local.weekday() != 6, f"{when(e.at)} {e.detail} on a Sunday"
        assert local.date() not in CL_HOLIDAYS, f"{when(e.at)} {e.detail} on {CL_HOLIDAYS.get(local.date())}"
        assert 8 <= local.hour < 20, f"{when(e.at)} {e.detail} outside 08:00-20:00"
        if channel == Channel.LETTER:
            assert local.strftime("%a %H:%M") == "Wed 10:00"
        # CL-F1 (1 call per 7 days) and CL-F2 (2 written contacts per 7 days, 2 days apart)
        decision = check_contact(CL, channel, e.at, TZ, _history(run, index))
        assert decision.allowed, f"{when(e.at)} {e.detail}: {decision.rule} {decision.reason}"
        checked += 1
    assert checked >= 2


def test_the_policy_moves_contacts_that_fall_on_a_sunday_or_holiday(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, PROMISE_BROKEN)
    moved = [(when(e.at), e.detail.split(":")[0], when(e.moved_to)) for e in of(run, "blocked") if e.moved_to]
    # each lands the account's spread after the opening, and the next step counts from there
    sunday, monday = later(strategy, "Sun 2026-12-06 08:00"), later(strategy, "Mon 2026-12-07 08:00")
    holiday, wednesday = later(strategy, "Tue 2026-12-08 08:00"), later(strategy, "Wed 2026-12-09 08:00")
    assert (sunday, "voice blocked by CL-T1", monday) in moved
    assert (holiday, "email blocked by holiday", wednesday) in moved


# ---- (h) champion / challenger ------------------------------------------------------------------


def test_challenger_starts_with_sms_and_champion_with_email(strategy: CompiledStrategy) -> None:
    challenger = run_scenario(strategy, {}, variant="challenger")
    champion = run_scenario(strategy, {}, variant="champion")
    assert (challenger.state.variant, champion.state.variant) == ("challenger", "champion")
    assert sent(challenger)[:2] == [
        ("Mon 2026-11-02 09:00", "aviso_sms", "sms recordatorio_sms"),
        ("Thu 2026-11-05 09:00", "aviso_sms", "email recordatorio"),
    ]
    assert sent(champion)[:2] == [
        ("Mon 2026-11-02 09:00", "aviso_email", "email recordatorio"),
        ("Thu 2026-11-05 09:00", "aviso_email", "sms recordatorio_sms"),
    ]
    # both arms join at the same call
    assert of(challenger, "task")[0].at == of(champion, "task")[0].at


def test_split_is_stable_and_close_to_80_20(strategy: CompiledStrategy) -> None:
    ids = [f"ACC-{n}" for n in range(4000)]
    arms = [choose_variant(strategy, i) for i in ids]
    assert arms == [choose_variant(strategy, i) for i in ids]
    assert 0.17 < arms.count("challenger") / len(ids) < 0.23


def test_high_balance_segment_skips_the_variants_and_calls_on_day_two(strategy: CompiledStrategy) -> None:
    for variant in ("champion", "challenger"):
        run = run_scenario(strategy, {"account": {"balance": 2_000_000}}, variant)
        assert run.state.segment == "alto_monto"
        assert sent(run)[0] == ("Mon 2026-11-02 09:00", "aviso_alto_monto", "email recordatorio")
        assert when(of(run, "task")[0].at) == "Wed 2026-11-04 09:00"
        assert not [e for e in of(run, "send") if e.channel == "sms" and e.at < of(run, "task")[0].at]


# ---- other routes -------------------------------------------------------------------------------


def test_wrong_party_stops_calls_and_sms_to_that_number(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"calls": ["wrong_party"]})
    (call,) = of(run, "call")
    later = run.timeline[run.timeline.index(call) + 1 :]
    assert not [e for e in later if e.kind == "task" or (e.kind == "send" and e.channel == "sms")]
    assert [e.step for e in later if e.kind == "send"] == ["numero_erroneo", "carta_final"]
    assert run.state.resolution == Resolution.LEGAL


def test_dispute_holds_the_account_until_resolved(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"calls": ["dispute"], "events": [{"day": 20, "dispute": "resolved"}], "days": 30})
    (call,) = of(run, "call")
    (resolved,) = [e for e in of(run, "event") if e.detail == "dispute resolved"]
    assert when(resolved.at) == "Sun 2026-11-22 12:00"
    # nothing is sent or called while the dispute is open
    assert not [e for e in run.timeline if call.at < e.at < resolved.at and e.kind in ("send", "task")]
    (answer,) = of(run, "send", "disputa")
    # resolved on a Sunday: the answer waits for Monday 08:00
    assert (when(answer.at), answer.detail) == (later(strategy, "Mon 2026-11-23 08:00"), "email disputa_resuelta")
    # five days later the account is called again
    assert [when(t.at) for t in of(run, "task")] == ["Mon 2026-11-09 09:00", later(strategy, "Sat 2026-11-28 08:00")]
    assert run.state.step == "llamada"
    assert run.state.hold is None


def test_rejected_legal_referral_gets_a_last_offer_then_write_off(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {**NO_ANSWER, "approvals": "reject"})
    assert not of(run, "legal")
    offers = of(run, "send", "cierre_sin_juicio")
    assert [e.detail for e in offers] == ["email oferta_plan"]
    (closed,) = of(run, "closed")
    assert closed.detail == "closed: written_off"
    assert closed.at - offers[0].at == timedelta(days=30)


def test_small_balance_is_not_referred_to_legal(strategy: CompiledStrategy) -> None:
    run = run_scenario(strategy, {"account": {"balance": 80_000}, **NO_ANSWER})
    assert not of(run, "approval")
    assert not of(run, "legal")
    assert "cierre_sin_juicio" in steps_taken(run)
    assert run.state.resolution == Resolution.WRITTEN_OFF
